// The checks a SendRequest passes before a call, and the Mail Send body built from it.
#include "sender/mail_send_request.h"

#include <simdjson.h>

#include <algorithm>
#include <map>
#include <string_view>

#include "common/json_writer.h"
#include "common/text.h"

namespace mailhook::sender {
namespace {

// Custom args mailhook adds to every email, so that webhook events name their request.
constexpr std::string_view request_id_arg = "mailhook_request_id";
constexpr std::string_view tenant_arg = "mailhook_tenant";

bool valid_utf8(std::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

// ---- JSON ----

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

void write_address(json_writer& json, std::string_view email, std::string_view name) {
  json.begin_object().field("email", email);
  if (!name.empty()) json.field("name", name);
  json.end_object();
}

std::size_t custom_args_bytes(const mailhook::v1::SendRequest& request) {
  std::size_t total = request_id_arg.size() + request.request_id().size() + tenant_arg.size() +
                      request.tenant().size();
  for (const auto& [key, value] : request.custom_args()) total += key.size() + value.size();
  return total;
}

}  // namespace

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

  json_writer json(out);
  json.begin_object().key("personalizations").begin_array();
  for (const auto& recipient : to) {
    json.begin_object().key("to").begin_array();
    write_address(json, recipient.email(), recipient.name());
    json.end_array();
    if (template_data) json.key("dynamic_template_data").raw(*template_data);
    json.end_object();
  }
  json.end_array();
  write_address(json.key("from"), integration.from_email, integration.from_name);
  if (!integration.reply_to_email.empty()) {
    write_address(json.key("reply_to"), integration.reply_to_email, integration.reply_to_name);
  }
  if (!request.subject().empty()) json.field("subject", request.subject());
  if (request.content_size() > 0) {
    std::vector<int> order(static_cast<std::size_t>(request.content_size()));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return content_rank(request.content(a).type()) < content_rank(request.content(b).type());
    });
    json.key("content").begin_array();
    for (int i : order) {
      const auto& c = request.content(i);
      json.begin_object().field("type", c.type()).field("value", c.value()).end_object();
    }
    json.end_array();
  }
  if (templated) json.field("template_id", request.template_id());
  const int group =
      request.asm_group_id() != 0 ? request.asm_group_id() : integration.default_asm_group;
  if (group != 0) json.key("asm").begin_object().field("group_id", group).end_object();
  if (request.categories_size() > 0) {
    json.key("categories").begin_array();
    for (const auto& category : request.categories()) json.value(category);
    json.end_array();
  }
  // Sorted, so that the same request always makes the same body.
  std::map<std::string_view, std::string_view> args;
  for (const auto& [key, value] : request.custom_args()) {
    if (key != request_id_arg && key != tenant_arg) args.emplace(key, value);
  }
  json.key("custom_args").begin_object();
  for (const auto& [key, value] : args) json.field(key, value);
  json.field(request_id_arg, request.request_id())
      .field(tenant_arg, request.tenant())
      .end_object()
      .end_object();
  return out;
}

}  // namespace mailhook::sender
