// The bounce report's state in RocksDB: counts per tenant, day and kind, the sg_event_ids
// already counted (the seen set), and the next offset of every events-topic partition.
// apply() writes all three for one batch of records in one WriteBatch, with the
// write-ahead log on: after a crash (kill -9 included) the directory holds either the
// whole batch or none of it, so the consumer reads again exactly what was not counted,
// and an event read twice is recognized by the seen set.
//
// Key layout (one column family, all text, so that `ldb scan` reads it):
//   m/topic                            the events topic this directory counts
//   o/<partition>                      next offset to read, decimal
//   c/<tenant>/<YYYY-MM-DD>            that day's counts, decimal, comma-separated, in
//                                      the order of event_kind (kinds added later append)
//   s/<YYYY-MM-DD>/<tenant>/<event id> an event counted, under the day it arrived
// The seen set is kept by arrival day so that it can be dropped a day at a time
// (prune_seen, one range delete): SendGrid retries a delivery for at most 24 hours, so a
// copy arrives within a day or two of the first. An event is looked up under its arrival
// day, the day after (clocks of two ingest hosts differ at midnight) and the
// `seen_days` days before.
//
// Threading: apply() and prune_seen() from one thread (the role's consumer); counts()
// from any thread at the same time.
#pragma once

#include <rocksdb/db.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error_category.h"
#include "common/result.h"
#include "report/day.h"
#include "report/event_kind.h"

namespace mailhook::report {

enum class errc {
  open_failed = 1,  // RocksDB could not open the directory
  wrong_topic,      // the directory counts another topic
  write_failed,
  read_failed,
};

struct store_options {
  std::filesystem::path dir;
  std::string topic;  // the events topic this directory counts; checked at open
  // How many arrival days before an event's own its id is looked for in the seen set.
  int seen_days = 3;
};

// One events-topic record as the report reads it.
struct consumed_record {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  // What it counts for; nullopt when nothing (another event type, a record that does not
  // decode): only its offset is kept.
  struct counted {
    std::string_view tenant;
    std::string_view event_id;  // SendGrid's sg_event_id; ingest refuses events without one
    event_kind kind = event_kind::delivered;
    day_number day = 0;          // of the event's own timestamp
    day_number arrival_day = 0;  // when mailhook received it (the record's timestamp)
  };
  std::optional<counted> event;
};

struct apply_outcome {
  std::size_t counted = 0;
  std::size_t duplicates = 0;  // ids already counted (now, or earlier in the batch)
  // What was counted, by tenant and kind, for the caller's metrics.
  std::map<std::pair<std::string, event_kind>, std::uint64_t> by_tenant;
};

class store {
 public:
  [[nodiscard]] static result<std::unique_ptr<store>> open(const store_options& options);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // Counts the batch's events not seen before, marks them seen, and moves every
  // partition's offset past its records: one atomic write. A failed write keeps nothing;
  // after one (a full disk leaves RocksDB refusing writes), the next call first asks
  // RocksDB to resume, and fails again while it cannot.
  [[nodiscard]] result<apply_outcome> apply(std::span<const consumed_record> records);

  // Forgets the ids that arrived before `first_kept_day`.
  [[nodiscard]] result<void> prune_seen(day_number first_kept_day);

  // The next offset to read per partition (none for partitions never read).
  [[nodiscard]] std::map<std::int32_t, std::int64_t> offsets() const;

  // `tenant`'s counts from `from` to `to` (both included), one entry per day that has any,
  // in day order.
  [[nodiscard]] result<std::vector<day_counts>> counts(std::string_view tenant, day_number from,
                                                       day_number to) const;

 private:
  store(std::unique_ptr<rocksdb::DB> db, int seen_days);
  // Whether the seen set holds the event, under any day it may have arrived on.
  [[nodiscard]] result<bool> seen(const consumed_record::counted& event) const;

  std::unique_ptr<rocksdb::DB> db_;
  int seen_days_;
  bool write_failed_ = false;     // the last apply() could not write (its thread only)
  std::string last_write_error_;  // what RocksDB said then (its thread only)
};

}  // namespace mailhook::report

MAILHOOK_DECLARE_ERRC(mailhook::report, errc)
