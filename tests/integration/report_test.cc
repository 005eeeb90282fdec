// The bounce report end to end: events posted to the real ingest listener, counted by the
// report role of the same daemon from the shared broker, the daemon killed with SIGKILL
// with a batch possibly half counted, restarted on the same directory, SendGrid's retries
// of what it had already counted posted again; then GET /v1/reports/events and every
// output format of `mailhook report events` must show exactly the events posted, each
// sg_event_id once.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <ctime>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/daemon.h"
#include "support/kafka_reader.h"

namespace mailhook::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t seconds_per_day = 86'400;

std::string day_text(std::int64_t unix_seconds) {
  auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
  return text;
}

// One event as SendGrid posts it; `extra` is more members, e.g. ",\"type\":\"blocked\"".
std::string event(const std::string& type, const std::string& id, std::int64_t timestamp,
                  const std::string& extra = "") {
  return "{\"email\":\"user-" + id + "@example.com\",\"timestamp\":" + std::to_string(timestamp) +
         ",\"event\":\"" + type + "\",\"sg_event_id\":\"" + id + "\",\"sg_message_id\":\"m-" + id +
         "\"" + extra + "}";
}

std::string batch(const std::vector<std::string>& events) {
  std::string body = "[";
  for (const auto& e : events) body += (body.size() > 1 ? "," : "") + e;
  return body + "]";
}

class report_test : public ::testing::Test {
 protected:
  void SetUp() override {
    topic_ = unique_topic("report.events");
    now_ = static_cast<std::int64_t>(std::time(nullptr));
    today_ = day_text(now_);
    yesterday_ = day_text(now_ - seconds_per_day);
  }

  void start() {
    std::string toml = "[topics.events]\nname = \"" + topic_ +
                       "\"\npartitions = 2\n\n[report]\ndir = \"" +
                       (files_.path() / "report").string() +
                       "\"\n\n[sources.open]\ntenant = \"acme\"\nallow_unauthenticated = true\n";
    daemon_ = std::make_unique<daemon>(shared_kafka_bootstrap(), toml,
                                       std::vector<std::string>{"--roles", "ingest,report"});
    ASSERT_TRUE(daemon_->wait_for_readyz(200, 60s)) << daemon_->admin_get("/readyz").body << "\n"
                                                    << daemon_->output();
  }

