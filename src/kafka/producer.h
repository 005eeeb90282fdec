// A librdkafka producer for record sets that must be confirmed as a whole: the ingest
// role answers SendGrid only once every event of a batch has a successful delivery
// report (idempotent producer, acks=all).
//
// Records are produced without copies: their bytes stay owned by the caller's set until
// it completes, which is also when the caller's memory budget is given back.
//
// Threading: publish() may be called from any thread. Completion callbacks run on the
// producer's poll thread (or on the publishing thread when nothing could be enqueued),
// so they must be quick and must not block.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "config/daemon_config.h"
#include "kafka/client.h"
#include "metrics/registry.h"

namespace mailhook::kafka {

struct record_header {
  std::string_view name;
  std::string_view value;
};

struct outgoing_record {
  rd_kafka_topic_t* topic = nullptr;  // from producer::topic()
  std::string_view key;
  std::string_view value;
  // Copied by librdkafka when the record is enqueued; empty for none.
  std::span<const record_header> headers;
  // The record's timestamp (CreateTime), Unix milliseconds; 0 = when it is enqueued.
  std::int64_t timestamp_ms = 0;
};

// How a set ended: every record confirmed, or how many were not and the first reason.
struct publish_outcome {
  std::size_t records = 0;
  std::size_t failed = 0;
  std::string first_error;  // empty when failed == 0
  std::chrono::steady_clock::duration elapsed{};
  [[nodiscard]] bool ok() const { return failed == 0; }
};

class producer {
 public:
  // `overrides` are the role's producer settings (they win over [kafka.properties]).
  [[nodiscard]] static result<std::unique_ptr<producer>> create(const config::kafka_config& kafka,
                                                                const property_list& overrides,
                                                                metrics::registry& registry);
  ~producer();
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;

  // The handle for `name`, created on first use. Call at start, not per request.
  [[nodiscard]] rd_kafka_topic_t* topic(const std::string& name);

  // Enqueues every record; `done` runs exactly once, after the last delivery report.
  // `owner` keeps the records' bytes alive until then.
  void publish(const std::vector<outgoing_record>& records, std::shared_ptr<const void> owner,
               std::function<void(const publish_outcome&)> done);

  // Waits up to `timeout` for every enqueued record to be delivered or to fail.
  void flush(std::chrono::milliseconds timeout);
  // Records waiting in librdkafka's queues or in flight.
  [[nodiscard]] int queue_depth() const;

 private:
  explicit producer(handle_ptr handle, metrics::registry& registry);
  static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  void poll_loop();

  handle_ptr handle_;
  std::unordered_map<std::string, rd_kafka_topic_t*> topics_;
  metrics::counter& delivered_;
  metrics::counter_family& failed_;
  metrics::histogram& set_latency_;
  std::atomic<bool> stopping_{false};
  std::thread poller_;
};

}  // namespace mailhook::kafka
