// The deduplicator's memory of the sg_event_ids it has let through, per partition of the
// events topic: the newest `size` of them, in RocksDB so that a window of millions of ids
// per partition costs disk, not memory.
//
// It is a cache of the deduplicated topic, never the truth: it starts empty, and a
// partition's window is rebuilt from the topic's last `size` offsets each time the
// partition is assigned (dedup_role). So nothing in it has to survive a crash.
//
// Layout: "i" <partition:be32> <id> -> <seq:be64> answers "seen?" (with a bloom filter:
// nearly every id asked about is new); "s" <partition:be32> <seq:be64> -> <id> orders the
// ids for eviction, oldest first.
//
// Threading: one owner (the role's thread).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/error_category.h"
#include "common/result.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace mailhook::dedup {

enum class errc {
  open_failed = 1,  // RocksDB could not open the directory
  write_failed,
  read_failed,
};

class seen_window {
 public:
  // Opens an empty window store in `dir` (what an earlier run left there is dropped).
  [[nodiscard]] static result<std::unique_ptr<seen_window>> open(const std::filesystem::path& dir,
                                                                 std::int64_t size);
  ~seen_window();
  seen_window(const seen_window&) = delete;
  seen_window& operator=(const seen_window&) = delete;

  // Forgets every id of `partition`.
  [[nodiscard]] result<void> reset(std::int32_t partition);
  [[nodiscard]] result<bool> contains(std::int32_t partition, std::string_view id) const;
  // Adds `ids` (new ones, oldest first) to the partition's window and evicts its oldest
  // beyond the window's size, in one RocksDB write.
  [[nodiscard]] result<void> add(std::int32_t partition, std::span<const std::string> ids);

  // Ids held, over every partition.
  [[nodiscard]] std::int64_t ids() const;
  [[nodiscard]] std::int64_t size() const { return size_; }

 private:
  seen_window(std::unique_ptr<rocksdb::DB> db, std::int64_t size);

  // The sequence numbers a partition's window holds: [first, next).
  struct span {
    std::int64_t first = 0;
    std::int64_t next = 0;
  };
  [[nodiscard]] result<void> write(rocksdb::WriteBatch& batch);

  std::unique_ptr<rocksdb::DB> db_;
  std::int64_t size_;
  std::map<std::int32_t, span> spans_;
  std::string failed_write_;  // what the last failed write said (empty: it did not fail)
};

}  // namespace mailhook::dedup

MAILHOOK_DECLARE_ERRC(mailhook::dedup, errc)
