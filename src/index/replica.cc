#include "index/replica.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <vector>

#include "common/clock.h"

namespace mailhook::index {

result<std::unique_ptr<replica>> replica::start(const config::daemon_config& config, store& target,
                                                metrics::registry& registry) {
  auto consumer =
      make_consumer(config.kafka, "mailhook-index-replica",
                    {
                        // Large fetches: a bootstrap reads the whole topic.
                        {"fetch.max.bytes", "16777216"},
                        {"max.partition.fetch.bytes", "8388608"},
                        // The prefetch limits count the one consumer queue that every partition
                        // feeds. Once over them, librdkafka 2.0.2 fetches again only when its
                        // broker thread next wakes, up to 1 s later: the queue must hold more than
                        // a second of apply work, or a bootstrap stalls every second (16 MiB
                        // measured 390k records/s, 128 MiB 590k/s). Memory: these 128 MiB, one
                        // fetch beyond them, and librdkafka's few hundred bytes per queued record.
                        {"queued.min.messages", "2000000"},
                        {"queued.max.messages.kbytes", "131072"},
                        {"fetch.wait.max.ms", "50"},
                    });
  if (!consumer) return consumer.error();
  std::unique_ptr<replica> r(new replica(config, target, std::move(*consumer), registry));
  r->kafka::partition_follower::start();
  return r;
}

replica::replica(const config::daemon_config& config, store& target, kafka::handle_ptr consumer,
                 metrics::registry& registry)
    : kafka::partition_follower("index", config.topics.suppressions.name, std::move(consumer),
                                target.offsets(),
                                static_cast<std::size_t>(config.index.max_apply_batch)),
      store_(target),
      records_(registry.counter("mailhook_index_records_total",
                                "Changelog records read by the index replica, by what became of "
                                "them: applied, superseded (older than the key's state), "
                                "invalid, deleted (tombstones)",
                                {"result"})),
      changes_(registry.counter("mailhook_index_changes_total",
                                "Suppression changes applied to the index, by reason and by "
                                "whether they suppress or clear",
                                {"reason", "state"})),
      apply_lag_(registry
                     .histogram("mailhook_index_apply_lag_seconds",
                                "From mailhook receiving the event to the change being visible "
                                "in this index",
                                {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})
                     .get()),
      batch_seconds_(registry
                         .histogram("mailhook_index_apply_batch_seconds",
                                    "Time to apply one batch of changelog records to RocksDB",
                                    {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5})
                         .get()) {}

replica::~replica() {
  stop();
}

// Each record ahead may bring a new key (on a compacted topic most do).
void replica::on_catch_up(std::uint64_t records_ahead) {
  spdlog::info("index: {} changelog records to read", records_ahead);
  store_.begin_catch_up(records_ahead);
}

void replica::on_caught_up() {
  store_.end_catch_up();
  spdlog::info("index: caught up with {} ({} keys)", topic(), store_.keys());
}

bool replica::apply(std::span<const rd_kafka_message_t* const> records) {
  std::vector<changelog_message> batch;
  batch.reserve(records.size());
  for (const auto* m : records) {
    changelog_message c;
    c.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
    if (m->payload != nullptr) {
      c.value = std::string_view(static_cast<const char*>(m->payload), m->len);
    }
    c.partition = m->partition;
    c.offset = m->offset;
    batch.push_back(c);
  }
  auto started = std::chrono::steady_clock::now();
  auto outcome = store_.apply(batch);
  if (!outcome) {
    set_error(outcome.error().describe());
    return false;
  }
  batch_seconds_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  records_.with({"applied"}).inc(static_cast<double>(outcome->applied));
  records_.with({"superseded"}).inc(static_cast<double>(outcome->superseded));
  records_.with({"invalid"}).inc(static_cast<double>(outcome->invalid));
  records_.with({"deleted"}).inc(static_cast<double>(outcome->deleted));
  // Counted per batch: a bootstrap applies hundreds of thousands of records a second.
  auto now = unix_ms();
  std::map<std::pair<suppression_reason, bool>, std::uint64_t> by_reason;
  for (const auto& change : outcome->changes) {
    ++by_reason[{change.reason, change.suppressed}];
    if (change.received_at_ms > 0) {
      apply_lag_.observe(static_cast<double>(now - change.received_at_ms) / 1000.0);
    }
  }
  for (const auto& [key, n] : by_reason) {
    changes_.with({std::string(to_string(key.first)), key.second ? "suppressed" : "cleared"})
        .inc(static_cast<double>(n));
  }
  return true;
}

}  // namespace mailhook::index
