// The 2xx contract through a broker outage, with a broker of the test's own: while Kafka
// is down every batch gets 503 (fast, once readiness has noticed), never a 2xx for data
// that is not in Kafka; once it is back, batches are accepted again without a restart,
// and every batch that was ever answered 200 is in the topic.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "mailhook/v1/email_event.pb.h"
#include "support/daemon.h"
#include "support/kafka_reader.h"
#include "support/sendgrid_events.h"

namespace mailhook::testing {
namespace {

using namespace std::chrono_literals;

TEST(ingest_outage, only_503s_while_kafka_is_down_and_nothing_acknowledged_is_lost) {
  kafka_broker broker;
  const std::string topic = unique_topic("outage");
  daemon d(broker.bootstrap(),
           "[ingest]\nrequest_deadline = \"3s\"\nretry_after = \"2s\"\n\n"
           "[topics.events]\nname = \"" +
               topic +
               "\"\npartitions = 2\n\n"
               "[sources.open]\ntenant = \"t\"\nallow_unauthenticated = true\n");
  ASSERT_TRUE(d.wait_for_readyz(200, 60s)) << d.admin_get("/readyz").body;

  // A client posting 20-event batches back to back, as SendGrid would, all through the
  // outage; it remembers every event of every batch answered 200.
  std::mutex mutex;
  std::set<std::string> acknowledged;
  struct answer {
    int status;
    std::chrono::steady_clock::time_point sent;
    std::chrono::steady_clock::duration latency;
  };
  std::vector<answer> answers;
  std::atomic<bool> stop_loading{false};
  std::thread loader([&] {
    auto client = std::make_unique<http_client>("127.0.0.1", d.webhook_port());
    for (std::uint64_t next = 0; !stop_loading.load(); next += 20) {
      auto batch = make_events(77, next, 20);
      auto started = std::chrono::steady_clock::now();
      http_reply r;
      try {
        r = client->post("/webhooks/sendgrid/open", batch_body(batch),
                         {{"Content-Type", "application/json"}});
      } catch (const std::exception&) {
        // The server closes a connection after a 503 sent before the body was read.
        client = std::make_unique<http_client>("127.0.0.1", d.webhook_port());
        continue;
      }
      std::lock_guard lock(mutex);
      answers.push_back({r.status, started, std::chrono::steady_clock::now() - started});
      if (r.status == 200) {
        for (const auto& e : batch) acknowledged.insert(e.sg_event_id);
      }
      if (r.status != 200) std::this_thread::sleep_for(20ms);
    }
  });
  // The answers to requests sent at or after `from`.
  auto answers_since = [&](std::chrono::steady_clock::time_point from) {
    std::lock_guard lock(mutex);
    std::vector<answer> after;
    for (const auto& a : answers) {
      if (a.sent >= from) after.push_back(a);
    }
    return after;
  };

  std::this_thread::sleep_for(2s);
  broker.stop();  // mid-load: batches are in flight right now
  ASSERT_TRUE(d.wait_for_readyz(503, 30s));
  // Batches sent before the outage was noticed wait for their deadline (3 s) and get
  // 503 too; those sent after it must be refused at once.
  const auto noticed = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(4s);
  auto while_down = answers_since(noticed);
  ASSERT_GE(while_down.size(), 10u) << "the client should keep getting fast answers";
  for (const auto& a : while_down) {
    EXPECT_EQ(a.status, 503);
    EXPECT_LT(a.latency, 1s) << "a 503 while Kafka is known to be down must be fast";
  }

  broker.start();
  ASSERT_TRUE(d.wait_for_readyz(200, 90s)) << d.output();
  const auto up_from = std::chrono::steady_clock::now();
  auto deadline = std::chrono::steady_clock::now() + 60s;
  std::size_t ok_after_return = 0;
  while (ok_after_return < 10 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    ok_after_return = 0;
    for (const auto& a : answers_since(up_from)) ok_after_return += a.status == 200;
  }
  stop_loading.store(true);
  loader.join();
  EXPECT_GE(ok_after_return, 10u) << "batches must be accepted again once Kafka is back";

  {
    // While the broker was down nothing may have been answered 200; that is what
    // while_down checked. Now: everything ever answered 200 is in Kafka.
    std::lock_guard lock(mutex);
    ASSERT_FALSE(acknowledged.empty());
  }
  std::set<std::string> in_kafka;
  std::size_t seen = 0;
  read_topic_until(
      broker.bootstrap(), topic,
      [&](const std::vector<kafka_record>& records) {
        for (; seen < records.size(); ++seen) {
          v1::EmailEvent e;
          if (e.ParseFromString(records[seen].value)) in_kafka.insert(e.sg_event_id());
        }
        return std::includes(in_kafka.begin(), in_kafka.end(), acknowledged.begin(),
                             acknowledged.end());
      },
      60s);
  std::size_t missing = 0;
  for (const auto& id : acknowledged) missing += !in_kafka.contains(id);
  EXPECT_EQ(missing, 0u) << "events answered 200 but not in Kafka, of " << acknowledged.size();
}

}  // namespace
}  // namespace mailhook::testing
