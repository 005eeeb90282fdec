// See p256_fixed_key.h. OpenSSL 3 deprecates the EC_GROUP / EC_POINT arithmetic in
// favour of EVP, which has no way to keep a table per key; the two deprecated calls
// used here (EC_GROUP_precompute_mult, EC_POINT_get_Jprojective_coordinates_GFp) are
// in every OpenSSL 3 release.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "webhook/p256_fixed_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "common/c_ptr.h"
#include "webhook/scalar_inverse.h"
#include "webhook/signature.h"

namespace mailhook::webhook {
namespace {

using group_ptr = c_ptr<EC_GROUP, EC_GROUP_free>;
using point_ptr = c_ptr<EC_POINT, EC_POINT_free>;
using bn_ptr = c_ptr<BIGNUM, BN_free>;
using bn_ctx_ptr = c_ptr<BN_CTX, BN_CTX_free>;

// The BIGNUMs of one verify, borrowed from its BN_CTX frame.
class bn_frame {
 public:
  explicit bn_frame(BN_CTX* ctx) : ctx_(ctx) { BN_CTX_start(ctx_); }
  ~bn_frame() { BN_CTX_end(ctx_); }
  bn_frame(const bn_frame&) = delete;
  bn_frame& operator=(const bn_frame&) = delete;
  // Null when out of memory; BN_CTX_get then keeps failing for the rest of the frame.
  BIGNUM* get() { return BN_CTX_get(ctx_); }

 private:
  BN_CTX* ctx_;
};

// What every key shares: P-256 as standardised, with OpenSSL's built-in multiples of
// G, and the two constants of the final comparison. Built once, on first use.
struct p256_curve {
  group_ptr group;
  bn_ptr field_prime;     // p
  bn_ptr r_plus_n_bound;  // p - n: an x-coordinate can equal r + n only when r < p - n
  u256 order{};           // n, for scalar_inverse
};

// 32 big-endian bytes as four little-endian limbs.
u256 limbs_of(const std::array<unsigned char, 32>& big_endian) {
  u256 out{};
  for (std::size_t limb = 0; limb < out.size(); ++limb) {
    std::uint64_t x = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      x |= std::uint64_t{big_endian[big_endian.size() - 1 - (limb * 8 + i)]} << (8 * i);
    }
    out[limb] = x;
  }
  return out;
}

// `v` (< 2^256) as four little-endian limbs.
bool to_limbs(const BIGNUM* v, u256& out) {
  std::array<unsigned char, 32> bytes{};
  if (BN_bn2binpad(v, bytes.data(), static_cast<int>(bytes.size())) < 0) return false;
  out = limbs_of(bytes);
  return true;
}

bool from_limbs(const u256& v, BIGNUM* out) {
  std::array<unsigned char, 32> bytes{};
  for (std::size_t limb = 0; limb < v.size(); ++limb) {
    for (std::size_t i = 0; i < 8; ++i) {
      bytes[limb * 8 + i] = static_cast<unsigned char>(v[limb] >> (8 * i));
    }
  }
  return BN_lebin2bn(bytes.data(), static_cast<int>(bytes.size()), out) != nullptr;
}

// w = s⁻¹ mod n, on fixed-size limbs (scalar_inverse.h): BN_mod_inverse's BIGNUM steps
// were a fifth of a verification.
bool inverse_mod_order(const p256_curve& curve, const std::array<unsigned char, 32>& s, BIGNUM* w) {
  const auto inverse = inverse_mod_odd(limbs_of(s), curve.order);
  return inverse && from_limbs(*inverse, w);
}

// Null only if OpenSSL could not allocate it.
const p256_curve* curve() {
  static const std::unique_ptr<const p256_curve> built = []() -> std::unique_ptr<p256_curve> {
    auto c = std::make_unique<p256_curve>();
    c->group.reset(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
    c->field_prime.reset(BN_new());
    c->r_plus_n_bound.reset(BN_new());
    if (!c->group || !c->field_prime || !c->r_plus_n_bound ||
        EC_GROUP_get_curve(c->group.get(), c->field_prime.get(), nullptr, nullptr, nullptr) != 1 ||
        BN_sub(c->r_plus_n_bound.get(), c->field_prime.get(),
               EC_GROUP_get0_order(c->group.get())) != 1 ||
        !to_limbs(EC_GROUP_get0_order(c->group.get()), c->order)) {
      return nullptr;
    }
    return c;
  }();
  return built.get();
}

}  // namespace

struct p256_fixed_key::tables {
  const p256_curve* curve;  // never null
  group_ptr key;            // P-256 with the key Q as generator, and Q's multiples
};

result<p256_fixed_key> p256_fixed_key::from_public_key(const evp_pkey_st* key) {
  const auto oom = [] {
    return result<p256_fixed_key>(signature_errc::crypto_failure,
                                  "cannot build the P-256 verification table (out of memory?)");
  };
  std::array<unsigned char, 65> encoded{};  // 04 || x || y, as SPKI carries it
  std::size_t encoded_size = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, encoded.data(), encoded.size(),
                                      &encoded_size) != 1) {
    return {signature_errc::key_not_p256, "public key has no P-256 point"};
  }
  const p256_curve* p256 = curve();
  const bn_ctx_ptr ctx(BN_CTX_new());
  if (p256 == nullptr || !ctx) return oom();
  auto t = std::make_shared<tables>();
  t->curve = p256;
  t->key.reset(EC_GROUP_dup(p256->group.get()));
  const point_ptr q(t->key ? EC_POINT_new(t->key.get()) : nullptr);
  if (!q) return oom();
  if (EC_POINT_oct2point(t->key.get(), q.get(), encoded.data(), encoded_size, ctx.get()) != 1 ||
      EC_POINT_is_at_infinity(t->key.get(), q.get()) == 1) {
    return {signature_errc::key_not_p256, "public key is not a point of P-256 other than infinity"};
  }
  // Every point but infinity has the group's prime order n (P-256's cofactor is 1), so
  // Q generates the same group and n stays its order.
  if (EC_GROUP_set_generator(t->key.get(), q.get(), EC_GROUP_get0_order(p256->group.get()),
                             EC_GROUP_get0_cofactor(p256->group.get())) != 1 ||
      EC_GROUP_precompute_mult(t->key.get(), ctx.get()) != 1) {
    return oom();
  }
  return p256_fixed_key(std::move(t));
}

