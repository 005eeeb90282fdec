// SendGrid v3 Mail Send: the checks before a call, the JSON body, the API key, what the
// answers mean, and the call itself over the shared HTTP client (http/client.h), whose
// rules for writing a request twice the sender's at-most-once promise rests on.
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

#include "common/text.h"
#include "http/client.h"
#include "http/message.h"

namespace mailhook::sender {
namespace {

constexpr std::string_view mail_send_path = "/v3/mail/send";
// Custom args mailhook adds to every email, so that webhook events name their request.
constexpr std::string_view request_id_arg = "mailhook_request_id";
constexpr std::string_view tenant_arg = "mailhook_tenant";
// SendGrid's answers are a few hundred bytes; anything near this is not SendGrid.
constexpr std::uint64_t max_answer_body = 1024 * 1024;

// ---- text helpers ----

bool contains_ci(std::string_view haystack, std::string_view needle) {
  return to_ascii_lower(haystack).find(to_ascii_lower(needle)) != std::string::npos;
}

bool valid_utf8(std::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

// ---- JSON ----

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  http::append_json_escaped(out, text);
  out += '"';
}

// `text` compacted, if it is a JSON object; nullopt otherwise (with why in `why`).
std::optional<std::string> compact_json_object(std::string_view text, std::string* why) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto e = parser.parse(text.data(), text.size()).get(doc); e != simdjson::SUCCESS) {
    if (why != nullptr) *why = std::string("not valid JSON (") + simdjson::error_message(e) + ")";
    return std::nullopt;
  }
  if (!doc.is_object()) {
    if (why != nullptr) *why = "not a JSON object";
    return std::nullopt;
  }
  // Minifying the validated text keeps every token as written (numbers are not reprinted).
  std::string out(text.size(), '\0');
  std::size_t size = 0;
  if (simdjson::minify(text.data(), text.size(), out.data(), size) != simdjson::SUCCESS) {
    return std::string(text);
  }
  out.resize(size);
  return out;
}

// SendGrid requires text/plain first, then text/html, then any other type.
int content_rank(std::string_view type) {
  const std::string media = to_ascii_lower(trim(type.substr(0, type.find(';'))));
  if (media == "text/plain") return 0;
  if (media == "text/html") return 1;
  return 2;
}

void append_address(std::string& out, std::string_view email, std::string_view name) {
  out += "{\"email\":";
  append_json_string(out, email);
  if (!name.empty()) {
    out += ",\"name\":";
    append_json_string(out, name);
  }
  out += '}';
}

std::size_t custom_args_bytes(const mailhook::v1::SendRequest& request) {
  std::size_t total = request_id_arg.size() + request.request_id().size() + tenant_arg.size() +
                      request.tenant().size();
  for (const auto& [key, value] : request.custom_args()) total += key.size() + value.size();
  return total;
}

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

// ---- requests ----

