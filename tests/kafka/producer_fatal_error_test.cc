// kafka::producer after a fatal error of its idempotent client: what the broken client
// held fails, a new client takes its place, and what is published afterwards is delivered.
// On librdkafka's mock cluster, which can make the broker answer a produce request with
// the error that, after a failover, left a real broker's producer fatally broken in the
// chaos suite (OUT_OF_ORDER_SEQUENCE_NUMBER).
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
// After rdkafka.h, which it needs.
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "kafka/producer.h"
#include "metrics/registry.h"

namespace mailhook::kafka {
namespace {

using namespace std::chrono_literals;

// A one-broker mock cluster with the topic `events` of one partition; the cluster lives
// inside an rd_kafka_t of its own, as librdkafka requires.
class mock_cluster {
 public:
  mock_cluster() {
    char err[256];
    owner_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), err, sizeof err));
    cluster_ = rd_kafka_mock_cluster_new(owner_.get(), 1);
    rd_kafka_mock_topic_create(cluster_, "events", 1, 1);
  }
  ~mock_cluster() { rd_kafka_mock_cluster_destroy(cluster_); }
  mock_cluster(const mock_cluster&) = delete;
  mock_cluster& operator=(const mock_cluster&) = delete;

  [[nodiscard]] std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  // The next `count` produce requests are answered with `err`.
  void fail_produce_requests(int count, rd_kafka_resp_err_t err) {
    for (int i = 0; i < count; ++i) {
      rd_kafka_mock_push_request_errors(cluster_, 0 /* Produce */, 1, err);
    }
  }

 private:
  handle_ptr owner_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

// Publishes one record and waits for its outcome.
publish_outcome publish_one(producer& p, const producer_topic* topic, const std::string& value) {
  auto bytes = std::make_shared<std::string>(value);
  std::promise<publish_outcome> outcome;
  auto done = outcome.get_future();
  p.publish({{topic, "tenant/a@example.com", *bytes, {}, 0}}, bytes,
            [&outcome](const publish_outcome& o) { outcome.set_value(o); });
  EXPECT_EQ(done.wait_for(30s), std::future_status::ready);
  return done.get();
}

TEST(producer_fatal_error, a_new_client_takes_over_and_delivers_what_comes_next) {
  mock_cluster cluster;
  config::kafka_config kafka;
  kafka.bootstrap_servers = cluster.bootstrap();
  metrics::registry registry;
  auto made = producer::create(kafka,
                               {{"enable.idempotence", "true"},
                                {"acks", "all"},
                                {"linger.ms", "0"},
                                {"message.timeout.ms", "20000"}},
                               registry);
  ASSERT_TRUE(made) << made.error().describe();
  auto& p = **made;
  const producer_topic* topic = p.topic("events");
  ASSERT_TRUE(publish_one(p, topic, "before").ok());

  cluster.fail_produce_requests(1, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
  const auto broken = publish_one(p, topic, "when it breaks");
  EXPECT_FALSE(broken.ok());
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (p.clients_replaced() == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(p.clients_replaced(), 1u) << "no new client after: " << broken.first_error;

  const auto after = publish_one(p, topic, "after");
  EXPECT_TRUE(after.ok()) << after.first_error;
  EXPECT_EQ(p.clients_replaced(), 1u);
}

}  // namespace
}  // namespace mailhook::kafka
