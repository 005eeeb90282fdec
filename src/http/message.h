// HTTP message types shared by mailhook's listeners, and the few helpers that build
// replies. Bodies are std::string so that a receive buffer can be parsed in place.
#pragma once

#include <boost/beast/http.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace mailhook::http {

namespace beast_http = boost::beast::http;

using request = beast_http::request<beast_http::string_body>;
using request_header = beast_http::request_header<>;
using response = beast_http::response<beast_http::string_body>;
using status = beast_http::status;
using verb = beast_http::verb;
using field = beast_http::field;

inline constexpr std::string_view json_content_type = "application/json";
inline constexpr std::string_view text_content_type = "text/plain; charset=utf-8";

// A reply with `body` of `content_type`; keep-alive is set by the server from the request.
[[nodiscard]] response make_response(status code, std::string body,
                                     std::string_view content_type = json_content_type);

// The answer for a request whose Transfer-Encoding the server does not read, or nullopt
// when it has none or exactly "chunked" (RFC 7230 section 3.3): 501 for a coding it would
// not undo (gzip, ...), 400 when chunked is there but not alone (twice, or not last) or
// the header lists nothing. Beast would read such a body all the same, taking a
// Content-Length beside an unknown coding as the length: a proxy in front that reads the
// framing as the RFC says would then see other requests than the server does.
[[nodiscard]] std::optional<response> refuse_transfer_encoding(const request_header& header);

}  // namespace mailhook::http