std::optional<std::string> invalid_request(const mailhook::v1::SendRequest& request) {
  if (trim(request.request_id()).empty()) return "request_id is missing";
  if (trim(request.tenant()).empty()) return "tenant is missing";
  if (request.to_size() == 0) return "no recipient in to";
  if (static_cast<std::size_t>(request.to_size()) > max_recipients) {
    return std::to_string(request.to_size()) + " recipients in to, more than Mail Send's " +
           std::to_string(max_recipients);
  }
  for (int i = 0; i < request.to_size(); ++i) {
    const auto& r = request.to(i);
    const std::string where = "to[" + std::to_string(i) + "]";
    if (trim(r.email()).empty()) return where + " has no email";
    if (!valid_utf8(r.email()) || !valid_utf8(r.name())) return where + " is not valid UTF-8";
  }
  const bool templated = !request.template_id().empty();
  if (!templated && request.subject().empty()) {
    return "subject is missing (required without template_id)";
  }
  if (!valid_utf8(request.subject())) return "subject is not valid UTF-8";
  if (!templated && request.content_size() == 0) {
    return "content is missing (required without template_id)";
  }
  for (int i = 0; i < request.content_size(); ++i) {
    const auto& c = request.content(i);
    const std::string where = "content[" + std::to_string(i) + "]";
    if (trim(c.type()).empty()) return where + " has no type";
    if (c.value().empty()) return where + " has no value";
    if (!valid_utf8(c.type()) || !valid_utf8(c.value())) return where + " is not valid UTF-8";
  }
  if (!valid_utf8(request.template_id())) return "template_id is not valid UTF-8";
  if (!request.dynamic_template_data_json().empty()) {
    std::string why;
    if (!compact_json_object(request.dynamic_template_data_json(), &why)) {
      return "dynamic_template_data_json is " + why;
    }
  }
  if (request.asm_group_id() < 0) return "asm_group_id is negative";
  if (static_cast<std::size_t>(request.categories_size()) > max_categories) {
    return std::to_string(request.categories_size()) + " categories, more than Mail Send's " +
           std::to_string(max_categories);
  }
  for (int i = 0; i < request.categories_size(); ++i) {
    const std::string& category = request.categories(i);
    const std::string where = "categories[" + std::to_string(i) + "]";
    if (category.empty()) return where + " is empty";
    if (category.size() > max_category_bytes) {
      return where + " is " + std::to_string(category.size()) + " bytes, more than Mail Send's " +
             std::to_string(max_category_bytes);
    }
    if (!valid_utf8(category)) return where + " is not valid UTF-8";
  }
  for (const auto& [key, value] : request.custom_args()) {
    if (key == request_id_arg || key == tenant_arg) {
      return "custom_args key '" + key + "' is reserved for mailhook";
    }
    if (!valid_utf8(key) || !valid_utf8(value)) return "custom_args are not valid UTF-8";
  }
  if (const std::size_t bytes = custom_args_bytes(request); bytes >= max_custom_args_bytes) {
    return "custom_args are " + std::to_string(bytes) +
           " bytes with mailhook's own, Mail Send allows less than " +
           std::to_string(max_custom_args_bytes);
  }
  return std::nullopt;
}

std::string mail_send_body(const mailhook::v1::SendRequest& request,
                           const std::vector<mailhook::v1::Recipient>& to,
                           const config::integration_config& integration) {
  const bool templated = !request.template_id().empty();
  std::optional<std::string> template_data;
  if (templated && !request.dynamic_template_data_json().empty()) {
    template_data = compact_json_object(request.dynamic_template_data_json(), nullptr);
  }

  std::size_t expected = 512 + request.subject().size();
  for (const auto& c : request.content()) expected += c.value().size() + c.value().size() / 8;
  for (const auto& r : to) {
    expected +=
        32 + r.email().size() + r.name().size() + (template_data ? template_data->size() : 0);
  }
  std::string out;
  out.reserve(expected);

  out += "{\"personalizations\":[";
  for (std::size_t i = 0; i < to.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"to\":[";
    append_address(out, to[i].email(), to[i].name());
    out += ']';
    if (template_data) {
      out += ",\"dynamic_template_data\":";
      out += *template_data;
    }
    out += '}';
  }
  out += "],\"from\":";
  append_address(out, integration.from_email, integration.from_name);
  if (!integration.reply_to_email.empty()) {
    out += ",\"reply_to\":";
    append_address(out, integration.reply_to_email, integration.reply_to_name);
  }
  if (!request.subject().empty()) {
    out += ",\"subject\":";
    append_json_string(out, request.subject());
  }
  if (request.content_size() > 0) {
    std::vector<int> order(static_cast<std::size_t>(request.content_size()));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return content_rank(request.content(a).type()) < content_rank(request.content(b).type());
    });
    out += ",\"content\":[";
    for (std::size_t i = 0; i < order.size(); ++i) {
      const auto& c = request.content(order[i]);
      if (i > 0) out += ',';
      out += "{\"type\":";
      append_json_string(out, c.type());
      out += ",\"value\":";
      append_json_string(out, c.value());
      out += '}';
    }
    out += ']';
  }
  if (templated) {
    out += ",\"template_id\":";
    append_json_string(out, request.template_id());
  }
  const int group =
      request.asm_group_id() != 0 ? request.asm_group_id() : integration.default_asm_group;
  if (group != 0) {
    out += ",\"asm\":{\"group_id\":";
    out += std::to_string(group);
    out += '}';
  }
  if (request.categories_size() > 0) {
    out += ",\"categories\":[";
    for (int i = 0; i < request.categories_size(); ++i) {
      if (i > 0) out += ',';
      append_json_string(out, request.categories(i));
    }
    out += ']';
  }
  // Sorted, so that the same request always makes the same body.
  std::map<std::string_view, std::string_view> args;
  for (const auto& [key, value] : request.custom_args()) {
    if (key != request_id_arg && key != tenant_arg) args.emplace(key, value);
  }
  out += ",\"custom_args\":{";
  for (const auto& [key, value] : args) {
    append_json_string(out, key);
    out += ':';
    append_json_string(out, value);
    out += ',';
  }
  append_json_string(out, request_id_arg);
  out += ':';
  append_json_string(out, request.request_id());
  out += ',';
  append_json_string(out, tenant_arg);
  out += ':';
  append_json_string(out, request.tenant());
  out += "}}";
  return out;
}

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

