#include "app/report_api.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "common/json_writer.h"
#include "email/tenant_id.h"
#include "http/query.h"
#include "http/reply.h"

namespace mailhook::app {
namespace {

using http::status;
using report::day_counts;
using report::day_number;

http::response bad_request(std::string_view message) {
  return http::error_reply({error_kind::bad_input, "bad_request"}, message);
}

// A rate with six significant digits (what a report reader compares), or null when
// there is nothing to divide by.
void write_rate(json_writer& json, std::string_view key, std::optional<double> rate) {
  json.key(key);
  if (!rate) {
    json.null();
    return;
  }
  json.raw(fmt::format("{:.6g}", *rate));
}

// The members of one row after its first: each kind's count, "bounce" (hard + soft) and
// the rates.
void write_counts(json_writer& json, const day_counts& counts) {
  for (auto kind : report::all_event_kinds) json.field(to_string(kind), counts.of(kind));
  json.field("bounce", counts.bounces());
  write_rate(json, "bounce_rate", counts.bounce_rate());
  write_rate(json, "spam_rate", counts.spam_rate());
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
    r = http::error_reply({error_kind::not_found, "not_found"},
                          "no route for " + std::string(path));
  } else if (method != http::verb::get) {
    r = http::error_reply({error_kind::method_not_allowed, "method_not_allowed"},
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
    return http::error_reply({error_kind::unavailable, "unavailable"},
                             "the report is not complete yet: " + *why, std::chrono::seconds{5});
  }
  auto stored = store_.counts(tenant, *from, *to);
  if (!stored) {
    return http::error_reply(stored.error());
  }
  std::string body;
  json_writer json(body);
  json.begin_object()
      .field("tenant", tenant)
      .field("from", report::format_day(*from))
      .field("to", report::format_day(*to))
      .key("days")
      .begin_array();
  day_counts total;
  auto next = stored->begin();
  for (day_number day = *from; day <= *to; ++day) {
    day_counts row;
    row.day = day;
    if (next != stored->end() && next->day == day) row = *next++;
    total.add(row);
    json.begin_object().field("day", report::format_day(day));
    write_counts(json, row);
    json.end_object();
  }
  json.end_array().key("total").begin_object().field("days", *to - *from + 1);
  write_counts(json, total);
  json.end_object().end_object();
  return http::make_response(status::ok, std::move(body));
}

}  // namespace mailhook::app
