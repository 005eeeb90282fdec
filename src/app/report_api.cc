#include "app/report_api.h"

#include <cstdio>
#include <optional>
#include <string>

#include "email/tenant_id.h"
#include "http/query.h"

namespace mailhook::app {
namespace {

using http::status;
using report::day_counts;
using report::day_number;

http::response bad_request(std::string_view message) {
  return http::json_error(status::bad_request, "bad_request", message);
}

void append_rate(std::string& out, std::string_view key, std::optional<double> rate) {
  out += ",\"";
  out += key;
  out += "\":";
  if (!rate) {
    out += "null";
    return;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", *rate);
  out += text;
}

// The counts of one row, with "bounce" (hard + soft) and the rates; `out` has just opened
// the row's object and written at least one member.
void append_counts(std::string& out, const day_counts& counts) {
  for (auto kind : report::all_event_kinds) {
    out += ",\"";
    out += to_string(kind);
    out += "\":";
    out += std::to_string(counts.of(kind));
  }
  out += ",\"bounce\":" + std::to_string(counts.bounces());
  append_rate(out, "bounce_rate", counts.bounce_rate());
  append_rate(out, "spam_rate", counts.spam_rate());
}

}  // namespace

report_api::report_api(const report::store& store, incomplete_check incomplete,
                       metrics::registry& registry)
    : store_(store),
      incomplete_(std::move(incomplete)),
      requests_(registry.counter("mailhook_report_api_requests_total",
                                 "Requests to /v1/reports, by status", {"status"})) {}

void report_api::handle(http::verb method, std::string_view path, std::string_view query,
                        http::responder res) {
  res.send(answer(method, path, query));
}

http::response report_api::answer(http::verb method, std::string_view path,
                                  std::string_view query) {
  http::response r;
  if (path != "/v1/reports/events") {
    r = http::json_error(status::not_found, "not_found", "no route for " + std::string(path));
  } else if (method != http::verb::get) {
    r = http::json_error(status::method_not_allowed, "method_not_allowed",
                         "use GET on /v1/reports/events");
    r.set(http::field::allow, "GET");
  } else {
    r = events(query);
  }
  requests_.with({std::to_string(r.result_int())}).inc();
  return r;
}

http::response report_api::events(std::string_view query) const {
  auto params = http::parse_query(query);
  const auto& tenant = params["tenant"];
  if (!email::tenant_id::valid(tenant)) {
    return bad_request("tenant is required (1 to 255 bytes, no '/')");
  }
  auto from = report::parse_day(params["from"]);
  auto to = report::parse_day(params["to"]);
  if (!from || !to) return bad_request("from and to are required, as YYYY-MM-DD (UTC days)");
  if (*from > *to) return bad_request("from is after to");
  if (*to - *from + 1 > max_days) {
    return bad_request("at most " + std::to_string(max_days) + " days per request");
  }
  // Counts of a topic not yet read to its end would pass for lower rates than the real ones.
  if (auto why = incomplete_()) {
    auto r = http::json_error(status::service_unavailable, "unavailable",
                              "the report is not complete yet: " + *why);
    r.set(http::field::retry_after, "5");
    return r;
  }
  auto stored = store_.counts(tenant, *from, *to);
  if (!stored) {
    return http::json_error(status::internal_server_error, "internal", stored.error().describe());
  }
  std::string body = "{\"tenant\":\"";
  http::append_json_escaped(body, tenant);
  body += "\",\"from\":\"" + report::format_day(*from) + "\",\"to\":\"" + report::format_day(*to) +
          "\",\"days\":[";
  day_counts total;
  auto next = stored->begin();
  for (day_number day = *from; day <= *to; ++day) {
    day_counts row;
    row.day = day;
    if (next != stored->end() && next->day == day) row = *next++;
    total.add(row);
    if (day != *from) body += ',';
    body += "{\"day\":\"" + report::format_day(day) + "\"";
    append_counts(body, row);
    body += '}';
  }
  body += "],\"total\":{\"days\":" + std::to_string(*to - *from + 1);
  append_counts(body, total);
  body += "}}";
  return http::make_response(status::ok, std::move(body));
}

}  // namespace mailhook::app
