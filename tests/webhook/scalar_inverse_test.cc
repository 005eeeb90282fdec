#include "webhook/scalar_inverse.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include <random>

#include "common/c_ptr.h"

namespace mailhook::webhook {
namespace {

using bn_ptr = c_ptr<BIGNUM, BN_free>;

u256 limbs_of(const BIGNUM* v) {
  u256 out{};
  for (int i = 0; i < 4; ++i) {
    bn_ptr shifted(BN_dup(v));
    BN_rshift(shifted.get(), shifted.get(), 64 * i);
    BN_mask_bits(shifted.get(), 64);
    out[static_cast<std::size_t>(i)] = BN_get_word(shifted.get());
  }
  return out;
}

// P-256's order n: the modulus the verification inverts modulo.
u256 p256_order() {
  c_ptr<EC_GROUP, EC_GROUP_free> group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  return limbs_of(EC_GROUP_get0_order(group.get()));
}

TEST(scalar_inverse, agrees_with_openssls_bn_mod_inverse_modulo_the_p256_order) {
  const u256 n = p256_order();
  c_ptr<EC_GROUP, EC_GROUP_free> group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  const BIGNUM* order = EC_GROUP_get0_order(group.get());
  c_ptr<BN_CTX, BN_CTX_free> ctx(BN_CTX_new());
  bn_ptr a(BN_new());
  bn_ptr expected(BN_new());
  for (int i = 0; i < 2000; ++i) {
    // Random values below n, small ones, and n - 1.
    if (i == 0) {
      BN_one(a.get());
    } else if (i == 1) {
      BN_sub(a.get(), order, BN_value_one());
    } else if (i < 40) {
      BN_set_word(a.get(), static_cast<BN_ULONG>(i));
    } else {
      ASSERT_EQ(BN_rand_range(a.get(), order), 1);
      if (BN_is_zero(a.get())) continue;
    }
    ASSERT_NE(BN_mod_inverse(expected.get(), a.get(), order, ctx.get()), nullptr);
    const auto inverse = inverse_mod_odd(limbs_of(a.get()), n);
    ASSERT_TRUE(inverse) << BN_bn2hex(a.get());
    EXPECT_EQ(*inverse, limbs_of(expected.get())) << BN_bn2hex(a.get());
  }
}

TEST(scalar_inverse, agrees_with_openssls_bn_mod_inverse_for_odd_moduli_of_every_size) {
  // Moduli from 1 to 256 bits, composite ones too: every a that shares a factor with n is
  // refused, every other one inverted as OpenSSL does.
  c_ptr<BN_CTX, BN_CTX_free> ctx(BN_CTX_new());
  bn_ptr n(BN_new());
  bn_ptr a(BN_new());
  bn_ptr expected(BN_new());
  bn_ptr gcd(BN_new());
  int inverted = 0;
  int refused = 0;
  for (int i = 0; i < 3000; ++i) {
    const int bits = 2 + i % 255;
    ASSERT_EQ(BN_rand(n.get(), bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD), 1);
    ASSERT_EQ(BN_rand_range(a.get(), n.get()), 1);
    if (i % 7 == 0) {  // often a multiple of a small factor of n, when n has one
      for (const unsigned p : {3U, 5U, 7U, 11U, 13U}) {
        if (BN_mod_word(n.get(), p) == 0) {
          ASSERT_EQ(BN_set_word(a.get(), p), 1);
          break;
        }
      }
    }
    if (BN_is_zero(a.get())) continue;
    ASSERT_EQ(BN_gcd(gcd.get(), a.get(), n.get(), ctx.get()), 1);
    const auto inverse = inverse_mod_odd(limbs_of(a.get()), limbs_of(n.get()));
    if (!BN_is_one(gcd.get())) {
      EXPECT_FALSE(inverse) << BN_bn2hex(a.get()) << " mod " << BN_bn2hex(n.get());
      ++refused;
      continue;
    }
    ASSERT_NE(BN_mod_inverse(expected.get(), a.get(), n.get(), ctx.get()), nullptr);
    ASSERT_TRUE(inverse) << BN_bn2hex(a.get()) << " mod " << BN_bn2hex(n.get());
    EXPECT_EQ(*inverse, limbs_of(expected.get()))
        << BN_bn2hex(a.get()) << " mod " << BN_bn2hex(n.get());
    ++inverted;
  }
  EXPECT_GT(inverted, 2000);
  EXPECT_GT(refused, 50);
}

TEST(scalar_inverse, refuses_what_has_no_inverse) {
  const u256 n = p256_order();
  EXPECT_FALSE(inverse_mod_odd({0, 0, 0, 0}, n));                              // 0
  EXPECT_FALSE(inverse_mod_odd(n, n));                                         // not below n
  EXPECT_FALSE(inverse_mod_odd({3, 0, 0, 0}, {4, 0, 0, 0}));                   // an even modulus
  EXPECT_FALSE(inverse_mod_odd({6, 0, 0, 0}, {9, 0, 0, 0}));                   // a shared factor, 3
  EXPECT_EQ(inverse_mod_odd({2, 0, 0, 0}, {9, 0, 0, 0}), (u256{5, 0, 0, 0}));  // 2·5 = 10 ≡ 1
}

TEST(scalar_inverse, inverts_modulo_a_modulus_with_every_limb_full) {
  // The largest odd modulus 2^256 - 1 and a = 2: the halving of x + n needs the 257th bit.
  const u256 n = {~0ULL, ~0ULL, ~0ULL, ~0ULL};
  const auto inverse = inverse_mod_odd({2, 0, 0, 0}, n);
  ASSERT_TRUE(inverse);
  // 2 · 2^255 = 2^256 ≡ 1 (mod 2^256 - 1).
  EXPECT_EQ(*inverse, (u256{0, 0, 0, 1ULL << 63}));
}

}  // namespace
}  // namespace mailhook::webhook
