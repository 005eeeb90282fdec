#include "app/suppression_api.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/json_writer.h"
#include "http/query.h"
#include "http/reply.h"

namespace mailhook::app {
namespace {

using http::parse_query;
using http::status;

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

http::response bad_request(std::string_view message) {
  return http::error_reply({error_kind::bad_input, "bad_request"}, message);
}

void write_suppression(json_writer& json, const suppression_info& s) {
  json.begin_object().field("scope", to_string(s.scope));
  if (s.scope == suppression_scope::group) json.field("group", s.asm_group_id);
  json.field("reason", to_string(s.reason))
      .field("origin", to_string(s.origin))
      .field("detail", s.detail)
      .field("since_ms", s.since_ms)
      .end_object();
}

void write_verdict(json_writer& json, std::string_view email, const verdict& v) {
  json.begin_object().field("email", email).field("allowed", v.allowed());
  if (!v.allowed()) write_suppression(json.key("suppression"), *v.suppressed);
  json.end_object();
}

void write_record(json_writer& json, const suppression::record& r) {
  auto s = suppression::to_suppression(r);
  json.begin_object()
      .field("key", suppression::key_of(r))
      .field("tenant", r.tenant())
      .field("scope", to_string(s.scope));
  if (s.scope == suppression_scope::group) json.field("group", r.asm_group_id());
  json.field("email", r.email())
      .field("email_normalized", r.email_normalized())
      .field("suppressed", r.suppressed())
      .field("reason", to_string(s.reason))
      .field("origin", to_string(s.origin))
      .field("detail", r.detail())
      .field("since_ms", r.event_time_ms())
      .field("event_id", r.event_id())
      .field("source", r.source())
      .field("recorded_at_ms", r.recorded_at_ms())
      .field("actor", r.actor())
      .field("note", r.note())
      .end_object();
}

std::optional<std::int64_t> group_param(const auto& params, std::string& error) {
  auto it = params.find("group");
  if (it == params.end() || it->second.empty()) return std::nullopt;
  auto group = parse_int(it->second);
  if (!group) error = "group must be an integer";
  return group;
}

}  // namespace

suppression_api::suppression_api(const index::store& store, index::changelog_writer* writer,
                                 currency_check not_current, metrics::registry& registry)
    : store_(store),
      writer_(writer),
      not_current_(std::move(not_current)),
      lookup_seconds_(
          registry
              .histogram("mailhook_suppression_lookup_seconds",
                         "Time of one suppression lookup (the address's verdict) "
                         "made through the admin API",
                         {1e-7, 2.5e-7, 5e-7, 1e-6, 2.5e-6, 5e-6, 1e-5, 5e-5, 1e-4, 1e-3})
              .get()),
      requests_(registry.counter("mailhook_suppression_api_requests_total",
                                 "Requests to /v1/suppressions, by operation and status",
                                 {"operation", "status"})) {}

void suppression_api::handle(http::request&& req, std::string_view path, std::string_view query,
                             const admin_principal& who, http::responder res) {
  auto method = req.method();
  auto answer = [&](std::string_view operation, http::response r) {
    requests_.with({std::string(operation), std::to_string(r.result_int())}).inc();
    res.send(std::move(r));
  };
  if (path == "/v1/suppressions/check" && method == http::verb::get)
    return answer("check", check_one(query));
  if (path == "/v1/suppressions/check" && method == http::verb::post)
    return answer("check_batch", check_batch(req));
  if (path == "/v1/suppressions/stats" && method == http::verb::get)
    return answer("stats", stats(query));
  if (path == "/v1/suppressions/export" && method == http::verb::get)
    return answer("export", list(query, true));
  if (path == "/v1/suppressions") {
    if (method == http::verb::get) return answer("list", list(query, false));
    if (method == http::verb::post || method == http::verb::delete_) {
      return change(req, query, method == http::verb::post, who, std::move(res));
    }
    auto r = http::error_reply({error_kind::method_not_allowed, "method_not_allowed"},
                               "use GET, POST or DELETE on /v1/suppressions");
    r.set(http::field::allow, "GET, POST, DELETE");
    return answer("other", std::move(r));
  }
  answer("other",
         http::error_reply({error_kind::not_found, "not_found"},
                           "no route for " + std::string(boost::beast::http::to_string(method)) +
                               " " + std::string(path)));
}

// The lookup as a send worker makes it, timed for the latency histogram; then, for a
// suppressed address, the record's detail (people read these answers).
verdict suppression_api::timed_check(std::string_view tenant, std::string_view email,
                                     std::optional<std::int64_t> group) {
  auto started = std::chrono::steady_clock::now();
  auto v = store_.check(tenant, email, group);
  lookup_seconds_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return v.allowed() ? v : store_.describe(tenant, email, group);
}

std::optional<http::response> suppression_api::refuse_allowed() const {
  auto why = not_current_ ? not_current_() : std::nullopt;
  if (!why) return std::nullopt;
  return http::error_reply({error_kind::unavailable, "index_not_current"},
                           "cannot answer \"allowed\" from this index now: " + *why,
                           std::chrono::seconds{1});
}

http::response suppression_api::check_one(std::string_view query) {
  auto params = parse_query(query);
  const auto& tenant = params["tenant"];
  const auto& email = params["email"];
  if (!email::tenant_id::valid(tenant) || email.empty()) {
    return bad_request("tenant and email are required");
  }
  std::string error;
  auto group = group_param(params, error);
  if (!error.empty()) return bad_request(error);
  auto v = timed_check(tenant, email, group);
  if (v.allowed()) {
    if (auto refused = refuse_allowed()) return std::move(*refused);
  }
  std::string body;
  json_writer json(body);
  write_verdict(json, email, v);
  return http::make_response(status::ok, std::move(body));
}

http::response suppression_api::check_batch(const http::request& req) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(req.body()).get(doc) != simdjson::SUCCESS) {
    return bad_request("the body must be a JSON object");
  }
  std::string_view tenant;
  simdjson::dom::array emails;
  if (doc["tenant"].get(tenant) != simdjson::SUCCESS || !email::tenant_id::valid(tenant) ||
      doc["emails"].get(emails) != simdjson::SUCCESS) {
    return bad_request("the body needs \"tenant\" (a string) and \"emails\" (an array)");
  }
  if (emails.size() > max_batch_check) {
    return bad_request("at most " + std::to_string(max_batch_check) + " emails per request");
  }
  std::optional<std::int64_t> group;
  if (auto g = doc["group"]; g.error() == simdjson::SUCCESS) {
    std::int64_t value = 0;
    if (g.get(value) != simdjson::SUCCESS) return bad_request("group must be an integer");
    group = value;
  }
  std::string body;
  json_writer json(body);
  json.begin_object().key("results").begin_array();
  bool any_allowed = false;
  for (auto element : emails) {
    std::string_view email;
    if (element.get(email) != simdjson::SUCCESS) return bad_request("emails must be strings");
    auto v = timed_check(tenant, email, group);
    any_allowed = any_allowed || v.allowed();
    write_verdict(json, email, v);
  }
  if (any_allowed) {
    if (auto refused = refuse_allowed()) return std::move(*refused);
  }
  json.end_array().end_object();
  return http::make_response(status::ok, std::move(body));
}

