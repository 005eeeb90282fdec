// SendGrid v3 Mail Send: the API key, and the call itself over the shared HTTP client
// (http/client.h), whose rules for writing a request twice the sender's at-most-once
// promise rests on. The body is built in mail_send_request.cc, answers read in
// mail_send_answer.cc.
#include "sender/mail_send.h"

#include <simdjson.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string_view>

#include "common/json_writer.h"
#include "common/text.h"
#include "http/client.h"
#include "http/message.h"

namespace mailhook::sender {
namespace {

constexpr std::string_view mail_send_path = "/v3/mail/send";
// SendGrid's answers are a few hundred bytes; anything near this is not SendGrid.
constexpr std::uint64_t max_answer_body = 1024 * 1024;

// ---- the client ----

// integration.api_url taken apart, with the rules a URL carrying the key must follow.
result<http::url> parse_api_url(const config::integration_config& integration) {
  const auto bad = [&](std::string_view why) {
    return failure(std::make_error_code(std::errc::invalid_argument),
                   "integration '" + integration.name + "': api_url '" + integration.api_url +
                       "': " + std::string(why));
  };
  auto url = http::parse_url(integration.api_url);
  if (!url) return bad(url.error().describe());
  // The configuration refuses it too; this client carries the key either way.
  if (!url->tls && !config::is_loopback_host(url->host)) {
    return bad(
        "http:// is allowed only for a loopback host (127.0.0.0/8, [::1], localhost); any other "
        "host needs https://");
  }
  return url;
}

// Mail Send over the shared HTTP client: one POST per call, never repeated by the client
// (rule 2 of http/client.h), and its answer read into an api_answer.
class api_client final : public mail_send_client {
 public:
  api_client(std::unique_ptr<http::client> client, std::string api_key)
      : client_(std::move(client)), authorization_("Bearer " + std::move(api_key)) {}

  api_answer send(const std::string& body) override {
    http::outgoing_request request;
    request.method = http::verb::post;
    request.target = mail_send_path;
    request.body = body;
    request.content_type = http::json_content_type;
    request.headers = {{http::field::authorization, authorization_},
                       {http::field::accept, "application/json"}};
    request.repeatable = false;  // a second copy would be a second email
    const http::answer reply = client_->call(request);

    api_answer answer;
    answer.status = reply.status;
    answer.transport_error = reply.error;
    answer.request_started = reply.request_started;
    answer.latency = reply.latency;
    if (reply.status == 0) return answer;
    answer.message_id = reply.header("x-message-id");
    const std::string_view reset = reply.header("x-ratelimit-reset");
    std::int64_t seconds = 0;
    auto [end, ec] = std::from_chars(reset.data(), reset.data() + reset.size(), seconds);
    if (ec == std::errc() && end == reset.data() + reset.size() && !reset.empty()) {
      answer.rate_limit_reset = seconds;
    }
    if (reply.error.empty()) read_errors(reply.body, answer.errors);
    return answer;
  }

 private:
  // SendGrid's {"errors":[{"message","field","help"}]}; anything else is ignored.
  static void read_errors(const std::string& body, std::vector<mailhook::v1::ApiError>& out) {
    if (trim(body).empty()) return;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(body).get(doc) != simdjson::SUCCESS) return;
    simdjson::dom::array errors;
    if (doc["errors"].get_array().get(errors) != simdjson::SUCCESS) return;
    for (simdjson::dom::element item : errors) {
      simdjson::dom::object object;
      if (item.get_object().get(object) != simdjson::SUCCESS) continue;
      mailhook::v1::ApiError error;
      error.set_message(text_of(object["message"]));
      error.set_field(text_of(object["field"]));
      error.set_help(text_of(object["help"]));
      out.push_back(std::move(error));
    }
  }

  // A member's text: strings as they are, null or absent as "", anything else as JSON.
  static std::string text_of(simdjson::simdjson_result<simdjson::dom::element> member) {
    simdjson::dom::element value;
    if (member.get(value) != simdjson::SUCCESS || value.is_null()) return {};
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
    return simdjson::minify(value);
  }

  std::unique_ptr<http::client> client_;
  std::string authorization_;
};

}  // namespace

// ---- the API key ----

result<std::string> load_api_key(const config::integration_config& integration) {
  const std::string who = "integration '" + integration.name + "'";
  const auto invalid = [](std::string message) {
    return failure(std::make_error_code(std::errc::invalid_argument), std::move(message));
  };
  if (!integration.api_key_file.empty() && !integration.api_key_env.empty()) {
    return invalid(who + ": set api_key_file or api_key_env, not both");
  }
  if (!integration.api_key_file.empty()) {
    const std::string& path = integration.api_key_file;
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) {
      const int error = errno;
      return failure(std::error_code(error, std::generic_category()),
                     who + ": cannot open the API key file " + path + ": " + std::strerror(error));
    }
    std::string line;
    int c = 0;
    // A key is ~70 bytes; stop reading what cannot be one.
    while ((c = std::fgetc(file)) != EOF && c != '\n' && line.size() < 64 * 1024) {
      line += static_cast<char>(c);
    }
    const bool failed = std::ferror(file) != 0;
    const int error = errno;
    std::fclose(file);
    if (failed) {
      return failure(std::error_code(error, std::generic_category()),
                     who + ": cannot read the API key file " + path + ": " + std::strerror(error));
    }
    std::string key(trim(line));
    if (key.empty()) {
      return invalid(who + ": the API key file " + path + " is empty (the key is its first line)");
    }
    return key;
  }
  if (!integration.api_key_env.empty()) {
    const std::string& name = integration.api_key_env;
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) {
      return invalid(who + ": the environment variable " + name + " (api_key_env) is not set");
    }
    std::string key(trim(value));
    if (key.empty()) {
      return invalid(who + ": the environment variable " + name + " (api_key_env) is empty");
    }
    return key;
  }
  return invalid(who + ": no API key: set api_key_file or api_key_env");
}

// ---- the client ----

result<std::unique_ptr<mail_send_client>> mail_send_client::create(
    const config::integration_config& integration, std::string api_key) {
  const std::string who = "integration '" + integration.name + "'";
  auto url = parse_api_url(integration);
  if (!url) return url.error();
  const auto invalid = [](std::string message) {
    return failure(std::make_error_code(std::errc::invalid_argument), std::move(message));
  };
  if (api_key.empty()) return invalid(who + ": the API key is empty");
  // Only visible ASCII can go into the Authorization header unchanged (and CR or LF
  // there would inject headers).
  if (std::any_of(api_key.begin(), api_key.end(), [](char c) {
        return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f;
      })) {
    return invalid(who + ": the API key contains characters an HTTP header cannot carry");
  }
  if (integration.timeout.count() <= 0) return invalid(who + ": the timeout must be positive");
  auto client = http::client::create(std::move(*url), {.timeout = integration.timeout,
                                                       .ca_file = integration.ca_file,
                                                       .max_answer_body = max_answer_body});
  if (!client) return failure(client.error().code, who + ": " + client.error().describe());
  return std::unique_ptr<mail_send_client>(
      std::make_unique<api_client>(std::move(*client), std::move(api_key)));
}

}  // namespace mailhook::sender
