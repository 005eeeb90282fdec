// The in-memory filter in front of the RocksDB replica: most lookups are for addresses
// that are not suppressed, and this answers those from one cache line, without touching
// RocksDB's blocks or its block cache.
//
// A blocked Bloom filter: a key's bits all sit in one 64-byte block, so a probe costs one
// cache miss at most. Keys are only ever added (a cleared suppression leaves its bits:
// the next lookup of it goes to RocksDB, which knows it is cleared), and the false-
// positive rate grows past the capacity it was sized for; the replica sizes it at start
// for twice what it holds.
//
// Thread-safe without locks: bits are set with atomic OR and read with relaxed loads.
// A reader that misses a bit being set concurrently sees the key as absent, which is
// the state it had a moment before: the same as reading just before the write.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

namespace mailhook::index {

// 64-bit hash of a key (wyhash-style mixing, 8 bytes at a time). Stable within one
// process only; the filter is never persisted.
[[nodiscard]] std::uint64_t hash_key(std::string_view key) noexcept;

class key_filter {
 public:
  // Sized for `capacity` keys at 16 bits per key (about 0.1% false positives when full).

  explicit key_filter(std::uint64_t capacity);

  void add(std::uint64_t hash) noexcept;
  [[nodiscard]] bool may_contain(std::uint64_t hash) const noexcept;

  void add(std::string_view key) noexcept { add(hash_key(key)); }
  [[nodiscard]] bool may_contain(std::string_view key) const noexcept {
    return may_contain(hash_key(key));
  }

  [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::uint64_t memory_bytes() const noexcept { return blocks_ * 64; }

 private:
  static constexpr int words_per_block = 8;  // 8 x 64 bits = one cache line
  static constexpr int probes = 7;           // 7 x 9 bits of the 64-bit hash

  std::uint64_t capacity_;
  std::uint64_t blocks_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> bits_;
};

}  // namespace mailhook::index
