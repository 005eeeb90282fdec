// The kafka module against the shared real broker: topic creation (and its compaction
// check), then records produced with librdkafka's idempotent producer come back intact
// through a consumer group.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "common/clock.h"
#include "kafka/client.h"
#include "kafka/producer.h"
#include "kafka/topics.h"
#include "support/daemon.h"
#include "support/kafka_reader.h"

namespace mailhook::kafka {
namespace {

using namespace std::chrono_literals;

std::string unique_name(const std::string& stem) {
  return "test." + stem + "." + std::to_string(::getpid()) + "." +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

config::kafka_config shared_cluster() {
  config::kafka_config kafka;
  kafka.bootstrap_servers = testing::shared_kafka_bootstrap();
  kafka.client_id = "mailhook-test";
  return kafka;
}

handle_ptr admin_handle() {
  auto conf = make_conf(shared_cluster());
  EXPECT_TRUE(conf) << conf.error().describe();
  auto handle = make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  EXPECT_TRUE(handle) << handle.error().describe();
  return std::move(*handle);
}

TEST(kafka_roundtrip, probe_counts_the_brokers) {
  auto handle = admin_handle();
  auto brokers = probe_cluster(handle.get(), 10s);
  ASSERT_TRUE(brokers) << brokers.error().describe();
  EXPECT_EQ(*brokers, 1u);
}

TEST(kafka_roundtrip, ensure_topics_creates_and_is_idempotent) {
  auto handle = admin_handle();
  config::topic_spec plain{unique_name("plain"), 3, 1};
  config::topic_spec compacted{unique_name("compacted"), 2, 1, true};
  auto first = ensure_topics(handle.get(), {plain, compacted}, 30s);
  ASSERT_TRUE(first) << first.error().describe();
  auto again = ensure_topics(handle.get(), {plain, compacted}, 30s);
  EXPECT_TRUE(again) << again.error().describe();
}

TEST(kafka_roundtrip, a_changelog_topic_that_is_not_compacted_is_refused) {
  auto handle = admin_handle();
  config::topic_spec plain{unique_name("not-compacted"), 1, 1};
  ASSERT_TRUE(ensure_topics(handle.get(), {plain}, 30s));
  plain.compacted = true;
  auto refused = ensure_topics(handle.get(), {plain}, 30s);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().describe().find("must be compacted"), std::string::npos)
      << refused.error().describe();
}

// The value of one configuration entry of `topic`, as the broker describes it. A topic
// created a moment ago may not be known yet to the broker that answers (KRaft spreads
// the new topic after the controller has acknowledged it: the describe then fails for
// the resource, with no entries), so a describe without the entry is asked again, as
// ensure_topics does, for up to 30 s.
std::string topic_config(rd_kafka_t* handle, const std::string& topic, const std::string& name) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    auto* resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
    auto* queue = rd_kafka_queue_new(handle);
    rd_kafka_DescribeConfigs(handle, &resource, 1, nullptr, queue);
    std::optional<std::string> value;
    if (auto* event = rd_kafka_queue_poll(queue, 30000)) {
      std::size_t count = 0;
      const auto** described = rd_kafka_DescribeConfigs_result_resources(
          rd_kafka_event_DescribeConfigs_result(event), &count);
      for (std::size_t i = 0; i < count; ++i) {
        std::size_t entries = 0;
        const auto** configs = rd_kafka_ConfigResource_configs(described[i], &entries);
        for (std::size_t j = 0; j < entries; ++j) {
          if (name == rd_kafka_ConfigEntry_name(configs[j])) {
            const char* v = rd_kafka_ConfigEntry_value(configs[j]);
            value = v != nullptr ? v : "";
          }
        }
      }
      rd_kafka_event_destroy(event);
    }
    rd_kafka_queue_destroy(queue);
    rd_kafka_ConfigResource_destroy(resource);
    if (value) return *value;
    if (std::chrono::steady_clock::now() >= deadline) return "(not described)";
    std::this_thread::sleep_for(100ms);
  }
}

// min_insync_replicas reaches the broker as the topic's min.insync.replicas (production
// asks for 2 of 3 copies; docs/reliability.md), and 0 leaves the broker's default (1).
// A single broker caps the one it enforces at the copies there are, so the described
// value is what can be checked here; the chaos suite writes to such topics on 3 nodes.
TEST(kafka_roundtrip, ensure_topics_sets_min_insync_replicas) {
  const std::string set = unique_name("min-insync");
  const std::string unset = unique_name("min-insync-default");
  auto handle = admin_handle();
  config::topic_spec spec{set, 1, 1};
  spec.min_insync_replicas = 2;
  ASSERT_TRUE(ensure_topics(handle.get(), {spec, {unset, 1, 1}}, 30s));
  EXPECT_EQ(topic_config(handle.get(), set, "min.insync.replicas"), "2");
  EXPECT_EQ(topic_config(handle.get(), unset, "min.insync.replicas"), "1");
}

