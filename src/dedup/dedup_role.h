// The deduplicator, an opt-in role (roles = [..., "dedup"]): a consumer group on the
// events topic that copies each record to topics.events_deduplicated, to the same
// partition number, unless its sg_event_id is in the partition's window of ids already
// copied (docs/events.md, "Exactly once, deduplicated"). For consumers that cannot
// deduplicate themselves: the events topic is at least once (SendGrid's retries, a
// batch republished after a 503).
//
// Each batch is one Kafka transaction: the copies and the consumed offsets commit
// together, or neither does, so a crash neither loses a copy nor writes one twice; the
// window learns a batch's ids only once it has committed. Since an event's key is its
// address, every delivery of one event lands in the same partition, and one member owns
// it at a time.
//
// A newly assigned partition's window is rebuilt from the deduplicated topic (its last
// dedup.window offsets, read committed) before its first record is read, so restarts
// and rebalances keep it exact. Records the deduplicator cannot read an sg_event_id
// from are copied as they are, and counted.
//
// Threading: one thread of its own; not_ready() from any thread.
#pragma once

#include <map>
#include <memory>
#include <thread>

#include "common/result.h"
#include "config/daemon_config.h"
#include "dedup/seen_window.h"
#include "kafka/client.h"
#include "kafka/transactional_loop.h"
#include "metrics/registry.h"

namespace mailhook::dedup {

class dedup_role final : public kafka::transactional_loop {
 public:
  [[nodiscard]] static result<std::unique_ptr<dedup_role>> start(
      const config::daemon_config& config, seen_window& window, metrics::registry& registry);
  ~dedup_role() override;

  void stop();

 private:
  dedup_role(const config::daemon_config& config, seen_window& window, metrics::registry& registry);
  std::optional<std::string> blocked() const override { return std::nullopt; }
  bool connected() const override { return producer_ != nullptr; }
  rd_kafka_t* group_consumer() const override { return consumer_.get(); }
  result<void> connect() override;
  void disconnect() override;
  result<void> run_one_batch() override;
  result<void> transact_one_batch();
  // Produces a copy of `record` (key, value, headers, timestamp) to its partition number
  // of the deduplicated topic, in the open transaction.
  rd_kafka_resp_err_t copy(const rd_kafka_message_t& record);

  // Rebuilds the window of newly assigned partitions from the deduplicated topic.
  result<void> on_assigned(const rd_kafka_topic_partition_list_t& partitions) override;
  void on_revoked(const rd_kafka_topic_partition_list_t& partitions) override;

  config::daemon_config config_;
  std::string transactional_id_;
  seen_window& window_;
  kafka::handle_ptr consumer_;
  kafka::handle_ptr producer_;
  rd_kafka_topic_t* output_ = nullptr;

  metrics::counter_family& events_;
  metrics::counter_family& transactions_;
  metrics::counter& rebuilt_ids_;
  metrics::gauge& window_ids_;
  std::thread thread_;
};

}  // namespace mailhook::dedup
