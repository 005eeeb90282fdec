// A librdkafka producer for record sets that must be confirmed as a whole: the ingest
// role answers SendGrid only once every event of a batch has a successful delivery
// report (idempotent producer, acks=all).
//
// Records are produced without copies: their bytes stay owned by the caller's set until
// it completes, which is also when the caller's memory budget is given back. Records
// without headers go to librdkafka a partition at a time (rd_kafka_produce_batch: one
// call, one partition lookup per partition); when the configured partitioner is murmur2
// (Kafka's Java client's), the producer partitions them itself with key_partitioner.h,
// so they land exactly where librdkafka, or a Java producer, would have put them.
// Records with headers are produced one by one (librdkafka's batch call cannot carry
// headers).
//
// A fatal error leaves a librdkafka producer unusable for good: every record it is given
// afterwards fails. The idempotent producer of librdkafka 2.0.2 (Debian 12's) can reach one
// after a broker failover ("out of order sequence number ... rewound sequence number",
// a bug fixed in librdkafka 2.3.0), which the chaos suite's leader-kill and cluster-restart
// scenarios met. The poll thread then puts a new client in its place, with a new producer
// id, and fails what the old one still held: those batches are answered 503 and sent again
// by their senders, so nothing acknowledged is lost, and intake resumes within a poll.
//
// Threading: publish() may be called from any thread. Completion callbacks run on the
// producer's poll thread (or on the publishing thread when nothing could be enqueued),
// so they must be quick and must not block.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
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

// A topic of one producer, from producer::topic(): valid as long as the producer, across
// the clients it may replace after fatal errors.
struct producer_topic;

struct outgoing_record {
  const producer_topic* topic = nullptr;  // from producer::topic()
  std::string_view key;
  std::string_view value;
  // Copied by librdkafka when the record is enqueued; empty for none.
  std::span<const record_header> headers;
  // The record's timestamp (CreateTime), Unix milliseconds, for a record with headers;
  // 0 = when it is enqueued, which is what every record without headers gets (the batch
  // call takes one clock reading for all).
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

  // The topic `name`, made on first use; its partition count is read from the cluster
  // right after, and kept current, by the producer's refresh thread. Call at start, not
  // per request: publish() reads the client's topic objects without a lock.
  [[nodiscard]] const producer_topic* topic(const std::string& name);
  // The partition count the producer partitions `topic`'s keys by; 0 while unknown or when
  // librdkafka partitions (a partitioner other than murmur2 is configured).
  [[nodiscard]] std::int32_t partitions_of(const producer_topic* topic) const;

  // Enqueues every record; `done` runs exactly once, after the last delivery report.
  // `owner` keeps the records' bytes alive until then.
  void publish(const std::vector<outgoing_record>& records, std::shared_ptr<const void> owner,
               std::function<void(const publish_outcome&)> done);

  // Waits up to `timeout` for every enqueued record to be delivered or to fail.
  void flush(std::chrono::milliseconds timeout);
  // Records waiting in librdkafka's queues or in flight.
  [[nodiscard]] int queue_depth() const;
  // Fatal errors met so far, each followed by a new client.
  [[nodiscard]] std::uint64_t clients_replaced() const {
    return static_cast<std::uint64_t>(fatal_errors_.value());
  }

 private:
  struct record_set;
  struct client;  // one librdkafka producer and its topic objects

  producer(conf_ptr client_conf, std::shared_ptr<client> first, bool partition_by_murmur2,
           metrics::registry& registry);
  static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  // A client made from a copy of `conf`, with an object for each of `topics`.
  [[nodiscard]] static result<std::shared_ptr<client>> make_client(
      const rd_kafka_conf_t* conf, const std::vector<producer_topic*>& topics);
  // After a fatal error of `broken` (the current client): a new client takes its place,
  // and what `broken` still holds fails. Keeps `broken` when no new client can be made
  // (the next poll tries again).
  void replace_client(const std::shared_ptr<client>& broken);
  void poll_loop();
  // Asks the cluster for each topic's partition count; false if any is still unknown.
  bool refresh_partition_counts(std::chrono::milliseconds timeout);
  // Keeps the counts current (a topic can gain partitions) on a thread of its own, since
  // a metadata request blocks and the poll thread must keep serving delivery reports.
  void partition_count_loop();
  // Enqueue records; each returns the error that stopped it, with `enqueued` counting the
  // records librdkafka took (and will report on).
  rd_kafka_resp_err_t enqueue_one(client& c, const outgoing_record& r, record_set* set);
  rd_kafka_resp_err_t enqueue_partitioned(client& c, std::span<const outgoing_record> run,
                                          record_set* set, std::size_t& enqueued);

  const conf_ptr client_conf_;  // each client's configuration is a copy of it
  // The client in use: publish() takes it without a lock; an old one lives on until the
  // last publish() that took it returns.
  std::atomic<std::shared_ptr<client>> client_;
  const bool partition_by_murmur2_;
  // Written by topic() and read by the refresh thread and replace_client() under
  // topics_mutex_; publish() reads the topics through their pointers, without it.
  std::mutex topics_mutex_;
  std::unordered_map<std::string, std::unique_ptr<producer_topic>> topics_;
  std::vector<producer_topic*> topics_in_order_;  // by producer_topic::index
  metrics::counter& delivered_;
  metrics::counter_family& failed_;
  metrics::histogram& set_latency_;
  metrics::counter& fatal_errors_;  // each one replaced its client
  std::atomic<bool> stopping_{false};
  std::thread poller_;
  std::mutex refresh_mutex_;
  std::condition_variable refresh_wake_;
  bool refresh_now_ = false;  // a topic was added: read the counts without waiting
  std::thread partition_counter_;
};

}  // namespace mailhook::kafka
