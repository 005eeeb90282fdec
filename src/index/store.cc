// The suppression index store (see store.h). Over 600 lines: one RocksDB schema (keys,
// records, counts, the replicated offsets) with the verdict table it keeps in step; its
// parts share the write batch and the lock, so they stay in one file.
#include "index/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdarg>
#include <deque>

#include "email/address.h"
#include "index/record_fields.h"
#include "storage/resume.h"
#include "storage/rocksdb_log.h"

namespace mailhook::index {
namespace {

// What a lookup answers for text that is not one address (a display-name form, invisible
// characters, ...): never "allowed", since such text could name a suppressed mailbox in
// a form the keys do not hold.
mailhook::suppression_info not_an_address(const failure& why) {
  mailhook::suppression_info s;
  s.scope = suppression_scope::global;
  s.reason = suppression_reason::invalid;
  s.detail = why.code.message();
  return s;
}

std::string describe(errc e) {
  switch (e) {
    case errc::open_failed:
      return "cannot open the suppression index";
    case errc::wrong_topic:
      return "the index directory replicates another topic";
    case errc::write_failed:
      return "cannot write the suppression index";
    case errc::read_failed:
      return "cannot read the suppression index";
    case errc::over_disk_limit:
      return "the suppression index is over its disk limit";
  }
  return "suppression index error";
}

error_class classify(errc e) noexcept {
  switch (e) {
    case errc::open_failed:
    case errc::write_failed:
    case errc::read_failed:
    case errc::over_disk_limit:
      return {error_kind::unavailable, "index_unavailable"};
    case errc::wrong_topic:
      return {error_kind::internal, "index_wrong_topic"};
  }
  return {};
}

constexpr std::string_view topic_meta_key = "topic";
constexpr std::string_view offset_meta_prefix = "offset/";

// Keys start with "<tenant>/": the tenant is the prefix, so that listing one tenant is a
// prefix scan and RocksDB's prefix bloom filters skip files without that tenant.
class tenant_prefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "mailhook.TenantPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    std::string_view k(key.data(), key.size());
    auto slash = k.find('/');
    return {key.data(), slash == std::string_view::npos ? key.size() : slash + 1};
  }
  bool InDomain(const rocksdb::Slice&) const override { return true; }
};

std::string offset_key(std::int32_t partition) {
  std::string key(offset_meta_prefix);
  key += std::to_string(partition);
  return key;
}

std::string encode_offset(std::int64_t offset) {
  return std::to_string(offset);
}

std::optional<std::int64_t> decode_int(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

rocksdb::Slice slice(std::string_view s) {
  return {s.data(), s.size()};
}

// A reader of someone else's directory keeps out of its LOG file (RocksDB would rotate it).
class no_log final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*args*/) override {}
};

rocksdb::Options db_options(const store_options& options) {
  rocksdb::Options db;
  if (options.env_for_tests != nullptr) db.env = options.env_for_tests;
  if (options.read_only) {
    db.info_log = std::make_shared<no_log>();
    // Every file stays open from the start: one the writer compacts away meanwhile is
    // still read through its descriptor, so describe() sees the state opened.
    db.max_open_files = -1;
    return db;
  }
  db.create_if_missing = true;
  db.create_missing_column_families = true;
  db.info_log = storage::rocksdb_log("index");
  db.IncreaseParallelism(2);
  db.max_open_files = 512;
  // Writes skip the WAL (see apply()), so the records and the offsets column families
  // must reach disk together: flushed apart, a crash could keep offsets whose records
  // were lost, and those records would never be read again.
  db.atomic_flush = true;
  // RocksDB flushes unlogged writes at close unless told not to; a test that stands for a
  // crash tells it not to.
  db.avoid_flush_during_shutdown = !options.flush_at_close;
  return db;
}

rocksdb::ColumnFamilyOptions records_options(const store_options& options) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = options.write_buffer_bytes;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);

  // Whole-key bloom filters for point lookups, kept out of the block cache so that
  // they are never evicted; prefix filters (per tenant) for listings.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;
  table.cache_index_and_filter_blocks = false;
  // Small blocks and LZ4 at every level: a lookup that misses the block cache reads and
  // decompresses one 4 KiB block, not 16 KiB of ZSTD.
  table.block_size = 4 * 1024;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.prefix_extractor = std::make_shared<tenant_prefix>();
  cf.level_compaction_dynamic_level_bytes = true;
  cf.compression = rocksdb::kLZ4Compression;
  cf.bottommost_compression = rocksdb::kLZ4Compression;

  return cf;
}

