#include "webhook/scalar_inverse.h"

namespace mailhook::webhook {
namespace {

// GCC's and Clang's 128-bit integer: a limb's carry or borrow without branches.
__extension__ typedef unsigned __int128 u128;

bool is_zero(const u256& x) noexcept {
  return (x[0] | x[1] | x[2] | x[3]) == 0;
}

bool is_one(const u256& x) noexcept {
  return x[0] == 1 && (x[1] | x[2] | x[3]) == 0;
}

// x >= y
bool at_least(const u256& x, const u256& y) noexcept {
  for (std::size_t i = 4; i-- > 0;) {
    if (x[i] != y[i]) return x[i] > y[i];
  }
  return true;
}

// x -= y; returns the borrow out.
std::uint64_t subtract(u256& x, const u256& y) noexcept {
  std::uint64_t borrow = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const u128 d = static_cast<u128>(x[i]) - y[i] - borrow;
    x[i] = static_cast<std::uint64_t>(d);
    borrow = static_cast<std::uint64_t>(d >> 64) & 1;
  }
  return borrow;
}

// x += y; returns the carry out.
std::uint64_t add(u256& x, const u256& y) noexcept {
  std::uint64_t carry = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const u128 s = static_cast<u128>(x[i]) + y[i] + carry;
    x[i] = static_cast<std::uint64_t>(s);
    carry = static_cast<std::uint64_t>(s >> 64);
  }
  return carry;
}

// x >>= k for 0 < k < 64.
void shift_right(u256& x, int k) noexcept {
  for (std::size_t i = 0; i < 3; ++i) x[i] = (x[i] >> k) | (x[i + 1] << (64 - k));
  x[3] >>= k;
}

// x >>= 1, with `top` shifted in as the new highest bit.
void halve(u256& x, std::uint64_t top) noexcept {
  for (std::size_t i = 0; i < 3; ++i) x[i] = (x[i] >> 1) | (x[i + 1] << 63);
  x[3] = (x[3] >> 1) | (top << 63);
}

// x / 2 mod n for x < n: x is even, or x + n is (n is odd), and x + n < 2n fits in 257
// bits, the carry being the 257th.
void halve_mod(u256& x, const u256& n) noexcept {
  if ((x[0] & 1) == 0) return halve(x, 0);
  halve(x, add(x, n));
}

// Takes every factor of two out of `x` (non-zero) with one shift, and as many halvings
// mod n out of its coefficient `c`.
void remove_twos(u256& x, u256& c, const u256& n) noexcept {
  while (x[0] == 0) {  // whole limbs of zeros: x is not zero, so this ends
    x = {x[1], x[2], x[3], 0};
    for (int i = 0; i < 64; ++i) halve_mod(c, n);
  }
  const int zeros = __builtin_ctzll(x[0]);
  if (zeros == 0) return;
  shift_right(x, zeros);
  for (int i = 0; i < zeros; ++i) halve_mod(c, n);
}

// x = x - y mod n, for x, y < n.
void subtract_mod(u256& x, const u256& y, const u256& n) noexcept {
  if (subtract(x, y) != 0) add(x, n);
}

}  // namespace

std::optional<u256> inverse_mod_odd(const u256& a, const u256& n) noexcept {
  if ((n[0] & 1) == 0 || is_zero(a) || at_least(a, n)) return std::nullopt;
  // Invariants: x1·a ≡ u and x2·a ≡ v (mod n), and gcd(u, v) = gcd(a, n). Each round
  // takes factors of two out of u and v, then the smaller from the larger, until one of
  // them is 1 (or 0: a shared factor).
  u256 u = a;
  u256 v = n;
  u256 x1 = {1, 0, 0, 0};
  u256 x2 = {0, 0, 0, 0};
  while (!is_one(u) && !is_one(v)) {
    if (is_zero(u) || is_zero(v)) return std::nullopt;
    remove_twos(u, x1, n);
    remove_twos(v, x2, n);
    if (at_least(u, v)) {
      subtract(u, v);
      subtract_mod(x1, x2, n);
    } else {
      subtract(v, u);
      subtract_mod(x2, x1, n);
    }
  }
  return is_one(u) ? x1 : x2;
}

}  // namespace mailhook::webhook
