// The in-memory table in front of the RocksDB replica: every key the replica holds, by a
// 64-bit hash, with the little a lookup answers (suppressed or not, scope, reason,
// origin, since). A "may I send?" lookup is one or two probes here and never touches
// RocksDB: addresses without a record (most of them) and suppressed ones alike. It also
// spares the replica a read when a change brings a key it has never seen (most of a
// bootstrap). RocksDB keeps the full records for listing, export and details.
//
// Open addressing with linear probing over 16-byte slots, at most 70% full and a power of
// two: 23 to 46 bytes per key, 268 MB for 10 million keys (index_bench).
//
// Keys are addresses anyone can choose (an event, a manual change), so the hash is
// SipHash-2-4 under a random key drawn for each table: without the key, nobody can pick
// two keys whose hashes collide. Two keys may still collide by chance (about n^2 / 2^65
// for n keys), and a collision must never let a suppressed address pass: the writer, which
// reads a key's record whenever the table knows its hash, finds out when the hash belongs
// to another key and marks the slot shared. A lookup that lands on a shared slot reads the
// key's own record from RocksDB instead of trusting the slot. A lookup of a key without a
// record that lands on another key's slot answers that key's verdict: "allowed" only if
// that is what the key without a record deserves anyway, else a false "suppressed".
//
// One writer (the replica's apply thread), any number of readers, no locks: a slot's
// value is written before its key is published (release/acquire), and a value is one
// 64-bit word, so a reader sees the old verdict or the new one, never a mix. When the
// table grows, readers still on the old one finish there; old tables are kept until the
// table is destroyed (at most as much memory again, since each is half the next).
// Nothing of the table is persisted: it is rebuilt from RocksDB at every start, under a
// new key.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "mailhook/suppression.h"

namespace mailhook::index {

// A SipHash key: 128 bits.
struct sip_key {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;
};

// SipHash-2-4 (Aumasson and Bernstein, 2012) of `text` under `key`: a keyed function whose
// collisions cannot be chosen without the key.
[[nodiscard]] std::uint64_t siphash24(std::string_view text, const sip_key& key) noexcept;

// A fresh key from the kernel's CSPRNG (getrandom); fails only when the kernel has none.
[[nodiscard]] result<sip_key> random_sip_key();

// What the table keeps per key, packed into one word.
struct packed_verdict {
  bool suppressed = false;
  suppression_scope scope = suppression_scope::global;
  suppression_reason reason = suppression_reason::unspecified;
  suppression_origin origin = suppression_origin::unspecified;
  std::int64_t since_ms = 0;  // 0 .. 2^53

  [[nodiscard]] std::uint64_t pack() const noexcept;
  [[nodiscard]] static packed_verdict unpack(std::uint64_t word) noexcept;
};

// What the table holds for a hash.
struct table_entry {
  // More than one key with a record has this hash: `verdict` is none of theirs, and the
  // key's own record has to be read.
  bool shared = false;
  packed_verdict verdict;  // the one key's, when not shared
};

class verdict_table {
 public:
  // Tests only: a hash to use instead of SipHash under the table's key, to make keys collide.
  using hash_function = std::uint64_t (*)(std::string_view key);

  // Sized for `expected_keys` without growing; keys are hashed under `key`.
  verdict_table(std::uint64_t expected_keys, const sip_key& key,
                hash_function hash_for_tests = nullptr);
  ~verdict_table();
  verdict_table(const verdict_table&) = delete;
  verdict_table& operator=(const verdict_table&) = delete;

  // Any thread. The hash `key` is kept under in this table (in no other).
  [[nodiscard]] std::uint64_t hash(std::string_view key) const noexcept {
    return hash_for_tests_ != nullptr ? hash_for_tests_(key) : siphash24(key, key_);
  }

  // Writer only. The verdict of the one key with this hash; a shared slot stays shared.
  void put(std::uint64_t hash, const packed_verdict& verdict);
  // Writer only. The same for a key the table does not hold yet; false, changing nothing,
  // when the hash is present already (another key's).
  [[nodiscard]] bool put_new(std::uint64_t hash, const packed_verdict& verdict);
  // Writer only. Several keys with a record have this hash (the writer found a key's
  // record missing where the table had its hash): from now on the slot answers `shared`.
  void share(std::uint64_t hash);
  // Writer only. Marks the key as absent (an operator's tombstone); the slot stays. A
  // shared slot stays shared, since the other keys still have their records.
  void erase(std::uint64_t hash);
  // Writer only. Makes room for `keys` keys in all at once, so that the table does not grow
  // (and stall the writer) again and again while a replica catches up.
  void reserve(std::uint64_t keys);

  // Any thread. nullopt: no key with this hash has a record.
  [[nodiscard]] std::optional<table_entry> find(std::uint64_t hash) const noexcept;

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
  // Sets the value of `hash`, adding it when it is new. A shared slot keeps its value
  // unless `value` shares it; `only_new` leaves a present hash alone. False when the hash
  // was present.
  bool write_slot(std::uint64_t hash, std::uint64_t value, bool only_new);

  const sip_key key_;
  const hash_function hash_for_tests_;

  std::atomic<table*> current_;
  std::vector<std::unique_ptr<table>> tables_;  // every table ever made; the last is current
  std::atomic<std::uint64_t> used_{0};
  std::atomic<std::uint64_t> bytes_{0};  // of every table, for metrics from any thread
};

}  // namespace mailhook::index