// Offsets and the topic's name: a few bytes. Its memtable is as large as the records' only
// because RocksDB waits for that much free disk space per memtable before it resumes
// writing after a full disk.
rocksdb::ColumnFamilyOptions meta_options(const store_options& options) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = options.write_buffer_bytes;
  return cf;
}

}  // namespace

result<std::unique_ptr<store>> store::open(const store_options& options) {
  std::error_code ec;
  if (!options.read_only) std::filesystem::create_directories(options.dir, ec);
  if (ec) {
    return failure(errc::open_failed,
                   "cannot create " + options.dir.string() + ": " + ec.message());
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, records_options(options)},
      {"meta", meta_options(options)}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto db = db_options(options);
  rocksdb::Status status;
  if (options.read_only) {
    // Takes no lock: the daemon may hold the directory open for writing meanwhile.
    status = rocksdb::DB::OpenForReadOnly(db, options.dir.string(), descriptors, &handles, &raw);
  } else {
    status = rocksdb::DB::Open(db, options.dir.string(), descriptors, &handles, &raw);
  }
  if (!status.ok()) {
    return failure(errc::open_failed, options.dir.string() + ": " + status.ToString());
  }
  std::unique_ptr<store> s(new store(std::unique_ptr<rocksdb::DB>(raw), handles, options.topic,
                                     options.flush_at_close && !options.read_only));

  // A directory remembers which topic it replicates: offsets of another topic would
  // skip or repeat records silently.
  std::string stored_topic;
  status = s->db_->Get({}, s->meta_, slice(topic_meta_key), &stored_topic);
  if (status.IsNotFound() && !options.read_only) {
    status = s->db_->Put({}, s->meta_, slice(topic_meta_key), slice(options.topic));
    if (!status.ok()) return failure(errc::write_failed, status.ToString());
  } else if (status.IsNotFound()) {
    if (!options.topic.empty()) {
      return failure(errc::wrong_topic, options.dir.string() + " replicates no topic yet");
    }
  } else if (!status.ok()) {
    return failure(errc::read_failed, status.ToString());
  } else if (stored_topic != options.topic && !(options.read_only && options.topic.empty())) {
    return failure(errc::wrong_topic, options.dir.string() + " replicates topic '" + stored_topic +
                                          "', not '" + options.topic + "'");
  }
  if (auto loaded = s->load_memory_state(options); !loaded) return loaded.error();
  s->max_disk_bytes_ = options.max_disk_bytes;
  return s;
}

store::store(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> families,
             std::string topic, bool flush_at_close)
    : db_(std::move(db)),
      records_(families.at(0)),
      meta_(families.at(1)),
      families_(std::move(families)),
      topic_(std::move(topic)),
      flush_at_close_(flush_at_close) {}

store::~store() {
  // Writes skip the WAL (see apply()): flush them, so that a clean restart resumes here
  // instead of reading them again.
  if (flush_at_close_) {
    rocksdb::FlushOptions flush;
    flush.wait = true;
    if (auto status = db_->Flush(flush, families_); !status.ok()) {
      spdlog::warn("index: flush at close: {}", status.ToString());
    }
  }
  for (auto* family : families_) db_->DestroyColumnFamilyHandle(family);
  db_->Close();
}

