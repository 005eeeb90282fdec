// The index role's follower: reads every partition of the suppressions changelog (read
// committed, so records of aborted policy transactions never count) and applies them to
// the local store, offsets included, in batches (kafka::partition_follower). Starts where
// the store's offsets say, or from the beginning of the topic for an empty store; picks
// up partitions added to the topic later.
//
// Threading: one consumer thread of its own. caught_up(), applied_offset() and lag() may
// be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/result.h"
#include "config/daemon_config.h"
#include "index/store.h"
#include "kafka/partition_follower.h"
#include "metrics/registry.h"

namespace mailhook::index {

class replica final : public kafka::partition_follower {
 public:
  [[nodiscard]] static result<std::unique_ptr<replica>> start(const config::daemon_config& config,
                                                              store& target,
                                                              metrics::registry& registry);
  ~replica() override;

  // Why a role that decides against this replica must wait, and why its lookups must not
  // answer "allowed"; nullopt while it is current: caught up (every partition read to its
  // end at least once since start: from then on lookups reflect the whole changelog,
  // minus what arrived since) and keeping what it reads (not stalled by a full disk).
  [[nodiscard]] std::optional<std::string> not_current() const {
    if (stalled()) return "the index cannot keep the changelog's changes: " + last_error();
    if (caught_up()) return std::nullopt;
    return "waiting for the index replica to catch up with the changelog";
  }
  // The next offset the store will apply for `partition` (0 when none yet).
  [[nodiscard]] std::int64_t applied_offset(std::int32_t partition) const {
    return next_offset(partition);
  }

 private:
  replica(const config::daemon_config& config, store& target, kafka::handle_ptr consumer,
          metrics::registry& registry);
  bool apply(std::span<const rd_kafka_message_t* const> records) override;
  void on_catch_up(std::uint64_t records_ahead) override;
  void on_caught_up() override;

  store& store_;
  metrics::counter_family& records_;
  metrics::counter_family& changes_;
  metrics::histogram& apply_lag_;
  metrics::histogram& batch_seconds_;
};

}  // namespace mailhook::index
