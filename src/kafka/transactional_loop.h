// The life of a role that reads a consumer group's records in batches and commits each
// batch in a Kafka transaction (the policy and sender roles): wait until it may start,
// connect, run batches; when a batch fails, disconnect and connect again, so that the
// group hands out the committed offsets and the batch is read again.
//
// It joins the group for the role (join_group()) and handles its rebalances: a role that
// rebuilds state per partition (the sender's ledger, the policy's soft-bounce counts, the
// deduplicator's window) does so in on_assigned(), before the partition's first record is
// read, and a failure there fails the next batch, so that the role reconnects and tries
// again. It also keeps a gauge of the partitions the group has assigned to this member,
// looked at after a batch at most once a second (0 while disconnected), so that an idle
// member beside a busy one shows.
//
// Threading: run_loop() on the role's own thread; not_ready(), request_stop() and
// stopped() from any thread.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include "common/result.h"
#include "config/daemon_config.h"
#include "kafka/client.h"
#include "metrics/registry.h"

namespace mailhook::kafka {

class transactional_loop {
 public:
  virtual ~transactional_loop() = default;
  transactional_loop(const transactional_loop&) = delete;
  transactional_loop& operator=(const transactional_loop&) = delete;

  // Why the role is not processing records (nullopt while it is), for /readyz.
  [[nodiscard]] std::optional<std::string> not_ready() const;

 protected:
  // `name` prefixes its log lines ("policy"); `working` is logged when batches flow;
  // `assigned_partitions` is the role's gauge of the partitions assigned to it.
  transactional_loop(std::string name, std::string working, metrics::gauge& assigned_partitions);

  // Runs until request_stop(); returns after the batch in hand.
  void run_loop();
  // A consumer group member for the role (kafka/transactions.h): `group_id`, static
  // membership and transactions under `instance_id`, subscribed to `topic`, with this
  // loop's rebalance handling.
  [[nodiscard]] result<handle_ptr> join_group(const config::kafka_config& kafka,
                                              const std::string& group_id,
                                              const std::string& instance_id,
                                              const std::string& topic);
  // Why the last assignment could not be prepared (on_assigned() failed, or the
  // partitions were of another topic), once; a batch that gets one fails with it before
  // processing anything.
  [[nodiscard]] result<void> take_rebalance_failure();
  void request_stop() { stopping_.store(true); }
  [[nodiscard]] bool stop_requested() const { return stopping_.load(); }
  // run_loop() has returned.
  [[nodiscard]] bool stopped() const { return stopped_.load(); }

 private:
  // Why the role may not start yet (a replica still catching up), or nullopt.
  [[nodiscard]] virtual std::optional<std::string> blocked() const = 0;
  [[nodiscard]] virtual bool connected() const = 0;
  [[nodiscard]] virtual result<void> connect() = 0;
  virtual void disconnect() = 0;
  // The group member's consumer while connected, else nullptr.
  [[nodiscard]] virtual rd_kafka_t* group_consumer() const = 0;
  // One batch: read, process, commit. A failure means nothing of it was committed.
  [[nodiscard]] virtual result<void> run_one_batch() = 0;
  // Newly assigned partitions (all of the subscribed topic), before their first record is
  // read; on the role's thread, inside its consume call.
  [[nodiscard]] virtual result<void> on_assigned(const rd_kafka_topic_partition_list_t&) {
    return {};
  }
  // Partitions taken away, after their last record was processed.
  virtual void on_revoked(const rd_kafka_topic_partition_list_t&) {}

  static void rebalance(rd_kafka_t* consumer, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* partitions, void* opaque);

  void set_state(std::string why_not);
  void note_assignment();

  const std::string name_;
  const std::string working_;
  metrics::gauge& assigned_partitions_;
  std::chrono::steady_clock::time_point next_assignment_check_{};
  std::string subscribed_topic_;
  std::string instance_id_;
  result<void> rebalance_failure_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  mutable std::mutex state_mutex_;
  std::string not_ready_ = "starting";
};

}  // namespace mailhook::kafka
