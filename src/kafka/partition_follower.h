// A reader of every partition of one topic for a role that keeps its own offsets (in
// RocksDB, written together with what the records brought): the index replica, the
// bounce report. Partitions are assigned, never shared in a consumer group, so every
// process reads the whole topic; each starts from the offset its owner stored, or from
// the beginning; partitions added to the topic later are picked up (looked for every
// 10 s). Nothing is committed to Kafka.
//
// The owner derives from it, implements apply(), and calls start() once it is built.
// Threading: one thread of its own, on which every hook runs; caught_up(), stalled(),
// next_offset(), lag() and last_error() from any thread. A derived class's destructor calls stop()
// first, so that no hook runs on a half-destroyed object.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "config/daemon_config.h"
#include "kafka/client.h"

namespace mailhook::kafka {

class partition_follower {
 public:
  virtual ~partition_follower();
  partition_follower(const partition_follower&) = delete;
  partition_follower& operator=(const partition_follower&) = delete;

  // True once every partition has been read to its end at least once since start.
  [[nodiscard]] bool caught_up() const { return caught_up_.load(std::memory_order_acquire); }
  // The next offset of `partition` the owner has kept (0 when none yet).
  [[nodiscard]] std::int64_t next_offset(std::int32_t partition) const;
  // Records in the topic not yet applied, over all partitions (from the high watermarks
  // the consumer last saw; the transaction markers and aborted records a partition's end
  // has passed do not count, newer ones do until the end is reached again).
  [[nodiscard]] std::int64_t lag() const;
  // Why the follower is not following (empty while it is).
  [[nodiscard]] std::string last_error() const;
  // True while a batch it could not keep is in hand: what it serves is older than the
  // topic, and grows older.
  [[nodiscard]] bool stalled() const { return stalled_.load(std::memory_order_acquire); }

  void stop();

 protected:
  // A consumer for a follower: read committed, end-of-partition events, no commits, from
  // the beginning when nothing is stored; `group_id` is only the id librdkafka requires
  // (never joined); `overrides` are the owner's own settings, which win.
  [[nodiscard]] static result<handle_ptr> make_consumer(const config::kafka_config& kafka,
                                                        const std::string& group_id,
                                                        const property_list& overrides = {});

  // `name` prefixes the log lines ("index", "report"); `stored` is the next offset per
  // partition that the owner kept.
  partition_follower(std::string name, std::string topic, handle_ptr consumer,
                     std::map<std::int32_t, std::int64_t> stored, std::size_t max_batch);
  void start();

  // Keeps one batch of records (messages without error, in order per partition), offsets
  // included. false: nothing of the batch was kept (the owner says why with set_error());
  // the follower is then stalled, and offers the same records again every second until
  // they are kept: going on would apply later records over a gap. A full disk is the
  // usual cause, and space coming back the usual end.
  virtual bool apply(std::span<const rd_kafka_message_t* const> records) = 0;
  // Before newly assigned partitions are read: how many records they hold past the
  // stored offsets (all of them in a bootstrap).
  virtual void on_catch_up(std::uint64_t /*records_ahead*/) {}
  // When every partition has been read to its end, the first time since start or since
  // partitions were added.
  virtual void on_caught_up() {}
  // After every poll, with records or without.
  virtual void after_poll() {}

  void set_error(std::string error);
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::string& topic() const { return topic_; }

 private:
  void run();
  bool assign_new_partitions();
  std::uint64_t records_after(std::int32_t partition, std::int64_t offset);
  void handle(const message_batch& messages);
  // apply() until it keeps `records`; false if the follower was stopped first.
  bool keep(std::span<const rd_kafka_message_t* const> records);

  std::string name_;
  std::string topic_;
  std::size_t max_batch_;
  handle_ptr consumer_;
  rd_kafka_queue_t* queue_ = nullptr;
  std::map<std::int32_t, bool> at_end_;  // follower thread only: partition -> read to its end
  mutable std::mutex offsets_mutex_;
  std::map<std::int32_t, std::int64_t> next_;     // partition -> next offset kept
  std::map<std::int32_t, std::int64_t> read_to_;  // partition -> the last end it reached
  std::vector<std::int32_t> assigned_;            // under offsets_mutex_

  std::atomic<bool> caught_up_{false};
  std::atomic<bool> stalled_{false};
  std::atomic<bool> stopping_{false};
  mutable std::mutex error_mutex_;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace mailhook::kafka
