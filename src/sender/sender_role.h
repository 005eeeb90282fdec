// The sender role: a consumer group on mailhook.send.requests that checks every recipient
// against the local index replica, delivers the rest through SendGrid's Mail Send API,
// and publishes one mailhook.v1.SendResult per request on mailhook.send.results.
//
// A batch of requests goes through three steps:
//   1. plan: decode, validate, check suppressions; requests with nothing to call are final;
//   2. call: "attempting" entries go to the ledger (sender/ledger.h) and are in Kafka
//      before the first call; the calls run on each integration's workers (at most its
//      concurrency, at its rate limit, with retries); each outcome goes to the ledger;
//   3. commit: one Kafka transaction holds every result of the batch and the request
//      offsets, whose metadata is the ledger position.
// A crash anywhere re-reads the batch; what the ledger says was sent is not sent again.
//
// Threading: one thread of its own for Kafka, plus `concurrency` workers per integration;
// not_ready() from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/result.h"
#include "config/daemon_config.h"
#include "index/replica.h"
#include "index/store.h"
#include "kafka/client.h"
#include "kafka/transactional_loop.h"
#include "metrics/registry.h"
#include "sender/delivery.h"
#include "sender/ledger.h"

namespace mailhook::sender {

class sender_role final : public kafka::transactional_loop {
 public:
  // Fails when an integration's API key cannot be read.
  [[nodiscard]] static result<std::unique_ptr<sender_role>> start(
      const config::daemon_config& config, const index::store& index,
      const index::replica& follower, metrics::registry& registry);
  ~sender_role() override;

  // Stops reading requests; the batch in hand finishes (its calls, retries included, for
  // up to drain_timeout) and commits.
  void stop(std::chrono::milliseconds drain_timeout = std::chrono::seconds(20));

 private:
  struct job;
  struct integration_lane;

  sender_role(const config::daemon_config& config, const index::store& index,
              const index::replica& follower, metrics::registry& registry);
  std::optional<std::string> blocked() const override;
  bool connected() const override { return producer_ != nullptr; }
  rd_kafka_t* group_consumer() const override { return consumer_.get(); }
  result<void> connect() override;
  void disconnect() override;
  result<void> run_one_batch() override;
  void work(integration_lane& lane);

  // Reads, for each newly assigned partition, the ledger after its committed position.
  result<void> on_assigned(const rd_kafka_topic_partition_list_t& partitions) override;
  void on_revoked(const rd_kafka_topic_partition_list_t& partitions) override;

  result<void> write_attempts(std::vector<job>& jobs);
  void write_done(const job& j);
  result<void> commit(std::vector<job>& jobs, const std::map<std::int32_t, std::int64_t>& next);
  void count(const job& j);

  config::daemon_config config_;
  std::string transactional_id_;
  const index::store& index_;
  const index::replica& follower_;
  std::vector<std::unique_ptr<integration_lane>> lanes_;  // one per integration

  kafka::handle_ptr consumer_;
  kafka::handle_ptr producer_;  // transactional: results
  kafka::handle_ptr ledger_;    // idempotent, outside transactions: the ledger
  rd_kafka_topic_t* results_topic_ = nullptr;
  rd_kafka_topic_t* ledger_topic_ = nullptr;

  // Per assigned request partition: the ledger's tail after the committed offset, the
  // ledger position to commit, and the request ids seen (bounded, oldest forgotten).
  struct partition_state {
    std::unordered_map<std::int64_t, mailhook::v1::SendLedgerEntry> ledger;
    std::int64_t ledger_position = 0;
    std::unordered_set<std::string> seen_ids;
    std::deque<std::string> seen_order;
  };
  std::map<std::int32_t, partition_state> partitions_;  // run thread only

  std::atomic<bool> abandon_{false};  // the drain timeout passed: stop retrying

  metrics::counter_family& requests_;
  metrics::counter_family& skipped_recipients_;
  metrics::counter_family& refused_requests_;
  metrics::counter_family& api_calls_;
  metrics::histogram& api_seconds_;
  metrics::counter& retries_;
  metrics::counter_family& indeterminate_;
  metrics::counter& rate_limit_waits_;
  metrics::counter& rate_limit_wait_seconds_;
  metrics::histogram& batch_seconds_;
  std::thread thread_;
};

}  // namespace mailhook::sender
