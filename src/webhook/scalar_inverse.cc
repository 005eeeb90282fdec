// See scalar_inverse.h. The algorithm is Bernstein and Yang's "safegcd" (Fast
// constant-time gcd computation and modular inversion, 2019), in the variable-time form
// with Pornin's and Wuille's refinements that libsecp256k1 uses (its modinv64 and the
// write-up doc/safegcd_implementation.md there): 62 "division steps" at a time are computed
// on the low 64 bits of f and g alone, as a 2x2 matrix, which is then applied once to the
// full-width f, g and to the coefficients d, e. A 256-bit inverse takes about ten such
// rounds, where the binary algorithm took hundreds of multi-word shifts and subtractions.
//
// Numbers are kept as five signed 62-bit limbs (value = sum of limb[i]·2^(62·i)), so that
// a matrix entry times a limb, plus carries, fits a signed 128-bit integer.
#include "webhook/scalar_inverse.h"

namespace mailhook::webhook {
namespace {

// GCC's and Clang's 128-bit integers.
__extension__ typedef __int128 i128;

constexpr std::uint64_t low62 = ~std::uint64_t{0} >> 2;

struct signed62 {
  std::array<std::int64_t, 5> v;
};

// After 62 divsteps: 2^62·[f', g'] = [[u, v], [q, r]]·[f, g].
struct transition {
  std::int64_t u, v, q, r;
};

signed62 to_signed62(const u256& a) noexcept {
  return {{static_cast<std::int64_t>(a[0] & low62),
           static_cast<std::int64_t>(((a[0] >> 62) | (a[1] << 2)) & low62),
           static_cast<std::int64_t>(((a[1] >> 60) | (a[2] << 4)) & low62),
           static_cast<std::int64_t>(((a[2] >> 58) | (a[3] << 6)) & low62),
           static_cast<std::int64_t>(a[3] >> 56)}};
}

// For a value in [0, 2^256) whose limbs 0..3 are in [0, 2^62).
u256 from_signed62(const signed62& a) noexcept {
  const auto limb = [&a](std::size_t i) { return static_cast<std::uint64_t>(a.v[i]); };
  return {limb(0) | (limb(1) << 62), (limb(1) >> 2) | (limb(2) << 60),
          (limb(2) >> 4) | (limb(3) << 58), (limb(3) >> 6) | (limb(4) << 56)};
}

// The modulus and its inverse modulo 2^62.
struct modulus_info {
  signed62 modulus;
  std::uint64_t inverse62;
};

modulus_info info_of(const u256& n) noexcept {
  // Newton's iteration doubles the correct low bits of n⁻¹ mod 2^64 each time; an odd n
  // is its own inverse modulo 8, so five steps give 96 > 64.
  std::uint64_t inverse = n[0];
  for (int i = 0; i < 5; ++i) inverse *= 2 - n[0] * inverse;
  return {to_signed62(n), inverse & low62};
}

// 62 divsteps on the low bits of f (odd) and g, starting from eta = -delta; returns the new
// eta and sets `t`. Zeros at the bottom of g are taken all at once, and each other step
// cancels up to 4 or 6 low bits of g with one multiple of f.
std::int64_t divsteps_62(std::int64_t eta, std::uint64_t f0, std::uint64_t g0,
                         transition& t) noexcept {
  std::uint64_t u = 1, v = 0, q = 0, r = 1;
  std::uint64_t f = f0, g = g0;
  int i = 62;
  for (;;) {
    // The sentinel bit at i counts zeros only up to the steps that are left.
    const int zeros = __builtin_ctzll(g | (~std::uint64_t{0} << i));
    g >>= zeros;
    u <<= zeros;
    v <<= zeros;
    eta -= zeros;
    i -= zeros;
    if (i == 0) break;
    // f and g are both odd here. With delta > 0, swap: (f, g) = (g, -f).
    const bool swap = eta < 0;
    if (swap) {
      eta = -eta;
      std::uint64_t tmp = f;
      f = g;
      g = -tmp;
      tmp = u;
      u = q;
      q = -tmp;
      tmp = v;
      v = r;
      r = -tmp;
    }
    // Then add the multiple w of f to g that clears its lowest bits: as many as are left
    // of the 62, and no more than eta + 1, after which delta's sign turns again.
    const int limit = static_cast<int>(eta) + 1 > i ? i : static_cast<int>(eta) + 1;
    std::uint64_t w = 0;
    std::uint64_t m = 0;
    if (swap) {
      // Up to 6 bits: f⁻¹ mod 64 is f·(2 - f²), so -g·f⁻¹ is f·g·(f² - 2). (eta is
      // larger after a swap, so more bits can go at once.)
      m = (~std::uint64_t{0} >> (64 - limit)) & 63U;
      w = (f * g * (f * f - 2)) & m;
    } else {
      // Up to 4 bits: f + ((f + 1) & 4)·2 is f⁻¹ mod 16.
      m = (~std::uint64_t{0} >> (64 - limit)) & 15U;
      w = f + (((f + 1) & 4) << 1);
      w = (-w * g) & m;
    }
    g += f * w;
    q += u * w;
    r += v * w;
  }
  t = {static_cast<std::int64_t>(u), static_cast<std::int64_t>(v), static_cast<std::int64_t>(q),
       static_cast<std::int64_t>(r)};
  return eta;
}

// [d, e] = (t·[d, e] + n·[md, me]) / 2^62, with md and me chosen so that the division is
// exact and d and e stay in (-2n, n).
void update_de(signed62& d, signed62& e, const transition& t, const modulus_info& mod) noexcept {
  const std::int64_t sd = d.v[4] >> 63;
  const std::int64_t se = e.v[4] >> 63;
  std::int64_t md = (t.u & sd) + (t.v & se);
  std::int64_t me = (t.q & sd) + (t.r & se);
  i128 cd = static_cast<i128>(t.u) * d.v[0] + static_cast<i128>(t.v) * e.v[0];
  i128 ce = static_cast<i128>(t.q) * d.v[0] + static_cast<i128>(t.r) * e.v[0];
  md -= static_cast<std::int64_t>(
      (mod.inverse62 * static_cast<std::uint64_t>(cd) + static_cast<std::uint64_t>(md)) & low62);
  me -= static_cast<std::int64_t>(
      (mod.inverse62 * static_cast<std::uint64_t>(ce) + static_cast<std::uint64_t>(me)) & low62);
  cd += static_cast<i128>(mod.modulus.v[0]) * md;
  ce += static_cast<i128>(mod.modulus.v[0]) * me;
  cd >>= 62;  // the low 62 bits are zero now
  ce >>= 62;
  for (std::size_t i = 1; i < 5; ++i) {
    cd += static_cast<i128>(t.u) * d.v[i] + static_cast<i128>(t.v) * e.v[i] +
          static_cast<i128>(mod.modulus.v[i]) * md;
    ce += static_cast<i128>(t.q) * d.v[i] + static_cast<i128>(t.r) * e.v[i] +
          static_cast<i128>(mod.modulus.v[i]) * me;
    d.v[i - 1] = static_cast<std::int64_t>(static_cast<std::uint64_t>(cd) & low62);
    e.v[i - 1] = static_cast<std::int64_t>(static_cast<std::uint64_t>(ce) & low62);
    cd >>= 62;
    ce >>= 62;
  }
  d.v[4] = static_cast<std::int64_t>(cd);
  e.v[4] = static_cast<std::int64_t>(ce);
}

// [f, g] = t·[f, g] / 2^62 over their `len` lowest limbs (the rest is sign).
void update_fg(int len, signed62& f, signed62& g, const transition& t) noexcept {
  i128 cf = static_cast<i128>(t.u) * f.v[0] + static_cast<i128>(t.v) * g.v[0];
  i128 cg = static_cast<i128>(t.q) * f.v[0] + static_cast<i128>(t.r) * g.v[0];
  cf >>= 62;  // exact: the divsteps cleared these bits
  cg >>= 62;
  for (std::size_t i = 1; i < static_cast<std::size_t>(len); ++i) {
    cf += static_cast<i128>(t.u) * f.v[i] + static_cast<i128>(t.v) * g.v[i];
    cg += static_cast<i128>(t.q) * f.v[i] + static_cast<i128>(t.r) * g.v[i];
    f.v[i - 1] = static_cast<std::int64_t>(static_cast<std::uint64_t>(cf) & low62);
    g.v[i - 1] = static_cast<std::int64_t>(static_cast<std::uint64_t>(cg) & low62);
    cf >>= 62;
    cg >>= 62;
  }
  f.v[static_cast<std::size_t>(len) - 1] = static_cast<std::int64_t>(cf);
  g.v[static_cast<std::size_t>(len) - 1] = static_cast<std::int64_t>(cg);
}

// Whether the `len` lowest limbs of f hold +1 or -1.
bool is_unit(const signed62& f, int len) noexcept {
  const auto top = static_cast<std::size_t>(len) - 1;
  bool plus_one = f.v[top] == (len == 1 ? 1 : 0);
  bool minus_one = f.v[top] == -1;
  for (std::size_t i = 0; i < top; ++i) {
    plus_one = plus_one && f.v[i] == (i == 0 ? 1 : 0);
    minus_one = minus_one && f.v[i] == static_cast<std::int64_t>(low62);
  }
  return plus_one || minus_one;
}

// Carries each limb's excess into the next, leaving limbs 0..3 in [0, 2^62).
void propagate(std::array<std::int64_t, 5>& r) noexcept {
  for (std::size_t i = 0; i < 4; ++i) {
    r[i + 1] += r[i] >> 62;
    r[i] &= static_cast<std::int64_t>(low62);
  }
}

// d in (-2n, n), negated when `sign` is negative, brought into [0, n).
void normalize(signed62& d, std::int64_t sign, const modulus_info& mod) noexcept {
  auto& r = d.v;
  if (r[4] < 0) {
    for (std::size_t i = 0; i < 5; ++i) r[i] += mod.modulus.v[i];
  }
  if (sign < 0) {
    for (auto& limb : r) limb = -limb;
  }
  propagate(r);
  if (r[4] < 0) {
    for (std::size_t i = 0; i < 5; ++i) r[i] += mod.modulus.v[i];
    propagate(r);
  }
}

bool is_zero(const u256& x) noexcept {
  return (x[0] | x[1] | x[2] | x[3]) == 0;
}

// x >= y
bool at_least(const u256& x, const u256& y) noexcept {
  for (std::size_t i = 4; i-- > 0;) {
    if (x[i] != y[i]) return x[i] > y[i];
  }
  return true;
}

}  // namespace

std::optional<u256> inverse_mod_odd(const u256& a, const u256& n) noexcept {
  if ((n[0] & 1) == 0 || is_zero(a) || at_least(a, n)) return std::nullopt;
  const modulus_info mod = info_of(n);
  // Invariants: d·a ≡ f and e·a ≡ g (mod n), and gcd(f, g) = gcd(n, a). The divsteps take
  // g to 0, leaving f = ±gcd.
  signed62 d{{0, 0, 0, 0, 0}};
  signed62 e{{1, 0, 0, 0, 0}};
  signed62 f = mod.modulus;
  signed62 g = to_signed62(a);
  int len = 5;
  std::int64_t eta = -1;  // -delta, delta starting at 1
  for (;;) {
    transition t{};
    eta =
        divsteps_62(eta, static_cast<std::uint64_t>(f.v[0]), static_cast<std::uint64_t>(g.v[0]), t);
    update_de(d, e, t, mod);
    update_fg(len, f, g, t);
    if (g.v[0] == 0) {
      std::int64_t rest = 0;
      for (std::size_t j = 1; j < static_cast<std::size_t>(len); ++j) rest |= g.v[j];
      if (rest == 0) break;
    }
    // When the top limbs of both f and g are only sign (0 or -1), fold them into the limb
    // below and go on with one limb less.
    const std::int64_t fn = f.v[static_cast<std::size_t>(len) - 1];
    const std::int64_t gn = g.v[static_cast<std::size_t>(len) - 1];
    if (len > 1 && (fn ^ (fn >> 63)) == 0 && (gn ^ (gn >> 63)) == 0) {
      f.v[static_cast<std::size_t>(len) - 2] |=
          static_cast<std::int64_t>(static_cast<std::uint64_t>(fn) << 62);
      g.v[static_cast<std::size_t>(len) - 2] |=
          static_cast<std::int64_t>(static_cast<std::uint64_t>(gn) << 62);
      --len;
    }
  }
  if (!is_unit(f, len)) return std::nullopt;  // a and n share a factor
  normalize(d, f.v[static_cast<std::size_t>(len) - 1], mod);
  return from_signed62(d);
}

}  // namespace mailhook::webhook
