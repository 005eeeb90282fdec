// The local replica of the suppressions changelog: RocksDB, keyed like the topic, holding
// each key's winning record, with the consumed offsets written in the same WriteBatch as
// the records they brought. A restart resumes from those offsets; an empty directory is
// rebuilt from the start of the topic.
//
// Lookups ("may I send?") are answered from an in-memory table of every key's verdict
// (verdict_table.h) without a RocksDB read; describe() adds the detail text from the
// full record. A tenant-wide suspension is kept in memory too. Stats per tenant, scope and reason
// are kept in memory, counted once at open and updated with every write.

//
// Threading: apply() from one thread (the replica's consumer); check(), get(), list(),
// stats() and the rest from any thread at the same time.
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "common/error_category.h"
#include "common/result.h"
#include "index/verdict_table.h"
#include "mailhook/suppression.h"
#include "suppression/record.h"

namespace mailhook::index {

enum class errc {
  open_failed = 1,  // RocksDB could not open the directory
  wrong_topic,      // the directory is a replica of another topic
  write_failed,
  read_failed,
  over_disk_limit,  // the directory holds more than store_options::max_disk_bytes
};

struct store_options {
  std::filesystem::path dir;
  std::string topic;  // the changelog this directory replicates; checked at open
  std::uint64_t block_cache_bytes = 256ULL << 20;
  std::uint64_t expected_keys = 10'000'000;        // the in-memory table's size at open
  std::uint64_t write_buffer_bytes = 64ULL << 20;  // RocksDB memtable size (tests make it small)
  // apply() refuses to write while disk_bytes() is over this; 0: no limit but the disk's.
  std::uint64_t max_disk_bytes = 0;
  // false: close without flushing, losing what is only in memory, as a crash would (tests).
  bool flush_at_close = true;
  // Opens the directory as it is on disk, writing nothing (mailhook::open_replica, for
  // processes other than the daemon that keeps it): the directory must exist, an empty
  // `topic` accepts any, apply() fails, and what the writer adds later is not seen.
  bool read_only = false;
  // Tests only: the verdict table's hash instead of SipHash under a random key, to make
  // keys collide.
  verdict_table::hash_function hash_for_tests = nullptr;
  // Tests only: RocksDB's environment instead of the default, to make its files fail.
  rocksdb::Env* env_for_tests = nullptr;
};

// One changelog record as consumed: its key and value exactly as in Kafka.
struct changelog_message {
  std::string_view key;
  std::optional<std::string_view> value;  // nullopt: a tombstone (an operator's delete)
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

struct apply_outcome {
  std::size_t applied = 0;     // records that became their key's state
  std::size_t superseded = 0;  // older than (or the same as) what the key holds
  std::size_t invalid = 0;     // unparseable, or the key does not match the record
  std::size_t deleted = 0;     // tombstones
  // What was applied, for the caller's metrics (changes by reason, apply lag).
  struct change {
    suppression_reason reason;
    bool suppressed;
    std::int64_t received_at_ms;
  };
  std::vector<change> changes;
};

// Suppressed entries per tenant, scope and reason.
using entry_counts =
    std::map<std::tuple<std::string, suppression_scope, suppression_reason>, std::uint64_t>;

struct list_query {
  std::string tenant;
  std::optional<suppression_reason> reason;
  bool include_cleared = false;
  std::string after_key;  // the cursor: the last key of the previous page
  std::size_t limit = 100;
};

struct list_page {
  std::vector<suppression::record> records;
  std::string next_cursor;  // empty when this was the last page
};

class store final : public suppression_lookup {
 public:
  [[nodiscard]] static result<std::unique_ptr<store>> open(const store_options& options);
  ~store() override;
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // Writes the winning records of `messages` (last-writer-wins against what each key
  // holds and against each other) and every partition's next offset, in one atomic write.
  // A failed write changes nothing, in RocksDB or in memory, so the same records can be
  // applied again. After a failure (a full disk puts RocksDB in a state that refuses every
  // write), the next call first asks RocksDB to resume, and fails again while it cannot.
  // Over max_disk_bytes it fails without trying (errc::over_disk_limit).
  [[nodiscard]] result<apply_outcome> apply(std::span<const changelog_message> messages);