TEST(kafka_roundtrip, produced_records_come_back_through_a_consumer_group) {
  const std::string topic = unique_name("roundtrip");
  {
    auto handle = admin_handle();
    ASSERT_TRUE(ensure_topics(handle.get(), {{topic, 3, 1}}, 30s));
  }

  static std::atomic<int> delivered{0};
  static std::atomic<int> failed{0};
  delivered = 0;
  failed = 0;
  auto producer_conf = make_conf(
      shared_cluster(), {{"enable.idempotence", "true"}, {"acks", "all"}, {"linger.ms", "5"}});
  ASSERT_TRUE(producer_conf);
  rd_kafka_conf_set_dr_msg_cb(
      producer_conf->get(), [](rd_kafka_t*, const rd_kafka_message_t* m, void*) {
        (m->err == RD_KAFKA_RESP_ERR_NO_ERROR ? delivered : failed).fetch_add(1);
      });
  auto producer = make_handle(RD_KAFKA_PRODUCER, std::move(*producer_conf));
  ASSERT_TRUE(producer) << producer.error().describe();

  rd_kafka_topic_t* topic_handle = rd_kafka_topic_new(producer->get(), topic.c_str(), nullptr);
  constexpr int count = 1000;
  std::set<std::string> sent;
  for (int i = 0; i < count; ++i) {
    std::string key = "tenant-" + std::to_string(i % 7);
    std::string value = "record-" + std::to_string(i);
    sent.insert(key + "=" + value);
    int rc = rd_kafka_produce(topic_handle, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                              value.data(), value.size(), key.data(), key.size(), nullptr);
    ASSERT_EQ(rc, 0) << rd_kafka_err2str(rd_kafka_last_error());
    rd_kafka_poll(producer->get(), 0);
  }
  ASSERT_EQ(rd_kafka_flush(producer->get(), 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_destroy(topic_handle);
  EXPECT_EQ(delivered.load(), count);
  EXPECT_EQ(failed.load(), 0);

  auto consumer_conf = make_conf(
      shared_cluster(), {{"group.id", unique_name("group")}, {"auto.offset.reset", "earliest"}});
  ASSERT_TRUE(consumer_conf);
  auto consumer = make_handle(RD_KAFKA_CONSUMER, std::move(*consumer_conf));
  ASSERT_TRUE(consumer) << consumer.error().describe();
  rd_kafka_poll_set_consumer(consumer->get());
  auto* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  ASSERT_EQ(rd_kafka_subscribe(consumer->get(), topics), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);

  std::set<std::string> received;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (received.size() < sent.size() && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer->get(), 500);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      received.insert(std::string(static_cast<const char*>(m->key), m->key_len) + "=" +
                      std::string(static_cast<const char*>(m->payload), m->len));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(consumer->get());
  EXPECT_EQ(received, sent);
}

TEST(kafka_roundtrip, a_published_set_keeps_its_headers_and_given_timestamps) {
  const std::string topic = unique_name("published");
  {
    auto handle = admin_handle();
    ASSERT_TRUE(ensure_topics(handle.get(), {{topic, 1, 1}}, 30s));
  }
  metrics::registry registry;
  auto producer = producer::create(shared_cluster(), {{"linger.ms", "5"}}, registry);
  ASSERT_TRUE(producer) << producer.error().describe();

  // An hour ago: far from any clock librdkafka could read while enqueueing.
  const std::int64_t given = unix_ms() - 3'600'000;
  const std::vector<record_header> headers{{"h-one", "1"}, {"h-two", "two"}};
  std::vector<outgoing_record> records{
      {(*producer)->topic(topic), "k-given", "v-given", headers, given},
      {(*producer)->topic(topic), "k-enqueued", "v-enqueued", {}, 0},
  };
  const std::int64_t before = unix_ms();
  std::promise<publish_outcome> outcome;
  (*producer)->publish(records, nullptr, [&](const publish_outcome& o) { outcome.set_value(o); });
  auto done = outcome.get_future();
  ASSERT_EQ(done.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(done.get().ok());
  const std::int64_t after = unix_ms();

  auto read = testing::read_topic(testing::shared_kafka_bootstrap(), topic, 2, 30s);
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].key, "k-given");
  EXPECT_EQ(read[0].value, "v-given");
  EXPECT_EQ(read[0].timestamp_ms, given);
  EXPECT_EQ(read[0].headers,
            (std::map<std::string, std::string>{{"h-one", "1"}, {"h-two", "two"}}));
  EXPECT_EQ(read[1].key, "k-enqueued");
  EXPECT_GE(read[1].timestamp_ms, before);
  EXPECT_LE(read[1].timestamp_ms, after);
  EXPECT_TRUE(read[1].headers.empty());
}

}  // namespace
}  // namespace mailhook::kafka
