#include "index/filter.h"

#include <algorithm>
#include <cstring>

namespace mailhook::index {
namespace {

constexpr std::uint64_t k0 = 0xa0761d6478bd642fULL;
constexpr std::uint64_t k1 = 0xe7037ed1a0b428dbULL;
constexpr std::uint64_t k2 = 0x8ebc6af09c88c6e3ULL;

std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept {
  unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

std::uint64_t load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

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
  } else if (n > 0) {
    // The tail's bytes, each at its own position.
    for (std::size_t i = 0; i < n; ++i) {
      a |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    }
  }
  return mix(k1 ^ key.size(), mix(a ^ k2, b ^ seed));
}

key_filter::key_filter(std::uint64_t capacity)
    : capacity_(std::max<std::uint64_t>(capacity, 1024)),
      // 16 bits per key = 2 bytes; a 64-byte block holds 32 keys.
      blocks_((capacity_ * 2 + 63) / 64),
      bits_(std::make_unique<std::atomic<std::uint64_t>[]>(blocks_ * words_per_block)) {}

void key_filter::add(std::uint64_t hash) noexcept {
  std::uint64_t block = mix(hash, k2) % blocks_;
  auto* words = bits_.get() + block * words_per_block;
  // Each probe picks one of the block's 512 bits from its own 9 bits of the hash (the
  // block index comes from a second mix, so the two do not correlate).
  for (int i = 0; i < probes; ++i) {
    auto bit = (hash >> (i * 9)) & 511;
    words[bit >> 6].fetch_or(1ULL << (bit & 63), std::memory_order_relaxed);
  }
}

bool key_filter::may_contain(std::uint64_t hash) const noexcept {
  std::uint64_t block = mix(hash, k2) % blocks_;
  const auto* words = bits_.get() + block * words_per_block;
  for (int i = 0; i < probes; ++i) {
    auto bit = (hash >> (i * 9)) & 511;
    if ((words[bit >> 6].load(std::memory_order_relaxed) & (1ULL << (bit & 63))) == 0) return false;
  }
  return true;
}

}  // namespace mailhook::index
