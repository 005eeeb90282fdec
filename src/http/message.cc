#include "http/message.h"

namespace mailhook::http {

response make_response(status code, std::string body, std::string_view content_type) {
  response res{code, 11};
  res.set(field::content_type, boost::beast::string_view(content_type.data(), content_type.size()));
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

response json_error(status code, std::string_view error_code, std::string_view message) {
  std::string body = R"({"error":")";
  append_json_escaped(body, error_code);
  body += R"(","message":")";
  append_json_escaped(body, message);
  body += "\"}";
  return make_response(code, std::move(body));
}

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += hex[(static_cast<unsigned char>(c) >> 4) & 0xf];
          out += hex[static_cast<unsigned char>(c) & 0xf];
        } else {
          out += c;
        }
    }
  }
}

}  // namespace mailhook::http
