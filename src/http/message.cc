#include "http/message.h"

#include "common/text.h"
#include "http/reply.h"

namespace mailhook::http {

response make_response(status code, std::string body, std::string_view content_type) {
  response res{code, 11};
  res.set(field::content_type, boost::beast::string_view(content_type.data(), content_type.size()));
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::optional<response> refuse_transfer_encoding(const request_header& header) {
  const auto fields = header.count(field::transfer_encoding);
  if (fields == 0) return std::nullopt;
  std::string_view value;
  if (fields == 1) {
    const auto v = header[field::transfer_encoding];
    value = trim(std::string_view(v.data(), v.size()));
    if (boost::beast::iequals(boost::beast::string_view(value.data(), value.size()), "chunked")) {
      return std::nullopt;
    }
  }
  // One exact form is read; everything else is refused, whether or not Beast would make
  // sense of it. A coding without "chunked" anywhere is one the server does not know.
  bool mentions_chunked = fields > 1;
  for (std::size_t i = 0; !mentions_chunked && i + 7 <= value.size(); ++i) {
    mentions_chunked = boost::beast::iequals(boost::beast::string_view(value.data() + i, 7),
                                             boost::beast::string_view("chunked"));
  }
  if (mentions_chunked || value.empty()) {
    return error_reply({error_kind::bad_input, "bad_transfer_encoding"},
                       "Transfer-Encoding must be exactly \"chunked\", in one header");
  }
  return error_reply({error_kind::not_implemented, "unsupported_transfer_encoding"},
                     "the only transfer coding read here is chunked");
}

}  // namespace mailhook::http
