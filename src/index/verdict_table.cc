#include "index/verdict_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace mailhook::index {
namespace {

constexpr std::uint64_t k0 = 0xa0761d6478bd642fULL;
constexpr std::uint64_t k1 = 0xe7037ed1a0b428dbULL;
constexpr std::uint64_t k2 = 0x8ebc6af09c88c6e3ULL;

// The full 128-bit product (a GCC extension, which -Wpedantic must be told about).
__extension__ using uint128 = unsigned __int128;

std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept {
  uint128 product = static_cast<uint128>(a) * b;
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

std::uint64_t load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

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
// 10-63 since_ms. A present key's value is never 0.
constexpr std::uint64_t present_bit = 1;

}  // namespace

std::uint64_t hash_key(std::string_view key) noexcept {
  const char* p = key.data();
  std::size_t n = key.size();
  std::uint64_t seed = k0 ^ n;
  while (n >= 16) {
    seed = mix(load64(p) ^ k1, load64(p + 8) ^ seed);
    p += 16;
    n -= 16;
  }
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  if (n >= 8) {
    a = load64(p);
    b = load64(p + n - 8);
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      a |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    }
  }
  return mix(k1 ^ key.size(), mix(a ^ k2, b ^ seed));
}

std::uint64_t packed_verdict::pack() const noexcept {
  return present_bit | (suppressed ? 2u : 0u) | (static_cast<std::uint64_t>(scope) & 3) << 2 |
         (static_cast<std::uint64_t>(reason) & 15) << 4 |
         (static_cast<std::uint64_t>(origin) & 3) << 8 |
         static_cast<std::uint64_t>(std::max<std::int64_t>(since_ms, 0)) << 10;
}

packed_verdict packed_verdict::unpack(std::uint64_t word) noexcept {
  packed_verdict v;
  v.suppressed = (word & 2) != 0;
  v.scope = static_cast<suppression_scope>((word >> 2) & 3);
  v.reason = static_cast<suppression_reason>((word >> 4) & 15);
  v.origin = static_cast<suppression_origin>((word >> 8) & 3);
  v.since_ms = static_cast<std::int64_t>(word >> 10);
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

verdict_table::verdict_table(std::uint64_t expected_keys) {
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

void verdict_table::put(std::uint64_t hash, const packed_verdict& verdict) {
  auto* t = current_.load(std::memory_order_relaxed);
  const auto key = slot_key(hash);
  const auto value = verdict.pack();
  auto i = key & t->mask;
  for (;; i = (i + 1) & t->mask) {
    auto found = t->slots[i].key.load(std::memory_order_relaxed);
    if (found == key) {
      t->slots[i].value.store(value, std::memory_order_release);
      return;
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
}

void verdict_table::erase(std::uint64_t hash) {
  auto* t = current_.load(std::memory_order_relaxed);
  auto key = slot_key(hash);
  for (auto i = key & t->mask;; i = (i + 1) & t->mask) {
    auto found = t->slots[i].key.load(std::memory_order_relaxed);
    if (found == 0) return;
    if (found == key) {
      t->slots[i].value.store(0, std::memory_order_release);
      return;
    }
  }
}

std::optional<packed_verdict> verdict_table::find(std::uint64_t hash) const noexcept {
  const auto* t = current_.load(std::memory_order_acquire);
  auto key = slot_key(hash);
  for (auto i = key & t->mask;; i = (i + 1) & t->mask) {
    auto found = t->slots[i].key.load(std::memory_order_acquire);
    if (found == 0) return std::nullopt;
    if (found == key) {
      auto value = t->slots[i].value.load(std::memory_order_acquire);
      if (value == 0) return std::nullopt;
      return packed_verdict::unpack(value);
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
