// The index role's follower: reads every partition of the suppressions changelog (read
// committed, so records of aborted policy transactions never count) and applies them to
// the local store, offsets included, in batches. Starts where the store's offsets say,
// or from the beginning of the topic for an empty store; picks up partitions added to
// the topic later.
//
// Threading: one consumer thread of its own. caught_up(), applied_offset() and lag() may
// be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "config/daemon_config.h"
#include "index/store.h"
#include "kafka/client.h"
#include "metrics/registry.h"

namespace mailhook::index {

class replica {
 public:
  [[nodiscard]] static result<std::unique_ptr<replica>> start(const config::daemon_config& config,
                                                              store& target,
                                                              metrics::registry& registry);
  ~replica();
  replica(const replica&) = delete;
  replica& operator=(const replica&) = delete;

  // True once every partition has been read to its end at least once since start: from
  // then on lookups reflect the whole changelog (minus what arrived since).
  [[nodiscard]] bool caught_up() const { return caught_up_.load(std::memory_order_acquire); }
  // Why a role that decides against this replica must wait; nullopt once it has caught up.
  [[nodiscard]] std::optional<std::string> not_caught_up() const {
    if (caught_up()) return std::nullopt;
    return "waiting for the index replica to catch up with the changelog";
  }
  // The next offset the store will apply for `partition` (0 when none yet).
  [[nodiscard]] std::int64_t applied_offset(std::int32_t partition) const;
  // Records in the changelog not yet applied, over all partitions (from the high
  // watermarks the consumer last saw; transaction markers count as records).
  [[nodiscard]] std::int64_t lag() const;
  // Why the replica is not following (empty while it is).
  [[nodiscard]] std::string last_error() const;

  void stop();

 private:
  replica(const config::daemon_config& config, store& target, kafka::handle_ptr consumer,
          metrics::registry& registry);
  void run();
  bool assign_new_partitions();
  std::uint64_t records_after(std::int32_t partition, std::int64_t offset);
  void apply(const kafka::message_batch& messages);
  void set_error(std::string error);

  std::string topic_;
  std::size_t max_batch_;
  store& store_;
  kafka::handle_ptr consumer_;
  rd_kafka_queue_t* queue_ = nullptr;
  std::map<std::int32_t, bool> at_end_;  // consumer thread only: partition -> reached its end
  mutable std::mutex offsets_mutex_;
  std::map<std::int32_t, std::int64_t> applied_;  // partition -> next offset in the store
  std::vector<std::int32_t> assigned_;            // under offsets_mutex_

  std::atomic<bool> caught_up_{false};
  std::atomic<bool> stopping_{false};
  mutable std::mutex error_mutex_;
  std::string last_error_;

  metrics::counter_family& records_;
  metrics::counter_family& changes_;
  metrics::histogram& apply_lag_;
  metrics::histogram& batch_seconds_;
  std::thread thread_;
};

}  // namespace mailhook::index