http::response suppression_api::list(std::string_view query, bool as_export) {
  auto params = parse_query(query);
  index::list_query q;
  q.tenant = params["tenant"];
  if (!email::tenant_id::valid(q.tenant)) return bad_request("tenant is required");
  if (auto reason = params.find("reason"); reason != params.end() && !reason->second.empty()) {
    q.reason = suppression::parse_reason(reason->second);
    if (!q.reason) return bad_request("unknown reason '" + reason->second + "'");
  }
  q.include_cleared = params["state"] == "all";
  q.after_key = params["cursor"];
  std::size_t max = as_export ? max_export_page : max_page;
  q.limit = as_export ? max : 100;
  if (auto limit = params.find("limit"); limit != params.end() && !limit->second.empty()) {
    auto n = parse_int(limit->second);
    if (!n || *n < 1 || static_cast<std::size_t>(*n) > max) {
      return bad_request("limit must be between 1 and " + std::to_string(max));
    }
    q.limit = static_cast<std::size_t>(*n);
  }
  auto page = store_.list(q);
  std::string body;
  if (as_export) {
    // Newline-delimited JSON, one record per line; the cursor of the next page in a header.
    for (const auto& r : page.records) {
      json_writer line(body);
      write_record(line, r);
      body += '\n';
    }
    auto res = http::make_response(status::ok, std::move(body), "application/x-ndjson");
    if (!page.next_cursor.empty()) res.set("X-Next-Cursor", page.next_cursor);
    return res;
  }
  json_writer json(body);
  json.begin_object().key("suppressions").begin_array();
  for (const auto& r : page.records) write_record(json, r);
  json.end_array().field("next_cursor", page.next_cursor).end_object();
  return http::make_response(status::ok, std::move(body));
}

