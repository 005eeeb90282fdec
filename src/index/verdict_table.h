// The in-memory table in front of the RocksDB replica: every key the replica holds, by a
// 64-bit hash, with the little a lookup answers (suppressed or not, scope, reason,
// origin, since). A "may I send?" lookup is one or two probes here and never touches
// RocksDB: addresses without a record (most of them) and suppressed ones alike. It also
// spares the replica a read when a change brings a key it has never seen (most of a
// bootstrap). RocksDB keeps the full records for listing, export and details.
//
// Open addressing with linear probing over 16-byte slots, at most 70% full and a power of
// two: 23 to 46 bytes per key, 268 MB for 10 million keys (index_bench). Two keys whose 64-bit
// hashes are equal would share a verdict; with n keys the chance that any pair does is
// about n^2 / 2^65 (3 in a million for 10 million keys), which we accept for the speed.
//
// One writer (the replica's apply thread), any number of readers, no locks: a slot's
// value is written before its key is published (release/acquire), and a value is one
// 64-bit word, so a reader sees the old verdict or the new one, never a mix. When the
// table grows, readers still on the old one finish there; old tables are kept until the
// table is destroyed (at most as much memory again, since each is half the next).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "mailhook/suppression.h"

namespace mailhook::index {

// 64-bit hash of a key (wyhash-style mixing, 8 bytes at a time). Stable within one
// process only; the table is never persisted.
[[nodiscard]] std::uint64_t hash_key(std::string_view key) noexcept;

// What the table keeps per key, packed into one word.
struct packed_verdict {
  bool suppressed = false;
  suppression_scope scope = suppression_scope::global;
  suppression_reason reason = suppression_reason::unspecified;
  suppression_origin origin = suppression_origin::unspecified;
  std::int64_t since_ms = 0;  // 0 .. 2^52

  [[nodiscard]] std::uint64_t pack() const noexcept;
  [[nodiscard]] static packed_verdict unpack(std::uint64_t word) noexcept;
};

class verdict_table {
 public:
  // Sized for `expected_keys` without growing.
  explicit verdict_table(std::uint64_t expected_keys);
  ~verdict_table();
  verdict_table(const verdict_table&) = delete;
  verdict_table& operator=(const verdict_table&) = delete;

  // Writer only.
  void put(std::uint64_t hash, const packed_verdict& verdict);
  // Marks the key as absent (an operator's tombstone); the slot stays.
  void erase(std::uint64_t hash);
  // Writer only. Makes room for `keys` keys in all at once, so that the table does not grow
  // (and stall the writer) again and again while a replica catches up.
  void reserve(std::uint64_t keys);

  // Any thread. nullopt: the replica has no record of the key.
  [[nodiscard]] std::optional<packed_verdict> find(std::uint64_t hash) const noexcept;

  [[nodiscard]] std::uint64_t size() const noexcept {
    return used_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t memory_bytes() const noexcept {
    return bytes_.load(std::memory_order_relaxed);
  }

 private:
  struct slot {
    std::atomic<std::uint64_t> key{0};    // the hash; 0 = empty (a hash of 0 is stored as 1)
    std::atomic<std::uint64_t> value{0};  // packed_verdict; 0 = absent
  };
  struct table {
    explicit table(std::uint64_t capacity);
    ~table();
    table(const table&) = delete;
    table& operator=(const table&) = delete;
    std::uint64_t mask;
    slot* slots;  // on huge pages where the kernel allows (madvise)
  };

  void grow_to(std::uint64_t capacity);
  static void insert(table& t, std::uint64_t hash, std::uint64_t value);

  std::atomic<table*> current_;
  std::vector<std::unique_ptr<table>> tables_;  // every table ever made; the last is current
  std::atomic<std::uint64_t> used_{0};
  std::atomic<std::uint64_t> bytes_{0};  // of every table, for metrics from any thread
};

}  // namespace mailhook::index
