// The opt-in deduplicator end to end: the real mailhook binary (an ingest daemon, then the
// dedup role killed with SIGKILL mid-stream and started again) and the real shared broker.
// SendGrid's retries put events twice on the events topic; the deduplicated topic holds
// each sg_event_id once, with the key, partition, headers and per-key order of the
// original, and a restarted deduplicator rebuilds its window from that topic.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <set>

#include "mailhook/v1/email_event.pb.h"
#include "support/daemon.h"
#include "support/eventually.h"
#include "support/kafka_reader.h"

namespace mailhook::testing {
namespace {

using namespace std::chrono_literals;

std::string delivered(int n) {
  return R"({"email":"u)" + std::to_string(n % 40) +
         R"(@example.com","event":"delivered","timestamp":)" + std::to_string(1'700'000'000 + n) +
         R"(,"sg_event_id":"d)" + std::to_string(n) + R"("})";
}

std::string batch(int first, int count) {
  std::string body = "[";
  for (int n = first; n < first + count; ++n) body += (n > first ? "," : "") + delivered(n);
  return body + "]";
}

std::string id_of(const kafka_record& r) {
  v1::EmailEvent e;
  return e.ParseFromString(r.value) ? e.sg_event_id() : std::string();
}

class deduplicated_topic : public ::testing::Test {
 protected:
  void SetUp() override {
    events_ = unique_topic("events");
    deduplicated_ = unique_topic("deduplicated");
    identity_ = unique_topic("dedup");
  }

  std::string toml() const {
    return "[topics.events]\nname = \"" + events_ + "\"\npartitions = 3\n\n" +
           "[topics.events_deduplicated]\nname = \"" + deduplicated_ + "\"\n\n" +
           "[dedup]\ngroup_id = \"" + identity_ + "\"\ntransactional_id = \"" + identity_ +
           "\"\ndir = \"" + (state_.path() / "dedup").string() +
           "\"\nwindow = 1000\nmax_batch = 20\nmax_batch_wait = \"20ms\"\n\n" +
           "[sources.open]\ntenant = \"acme\"\nallow_unauthenticated = true\n";
  }

  std::unique_ptr<daemon> start(const std::string& roles) const {
    auto d = std::make_unique<daemon>(shared_kafka_bootstrap(), toml(),
                                      std::vector<std::string>{"--roles", roles});
    EXPECT_TRUE(d->wait_for_readyz(200, 60s)) << d->admin_get("/readyz").body << d->output();
    return d;
  }

  static void post(const daemon& d, const std::string& body) {
    http_client client("127.0.0.1", d.webhook_port());
    auto r = client.post("/webhooks/sendgrid/open", body, {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  temp_dir state_;
  std::string events_;
  std::string deduplicated_;
  std::string identity_;
};

TEST_F(deduplicated_topic, a_retried_batch_reaches_the_deduplicated_topic_once_through_a_kill_9) {
  auto ingest = start("ingest");
  // 600 events, then SendGrid retries the first two batches: 800 records, 600 ids.
  for (int b = 0; b < 6; ++b) post(*ingest, batch(b * 100, 100));
  post(*ingest, batch(0, 100));
  post(*ingest, batch(100, 100));

  {
    auto first = start("dedup");
    double copied_at_kill = 0;
    ASSERT_TRUE(eventually(
        [&] {
          copied_at_kill = first->metric(R"(mailhook_dedup_events_total{result="copied"})");
          return copied_at_kill >= 60;
        },
        60s))
        << first->output();
    first->proc().signal(SIGKILL);
    ASSERT_EQ(first->proc().wait(10s), 128 + SIGKILL);
    EXPECT_LT(copied_at_kill, 600) << "the kill came after the last copy";
  }
  // The same member again (it takes its partitions back at once), then one more retry of
  // a batch it copied before the kill.
  auto second = start("dedup");
  EXPECT_TRUE(
      eventually([&] { return second->metric("mailhook_dedup_rebuilt_ids_total") >= 60; }, 30s))
      << second->output();
  post(*ingest, batch(0, 100));

  auto records = read_topic_until(
      shared_kafka_bootstrap(), deduplicated_,
      [](const std::vector<kafka_record>& so_far) { return so_far.size() >= 600; }, 60s);
  ASSERT_EQ(records.size(), 600u) << second->output();
  EXPECT_TRUE(eventually(
      [&] { return second->metric(R"(mailhook_dedup_events_total{result="duplicate"})") >= 100; },
      30s))
      << second->output();
  // Nothing more comes: read committed, the topic holds each id once.
  records = read_topic(shared_kafka_bootstrap(), deduplicated_, 601, 5s);
  std::set<std::string> ids;
  for (const auto& r : records) ids.insert(id_of(r));
  EXPECT_EQ(records.size(), 600u);
  EXPECT_EQ(ids.size(), 600u);
  EXPECT_FALSE(ids.contains(""));

  // Each copy is its original's first delivery: key, partition, headers; and per key, the
  // order of the events topic.
  auto originals = read_topic(shared_kafka_bootstrap(), events_, 900, 10s);
  ASSERT_EQ(originals.size(), 900u);
  std::map<std::string, const kafka_record*> first_delivery;
  std::map<std::string, std::vector<std::string>> original_order;
  for (const auto& r : originals) {
    auto id = id_of(r);
    if (first_delivery.emplace(id, &r).second) original_order[r.key].push_back(id);
  }
  std::map<std::string, std::vector<std::string>> copied_order;
  for (const auto& r : records) {
    auto id = id_of(r);
    const auto& original = *first_delivery.at(id);
    EXPECT_EQ(r.key, original.key) << id;
    EXPECT_EQ(r.partition, original.partition) << id;
    EXPECT_EQ(r.headers, original.headers) << id;
    EXPECT_EQ(r.raw_value, original.raw_value) << id;
    copied_order[r.key].push_back(id);
  }
  EXPECT_EQ(copied_order, original_order);
}

}  // namespace
}  // namespace mailhook::testing
