#include "index/replica.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <vector>

#include "common/clock.h"

namespace mailhook::index {
namespace {}  // namespace

result<std::unique_ptr<replica>> replica::start(const config::daemon_config& config, store& target,
                                                metrics::registry& registry) {
  auto conf = kafka::make_conf(
      config.kafka, {
                        // Assigned partitions, no group: every replica reads everything and
                        // keeps its own offsets, in RocksDB.
                        // librdkafka wants a group.id for incremental assignment; it is
                        // never joined (no subscribe) and nothing is committed to it.
                        {"group.id", "mailhook-index-replica"},
                        {"enable.auto.commit", "false"},

                        {"enable.auto.offset.store", "false"},
                        {"isolation.level", "read_committed"},
                        {"enable.partition.eof", "true"},
                        {"auto.offset.reset", "earliest"},
                        // Large fetches: a bootstrap reads the whole topic.
                        {"fetch.max.bytes", "16777216"},
                        {"max.partition.fetch.bytes", "8388608"},
                        // The prefetch limits count the one consumer queue that every
                        // partition feeds. Once over them, librdkafka 2.0.2 fetches again
                        // only when its broker thread next wakes, up to 1 s later: the queue
                        // must hold more than a second of apply work, or a bootstrap stalls
                        // every second (16 MiB measured 390k records/s, 128 MiB 590k/s).
                        // Memory: these 128 MiB, one fetch beyond them, and librdkafka's
                        // few hundred bytes per queued record.
                        {"queued.min.messages", "2000000"},
                        {"queued.max.messages.kbytes", "131072"},
                        {"fetch.wait.max.ms", "50"},
                    });
  if (!conf) return conf.error();
  auto handle = kafka::make_handle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!handle) return handle.error();
  std::unique_ptr<replica> r(new replica(config, target, std::move(*handle), registry));
  r->thread_ = std::thread([raw = r.get()] { raw->run(); });
  return r;
}

replica::replica(const config::daemon_config& config, store& target, kafka::handle_ptr consumer,
                 metrics::registry& registry)
    : topic_(config.topics.suppressions.name),
      max_batch_(static_cast<std::size_t>(config.index.max_apply_batch)),
      store_(target),
      consumer_(std::move(consumer)),
      queue_(rd_kafka_queue_get_consumer(consumer_.get())),
      applied_(target.offsets()),
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
  if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
  if (consumer_) rd_kafka_consumer_close(consumer_.get());
}

void replica::stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::int64_t replica::applied_offset(std::int32_t partition) const {
  std::lock_guard lock(offsets_mutex_);
  auto it = applied_.find(partition);
  return it == applied_.end() ? 0 : it->second;
}

std::int64_t replica::lag() const {
  std::lock_guard lock(offsets_mutex_);
  std::int64_t total = 0;
  for (auto partition : assigned_) {
    std::int64_t low = 0;
    std::int64_t high = 0;
    if (rd_kafka_get_watermark_offsets(consumer_.get(), topic_.c_str(), partition, &low, &high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      continue;
    }
    auto it = applied_.find(partition);
    auto applied = it == applied_.end() ? low : std::max(low, it->second);
    total += std::max<std::int64_t>(0, high - applied);
  }
  return total;
}

std::string replica::last_error() const {
  std::lock_guard lock(error_mutex_);
  return last_error_;
}

void replica::set_error(std::string error) {
  std::lock_guard lock(error_mutex_);
  if (!error.empty() && error != last_error_) spdlog::warn("index: {}", error);
  last_error_ = std::move(error);
}

// How many records `partition` holds from `offset` on; 0 when the broker does not say.
std::uint64_t replica::records_after(std::int32_t partition, std::int64_t offset) {
  std::int64_t low = 0;
  std::int64_t high = 0;
  if (rd_kafka_query_watermark_offsets(consumer_.get(), topic_.c_str(), partition, &low, &high,
                                       5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return 0;
  }
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, high - std::max(low, offset)));
}