// ---- answers ----

answer_kind classify(const api_answer& answer) {
  const int s = answer.status;
  // Without a status, only a call that never began to write its request provably left
  // SendGrid without it.
  if (s == 0) return answer.request_started ? answer_kind::indeterminate : answer_kind::retryable;
  if (s >= 200 && s < 300) return answer_kind::accepted;
  // SendGrid's documented "not taken, try again" answers. An explicit answer is kept to
  // its word even when its body was cut off: the status line is the server's decision.
  if (s == 429) return answer_kind::rate_limited;
  if (s >= 500 && s < 600) return answer_kind::retryable;
  return answer_kind::rejected;
}

std::string explain(const api_answer& answer) {
  const int s = answer.status;
  if (s == 0) {
    const std::string why =
        answer.transport_error.empty() ? std::string("no answer") : answer.transport_error;
    return (answer.request_started ? "no answer after the request was sent: " : "unreachable: ") +
           why;
  }
  std::string headline;
  if (s >= 200 && s < 300) {
    headline = answer.message_id.empty() ? "sent" : "sent, message id " + answer.message_id;
  } else if (s == 401) {
    headline = "API key rejected";
  } else if (s == 403) {
    const bool about_from =
        std::any_of(answer.errors.begin(), answer.errors.end(), [](const auto& e) {
          return to_ascii_lower(e.field()).starts_with("from") ||
                 contains_ci(e.message(), "sender identity") ||
                 contains_ci(e.message(), "from address") || contains_ci(e.message(), "from email");
        });
    headline = about_from ? "From address is not a verified sender" : "access forbidden";
  } else if (s == 400) {
    headline = "request refused";
  } else if (s == 413) {
    headline = "content too large";
  } else if (s == 429) {
    headline = "rate limited";
  } else if (s >= 500 && s < 600) {
    headline = "SendGrid error";
  } else if (s >= 400 && s < 500) {
    headline = "refused by SendGrid";
  } else {
    headline = "unexpected answer";
  }
  if (s >= 200 && s < 300 && answer.errors.empty()) return headline;

  std::string detail;
  for (const auto& e : answer.errors) {
    std::string one = one_line(e.message(), 500);
    if (!e.field().empty())
      one += (one.empty() ? "field: " : "; field: ") + one_line(e.field(), 100);
    if (one.empty()) continue;
    if (!detail.empty()) detail += " | ";
    detail += one;
  }
  return headline + " (" + std::to_string(s) + (detail.empty() ? "" : ": " + detail) + ")";
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
