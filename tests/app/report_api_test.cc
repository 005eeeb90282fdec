#include "app/report_api.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <optional>
#include <string>

#include "support/temp_dir.h"

namespace mailhook::app {
namespace {

using report::event_kind;

class report_api_test : public ::testing::Test {
 protected:
  void SetUp() override {
    report::store_options options;
    options.dir = dir.path() / "report";
    options.topic = "sendgrid.events";
    auto opened = report::store::open(options);
    ASSERT_TRUE(opened) << opened.error().describe();
    store = std::move(*opened);
    api = std::make_unique<report_api>(
        *store, [this] { return incomplete; }, registry);
  }

  void count(std::string_view tenant, std::string_view id, event_kind kind, const char* day) {
    report::consumed_record r{0, offset++, std::nullopt};
    auto d = *report::parse_day(day);
    r.event = report::consumed_record::counted{tenant, id, kind, d, d};
    ASSERT_TRUE(store->apply({&r, 1}));
  }

  http::response get(const std::string& query) {
    return api->answer(http::verb::get, "/v1/reports/events", query);
  }

  mailhook::testing::temp_dir dir;
  metrics::registry registry;
  std::unique_ptr<report::store> store;
  std::unique_ptr<report_api> api;
  std::optional<std::string> incomplete;
  std::int64_t offset = 0;
};

TEST_F(report_api_test, answers_every_day_of_the_range_with_counts_rates_and_a_total) {
  count("acme", "d1", event_kind::delivered, "2026-12-01");
  count("acme", "d2", event_kind::delivered, "2026-12-01");
  count("acme", "d3", event_kind::delivered, "2026-12-01");
  count("acme", "b1", event_kind::bounce_hard, "2026-12-01");
  count("acme", "s1", event_kind::spamreport, "2026-12-03");
  count("other", "x", event_kind::delivered, "2026-12-02");
  auto r = get("tenant=acme&from=2026-12-01&to=2026-12-03");
  ASSERT_EQ(r.result_int(), 200) << r.body();
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(r.body());
  simdjson::dom::array days = doc["days"];
  ASSERT_EQ(days.size(), 3u);
  EXPECT_EQ(std::string_view(days.at(0)["day"]), "2026-12-01");
  EXPECT_EQ(std::uint64_t(days.at(0)["delivered"]), 3u);
  EXPECT_EQ(std::uint64_t(days.at(0)["bounce"]), 1u);
  EXPECT_EQ(std::uint64_t(days.at(0)["bounce_hard"]), 1u);
  EXPECT_DOUBLE_EQ(double(days.at(0)["bounce_rate"]), 0.25);
  EXPECT_DOUBLE_EQ(double(days.at(0)["spam_rate"]), 0);
  // A day without events is a row of zeros, its rates null.
  EXPECT_EQ(std::string_view(days.at(1)["day"]), "2026-12-02");
  EXPECT_EQ(std::uint64_t(days.at(1)["delivered"]), 0u);
  EXPECT_TRUE(days.at(1)["bounce_rate"].is_null());
  EXPECT_TRUE(days.at(2)["spam_rate"].is_null());  // a spam report, nothing delivered that day
  EXPECT_EQ(std::uint64_t(doc["total"]["spamreport"]), 1u);
  EXPECT_EQ(std::uint64_t(doc["total"]["days"]), 3u);
  // Six significant digits.
  EXPECT_EQ(double(doc["total"]["spam_rate"]), 0.333333);
}

TEST_F(report_api_test, refuses_bad_queries_with_400_and_the_error_json) {
  for (const char* query :
       {"", "from=2026-12-01&to=2026-12-02", "tenant=a%2Fb&from=2026-12-01&to=2026-12-02",
        "tenant=acme&from=2026-12-01", "tenant=acme&from=2026-12-1&to=2026-12-02",
        "tenant=acme&from=2026-12-03&to=2026-12-02", "tenant=acme&from=2025-01-01&to=2026-01-02"}) {
    auto r = get(query);
    EXPECT_EQ(r.result_int(), 400) << query;
    EXPECT_NE(r.body().find("\"error\":\"bad_request\""), std::string::npos) << r.body();
  }
  // 366 days is the most one request may ask for.
  EXPECT_EQ(get("tenant=acme&from=2025-01-01&to=2026-01-01").result_int(), 200);
}

TEST_F(report_api_test, answers_503_until_the_counts_are_complete) {
  incomplete = "counting the events topic";
  auto r = get("tenant=acme&from=2026-12-01&to=2026-12-01");
  EXPECT_EQ(r.result_int(), 503);
  EXPECT_EQ(r[http::field::retry_after], "5");
  EXPECT_NE(r.body().find("\"error\":\"unavailable\""), std::string::npos) << r.body();
  EXPECT_NE(r.body().find("counting the events topic"), std::string::npos) << r.body();
}

TEST_F(report_api_test, other_paths_and_methods_are_refused) {
  EXPECT_EQ(api->answer(http::verb::get, "/v1/reports/other", "").result_int(), 404);
  auto r = api->answer(http::verb::post, "/v1/reports/events", "tenant=acme");
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(r[http::field::allow], "GET");
}

}  // namespace
}  // namespace mailhook::app