  // A catch-up: from the apply thread, when the replica starts reading `records` changelog
  // records it has not applied (all of them in a bootstrap) and when it has read them.
  //
  // It makes room in the in-memory table for every key they could add, so that the table
  // does not grow (a pause of the writer each time) on the way. And it pauses RocksDB's
  // compactions, with the write slowdowns that level-0 files would bring: compacting
  // while bootstrapping rewrites the same keys again and again, takes the CPU the writer
  // needs, and at 10 million records slowed writes to 58k/s. The files compact once the
  // catch-up ends, in the background; lookups do not read them. More than
  // `max_catch_up_level0_files` files end the pause early, since every RocksDB read
  // (listings, details, the policy's) goes through each of them.
  void begin_catch_up(std::uint64_t records);
  void end_catch_up();
  static constexpr std::uint64_t max_catch_up_level0_files = 64;

  // The next offset to consume per partition (none for partitions never consumed).
  [[nodiscard]] std::map<std::int32_t, std::int64_t> offsets() const;

  [[nodiscard]] verdict check(std::string_view tenant, std::string_view address,
                              std::optional<std::int64_t> asm_group_id = {}) const override;
  [[nodiscard]] verdict describe(std::string_view tenant, std::string_view address,
                                 std::optional<std::int64_t> asm_group_id = {}) const override;

  // The record a key holds, suppressed or cleared.
  [[nodiscard]] std::optional<suppression::record> get(std::string_view key) const;

  [[nodiscard]] list_page list(const list_query& query) const;
  // Every record of `tenant` (every tenant when empty), in key order, until `visit`
  // answers false.
  void for_each(std::string_view tenant,
                const std::function<bool(const suppression::record&)>& visit) const;

  [[nodiscard]] entry_counts counts() const;
  [[nodiscard]] std::uint64_t keys() const { return keys_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t table_bytes() const { return verdicts_->memory_bytes(); }
  // RocksDB's shape, for metrics: files at level 0, and the bytes compactions have ahead.
  [[nodiscard]] std::uint64_t level0_files() const;
  [[nodiscard]] std::uint64_t pending_compaction_bytes() const;
  // What the replica takes on disk, or will once flushed: its SST files and memtables
  // (the manifest and RocksDB's own log, a few KiB to MiB, are not counted).
  [[nodiscard]] std::uint64_t disk_bytes() const;

  struct lookup_counts {
    std::uint64_t allowed = 0;
    std::uint64_t suppressed = 0;
  };
  [[nodiscard]] lookup_counts lookups() const;

 private:
  store(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> families,
        std::string topic, bool flush_at_close);
  result<void> load_memory_state(const store_options& options);
  // Before a write: resumes RocksDB after a failed one, and checks max_disk_bytes_.
  result<void> ready_to_write();
  // Count changes of one write, merged into counts_ under one lock: the tenant strings
  // are views into records the caller holds until the merge.
  using count_key = std::tuple<std::string_view, suppression_scope, suppression_reason>;
  using count_deltas = std::map<count_key, std::int64_t>;
  void merge_counts(const count_deltas& deltas);
  // Keeps suspended_ in step with a tenant-scope key: its record's bytes, or nullopt when
  // the key was deleted.
  void note_suspension(std::string_view tenant, std::optional<std::string_view> bytes);
  [[nodiscard]] std::optional<std::string> read_bytes(std::string_view key) const;
  [[nodiscard]] std::optional<suppression::record> read(std::string_view key) const;
  // The verdict of a key whose hash the table shares with another key, from its record:
  // nullopt when it has none; a suppression when the record cannot be read.
  [[nodiscard]] std::optional<packed_verdict> verdict_from_record(std::string_view key) const;
  // The suppression of one key, from the table (no detail).
  [[nodiscard]] std::optional<mailhook::suppression_info> suppressed_by(
      const std::string& key, std::int64_t asm_group_id) const;

  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* records_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  std::string topic_;
  bool flush_at_close_;
  bool catching_up_ = false;  // compactions paused (apply thread only)
  std::uint64_t max_disk_bytes_ = 0;
  bool write_failed_ = false;     // the last apply() could not write (apply thread only)
  std::string last_write_error_;  // what RocksDB said then (apply thread only)
  std::unique_ptr<verdict_table> verdicts_;

  mutable std::shared_mutex suspended_mutex_;
  std::unordered_map<std::string, mailhook::suppression_info> suspended_;  // by tenant
  std::atomic<std::size_t> suspended_count_{0};

  mutable std::mutex counts_mutex_;
  entry_counts counts_;
  std::atomic<std::uint64_t> keys_{0};

  mutable std::atomic<std::uint64_t> allowed_{0};
  mutable std::atomic<std::uint64_t> suppressed_{0};
};

}  // namespace mailhook::index

MAILHOOK_DECLARE_ERRC(mailhook::index, errc)