// One pass over the records: the verdict table, the suspended tenants and the counts.
result<void> store::load_memory_state(const store_options& options) {
  std::uint64_t estimate = 0;
  db_->GetIntProperty(records_, "rocksdb.estimate-num-keys", &estimate);
  // A new key at every start: the table is never persisted, so nothing needs the old one.
  auto hash_key = random_sip_key();
  if (!hash_key) return failure(errc::open_failed, hash_key.error().describe());
  verdicts_ = std::make_unique<verdict_table>(std::max(options.expected_keys, estimate), *hash_key,
                                              options.hash_for_tests);

  rocksdb::ReadOptions read;
  read.fill_cache = false;
  read.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, records_));
  std::uint64_t keys = 0;
  // Keys come in order, so one tenant's records are contiguous: counts are merged each
  // time the tenant changes, and the deltas' tenant is a copy that lives until then.
  std::string tenant;
  count_deltas deltas;
  record_fields fields;
  std::uint64_t shared = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++keys;
    std::string_view value(it->value().data(), it->value().size());
    if (!read_fields(value, fields)) continue;
    // Every key comes once: a hash the table holds already is another key's.
    const auto hash = verdicts_->hash(std::string_view(it->key().data(), it->key().size()));
    if (!verdicts_->put_new(hash, fields.verdict())) {
      verdicts_->share(hash);
      ++shared;
    }
    if (fields.tenant != tenant) {
      merge_counts(deltas);
      deltas.clear();
      tenant = fields.tenant;
    }
    if (fields.suppressed) ++deltas[{tenant, fields.scope, fields.reason}];
    if (fields.scope == suppression_scope::tenant) note_suspension(fields.tenant, value);
  }
  merge_counts(deltas);
  if (!it->status().ok()) return failure(errc::read_failed, it->status().ToString());
  if (shared != 0) {
    spdlog::warn(
        "index: {} keys share their verdict-table hash with another key; their lookups "
        "read RocksDB",
        shared);
  }
  keys_.store(keys);
  return {};
}

// A tenant-scope record's bytes (suspended or cleared), or nullopt when the key is gone.
void store::note_suspension(std::string_view tenant, std::optional<std::string_view> bytes) {
  suppression::record r;
  bool suspended =
      bytes && r.ParseFromArray(bytes->data(), static_cast<int>(bytes->size())) && r.suppressed();
  std::unique_lock lock(suspended_mutex_);
  if (suspended) {
    suspended_[std::string(tenant)] = suppression::to_suppression(r);
  } else {
    suspended_.erase(std::string(tenant));
  }
  suspended_count_.store(suspended_.size(), std::memory_order_release);
}

void store::merge_counts(const count_deltas& deltas) {
  std::lock_guard lock(counts_mutex_);
  for (const auto& [key, delta] : deltas) {
    if (delta == 0) continue;
    const auto& [tenant, scope, reason] = key;
    auto& count = counts_[{std::string(tenant), scope, reason}];
    count = static_cast<std::uint64_t>(static_cast<std::int64_t>(count) + delta);
    if (count == 0) counts_.erase({std::string(tenant), scope, reason});
  }
}

std::optional<std::string> store::read_bytes(std::string_view key) const {
  rocksdb::PinnableSlice value;
  // Blocks were checked when they were written and compacted; skipping the checksum on
  // every lookup is what RocksDB advises for point reads of hot data.
  rocksdb::ReadOptions options;
  options.verify_checksums = false;
  auto status = db_->Get(options, records_, slice(key), &value);
  if (!status.ok()) {
    if (!status.IsNotFound()) spdlog::error("index: read of {}: {}", key, status.ToString());
    return std::nullopt;
  }
  return value.ToString();
}

std::optional<suppression::record> store::read(std::string_view key) const {
  auto bytes = read_bytes(key);
  suppression::record r;
  if (!bytes || !r.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
    return std::nullopt;
  }
  return r;
}

void store::begin_catch_up(std::uint64_t records) {
  verdicts_->reserve(verdicts_->size() + records);
  if (catching_up_) return;
  auto status = db_->SetOptions(records_, {{"disable_auto_compactions", "true"},
                                           {"level0_slowdown_writes_trigger", "1000000"},
                                           {"level0_stop_writes_trigger", "1000000"}});
  if (!status.ok()) {
    // Only slower: the catch-up goes on with compactions.
    spdlog::warn("index: compactions not paused for the catch-up: {}", status.ToString());
    return;
  }
  catching_up_ = true;
}

void store::end_catch_up() {
  if (!catching_up_) return;
  const rocksdb::ColumnFamilyOptions defaults;  // records_options() leaves these as they are
  auto status = db_->SetOptions(
      records_,
      {{"disable_auto_compactions", "false"},
       {"level0_slowdown_writes_trigger", std::to_string(defaults.level0_slowdown_writes_trigger)},
       {"level0_stop_writes_trigger", std::to_string(defaults.level0_stop_writes_trigger)}});
  if (!status.ok()) {
    spdlog::error("index: compactions could not resume: {}", status.ToString());
    return;
  }
  catching_up_ = false;
  spdlog::info("index: compactions resume ({} level-0 files)", level0_files());
}

