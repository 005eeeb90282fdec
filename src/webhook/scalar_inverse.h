// The inverse of a 256-bit number modulo an odd 256-bit modulus, on four 64-bit limbs:
// what an ECDSA verification needs for s⁻¹ mod n. OpenSSL's BN_mod_inverse computes the
// same with the same binary algorithm on BIGNUMs, one library call per shift and
// subtraction, which made it a fifth of a verification (docs/benchmarks.md); here each
// step is a few instructions on fixed-size arrays. Variable time: for public values only
// (a signature and the curve order), never for secrets. Pure functions; any thread.
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