  void post(const std::string& body) {
    http_client client("127.0.0.1", daemon_->webhook_port());
    auto r = client.post("/webhooks/sendgrid/open", body, {});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  std::string report_target(const std::string& from, const std::string& to) const {
    return "/v1/reports/events?tenant=acme&from=" + from + "&to=" + to;
  }

  // The report's JSON once its total holds `delivered` delivered events (what the test
  // posted last), or the last answer after 30 s.
  std::string wait_for_delivered(int delivered) {
    auto want = "\"total\":{\"days\":2,\"delivered\":" + std::to_string(delivered) + ",";
    http_reply r;
    for (auto deadline = std::chrono::steady_clock::now() + 30s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(200ms)) {
      r = daemon_->admin_get(report_target(yesterday_, today_));
      if (r.status == 200 && r.body.find(want) != std::string::npos) break;
    }
    return r.body;
  }

  // `mailhook report events --admin <the daemon> --tenant acme <args>`, with the reader's
  // token unless `env` says otherwise.
  run_result report_events(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env = {
                               {"MAILHOOK_ADMIN_TOKEN", std::string(daemon::read_token)}}) const {
    std::vector<std::string> argv = {mailhook_binary(),
                                     "report",
                                     "events",
                                     "--admin",
                                     "http://127.0.0.1:" + std::to_string(daemon_->admin_port()),
                                     "--tenant",
                                     "acme"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, env);
  }

  run_result cli(const std::string& format) const {
    return report_events({"--days", "2", "--format", format});
  }

  temp_dir files_;
  std::string topic_;
  std::int64_t now_ = 0;
  std::string today_;
  std::string yesterday_;
  std::unique_ptr<daemon> daemon_;
};

TEST_F(report_test, counts_each_event_once_across_a_kill_and_serves_api_and_cli_alike) {
  start();
  const auto y = now_ - seconds_per_day;  // yesterday, as the events' own time
  // First batch: yesterday 2 delivered, a hard and a soft bounce, a spam report; today a
  // delivered, a dropped, an unsubscribe, a group unsubscribe, an open (not counted); one
  // delivered twice in the same batch.
  std::vector<std::string> first = {
      event("delivered", "d1", y),
      event("delivered", "d2", y),
      event("bounce", "b1", y, ",\"type\":\"bounce\",\"status\":\"5.1.1\""),
      event("bounce", "b2", y, ",\"type\":\"blocked\",\"status\":\"4.0.0\""),
      event("spamreport", "s1", y),
      event("delivered", "d3", now_),
      event("delivered", "d3", now_),
      event("dropped", "x1", now_, ",\"reason\":\"Bounced Address\""),
      event("unsubscribe", "u1", now_),
      event("group_unsubscribe", "g1", now_, ",\"asm_group_id\":7"),
      event("open", "o1", now_),
  };
  post(batch(first));
  auto body = wait_for_delivered(3);
  ASSERT_NE(body.find("\"total\":{\"days\":2,\"delivered\":3,\"bounce_hard\":1,\"bounce_soft\":1"),
            std::string::npos)
      << body;
  auto metrics = daemon_->admin_get("/metrics").body;
  EXPECT_NE(metrics.find("mailhook_report_events_total{tenant=\"acme\",kind=\"bounce_soft\"} 1"),
            std::string::npos);

  // Second batch: new events, and SendGrid's retry of three it had sent already. The
  // daemon is killed at once, whether or not the report has counted the batch yet.
  std::vector<std::string> second = {
      event("delivered", "d4", y),
      event("bounce", "b3", now_, ",\"type\":\"expired\""),
      event("delivered", "d1", y),
      event("bounce", "b1", y, ",\"type\":\"bounce\",\"status\":\"5.1.1\""),
      event("unsubscribe", "u1", now_),
  };
  post(batch(second));
  daemon_->proc().signal(SIGKILL);
  ASSERT_EQ(daemon_->proc().wait(10s), 128 + SIGKILL);
  daemon_.reset();

  // The same directory and topic again; SendGrid retries the whole second batch.
  start();
  post(batch(second));
  body = wait_for_delivered(4);
  // Give a double count, if there were one, the time to show.
  std::this_thread::sleep_for(2s);
  body = daemon_->admin_get(report_target(yesterday_, today_)).body;
  const std::string expected =
      "{\"tenant\":\"acme\",\"from\":\"" + yesterday_ + "\",\"to\":\"" + today_ +
      "\",\"days\":["
      "{\"day\":\"" +
      yesterday_ +
      "\",\"delivered\":3,\"bounce_hard\":1,\"bounce_soft\":1,\"dropped\":0,\"spamreport\":1,"
      "\"unsubscribe\":0,\"group_unsubscribe\":0,\"bounce\":2,\"bounce_rate\":0.4,"
      "\"spam_rate\":0.333333},"
      "{\"day\":\"" +
      today_ +
      "\",\"delivered\":1,\"bounce_hard\":0,\"bounce_soft\":1,\"dropped\":1,\"spamreport\":0,"
      "\"unsubscribe\":1,\"group_unsubscribe\":1,\"bounce\":1,\"bounce_rate\":0.5,"
      "\"spam_rate\":0}],"
      "\"total\":{\"days\":2,\"delivered\":4,\"bounce_hard\":1,\"bounce_soft\":2,\"dropped\":1,"
      "\"spamreport\":1,\"unsubscribe\":1,\"group_unsubscribe\":1,\"bounce\":3,"
      "\"bounce_rate\":0.428571,\"spam_rate\":0.25}}";
  EXPECT_EQ(body, expected);

  auto json = cli("json");
  ASSERT_EQ(json.status, 0) << json.output;
  EXPECT_EQ(json.output, expected + "\n");

  auto by_dates = report_events({"--from", yesterday_, "--to", today_, "--format", "json"});
  EXPECT_EQ(by_dates.output, expected + "\n");

  auto csv = cli("csv");
  ASSERT_EQ(csv.status, 0) << csv.output;
  EXPECT_EQ(csv.output,
            "day,delivered,bounce,bounce_hard,bounce_soft,dropped,spamreport,unsubscribe,"
            "group_unsubscribe,bounce_rate,spam_rate\n" +
                yesterday_ + ",3,2,1,1,0,1,0,0,0.4,0.333333\n" + today_ +
                ",1,1,0,1,1,0,1,1,0.5,0\n");

  auto table = cli("table");
  ASSERT_EQ(table.status, 0) << table.output;
  EXPECT_TRUE(std::regex_search(
      table.output, std::regex("^day +delivered +bounce +bounce_hard +bounce_soft +dropped +"
                               "spamreport +unsubscribe +group_unsubscribe +bounce_rate +"
                               "spam_rate\n")))
      << table.output;
  EXPECT_TRUE(std::regex_search(
      table.output, std::regex(yesterday_ + " +3 +2 +1 +1 +0 +1 +0 +0 +40\\.00% +33\\.33%\n")))
      << table.output;
  EXPECT_TRUE(std::regex_search(
      table.output, std::regex("\ntotal +4 +3 +1 +2 +1 +1 +1 +1 +42\\.86% +25\\.00%\n$")))
      << table.output;
}

TEST_F(report_test, bad_queries_get_400_and_a_process_without_the_role_404) {
  start();
  auto r =
      daemon_->admin_get("/v1/reports/events?tenant=acme&from=" + today_ + "&to=" + yesterday_);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\"error\":\"bad_request\""), std::string::npos) << r.body;
  auto bad = report_events({"--days", "400"});
  EXPECT_EQ(bad.status, 2) << bad.output;
  // No token: the API's refusal and the hint about MAILHOOK_ADMIN_TOKEN.
  auto no_token = report_events({}, {});
  EXPECT_EQ(no_token.status, 1) << no_token.output;
  EXPECT_NE(no_token.output.find("HTTP 401"), std::string::npos) << no_token.output;

  daemon ingest_only(shared_kafka_bootstrap(), "[topics.events]\nname = \"" + topic_ + "\"\n",
                     {"--roles", "ingest"});
  auto missing = ingest_only.admin_get(report_target(yesterday_, today_));
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("does not run the report role"), std::string::npos) << missing.body;
}

}  // namespace
}  // namespace mailhook::testing