std::uint64_t store::level0_files() const {
  std::string files;
  if (!db_->GetProperty(records_, "rocksdb.num-files-at-level0", &files)) return 0;
  return static_cast<std::uint64_t>(decode_int(files).value_or(0));
}

std::uint64_t store::pending_compaction_bytes() const {
  std::uint64_t bytes = 0;
  db_->GetIntProperty(records_, "rocksdb.estimate-pending-compaction-bytes", &bytes);
  return bytes;
}

std::uint64_t store::disk_bytes() const {
  std::uint64_t files = 0;
  std::uint64_t memtables = 0;
  db_->GetAggregatedIntProperty("rocksdb.total-sst-files-size", &files);
  db_->GetAggregatedIntProperty("rocksdb.cur-size-all-mem-tables", &memtables);
  return files + memtables;
}

result<void> store::ready_to_write() {
  if (write_failed_) {
    if (auto why_not = storage::resume_writing(*db_, last_write_error_)) {
      return failure(errc::write_failed, *why_not);
    }
  }
  if (max_disk_bytes_ > 0) {
    auto used = disk_bytes();
    if (used > max_disk_bytes_) {
      // A catch-up pauses compactions, which are what shrinks the files again.
      if (catching_up_) end_catch_up();
      return failure(errc::over_disk_limit, std::to_string(used) + " bytes, over index.max_disk (" +
                                                std::to_string(max_disk_bytes_) + " bytes)");
    }
  }
  return {};
}

result<apply_outcome> store::apply(std::span<const changelog_message> messages) {
  if (auto ready = ready_to_write(); !ready) {
    write_failed_ = true;
    return ready.error();
  }
  apply_outcome outcome;
  // The usable messages, sorted by key; stably, so that one key's messages keep their
  // order (a tombstone and a record of the same key in one batch).
  struct item {
    std::string_view key;
    std::optional<std::string_view> value;
    record_fields fields;
  };
  std::vector<item> items;
  items.reserve(messages.size());
  std::map<std::int32_t, std::int64_t> next_offsets;
  std::string expected_key;
  for (const auto& message : messages) {
    auto& next = next_offsets[message.partition];
    next = std::max(next, message.offset + 1);
    item i{message.key, message.value, {}};
    if (message.value) {
      if (!read_fields(*message.value, i.fields)) {
        ++outcome.invalid;
        continue;
      }
      write_key(expected_key, i.fields);
      if (expected_key != message.key) {
        ++outcome.invalid;
        continue;
      }
    }
    items.push_back(i);
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const item& a, const item& b) { return a.key < b.key; });

  // Each key the batch changes: its state before and after, written once, in key order
  // (the memtable inserts sorted keys with far fewer cache misses than random ones).
  struct key_change {
    std::string_view key;
    std::uint64_t hash = 0;
    // The table's entry for the hash is another key's: the key must not take it over.
    bool collides = false;
    std::optional<record_fields> before;
    std::optional<record_fields> after;
    std::optional<std::string_view> after_bytes;
  };
  std::vector<key_change> changes;
  std::deque<std::string> stored;  // bytes read back from RocksDB, behind the `before` views
  rocksdb::WriteBatch batch;
  for (std::size_t first = 0; first < items.size();) {
    std::size_t end = first;
    while (end < items.size() && items[end].key == items[first].key) ++end;
    key_change c{items[first].key, verdicts_->hash(items[first].key), false, {}, {}, {}};
    // A key the table does not know is not in RocksDB: a bootstrap, which writes mostly
    // new keys, reads nothing.
    if (auto entry = verdicts_->find(c.hash)) {
      if (auto bytes = read_bytes(c.key)) {
        stored.push_back(std::move(*bytes));
        record_fields fields;
        if (read_fields(stored.back(), fields)) c.before = fields;
      } else if (!entry->shared) {
        // The hash is known but the key has no record: the entry is another key's. (A read
        // that failed lands here too, and only costs its lookups a read.)
        c.collides = true;
      }
    }
    auto current = c.before;
    bool written = false;
    for (std::size_t i = first; i < end; ++i) {
      const auto& it = items[i];
      if (!it.value) {
        current.reset();
        c.after_bytes.reset();
        written = true;
        ++outcome.deleted;
      } else if (current && !wins_over(it.fields, *current)) {
        ++outcome.superseded;
      } else {
        current = it.fields;
        c.after_bytes = it.value;
        written = true;
        ++outcome.applied;
        outcome.changes.push_back(
            {it.fields.reason, it.fields.suppressed, it.fields.received_at_ms});
      }
    }
    if (written) {
      c.after = current;
      if (c.after_bytes) {
        batch.Put(records_, slice(c.key), slice(*c.after_bytes));
      } else {
        batch.Delete(records_, slice(c.key));
      }
      changes.push_back(c);
    }
    first = end;
  }
  for (const auto& [partition, offset] : next_offsets) {
    batch.Put(meta_, offset_key(partition), encode_offset(offset));
  }
  // No write-ahead log: Kafka is the log. After a crash the replica loses what was not
  // flushed yet, records and offsets together, and reads those records again.
  rocksdb::WriteOptions write;
  write.disableWAL = true;
  auto status = db_->Write(write, &batch);
  write_failed_ = !status.ok();
  if (!status.ok()) {
    last_write_error_ = status.ToString();
    return failure(errc::write_failed, last_write_error_);
  }
  if (catching_up_ && level0_files() >= max_catch_up_level0_files) end_catch_up();

  // Visible in RocksDB first, then in the table: a lookup in between sees the old state.
  count_deltas deltas;
  for (const auto& c : changes) {
    if (!c.before && c.after) keys_.fetch_add(1, std::memory_order_relaxed);
    if (c.before && !c.after) keys_.fetch_sub(1, std::memory_order_relaxed);
    if (c.before && c.before->suppressed) {
      --deltas[{c.before->tenant, c.before->scope, c.before->reason}];
    }
    if (c.after) {
      if (c.after->suppressed) ++deltas[{c.after->tenant, c.after->scope, c.after->reason}];
      // A new key finds its hash taken when another key of this batch took it first.
      if (c.collides || (!c.before && !verdicts_->put_new(c.hash, c.after->verdict()))) {
        if (!verdicts_->find(c.hash)->shared) {
          spdlog::warn(
              "index: a key shares its verdict-table hash with another key; their "
              "lookups read RocksDB");
        }
        verdicts_->share(c.hash);
      } else if (c.before) {
        verdicts_->put(c.hash, c.after->verdict());
      }
    } else if (c.before) {
      // Only a key that had a record held the entry (a shared one stays shared).
      verdicts_->erase(c.hash);
    }
    const auto& known = c.after ? c.after : c.before;
    if (known && known->scope == suppression_scope::tenant) {
      note_suspension(known->tenant, c.after_bytes);
    }
  }
  merge_counts(deltas);
  return outcome;
}

