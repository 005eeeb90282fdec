#include "app/admin_client.h"

#include <boost/beast/http/field.hpp>

#include "common/text.h"

namespace mailhook::app {
namespace {

// Export pages reach 100 000 records of a few hundred bytes each.
constexpr std::uint64_t max_answer_body = 1024ULL * 1024 * 1024;

failure url_error(std::string_view text, std::string_view why) {
  return failure(std::make_error_code(std::errc::invalid_argument),
                 "admin URL '" + std::string(text) + "': " + std::string(why));
}

// Whether the authority of `text` ("[scheme://]host[:port][/]") ends in ":PORT": a colon
// after the host, not one inside an IPv6 address.
bool names_port(std::string_view text) {
  if (const auto scheme_end = text.find("://"); scheme_end != std::string_view::npos) {
    text.remove_prefix(scheme_end + 3);
  }
  text = text.substr(0, text.find('/'));
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  const auto bracket = text.rfind(']');
  return bracket == std::string_view::npos ? text.find(':') == colon : colon > bracket;
}

}  // namespace

result<admin_endpoint> parse_admin_url(std::string_view text, std::string ca_file) {
  const bool has_scheme = text.find("://") != std::string_view::npos;
  auto url = http::parse_url(has_scheme ? std::string(text) : "http://" + std::string(text));
  if (!url) return url_error(text, url.error().describe());
  if (!url->path.empty()) return url_error(text, "expected http[s]://HOST:PORT without a path");
  // The admin port has no well-known number: 80 or 443 by default would be a guess.
  if (!names_port(text))
    return url_error(text, "expected http[s]://HOST:PORT: the port is missing");
  return admin_endpoint{std::move(*url), url->tls ? std::move(ca_file) : std::string()};
}

result<admin_endpoint> admin_url_of(const config::admin_config& admin, std::string_view config_file,
                                    std::string ca_file) {
  if (admin.listen.port == 0) {
    return failure(
        std::make_error_code(std::errc::invalid_argument),
        std::string(config_file) + ": admin.listen has port 0 (any free port): give --admin");
  }
  admin_endpoint endpoint;
  endpoint.url.tls = !admin.tls.certificate.empty();
  endpoint.url.host = admin.listen.host;
  if (endpoint.url.host == "0.0.0.0") endpoint.url.host = "127.0.0.1";
  if (endpoint.url.host == "::") endpoint.url.host = "::1";
  endpoint.url.port = admin.listen.port;
  if (endpoint.url.tls) {
    endpoint.ca_file = ca_file.empty() ? admin.tls.certificate : std::move(ca_file);
  }
  return endpoint;
}

result<admin_client> admin_client::create(admin_endpoint endpoint,
                                          std::chrono::milliseconds timeout,
                                          std::string bearer_token) {
  auto client =
      http::client::create(std::move(endpoint.url), {.timeout = timeout,
                                                     .ca_file = std::move(endpoint.ca_file),
                                                     .max_answer_body = max_answer_body,
                                                     .user_agent = "mailhook-cli"});
  if (!client) return client.error();
  return admin_client(std::move(*client), std::move(bearer_token));
}

result<http::answer> admin_client::request(http::verb method, const std::string& target,
                                           const std::string& body) {
  http::outgoing_request request;
  request.method = method;
  request.target = target;
  request.body = body;
  request.content_type = http::json_content_type;
  request.headers.emplace_back(http::field::accept, "application/json, application/x-ndjson");
  if (!bearer_token_.empty()) {
    request.headers.emplace_back(http::field::authorization, "Bearer " + bearer_token_);
  }
  // Adding a suppression is the one call whose second copy is not harmless.
  request.repeatable = !(method == http::verb::post && target == "/v1/suppressions");
  http::answer answer = client_->call(request);
  if (!answer.whole()) return failure(std::make_error_code(std::errc::io_error), answer.error);
  return answer;
}

std::string_view string_member(simdjson::dom::element object, std::string_view key) {
  std::string_view value;
  return object[key].get(value) == simdjson::SUCCESS ? value : std::string_view();
}

}  // namespace mailhook::app