http::response suppression_api::stats(std::string_view query) {
  auto params = parse_query(query);
  const auto& only = params["tenant"];
  // {"keys":N,"tenants":{"acme":{"total":N,"global":{"bounce":N,...},"group":{...}}}}
  std::map<std::string, std::map<std::string, std::map<std::string, std::uint64_t>>> tree;
  std::map<std::string, std::uint64_t> totals;
  for (const auto& [key, count] : store_.counts()) {
    const auto& [tenant, scope, reason] = key;
    if (!only.empty() && tenant != only) continue;
    tree[tenant][std::string(to_string(scope))][std::string(to_string(reason))] += count;
    totals[tenant] += count;
  }
  std::string body;
  json_writer json(body);
  json.begin_object().field("keys", store_.keys()).key("tenants").begin_object();
  for (const auto& [tenant, scopes] : tree) {
    json.key(tenant).begin_object().field("total", totals[tenant]);
    for (const auto& [scope, reasons] : scopes) {
      json.key(scope).begin_object();
      for (const auto& [reason, count] : reasons) json.field(reason, count);
      json.end_object();
    }
    json.end_object();
  }
  json.end_object().end_object();
  return http::make_response(status::ok, std::move(body));
}

// POST (add) takes a JSON body; DELETE (remove) takes the same fields in the query. The
// note (why) comes from the body's or the query's "note", or the X-Mailhook-Reason header.
void suppression_api::change(const http::request& req, std::string_view query, bool suppress,
                             const admin_principal& who, http::responder res) {
  auto operation = suppress ? "add" : "remove";
  auto refuse = [&](http::response r) {
    requests_.with({operation, std::to_string(r.result_int())}).inc();
    res.send(std::move(r));
  };
  suppression::manual_change c;
  c.suppressed = suppress;
  c.source = "api";
  std::string scope_word = "global";
  std::string reason_word = "manual";
  std::optional<std::string> note;
  if (suppress) {
    simdjson::dom::parser parser;
    simdjson::dom::object doc;
    if (parser.parse(req.body()).get(doc) != simdjson::SUCCESS) {
      return refuse(bad_request("the body must be a JSON object"));
    }
    for (auto field : doc) {
      std::string_view text;
      std::int64_t number = 0;
      if (field.key == "group" && field.value.get(number) == simdjson::SUCCESS) {
        c.asm_group_id = number;
        scope_word = "group";
      } else if (field.value.get(text) != simdjson::SUCCESS) {
        return refuse(bad_request("field '" + std::string(field.key) + "' has the wrong type"));
      } else if (field.key == "tenant") {
        c.tenant = text;
      } else if (field.key == "email") {
        c.email = text;
      } else if (field.key == "scope") {
        scope_word = text;
      } else if (field.key == "reason") {
        reason_word = text;
      } else if (field.key == "detail") {
        c.detail = text;
      } else if (field.key == "note") {
        note = std::string(text);
      } else {
        return refuse(bad_request("unknown field '" + std::string(field.key) + "'"));
      }
    }
  } else {
    auto params = parse_query(query);
    c.tenant = params["tenant"];
    c.email = params["email"];
    c.detail = params["detail"];
    if (auto it = params.find("note"); it != params.end()) note = it->second;
    if (!params["scope"].empty()) scope_word = params["scope"];
    std::string error;
    if (auto group = group_param(params, error)) {
      c.asm_group_id = *group;
      scope_word = "group";
    }
    if (!error.empty()) return refuse(bad_request(error));
  }
  auto scope = suppression::parse_scope(scope_word);
  auto reason = suppression::parse_reason(reason_word);
  if (!scope) return refuse(bad_request("scope must be global, group or tenant"));
  if (!reason || *reason == suppression_reason::unspecified) {
    return refuse(bad_request("unknown reason '" + reason_word + "'"));
  }
  c.scope = *scope;
  c.reason = suppress ? *reason
                      : (*scope == suppression_scope::tenant ? suppression_reason::account_suspended
                                                             : suppression_reason::manual);
  if (!email::tenant_id::valid(c.tenant)) return refuse(bad_request("tenant is required"));
  if (c.scope != suppression_scope::tenant && c.email.empty()) {
    return refuse(bad_request("email is required"));
  }
  if (auto header = req.find("X-Mailhook-Reason"); header != req.end()) {
    if (note) return refuse(bad_request("give the note once: \"note\" or X-Mailhook-Reason"));
    note = std::string(header->value());
  }
  if (!note || note->empty()) {
    return refuse(bad_request(
        "a note is required: say why in \"note\" (or the X-Mailhook-Reason header); it is kept "
        "with the change, with the token's name"));
  }
  if (note->size() > max_note || !simdjson::validate_utf8(note->data(), note->size()) ||
      std::any_of(note->begin(), note->end(),
                  [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; })) {
    return refuse(bad_request("the note must be UTF-8 text of at most " + std::to_string(max_note) +
                              " bytes, without control characters"));
  }
  c.actor = who.name;
  c.note = std::move(*note);
  if (writer_ == nullptr) {
    return refuse(http::error_reply({error_kind::unavailable, "unavailable"},
                                    "changes are not accepted: no changelog writer"));
  }
  auto record = suppression::make_record(c, unix_ms());
  if (!record) return refuse(bad_request("email: " + record.error().code.message()));
  std::string body;
  json_writer(body)
      .begin_object()
      .field("key", suppression::key_of(*record))
      .field("event_id", record->event_id())
      .end_object();
  // Who did what and why, for the log once Kafka has answered: the record is moved away.
  auto what = std::string(suppress ? "added " : "removed ") + suppression::key_of(*record) +
              " (reason " + std::string(to_string(c.reason)) + ", event " + record->event_id() +
              ")";
  auto shared_res = std::make_shared<http::responder>(std::move(res));
  writer_->write({std::move(*record)}, [this, shared_res, body = std::move(body), operation,
                                        what = std::move(what), actor = c.actor, note = c.note](
                                           const kafka::publish_outcome& outcome) mutable {
    if (outcome.ok()) {
      spdlog::info("admin: {} {}: note \"{}\"", actor, what, note);
    } else {
      spdlog::warn("admin: {} {}: not written: {}", actor, what, outcome.first_error);
    }
    auto r = outcome.ok() ? http::make_response(status::accepted, std::move(body))
                          : http::error_reply({error_kind::unavailable, "kafka_unavailable"},
                                              "the change was not written: " + outcome.first_error);
    requests_.with({operation, std::to_string(r.result_int())}).inc();
    shared_res->send(std::move(r));
  });
}

}  // namespace mailhook::app
