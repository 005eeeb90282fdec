// Tests for the table-based P-256 verifier: it must answer exactly as OpenSSL's own
// ECDSA verify (EVP_PKEY_verify) does, on genuine, altered and out-of-range signatures,
// and on the rare signature whose point has an x-coordinate past the group order.
#include "webhook/p256_fixed_key.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>

#include <array>
#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/c_ptr.h"
#include "webhook/der_signature.h"
#include "webhook/signature.h"

namespace mailhook::webhook {
namespace {

using digest = std::array<unsigned char, 32>;

using pkey_ptr = c_ptr<EVP_PKEY, EVP_PKEY_free>;
using pkey_ctx_ptr = c_ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using sig_ptr = c_ptr<ECDSA_SIG, ECDSA_SIG_free>;
using group_ptr = c_ptr<EC_GROUP, EC_GROUP_free>;
using point_ptr = c_ptr<EC_POINT, EC_POINT_free>;
using bn_ptr = c_ptr<BIGNUM, BN_free>;
using bn_ctx_ptr = c_ptr<BN_CTX, BN_CTX_free>;

group_ptr p256() {
  return group_ptr(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
}

digest random_digest() {
  digest d{};
  EXPECT_EQ(RAND_bytes(d.data(), static_cast<int>(d.size())), 1);
  return d;
}

p256_fixed_key fixed_key_of(EVP_PKEY* key) {
  auto fixed = p256_fixed_key::from_public_key(key);
  EXPECT_TRUE(fixed) << fixed.error().describe();
  return *fixed;
}

sig_ptr sign(EVP_PKEY* key, const digest& d) {
  const pkey_ctx_ptr ctx(EVP_PKEY_CTX_new(key, nullptr));
  std::array<unsigned char, 80> der{};
  std::size_t size = der.size();
  EXPECT_EQ(EVP_PKEY_sign_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_sign(ctx.get(), der.data(), &size, d.data(), d.size()), 1);
  const unsigned char* p = der.data();
  return sig_ptr(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(size)));
}

// A signature from its two integers, as a header could carry them.
sig_ptr signature_of(const BIGNUM* r, const BIGNUM* s) {
  sig_ptr sig(ECDSA_SIG_new());
  ECDSA_SIG_set0(sig.get(), BN_dup(r), BN_dup(s));
  return sig;
}

// OpenSSL's verdict on the same digest and signature: the reference.
bool openssl_verifies(EVP_PKEY* key, const digest& d, const ECDSA_SIG& sig) {
  unsigned char* der = nullptr;
  const int size = i2d_ECDSA_SIG(&sig, &der);
  const pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  const bool ok =
      size > 0 && EVP_PKEY_verify_init(ctx.get()) == 1 &&
      EVP_PKEY_verify(ctx.get(), der, static_cast<std::size_t>(size), d.data(), d.size()) == 1;
  OPENSSL_free(der);
  return ok;
}

// The fixed key's verdict on a signature as a header would carry it: DER, read by
// parse_der_signature (which refuses a negative or over-wide r or s before any check).
bool fixed_verifies(const p256_fixed_key& key, const digest& d, const ECDSA_SIG& sig) {
  unsigned char* der = nullptr;
  const int size = i2d_ECDSA_SIG(&sig, &der);
  if (size <= 0) return false;
  const auto parsed =
      parse_der_signature(std::span<const unsigned char>(der, static_cast<std::size_t>(size)));
  OPENSSL_free(der);
  return parsed && key.verify(d, *parsed);
}

// A public key from a point, through the SPKI form SendGrid publishes.
pkey_ptr key_of_point(const EC_GROUP* group, const EC_POINT* point) {
  std::array<unsigned char, 65> encoded{};
  const std::size_t size = EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED,
                                              encoded.data(), encoded.size(), nullptr);
  EXPECT_EQ(size, encoded.size());
  // SubjectPublicKeyInfo { id-ecPublicKey, prime256v1 } BIT STRING header.
  const std::string prefix(
      "\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86"
      "\x48\xce\x3d\x03\x01\x07\x03\x42\x00",
      26);
  const std::string der = prefix + std::string(reinterpret_cast<const char*>(encoded.data()), size);
  auto key = public_key::from_base64_spki(base64_encode(der));
  EXPECT_TRUE(key) << key.error().describe();
  EVP_PKEY_up_ref(key->native());
  return pkey_ptr(key->native());
}

TEST(p256_fixed_key, agrees_with_openssl_on_genuine_altered_and_foreign_signatures) {
  for (int k = 0; k < 3; ++k) {
    const pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    const pkey_ptr stranger(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    ASSERT_TRUE(key && stranger);
    const p256_fixed_key fixed = fixed_key_of(key.get());
    const p256_fixed_key stranger_fixed = fixed_key_of(stranger.get());
    const group_ptr group = p256();
    for (int i = 0; i < 100; ++i) {
      const digest d = random_digest();
      const sig_ptr sig = sign(key.get(), d);
      ASSERT_TRUE(sig);
      EXPECT_TRUE(fixed_verifies(fixed, d, *sig));
      EXPECT_FALSE(fixed_verifies(stranger_fixed, d, *sig));

      // The other valid form, s -> n - s (high-S and low-S): still valid for both.
      const bn_ptr other_s(BN_new());
      BN_sub(other_s.get(), EC_GROUP_get0_order(group.get()), ECDSA_SIG_get0_s(sig.get()));
      const sig_ptr twin = signature_of(ECDSA_SIG_get0_r(sig.get()), other_s.get());
      EXPECT_TRUE(openssl_verifies(key.get(), d, *twin));
      EXPECT_TRUE(fixed_verifies(fixed, d, *twin));

      // One bit of the digest changed, or r and s swapped: refused by both.
      digest altered = d;
      altered[static_cast<std::size_t>(i) % altered.size()] ^=
          static_cast<unsigned char>(1u << (i % 8));
      EXPECT_FALSE(openssl_verifies(key.get(), altered, *sig));
      EXPECT_FALSE(fixed_verifies(fixed, altered, *sig));
      const sig_ptr swapped =
          signature_of(ECDSA_SIG_get0_s(sig.get()), ECDSA_SIG_get0_r(sig.get()));
      EXPECT_FALSE(openssl_verifies(key.get(), d, *swapped));
      EXPECT_FALSE(fixed_verifies(fixed, d, *swapped));
    }
  }
}

TEST(p256_fixed_key, refuses_r_or_s_outside_one_to_n_minus_one_as_openssl_does) {
  const pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(key);
  const p256_fixed_key fixed = fixed_key_of(key.get());
  const group_ptr group = p256();
  const digest d = random_digest();
  const sig_ptr good = sign(key.get(), d);
  const BIGNUM* r = ECDSA_SIG_get0_r(good.get());
  const BIGNUM* s = ECDSA_SIG_get0_s(good.get());
  const BIGNUM* n = EC_GROUP_get0_order(group.get());
  const bn_ptr zero(BN_new());
  BN_zero(zero.get());
  const bn_ptr r_plus_n(BN_new());
  BN_add(r_plus_n.get(), r, n);  // the same residue as r, but not in range
  const bn_ptr s_plus_n(BN_new());
  BN_add(s_plus_n.get(), s, n);
  const bn_ptr minus_r(BN_dup(r));
  BN_set_negative(minus_r.get(), 1);

  const std::array<std::pair<const BIGNUM*, const BIGNUM*>, 7> out_of_range{{
      {zero.get(), s},
      {r, zero.get()},
      {n, s},
      {r, n},
      {r_plus_n.get(), s},
      {r, s_plus_n.get()},
      {minus_r.get(), s},
  }};
  for (const auto& [bad_r, bad_s] : out_of_range) {
    const sig_ptr sig = signature_of(bad_r, bad_s);
    EXPECT_FALSE(fixed_verifies(fixed, d, *sig));
    EXPECT_FALSE(openssl_verifies(key.get(), d, *sig));
  }
  EXPECT_TRUE(fixed_verifies(fixed, d, *good));
}

// When the point u1·G + u2·Q has an x-coordinate in [n, p), the signature's r is x - n.
// Random signatures reach that range once in 2^128; this one is built to. Pick a point
// R whose x is n + k, set r = k and s = 1; then R = e·G + r·Q holds for the key
// Q = r^-1·(R - e·G), and (r, 1) is a valid signature of e by Q.
TEST(p256_fixed_key, accepts_a_point_with_x_past_the_group_order_only_with_r_reduced) {
  const group_ptr group = p256();
  const bn_ctx_ptr ctx(BN_CTX_new());
  const BIGNUM* n = EC_GROUP_get0_order(group.get());
  const point_ptr point(EC_POINT_new(group.get()));
  const bn_ptr x(BN_new());
  const bn_ptr r(BN_new());
  bool found = false;
  for (BN_ULONG k = 1; k < 64 && !found; ++k) {
    BN_set_word(r.get(), k);
    BN_add(x.get(), n, r.get());
    // Half of all x have a point; the rest fail here and the next k is tried.
    found =
        EC_POINT_set_compressed_coordinates(group.get(), point.get(), x.get(), 0, ctx.get()) == 1;
  }
  ASSERT_TRUE(found);

  const digest d = random_digest();
  const bn_ptr e(BN_bin2bn(d.data(), static_cast<int>(d.size()), nullptr));
  const bn_ptr r_inverse(BN_mod_inverse(nullptr, r.get(), n, ctx.get()));
  const point_ptr e_g(EC_POINT_new(group.get()));
  const point_ptr q(EC_POINT_new(group.get()));
  ASSERT_EQ(EC_POINT_mul(group.get(), e_g.get(), e.get(), nullptr, nullptr, ctx.get()), 1);
  ASSERT_EQ(EC_POINT_invert(group.get(), e_g.get(), ctx.get()), 1);
  ASSERT_EQ(EC_POINT_add(group.get(), q.get(), point.get(), e_g.get(), ctx.get()), 1);
  ASSERT_EQ(EC_POINT_mul(group.get(), q.get(), nullptr, q.get(), r_inverse.get(), ctx.get()), 1);
  const pkey_ptr key = key_of_point(group.get(), q.get());
  ASSERT_TRUE(key);

  const bn_ptr one(BN_new());
  BN_one(one.get());
  const sig_ptr sig = signature_of(r.get(), one.get());
  ASSERT_TRUE(openssl_verifies(key.get(), d, *sig));
  EXPECT_TRUE(fixed_verifies(fixed_key_of(key.get()), d, *sig));

  digest altered = d;
  altered[0] ^= 1;
  EXPECT_FALSE(fixed_verifies(fixed_key_of(key.get()), altered, *sig));
  // x itself, unreduced, names the same point and scalars; only the range check on r
  // refuses it.
  const sig_ptr unreduced = signature_of(x.get(), one.get());
  EXPECT_FALSE(openssl_verifies(key.get(), d, *unreduced));
  EXPECT_FALSE(fixed_verifies(fixed_key_of(key.get()), d, *unreduced));
}

TEST(p256_fixed_key, copies_verify_from_several_threads_at_once) {
  const pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(key);
  const p256_fixed_key fixed = fixed_key_of(key.get());
  const digest d = random_digest();
  const sig_ptr sig = sign(key.get(), d);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, copy = fixed] {
      digest altered = d;
      altered[31] ^= 0x80;
      for (int i = 0; i < 50; ++i) {
        if (!fixed_verifies(copy, d, *sig)) ++wrong;
        if (fixed_verifies(copy, altered, *sig)) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(p256_fixed_key, a_key_at_the_point_at_infinity_is_refused) {
  // An SPKI whose point is the single byte 00, SEC 1's encoding of infinity: no key.
  const std::string der(
      "\x30\x1a\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a"
      "\x86\x48\xce\x3d\x03\x01\x07\x03\x03\x00\x00",
      28);
  EXPECT_FALSE(public_key::from_base64_spki(base64_encode(der)));
}

}  // namespace
}  // namespace mailhook::webhook
