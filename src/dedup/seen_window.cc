#include "dedup/seen_window.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "storage/resume.h"
#include "storage/seen_set_options.h"

namespace mailhook::dedup {
namespace {

std::string describe(errc e) {
  switch (e) {
    case errc::open_failed:
      return "cannot open the deduplication store";
    case errc::write_failed:
      return "cannot write the deduplication store";
    case errc::read_failed:
      return "cannot read the deduplication store";
  }
  return "deduplication store error";
}

error_class classify(errc) noexcept {
  return {error_kind::unavailable, "dedup_unavailable"};
}

void append_be(std::string& out, std::uint64_t value, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((value >> shift) & 0xff));
}

std::string prefix(char kind, std::int32_t partition) {
  std::string key(1, kind);
  append_be(key, static_cast<std::uint32_t>(partition), 4);
  return key;
}

std::string id_key(std::int32_t partition, std::string_view id) {
  return prefix('i', partition).append(id);
}

std::string seq_key(std::int32_t partition, std::int64_t seq) {
  std::string key = prefix('s', partition);
  append_be(key, static_cast<std::uint64_t>(seq), 8);
  return key;
}

rocksdb::Slice slice(const std::string& s) {
  return {s.data(), s.size()};
}

}  // namespace

result<std::unique_ptr<seen_window>> seen_window::open(const std::filesystem::path& dir,
                                                       std::int64_t size) {
  auto options = storage::seen_set_options("dedup", 32ULL << 20);
  // A cache of the deduplicated topic: whatever an earlier run left is rebuilt anyway.
  std::error_code ec;
  if (std::filesystem::exists(dir / "CURRENT", ec)) {
    if (auto status = rocksdb::DestroyDB(dir.string(), options); !status.ok()) {
      return failure(errc::open_failed, dir.string() + ": " + status.ToString());
    }
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return failure(errc::open_failed, "cannot create " + dir.string() + ": " + ec.message());
  rocksdb::DB* raw = nullptr;
  if (auto status = rocksdb::DB::Open(options, dir.string(), &raw); !status.ok()) {
    return failure(errc::open_failed, dir.string() + ": " + status.ToString());
  }
  return std::unique_ptr<seen_window>(new seen_window(std::unique_ptr<rocksdb::DB>(raw), size));
}

seen_window::seen_window(std::unique_ptr<rocksdb::DB> db, std::int64_t size)
    : db_(std::move(db)), size_(size) {}

seen_window::~seen_window() = default;

result<void> seen_window::write(rocksdb::WriteBatch& batch) {
  if (!failed_write_.empty()) {
    if (auto why_not = storage::resume_writing(*db_, failed_write_))
      return failure(errc::write_failed, *why_not);
    failed_write_.clear();
  }
  auto status = db_->Write({}, &batch);
  if (status.ok()) return {};
  failed_write_ = status.ToString();
  return failure(errc::write_failed, failed_write_);
}

result<void> seen_window::reset(std::int32_t partition) {
  rocksdb::WriteBatch batch;
  for (char kind : {'i', 's'}) {
    auto from = prefix(kind, partition);
    auto to = prefix(kind, partition + 1);
    batch.DeleteRange(slice(from), slice(to));
  }
  spans_.erase(partition);
  return write(batch);
}

result<bool> seen_window::contains(std::int32_t partition, std::string_view id) const {
  std::string value;
  auto status = db_->Get({}, slice(id_key(partition, id)), &value);
  if (status.ok()) return true;
  if (status.IsNotFound()) return false;
  return failure(errc::read_failed, status.ToString());
}

result<void> seen_window::add(std::int32_t partition, std::span<const std::string> ids) {
  if (ids.size() > static_cast<std::size_t>(size_)) ids = ids.last(static_cast<std::size_t>(size_));
  auto& held = spans_[partition];
  rocksdb::WriteBatch batch;
  // Room first: the oldest go, by the order the sequence keys keep.
  std::int64_t evict = held.next - held.first + static_cast<std::int64_t>(ids.size()) - size_;
  std::string id;
  for (std::int64_t i = 0; i < evict; ++i) {
    auto oldest = seq_key(partition, held.first + i);
    auto status = db_->Get({}, slice(oldest), &id);
    if (!status.ok() && !status.IsNotFound()) return failure(errc::read_failed, status.ToString());
    if (status.ok()) batch.Delete(slice(id_key(partition, id)));
    batch.Delete(slice(oldest));
  }
  std::string seq_value;
  for (const auto& new_id : ids) {
    seq_value.clear();
    append_be(seq_value, static_cast<std::uint64_t>(held.next), 8);
    batch.Put(slice(id_key(partition, new_id)), slice(seq_value));
    batch.Put(slice(seq_key(partition, held.next)), slice(new_id));
    ++held.next;
  }
  if (auto written = write(batch); !written) {
    // Nothing of it is kept: the span goes back to what the store holds.
    held.next -= static_cast<std::int64_t>(ids.size());
    return written;
  }
  if (evict > 0) held.first += evict;
  return {};
}

std::int64_t seen_window::ids() const {
  std::int64_t total = 0;
  for (const auto& [partition, held] : spans_) total += held.next - held.first;
  return total;
}

}  // namespace mailhook::dedup

MAILHOOK_DEFINE_ERRC(mailhook::dedup, errc, "dedup", describe, classify)
