#include "report/store.h"

#include <rocksdb/write_batch.h>

#include <charconv>
#include <unordered_set>

#include "storage/resume.h"
#include "storage/seen_set_options.h"

namespace mailhook::report {
namespace {

std::string describe(errc e) {
  switch (e) {
    case errc::open_failed:
      return "cannot open the report store";
    case errc::wrong_topic:
      return "the report directory counts another topic";
    case errc::write_failed:
      return "cannot write the report store";
    case errc::read_failed:
      return "cannot read the report store";
  }
  return "report store error";
}

error_class classify(errc e) noexcept {
  switch (e) {
    case errc::open_failed:
    case errc::write_failed:
    case errc::read_failed:
      return {error_kind::unavailable, "report_unavailable"};
    case errc::wrong_topic:
      return {error_kind::internal, "report_wrong_topic"};
  }
  return {};
}

constexpr std::string_view topic_key = "m/topic";
constexpr std::string_view offset_prefix = "o/";
constexpr std::string_view counts_prefix = "c/";
constexpr std::string_view seen_prefix = "s/";

rocksdb::Slice slice(std::string_view s) {
  return {s.data(), s.size()};
}

std::optional<std::int64_t> decode_int(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string counts_key(std::string_view tenant, day_number day) {
  std::string key(counts_prefix);
  key += tenant;
  key += '/';
  key += format_day(day);
  return key;
}

std::string seen_key(day_number arrival_day, std::string_view tenant, std::string_view event_id) {
  std::string key(seen_prefix);
  key += format_day(arrival_day);
  key += '/';
  key += tenant;
  key += '/';
  key += event_id;
  return key;
}

std::string encode_counts(const day_counts& counts) {
  std::string text;
  for (auto n : counts.by_kind) {
    if (!text.empty()) text += ',';
    text += std::to_string(n);
  }
  return text;
}

// Missing trailing numbers (a kind added after the value was written) count 0.
std::optional<day_counts> decode_counts(std::string_view text, day_number day) {
  day_counts counts;
  counts.day = day;
  std::size_t i = 0;
  while (!text.empty() && i < event_kind_count) {
    auto comma = text.find(',');
    auto n = decode_int(text.substr(0, comma));
    if (!n || *n < 0) return std::nullopt;
    counts.by_kind[i++] = static_cast<std::uint64_t>(*n);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return counts;
}

}  // namespace

result<std::unique_ptr<store>> store::open(const store_options& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) {
    return failure(errc::open_failed,
                   "cannot create " + options.dir.string() + ": " + ec.message());
  }
  rocksdb::DB* raw = nullptr;
  auto status = rocksdb::DB::Open(storage::seen_set_options("report", 16ULL << 20),
                                  options.dir.string(), &raw);
  if (!status.ok()) {
    return failure(errc::open_failed, options.dir.string() + ": " + status.ToString());
  }
  std::unique_ptr<store> s(new store(std::unique_ptr<rocksdb::DB>(raw), options.seen_days));
  // Offsets of another topic would skip or repeat records silently.
  std::string stored_topic;
  status = s->db_->Get({}, slice(topic_key), &stored_topic);
  if (status.IsNotFound()) {
    status = s->db_->Put({}, slice(topic_key), slice(options.topic));
    if (!status.ok()) return failure(errc::write_failed, status.ToString());
  } else if (!status.ok()) {
    return failure(errc::read_failed, status.ToString());
  } else if (stored_topic != options.topic) {
    return failure(errc::wrong_topic, options.dir.string() + " counts topic '" + stored_topic +
                                          "', not '" + options.topic + "'");
  }
  return s;
}

store::store(std::unique_ptr<rocksdb::DB> db, int seen_days)
    : db_(std::move(db)), seen_days_(seen_days) {}

store::~store() {
  db_->Close();
}

result<bool> store::seen(const consumed_record::counted& event) const {
  std::string value;
  for (day_number day = event.arrival_day + 1; day >= event.arrival_day - seen_days_ && day >= 0;
       --day) {
    auto status = db_->Get({}, slice(seen_key(day, event.tenant, event.event_id)), &value);
    if (status.ok()) return true;
    if (!status.IsNotFound()) return failure(errc::read_failed, status.ToString());
  }
  return false;
}

result<apply_outcome> store::apply(std::span<const consumed_record> records) {
  if (write_failed_) {
    if (auto why_not = storage::resume_writing(*db_, last_write_error_)) {
      return failure(errc::write_failed, *why_not);
    }
  }
  apply_outcome outcome;
  rocksdb::WriteBatch batch;
  std::map<std::int32_t, std::int64_t> next_offsets;
  std::map<std::pair<std::string_view, day_number>, day_counts> added;
  std::unordered_set<std::string> in_batch;  // "<tenant>/<id>" counted by this batch
  for (const auto& record : records) {
    auto& next = next_offsets[record.partition];
    next = std::max(next, record.offset + 1);
    if (!record.event) continue;
    const auto& event = *record.event;
    std::string tenant_and_id(event.tenant);
    tenant_and_id += '/';
    tenant_and_id += event.event_id;
    if (in_batch.contains(tenant_and_id)) {
      ++outcome.duplicates;
      continue;
    }
    auto already = seen(event);
    if (!already) return already.error();
    if (*already) {
      ++outcome.duplicates;
      continue;
    }
    in_batch.insert(std::move(tenant_and_id));
    batch.Put(slice(seen_key(event.arrival_day, event.tenant, event.event_id)), {});
    auto& counts = added[{event.tenant, event.day}];
    ++counts.by_kind[static_cast<std::size_t>(event.kind)];
    ++outcome.by_tenant[{std::string(event.tenant), event.kind}];
    ++outcome.counted;
  }
  // Single writer: what is read here is what this thread last wrote.
  std::string value;
  for (const auto& [key, delta] : added) {
    auto row = counts_key(key.first, key.second);
    day_counts total;
    auto status = db_->Get({}, slice(row), &value);
    if (status.ok()) {
      auto stored = decode_counts(value, key.second);
      if (!stored) return failure(errc::read_failed, "unreadable counts under " + row);
      total = *stored;
    } else if (!status.IsNotFound()) {
      return failure(errc::read_failed, status.ToString());
    }
    total.add(delta);
    batch.Put(slice(row), slice(encode_counts(total)));
  }
  for (const auto& [partition, offset] : next_offsets) {
    batch.Put(std::string(offset_prefix) + std::to_string(partition), std::to_string(offset));
  }
  // With the write-ahead log: the batch survives the process, whatever kills it.
  auto status = db_->Write({}, &batch);
  write_failed_ = !status.ok();
  if (!status.ok()) {
    last_write_error_ = status.ToString();
    return failure(errc::write_failed, last_write_error_);
  }
  return outcome;
}

result<void> store::prune_seen(day_number first_kept_day) {
  if (first_kept_day <= 0) return {};
  std::string end(seen_prefix);
  end += format_day(first_kept_day);
  auto status = db_->DeleteRange({}, db_->DefaultColumnFamily(), slice(seen_prefix), slice(end));
  if (!status.ok()) return failure(errc::write_failed, status.ToString());
  return {};
}

std::map<std::int32_t, std::int64_t> store::offsets() const {
  std::map<std::int32_t, std::int64_t> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}));
  for (it->Seek(slice(offset_prefix)); it->Valid() && it->key().starts_with(slice(offset_prefix));
       it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    auto partition = decode_int(key.substr(offset_prefix.size()));
    auto offset = decode_int(std::string_view(it->value().data(), it->value().size()));
    if (partition && offset) out[static_cast<std::int32_t>(*partition)] = *offset;
  }
  return out;
}

result<std::vector<day_counts>> store::counts(std::string_view tenant, day_number from,
                                              day_number to) const {
  std::vector<day_counts> out;
  auto first = counts_key(tenant, from);
  auto last = counts_key(tenant, to);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}));
  for (it->Seek(slice(first)); it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (key > last) break;
    auto day = parse_day(key.substr(key.size() - 10));
    auto counts =
        day ? decode_counts(std::string_view(it->value().data(), it->value().size()), *day)
            : std::nullopt;
    if (!counts) return failure(errc::read_failed, "unreadable counts under " + std::string(key));
    out.push_back(*counts);
  }
  if (!it->status().ok()) return failure(errc::read_failed, it->status().ToString());
  return out;
}

}  // namespace mailhook::report

MAILHOOK_DEFINE_ERRC(mailhook::report, errc, "report", describe, classify)