// Assigns the partitions the topic has and the consumer does not read yet, each from the
// store's offset (or the beginning). Answers whether every partition is assigned.
bool replica::assign_new_partitions() {
  rd_kafka_topic_t* topic = rd_kafka_topic_new(consumer_.get(), topic_.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  auto err = rd_kafka_metadata(consumer_.get(), 0, topic, &metadata, 5000);
  rd_kafka_topic_destroy(topic);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    set_error("metadata of " + topic_ + ": " + rd_kafka_err2str(err));
    return false;
  }
  const bool found = metadata->topic_cnt == 1 &&
                     metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                     metadata->topics[0].partition_cnt > 0;
  if (!found) {
    rd_kafka_metadata_destroy(metadata);
    set_error("topic " + topic_ + " does not exist yet");
    return false;
  }
  kafka::partition_list_ptr additions(rd_kafka_topic_partition_list_new(0));
  std::uint64_t records_ahead = 0;
  const auto& t = metadata->topics[0];
  for (int i = 0; i < t.partition_cnt; ++i) {
    std::int32_t partition = t.partitions[i].id;
    if (at_end_.contains(partition)) continue;
    auto* entry = rd_kafka_topic_partition_list_add(additions.get(), topic_.c_str(), partition);
    auto stored = applied_offset(partition);
    entry->offset = stored > 0 ? stored : RD_KAFKA_OFFSET_BEGINNING;
    records_ahead += records_after(partition, stored);
  }
  rd_kafka_metadata_destroy(metadata);
  if (additions->cnt == 0) return true;
  // Each record ahead may bring a new key (on a compacted topic most do).
  if (records_ahead > 0) {
    spdlog::info("index: {} changelog records to read", records_ahead);
    store_.begin_catch_up(records_ahead);
  }
  if (auto* error = rd_kafka_incremental_assign(consumer_.get(), additions.get())) {
    set_error(std::string("assign: ") + rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return false;
  }
  for (int i = 0; i < additions->cnt; ++i) {
    at_end_[additions->elems[i].partition] = false;
    {
      std::lock_guard lock(offsets_mutex_);
      assigned_.push_back(additions->elems[i].partition);
    }
    spdlog::info("index: following {} [{}] from {}", topic_, additions->elems[i].partition,
                 additions->elems[i].offset >= 0 ? std::to_string(additions->elems[i].offset)
                                                 : "the beginning");
  }
  caught_up_.store(false, std::memory_order_release);
  return true;
}

void replica::apply(const kafka::message_batch& messages) {
  std::vector<changelog_message> batch;
  batch.reserve(messages.size());
  for (auto* m : messages) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end_[m->partition] = true;
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      set_error(std::string("consume: ") + rd_kafka_message_errstr(m));
      continue;
    }
    at_end_[m->partition] = false;
    changelog_message c;
    c.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
    if (m->payload != nullptr) {
      c.value = std::string_view(static_cast<const char*>(m->payload), m->len);
    }
    c.partition = m->partition;
    c.offset = m->offset;
    batch.push_back(c);
  }
  if (!batch.empty()) {
    auto started = std::chrono::steady_clock::now();
    auto outcome = store_.apply(batch);
    if (!outcome) {
      // The offsets were not written either: stop here and read the same records again
      // after a restart. Going on would apply later records over a gap.
      set_error(outcome.error().describe());
      spdlog::critical("index: {}; the replica stops following", outcome.error().describe());
      stopping_.store(true);
      return;
    }
    batch_seconds_.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    {
      std::lock_guard lock(offsets_mutex_);
      for (const auto& c : batch)
        applied_[c.partition] = std::max(applied_[c.partition], c.offset + 1);
    }
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
  }
  if (!caught_up_.load(std::memory_order_relaxed) && !at_end_.empty()) {
    bool all = true;
    for (const auto& [partition, done] : at_end_) all = all && done;
    if (all) {
      store_.end_catch_up();
      caught_up_.store(true, std::memory_order_release);
      spdlog::info("index: caught up with {} ({} keys)", topic_, store_.keys());
    }
  }
}

void replica::run() {
  auto next_metadata_check = std::chrono::steady_clock::now();
  while (!stopping_.load()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= next_metadata_check) {
      bool complete = assign_new_partitions();
      if (complete) set_error("");
      // Until the topic exists, look again soon; then every 10 s for new partitions.
      next_metadata_check = now + (complete ? std::chrono::seconds(10) : std::chrono::seconds(1));
      if (at_end_.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
    }
    auto messages =
        kafka::message_batch::consume(queue_, max_batch_, std::chrono::milliseconds(100));
    if (!messages.empty()) apply(messages);
  }
}

}  // namespace mailhook::index