bool p256_fixed_key::verify(const std::array<unsigned char, 32>& digest,
                            const ecdsa_signature& signature) const {
  const EC_GROUP* base = tables_->curve->group.get();
  const BIGNUM* n = EC_GROUP_get0_order(base);

  // One BN_CTX per thread, reused: its pool of BIGNUMs stays allocated between calls.
  // Made again if it could not be made before (out of memory then).
  thread_local bn_ctx_ptr ctx;
  if (!ctx) ctx.reset(BN_CTX_new());
  if (!ctx) return false;
  bn_frame bn(ctx.get());
  BIGNUM* r = bn.get();
  BIGNUM* s = bn.get();
  BIGNUM* e = bn.get();
  BIGNUM* w = bn.get();
  BIGNUM* u1 = bn.get();
  BIGNUM* u2 = bn.get();
  BIGNUM* x = bn.get();
  BIGNUM* z = bn.get();
  BIGNUM* expected = bn.get();
  BIGNUM* r_plus_n = bn.get();
  // The two points are kept per thread too (four allocations each, every call, before).
  // Points of the standard group serve every key's group: the groups differ only in
  // their generator, and OpenSSL accepts a point wherever the curve and method match.
  thread_local point_ptr sum;
  thread_local point_ptr from_key;
  if (!sum) sum.reset(EC_POINT_new(base));
  if (!from_key) from_key.reset(EC_POINT_new(base));
  const auto bytes = [](const std::array<unsigned char, 32>& big_endian, BIGNUM* out) {
    return BN_bin2bn(big_endian.data(), static_cast<int>(big_endian.size()), out) != nullptr;
  };
  if (r_plus_n == nullptr || !bytes(signature.r, r) || !bytes(signature.s, s)) return false;
  const auto in_range = [n](const BIGNUM* v) { return !BN_is_zero(v) && BN_cmp(v, n) < 0; };
  if (!in_range(r) || !in_range(s)) return false;
  // A SHA-256 digest has as many bits as n, so e is the digest itself: no truncation.
  if (!sum || !from_key || !bytes(digest, e) ||
      !inverse_mod_order(*tables_->curve, signature.s, w) ||                  // w = s^-1 mod n
      BN_mod_mul(u1, e, w, n, ctx.get()) != 1 ||                              // u1 = e·w
      BN_mod_mul(u2, r, w, n, ctx.get()) != 1 ||                              // u2 = r·w
      EC_POINT_mul(base, sum.get(), u1, nullptr, nullptr, ctx.get()) != 1 ||  // u1·G
      EC_POINT_mul(tables_->key.get(), from_key.get(), u2, nullptr, nullptr, ctx.get()) != 1 ||
      EC_POINT_add(base, sum.get(), sum.get(), from_key.get(), ctx.get()) != 1 ||
      EC_POINT_is_at_infinity(base, sum.get()) == 1 ||
      EC_POINT_get_Jprojective_coordinates_GFp(base, sum.get(), x, nullptr, z, ctx.get()) != 1) {
    return false;
  }
  // The signature holds when the sum's affine x, X/Z^2 mod p, reduced mod n, equals r.
  // Comparing X with r·Z^2 instead spares a field inversion. Since p > n, x mod n == r
  // means x == r, or x == r + n when that is still below p.
  const BIGNUM* p = tables_->curve->field_prime.get();
  if (BN_mod_sqr(z, z, p, ctx.get()) != 1 || BN_mod_mul(expected, r, z, p, ctx.get()) != 1) {
    return false;
  }
  if (BN_cmp(expected, x) == 0) return true;
  if (BN_cmp(r, tables_->curve->r_plus_n_bound.get()) >= 0) return false;
  return BN_add(r_plus_n, r, n) == 1 && BN_mod_mul(expected, r_plus_n, z, p, ctx.get()) == 1 &&
         BN_cmp(expected, x) == 0;
}

}  // namespace mailhook::webhook
