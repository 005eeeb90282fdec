// The report role: follows every partition of the events topic (kafka::partition_follower)
// and counts, per tenant and day, the events the bounce report shows (report/store.h), each
// sg_event_id once. Every process that runs the role reads the whole topic and keeps its
// own offsets, in RocksDB with the counts they brought, so any of them answers for every
// tenant, and a restart resumes where the store stopped.
//
// Threading: one consumer thread of its own; caught_up(), lag(), last_error() and the
// store's reads from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>

#include "common/result.h"
#include "config/daemon_config.h"
#include "kafka/partition_follower.h"
#include "metrics/registry.h"
#include "report/store.h"

namespace mailhook::report {

class report_role final : public kafka::partition_follower {
 public:
  [[nodiscard]] static result<std::unique_ptr<report_role>> start(
      const config::daemon_config& config, store& counts, metrics::registry& registry);
  ~report_role() override;

 private:
  report_role(const config::daemon_config& config, store& counts, kafka::handle_ptr consumer,
              metrics::registry& registry);
  bool apply(std::span<const rd_kafka_message_t* const> records) override;
  void on_catch_up(std::uint64_t records_ahead) override;
  void on_caught_up() override;
  // Once caught up, and then once a day: forgets the ids that arrived more than
  // seen_days before today. Not while catching up, when records of older days are still
  // to come.
  void after_poll() override;
  // The metric label of `tenant`: bounded, so that events naming ever new tenants cannot
  // grow the scrape without end.
  const std::string& tenant_label(const std::string& tenant);

  int seen_days_;
  store& store_;
  std::optional<day_number> pruned_on_;     // the day of the last prune
  std::set<std::string> labelled_tenants_;  // follower thread only
  std::size_t max_extra_tenants_;
  std::size_t extra_tenants_ = 0;

  metrics::counter_family& events_;
  metrics::counter_family& records_;
};

}  // namespace mailhook::report
