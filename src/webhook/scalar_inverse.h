// The inverse of a 256-bit number modulo an odd 256-bit modulus, on fixed-size limbs:
// what an ECDSA verification needs for s⁻¹ mod n. OpenSSL's BN_mod_inverse computes it
// with the binary algorithm on BIGNUMs, one library call per shift and subtraction, which
// made it a fifth of a verification (docs/benchmarks.md); here it is Bernstein and Yang's
// safegcd, 62 steps at a time on machine words (bench/micro/signature_bench.cc,
// step_inverse_mod_n_fixed_width). Variable time: for public values only (a signature
// and the curve order), never for secrets. Pure functions; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace mailhook::webhook {

// Little-endian limbs: limbs[0] holds the lowest 64 bits.
using u256 = std::array<std::uint64_t, 4>;

// a⁻¹ mod n, for an odd n and 0 < a < n with gcd(a, n) = 1 (always so for a prime n);
// nullopt when a is 0, not below n, or shares a factor with n, or n is even.
[[nodiscard]] std::optional<u256> inverse_mod_odd(const u256& a, const u256& n) noexcept;

}  // namespace mailhook::webhook
