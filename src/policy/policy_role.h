// The policy role: a consumer group on the events topic that turns events into
// suppression changes on the compacted changelog, exactly once. Each batch is one Kafka
// transaction: the changes it produces and the consumed offsets commit together, or
// neither does (a crash mid-batch aborts it, and the events are read again).
//
// Last-writer-wins is decided here, before writing, against the local index replica
// (the state every change so far has built) plus the changes this role has produced
// that the replica has not applied yet. So a duplicate or an older event writes
// nothing, and the last record of each key in the topic is its winner, which is what
// compaction keeps.
//
// With a soft-bounce threshold, the count of each address's soft bounces is kept per
// assigned events partition, and the history of every address a batch changed goes to
// the soft-bounces topic in the batch's transaction, to the events' partition number.
// A newly assigned partition's counts are read back from that topic before its first
// event, so they survive restarts, rebalances and aborted batches.
//
// Threading: one thread of its own; ready() and last_error() from any thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "common/result.h"
#include "config/daemon_config.h"
#include "index/replica.h"
#include "index/store.h"
#include "kafka/client.h"
#include "kafka/transactional_loop.h"
#include "metrics/registry.h"
#include "suppression/policy.h"

namespace mailhook::policy {

class policy_role final : public kafka::transactional_loop {
 public:
  [[nodiscard]] static result<std::unique_ptr<policy_role>> start(
      const config::daemon_config& config, const index::store& state,
      const index::replica& follower, metrics::registry& registry);
  ~policy_role() override;

  void stop();

 private:
  policy_role(const config::daemon_config& config, const index::store& state,
              const index::replica& follower, metrics::registry& registry);
  std::optional<std::string> blocked() const override;
  bool connected() const override { return producer_ != nullptr; }
  rd_kafka_t* group_consumer() const override { return consumer_.get(); }
  result<void> connect() override;
  void disconnect() override;
  // One transaction: consume up to max_batch events, produce their changes, commit. A
  // batch that does not commit counts as aborted.
  result<void> run_one_batch() override;
  result<void> transact_one_batch();
  // Produces, in the open transaction, the history of every address the batch changed.
  [[nodiscard]] rd_kafka_resp_err_t produce_soft_bounce_histories();

  // Reads the soft-bounce history of newly assigned events partitions.
  result<void> on_assigned(const rd_kafka_topic_partition_list_t& partitions) override;
  void on_revoked(const rd_kafka_topic_partition_list_t& partitions) override;

  [[nodiscard]] std::optional<suppression::record> current_state(const std::string& key) const;
  void forget_applied_changes();

  config::daemon_config config_;
  std::string transactional_id_;
  const index::store& state_;
  const index::replica& follower_;
  kafka::handle_ptr consumer_;
  kafka::handle_ptr producer_;
  rd_kafka_topic_t* changelog_ = nullptr;
  rd_kafka_topic_t* soft_bounce_topic_ = nullptr;
  // Per assigned events partition (run thread only).
  std::map<std::int32_t, suppression::soft_bounce_counter> soft_bounces_;
  // Changes committed (or being committed) that the replica may not show yet, by key.
  std::unordered_map<std::string, suppression::record> pending_;
  std::chrono::steady_clock::time_point next_sweep_{};

  metrics::counter_family& events_;
  metrics::counter_family& changes_;
  metrics::counter_family& transactions_;
  metrics::histogram& transaction_seconds_;
  metrics::gauge& soft_bounce_addresses_;
  std::thread thread_;
};

}  // namespace mailhook::policy