std::map<std::int32_t, std::int64_t> store::offsets() const {
  std::map<std::int32_t, std::int64_t> result;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, meta_));
  for (it->Seek(slice(offset_meta_prefix)); it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (!key.starts_with(offset_meta_prefix)) break;
    auto partition = decode_int(key.substr(offset_meta_prefix.size()));
    auto offset = decode_int(std::string_view(it->value().data(), it->value().size()));
    if (partition && offset) result[static_cast<std::int32_t>(*partition)] = *offset;
  }
  return result;
}

std::optional<suppression::record> store::get(std::string_view key) const {
  // A key the table does not know has no record: no read.
  if (!verdicts_->find(verdicts_->hash(key))) return std::nullopt;
  return read(key);
}

std::optional<packed_verdict> store::verdict_from_record(std::string_view key) const {
  rocksdb::PinnableSlice value;
  rocksdb::ReadOptions options;
  options.verify_checksums = false;
  auto status = db_->Get(options, records_, slice(key), &value);
  if (status.IsNotFound()) return std::nullopt;
  record_fields fields;
  if (status.ok() && read_fields(std::string_view(value.data(), value.size()), fields)) {
    return fields.verdict();
  }
  // A lookup that cannot check a key must not answer "allowed" for it.
  if (!status.ok()) spdlog::error("index: read of {}: {}", key, status.ToString());
  packed_verdict unreadable;
  unreadable.suppressed = true;
  return unreadable;
}

