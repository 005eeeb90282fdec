#include "kafka/partition_follower.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/thread_name.h"

namespace mailhook::kafka {

using namespace std::chrono_literals;

result<handle_ptr> partition_follower::make_consumer(const config::kafka_config& kafka,
                                                     const std::string& group_id,
                                                     const property_list& overrides) {
  property_list properties = {
      // librdkafka wants a group.id for incremental assignment; it is never joined (no
      // subscribe) and nothing is committed to it.
      {"group.id", group_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      // Records of aborted transactions never count.
      {"isolation.level", "read_committed"},
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "earliest"},
  };
  properties.insert(properties.end(), overrides.begin(), overrides.end());
  auto conf = make_conf(kafka, properties);
  if (!conf) return conf.error();
  return make_handle(RD_KAFKA_CONSUMER, std::move(*conf));
}

partition_follower::partition_follower(std::string name, std::string topic, handle_ptr consumer,
                                       std::map<std::int32_t, std::int64_t> stored,
                                       std::size_t max_batch)
    : name_(std::move(name)),
      topic_(std::move(topic)),
      max_batch_(max_batch),
      consumer_(std::move(consumer)),
      queue_(rd_kafka_queue_get_consumer(consumer_.get())),
      next_(std::move(stored)) {}

partition_follower::~partition_follower() {
  stop();
  if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
  if (consumer_) rd_kafka_consumer_close(consumer_.get());
}

void partition_follower::start() {
  thread_ = std::thread([this] {
    name_current_thread("kafka-follower");
    run();
  });
}

void partition_follower::stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::int64_t partition_follower::next_offset(std::int32_t partition) const {
  std::lock_guard lock(offsets_mutex_);
  auto it = next_.find(partition);
  return it == next_.end() ? 0 : it->second;
}

std::int64_t partition_follower::lag() const {
  std::lock_guard lock(offsets_mutex_);
  std::int64_t total = 0;
  for (auto partition : assigned_) {
    auto kept = next_.find(partition);
    auto read = read_to_.find(partition);
    total += records_behind(consumer_.get(), topic_, partition,
                            std::max(kept == next_.end() ? 0 : kept->second,
                                     read == read_to_.end() ? 0 : read->second));
  }
  return total;
}

std::string partition_follower::last_error() const {
  std::lock_guard lock(error_mutex_);
  return last_error_;
}

void partition_follower::set_error(std::string error) {
  std::lock_guard lock(error_mutex_);
  if (!error.empty() && error != last_error_) spdlog::warn("{}: {}", name_, error);
  last_error_ = std::move(error);
}

// How many records `partition` holds from `offset` on; 0 when the broker does not say.
std::uint64_t partition_follower::records_after(std::int32_t partition, std::int64_t offset) {
  std::int64_t low = 0;
  std::int64_t high = 0;
  if (rd_kafka_query_watermark_offsets(consumer_.get(), topic_.c_str(), partition, &low, &high,
                                       5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return 0;
  }
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, high - std::max(low, offset)));
}

// Assigns the partitions the topic has and the consumer does not read yet, each from the
// stored offset (or the beginning). Answers whether every partition is assigned.
bool partition_follower::assign_new_partitions() {
  auto partitions = partitions_of(consumer_.get(), topic_, 5s);
  if (!partitions) {
    set_error(partitions.error().describe());
    return false;
  }
  partition_list_ptr additions(rd_kafka_topic_partition_list_new(0));
  std::uint64_t records_ahead = 0;
  for (auto partition : *partitions) {
    if (at_end_.contains(partition)) continue;
    auto* entry = rd_kafka_topic_partition_list_add(additions.get(), topic_.c_str(), partition);
    auto stored = next_offset(partition);
    entry->offset = stored > 0 ? stored : RD_KAFKA_OFFSET_BEGINNING;
    records_ahead += records_after(partition, stored);
  }
  if (additions->cnt == 0) return true;
  if (records_ahead > 0) on_catch_up(records_ahead);
  if (auto* error = rd_kafka_incremental_assign(consumer_.get(), additions.get())) {
    set_error(std::string("assign: ") + rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return false;
  }
  for (int i = 0; i < additions->cnt; ++i) {
    const auto& added = additions->elems[i];
    at_end_[added.partition] = false;
    {
      std::lock_guard lock(offsets_mutex_);
      assigned_.push_back(added.partition);
    }
    spdlog::info("{}: following {} [{}] from {}", name_, topic_, added.partition,
                 added.offset >= 0 ? std::to_string(added.offset) : "the beginning");
  }
  caught_up_.store(false, std::memory_order_release);
  return true;
}

void partition_follower::handle(const message_batch& messages) {
  std::vector<const rd_kafka_message_t*> records;
  records.reserve(messages.size());
  // Where each partition that reached its end ends: past the transaction markers and
  // aborted records a read-committed consumer skips, which no kept offset ever passes.
  std::map<std::int32_t, std::int64_t> ends;
  for (const auto* m : messages) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end_[m->partition] = true;
      ends[m->partition] = m->offset;
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      set_error(std::string("consume: ") + rd_kafka_message_errstr(m));
      continue;
    }
    at_end_[m->partition] = false;
    records.push_back(m);
  }
  if (!records.empty() && !keep(records)) return;
  {
    std::lock_guard lock(offsets_mutex_);
    for (const auto* m : records)
      next_[m->partition] = std::max(next_[m->partition], m->offset + 1);
    for (const auto& [partition, end] : ends)
      read_to_[partition] = std::max(read_to_[partition], end);
  }
  if (!caught_up_.load(std::memory_order_relaxed) && !at_end_.empty()) {
    bool all = std::all_of(at_end_.begin(), at_end_.end(), [](const auto& p) { return p.second; });
    if (all) {
      on_caught_up();
      caught_up_.store(true, std::memory_order_release);
    }
  }
}

bool partition_follower::keep(std::span<const rd_kafka_message_t* const> records) {
  while (!apply(records)) {
    if (!stalled_.exchange(true, std::memory_order_acq_rel)) {
      spdlog::error("{}: cannot keep what it reads from {}; it tries again every second", name_,
                    topic_);
    }
    // The consumer goes on fetching meanwhile, up to its queue limits, and no further.
    for (int tenth = 0; tenth < 10; ++tenth) {
      if (stopping_.load()) return false;
      std::this_thread::sleep_for(100ms);
    }
  }
  if (stalled_.exchange(false, std::memory_order_acq_rel)) {
    spdlog::info("{}: keeping what it reads from {} again", name_, topic_);
    set_error("");
  }
  return true;
}

void partition_follower::run() {
  auto next_metadata_check = std::chrono::steady_clock::now();
  while (!stopping_.load()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= next_metadata_check) {
      bool complete = assign_new_partitions();
      if (complete) set_error("");
      // Until the topic exists, look again soon; then every 10 s for new partitions.
      next_metadata_check = now + (complete ? 10s : 1s);
      if (at_end_.empty()) {
        std::this_thread::sleep_for(200ms);
        continue;
      }
    }
    auto messages = message_batch::consume(queue_, max_batch_, 100ms);
    if (!messages.empty()) handle(messages);
    after_poll();
  }
}

}  // namespace mailhook::kafka
