#include "index/verdict_table.h"

#include <sys/mman.h>
#include <sys/random.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <system_error>

namespace mailhook::index {
namespace {

std::uint64_t load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

struct sip_state {
  std::uint64_t v0, v1, v2, v3;

  void round() noexcept {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }
  void compress(std::uint64_t m) noexcept {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

// 0 marks an empty slot, so the one hash that is 0 is stored as 1.
std::uint64_t slot_key(std::uint64_t hash) noexcept {
  return hash == 0 ? 1 : hash;
}

constexpr double max_load = 0.7;

std::uint64_t capacity_for(std::uint64_t keys) {
  auto wanted = static_cast<std::uint64_t>(
                    static_cast<double>(std::max<std::uint64_t>(keys, 1024)) / max_load) +
                1;
  return std::bit_ceil(wanted);
}

// Value layout: bit 0 present, bit 1 suppressed, bits 2-3 scope, 4-7 reason, 8-9 origin,
// bit 10 shared (then nothing else but present is set), 11-63 since_ms. A present key's
// value is never 0.
constexpr std::uint64_t present_bit = 1;
constexpr std::uint64_t shared_bit = 1 << 10;
constexpr std::uint64_t shared_value = present_bit | shared_bit;
constexpr int since_shift = 11;

}  // namespace

std::uint64_t siphash24(std::string_view text, const sip_key& key) noexcept {
  sip_state s{key.k0 ^ 0x736f6d6570736575ULL, key.k1 ^ 0x646f72616e646f6dULL,
              key.k0 ^ 0x6c7967656e657261ULL, key.k1 ^ 0x7465646279746573ULL};
  const char* p = text.data();
  const std::size_t n = text.size();
  const char* const blocks_end = p + (n & ~std::size_t{7});
  for (; p != blocks_end; p += 8) s.compress(load64(p));
  std::uint64_t last = static_cast<std::uint64_t>(n) << 56;
  for (std::size_t i = 0; i < (n & 7); ++i) {
    last |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  s.compress(last);
  s.v2 ^= 0xff;
  s.round();
  s.round();
  s.round();
  s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

result<sip_key> random_sip_key() {
  std::uint64_t words[2];
  auto* bytes = reinterpret_cast<unsigned char*>(words);
  std::size_t have = 0;
  while (have < sizeof words) {
    const ssize_t n = ::getrandom(bytes + have, sizeof words - have, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failure(std::error_code(errno, std::system_category()),
                     "cannot draw the verdict table's hash key (getrandom)");
    }
    have += static_cast<std::size_t>(n);
  }
  return sip_key{words[0], words[1]};
}

std::uint64_t packed_verdict::pack() const noexcept {
  return present_bit | (suppressed ? 2u : 0u) | (static_cast<std::uint64_t>(scope) & 3) << 2 |
         (static_cast<std::uint64_t>(reason) & 15) << 4 |
         (static_cast<std::uint64_t>(origin) & 3) << 8 |
         static_cast<std::uint64_t>(std::max<std::int64_t>(since_ms, 0)) << since_shift;
}

packed_verdict packed_verdict::unpack(std::uint64_t word) noexcept {
  packed_verdict v;
  v.suppressed = (word & 2) != 0;
  v.scope = static_cast<suppression_scope>((word >> 2) & 3);
  v.reason = static_cast<suppression_reason>((word >> 4) & 15);
  v.origin = static_cast<suppression_origin>((word >> 8) & 3);
  v.since_ms = static_cast<std::int64_t>(word >> since_shift);
  return v;
}

verdict_table::table::table(std::uint64_t capacity) : mask(capacity - 1) {
  // Lookups land anywhere in a table of hundreds of megabytes: with 2 MiB pages they miss
  // the TLB far less often than with 4 KiB ones.
  constexpr std::size_t huge_page = 2 << 20;
  std::size_t bytes = (capacity * sizeof(slot) + huge_page - 1) / huge_page * huge_page;
  void* memory = std::aligned_alloc(huge_page, bytes);
  if (memory == nullptr) throw std::bad_alloc();
  ::madvise(memory, bytes, MADV_HUGEPAGE);
  slots = static_cast<slot*>(memory);
  std::uninitialized_value_construct_n(slots, capacity);
}

verdict_table::table::~table() {
  std::free(slots);
}

verdict_table::verdict_table(std::uint64_t expected_keys, const sip_key& key,
                             hash_function hash_for_tests)
    : key_(key), hash_for_tests_(hash_for_tests) {
  tables_.push_back(std::make_unique<table>(capacity_for(expected_keys)));
  current_.store(tables_.back().get(), std::memory_order_release);
  bytes_.store((tables_.back()->mask + 1) * sizeof(slot), std::memory_order_relaxed);
}

verdict_table::~verdict_table() = default;

void verdict_table::insert(table& t, std::uint64_t hash, std::uint64_t value) {
  auto key = slot_key(hash);
  for (auto i = key & t.mask;; i = (i + 1) & t.mask) {
    auto& s = t.slots[i];
    auto found = s.key.load(std::memory_order_relaxed);
    if (found == key) {
      s.value.store(value, std::memory_order_release);
      return;
    }
    if (found == 0) {
      s.value.store(value, std::memory_order_relaxed);
      s.key.store(key, std::memory_order_release);
      return;
    }
  }
}

bool verdict_table::write_slot(std::uint64_t hash, std::uint64_t value, bool only_new) {
  auto* t = current_.load(std::memory_order_relaxed);
  const auto key = slot_key(hash);
  auto i = key & t->mask;
  for (;; i = (i + 1) & t->mask) {
    auto found = t->slots[i].key.load(std::memory_order_relaxed);
    if (found == key) {
      auto& slot_value = t->slots[i].value;
      const auto old = slot_value.load(std::memory_order_relaxed);
      const bool present = old != 0;
      if (only_new && present) return false;
      // Once two keys are known to share the hash, only their records can tell them apart.
      if (old != shared_value || value == shared_value) {
        slot_value.store(value, std::memory_order_release);
      }
      return !present;
    }
    if (found == 0) break;
  }
  // A new key.
  if (static_cast<double>(used_.load(std::memory_order_relaxed) + 1) >
      static_cast<double>(t->mask + 1) * max_load) {
    grow_to((t->mask + 1) * 2);
    insert(*current_.load(std::memory_order_relaxed), hash, value);
  } else {
    t->slots[i].value.store(value, std::memory_order_relaxed);
    t->slots[i].key.store(key, std::memory_order_release);
  }
  used_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void verdict_table::put(std::uint64_t hash, const packed_verdict& verdict) {
  write_slot(hash, verdict.pack(), false);
}

bool verdict_table::put_new(std::uint64_t hash, const packed_verdict& verdict) {
  return write_slot(hash, verdict.pack(), true);
}

void verdict_table::share(std::uint64_t hash) {
  write_slot(hash, shared_value, false);
}

void verdict_table::erase(std::uint64_t hash) {
  auto* t = current_.load(std::memory_order_relaxed);
  auto key = slot_key(hash);
  for (auto i = key & t->mask;; i = (i + 1) & t->mask) {
    auto found = t->slots[i].key.load(std::memory_order_relaxed);
    if (found == 0) return;
    if (found == key) {
      if (t->slots[i].value.load(std::memory_order_relaxed) != shared_value) {
        t->slots[i].value.store(0, std::memory_order_release);
      }
      return;
    }
  }
}

std::optional<table_entry> verdict_table::find(std::uint64_t hash) const noexcept {
  const auto* t = current_.load(std::memory_order_acquire);
  auto key = slot_key(hash);
  for (auto i = key & t->mask;; i = (i + 1) & t->mask) {
    auto found = t->slots[i].key.load(std::memory_order_acquire);
    if (found == 0) return std::nullopt;
    if (found == key) {
      auto value = t->slots[i].value.load(std::memory_order_acquire);
      if (value == 0) return std::nullopt;
      if (value == shared_value) return table_entry{true, {}};
      return table_entry{false, packed_verdict::unpack(value)};
    }
  }
}

void verdict_table::reserve(std::uint64_t keys) {
  auto capacity = capacity_for(keys);
  if (capacity > current_.load(std::memory_order_relaxed)->mask + 1) grow_to(capacity);
}

void verdict_table::grow_to(std::uint64_t capacity) {
  const auto* old = current_.load(std::memory_order_relaxed);
  auto bigger = std::make_unique<table>(capacity);
  for (std::uint64_t i = 0; i <= old->mask; ++i) {
    auto key = old->slots[i].key.load(std::memory_order_relaxed);
    if (key != 0) insert(*bigger, key, old->slots[i].value.load(std::memory_order_relaxed));
  }
  current_.store(bigger.get(), std::memory_order_release);
  bytes_.fetch_add((bigger->mask + 1) * sizeof(slot), std::memory_order_relaxed);
  tables_.push_back(std::move(bigger));
}

}  // namespace mailhook::index