std::optional<mailhook::suppression_info> store::suppressed_by(const std::string& key,
                                                               std::int64_t asm_group_id) const {
  auto entry = verdicts_->find(verdicts_->hash(key));
  if (!entry) return std::nullopt;
  auto found = entry->shared ? verdict_from_record(key) : std::optional(entry->verdict);
  if (!found || !found->suppressed) return std::nullopt;
  mailhook::suppression_info s;
  s.scope = found->scope;
  if (s.scope == suppression_scope::group) s.asm_group_id = asm_group_id;
  s.reason = found->reason;
  s.origin = found->origin;
  s.since_ms = found->since_ms;
  return s;
}

verdict store::check(std::string_view tenant, std::string_view address,
                     std::optional<std::int64_t> asm_group_id) const {
  verdict v;
  if (suspended_count_.load(std::memory_order_acquire) > 0) {
    std::shared_lock lock(suspended_mutex_);
    if (auto it = suspended_.find(std::string(tenant)); it != suspended_.end()) {
      v.suppressed = it->second;
    }
  }
  if (!v.suppressed) {
    // One buffer per thread: lookups allocate nothing once it has grown.
    thread_local std::string storage;
    thread_local std::string key;
    auto normalized = email::normalize_address(address, storage);
    if (!normalized) {
      v.suppressed = not_an_address(normalized.error());
    } else {
      suppression::write_global_key(key, email::tenant_id(tenant), *normalized);
      v.suppressed = suppressed_by(key, 0);
      if (!v.suppressed && asm_group_id) {
        suppression::write_group_key(key, email::tenant_id(tenant), *asm_group_id, *normalized);
        v.suppressed = suppressed_by(key, *asm_group_id);
      }
    }
  }
  (v.suppressed ? suppressed_ : allowed_).fetch_add(1, std::memory_order_relaxed);
  return v;
}

verdict store::describe(std::string_view tenant, std::string_view address,
                        std::optional<std::int64_t> asm_group_id) const {
  auto v = check(tenant, address, asm_group_id);
  if (!v.suppressed || v.suppressed->scope == suppression_scope::tenant) return v;
  std::string storage;
  auto normalized = email::normalize_address(address, storage);
  if (!normalized) return v;  // not an address: check() said why
  auto key = v.suppressed->scope == suppression_scope::group
                 ? suppression::group_key(email::tenant_id(tenant), v.suppressed->asm_group_id,
                                          *normalized)
                 : suppression::global_key(email::tenant_id(tenant), *normalized);
  // The record may have changed since the table answered: report what it says now.
  if (auto r = read(key); r && r->suppressed()) v.suppressed = suppression::to_suppression(*r);
  return v;
}

list_page store::list(const list_query& query) const {
  list_page page;
  std::string prefix = query.tenant + "/";
  rocksdb::ReadOptions read;
  read.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, records_));
  if (query.after_key.empty() || !std::string_view(query.after_key).starts_with(prefix)) {
    it->Seek(prefix);
  } else {
    it->Seek(query.after_key);
    if (it->Valid() && it->key() == slice(query.after_key)) it->Next();
  }
  suppression::record r;
  for (; it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (!key.starts_with(prefix)) break;
    if (!r.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) continue;
    if (!query.include_cleared && !r.suppressed()) continue;
    if (query.reason && static_cast<suppression_reason>(r.reason()) != *query.reason) continue;
    if (page.records.size() == query.limit) {
      // There is more: the cursor is the last key returned.
      page.next_cursor = suppression::key_of(page.records.back());
      break;
    }
    page.records.push_back(r);
  }
  return page;
}

void store::for_each(std::string_view tenant,
                     const std::function<bool(const suppression::record&)>& visit) const {
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  std::string prefix = tenant.empty() ? std::string() : std::string(tenant) + "/";
  read.total_order_seek = prefix.empty();
  read.prefix_same_as_start = !prefix.empty();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, records_));
  suppression::record r;
  for (prefix.empty() ? it->SeekToFirst() : it->Seek(prefix); it->Valid(); it->Next()) {
    if (!prefix.empty() && !it->key().starts_with(prefix)) break;
    if (!r.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) continue;
    if (!visit(r)) break;
  }
}

entry_counts store::counts() const {
  std::lock_guard lock(counts_mutex_);
  return counts_;
}

store::lookup_counts store::lookups() const {
  return {allowed_.load(std::memory_order_relaxed), suppressed_.load(std::memory_order_relaxed)};
}

}  // namespace mailhook::index

MAILHOOK_DEFINE_ERRC(mailhook::index, errc, "index", describe, classify)
