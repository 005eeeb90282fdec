// The DER signature reader against the rule it replaces: OpenSSL's d2i_ECDSA_SIG, with
// the re-encoding required to give back the same bytes, and r and s non-negative and
// below 2^256. Hand-made cases name each DER rule; mutations of genuine signatures look
// for any input on which the two rules disagree.
#include "webhook/der_signature.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstddef>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "common/c_ptr.h"
#include "webhook/signature.h"

namespace mailhook::webhook {
namespace {

using bytes = std::vector<unsigned char>;
using sig_ptr = c_ptr<ECDSA_SIG, ECDSA_SIG_free>;
using pkey_ptr = c_ptr<EVP_PKEY, EVP_PKEY_free>;
using pkey_ctx_ptr = c_ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;

std::optional<ecdsa_signature> parse(const bytes& der) {
  return parse_der_signature(std::span<const unsigned char>(der.data(), der.size()));
}

// The former rule, from OpenSSL: what it accepts, as r and s of 32 bytes each.
std::optional<ecdsa_signature> openssl_parse(const bytes& der) {
  const unsigned char* p = der.data();
  const sig_ptr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig || p != der.data() + der.size()) return std::nullopt;
  unsigned char* again = nullptr;
  const int size = i2d_ECDSA_SIG(sig.get(), &again);
  const bool same =
      size == static_cast<int>(der.size()) && CRYPTO_memcmp(again, der.data(), der.size()) == 0;
  OPENSSL_free(again);
  if (!same) return std::nullopt;
  ecdsa_signature out;
  const BIGNUM* r = ECDSA_SIG_get0_r(sig.get());
  const BIGNUM* s = ECDSA_SIG_get0_s(sig.get());
  if (BN_is_negative(r) || BN_is_negative(s) ||
      BN_bn2binpad(r, out.r.data(), static_cast<int>(out.r.size())) < 0 ||
      BN_bn2binpad(s, out.s.data(), static_cast<int>(out.s.size())) < 0) {
    return std::nullopt;
  }
  return out;
}

bool same(const std::optional<ecdsa_signature>& a, const std::optional<ecdsa_signature>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->r == b->r && a->s == b->s);
}

// SEQUENCE { INTEGER r, INTEGER s } from the integers' content bytes as given.
bytes der_of(const bytes& r, const bytes& s) {
  bytes out{0x30, static_cast<unsigned char>(4 + r.size() + s.size())};
  for (const bytes* integer : {&r, &s}) {
    out.push_back(0x02);
    out.push_back(static_cast<unsigned char>(integer->size()));
    for (unsigned char b : *integer) out.push_back(b);
  }
  return out;
}

TEST(parse_der_signature, reads_sendgrids_genuine_signature) {
  // tests/data/sendgrid/signed-dropped.json: r of 32 bytes, s of 33 (a leading zero).
  const auto der = base64_decode(
      "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+"
      "luQAbPIqHh89M15TluLtEZtM=");
  ASSERT_TRUE(der);
  const bytes b(der->begin(), der->end());
  const auto parsed = parse(b);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(same(parsed, openssl_parse(b)));
  EXPECT_EQ(parsed->r[0], 0x61);
  EXPECT_EQ(parsed->s[0], 0xc8);
  EXPECT_EQ(parsed->s[31], 0xd3);
}

TEST(parse_der_signature, pads_short_integers_on_the_left) {
  const auto parsed = parse(der_of({0x01}, {0x7f, 0x02}));
  ASSERT_TRUE(parsed);
  std::array<unsigned char, 32> r{};
  r[31] = 0x01;
  std::array<unsigned char, 32> s{};
  s[30] = 0x7f;
  s[31] = 0x02;
  EXPECT_EQ(parsed->r, r);
  EXPECT_EQ(parsed->s, s);
  // Zero is an integer DER can hold; the verification refuses it, not the reader.
  EXPECT_TRUE(parse(der_of({0x00}, {0x01})));
}

TEST(parse_der_signature, refuses_what_der_does_not_allow) {
  const bytes r32(32, 0x11);
  bytes high(32, 0x11);
  high[0] = 0x91;
  bytes high_with_zero{0x00};
  for (unsigned char b : high) high_with_zero.push_back(b);
  bytes padded_low{0x00};
  for (unsigned char b : r32) padded_low.push_back(b);
  bytes wide(33, 0x11);  // 2^256 or more

  EXPECT_TRUE(parse(der_of(r32, high_with_zero)));
  EXPECT_FALSE(parse(der_of(r32, high))) << "negative";
  EXPECT_FALSE(parse(der_of(r32, padded_low))) << "a leading zero it does not need";
  EXPECT_FALSE(parse(der_of(r32, wide))) << "wider than 32 bytes";
  EXPECT_FALSE(parse(der_of(r32, {}))) << "an empty integer";
  EXPECT_FALSE(parse(der_of({0xff, 0x91}, r32))) << "negative, not minimal";

  bytes good = der_of(r32, high_with_zero);
  bytes trailing = good;
  trailing.push_back(0x00);
  EXPECT_FALSE(parse(trailing)) << "a byte after the SEQUENCE";
  bytes inner_trailing = good;
  inner_trailing.push_back(0x00);
  inner_trailing[1] = static_cast<unsigned char>(inner_trailing[1] + 1);
  EXPECT_FALSE(parse(inner_trailing)) << "a byte after s inside the SEQUENCE";
  bytes long_form = good;
  long_form.insert(long_form.begin() + 1, 0x81);  // the same length in long form
  EXPECT_FALSE(parse(long_form));
  bytes wrong_tag = good;
  wrong_tag[0] = 0x31;  // SET
  EXPECT_FALSE(parse(wrong_tag));
  bytes integer_tag = good;
  integer_tag[2] = 0x03;  // BIT STRING
  EXPECT_FALSE(parse(integer_tag));
  EXPECT_FALSE(parse({}));
  EXPECT_FALSE(parse({0x30}));
  EXPECT_FALSE(parse({0x30, 0x00}));
  EXPECT_FALSE(parse(der_of(r32, {})));
  for (const auto& [name, der] : {std::pair{"trailing", trailing},
                                  {"inner", inner_trailing},
                                  {"long form", long_form},
                                  {"set", wrong_tag}}) {
    EXPECT_FALSE(openssl_parse(der)) << name << ": OpenSSL's rule refuses it too";
  }
}

// Every prefix, every one-byte change and every one-byte insertion of genuine signatures
// (short and long r and s among them): the reader answers as OpenSSL's rule does.
TEST(parse_der_signature, agrees_with_openssl_on_mutations_of_genuine_signatures) {
  const pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(key);
  std::mt19937 random(20261207);
  int disagreements = 0;
  int accepted = 0;
  for (int i = 0; i < 60; ++i) {
    std::array<unsigned char, 32> digest{};
    ASSERT_EQ(RAND_bytes(digest.data(), static_cast<int>(digest.size())), 1);
    const pkey_ctx_ptr ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
    bytes der(80);
    std::size_t size = der.size();
    ASSERT_EQ(EVP_PKEY_sign_init(ctx.get()), 1);
    ASSERT_EQ(EVP_PKEY_sign(ctx.get(), der.data(), &size, digest.data(), digest.size()), 1);
    der.resize(size);

    std::vector<bytes> variants{der};
    for (std::size_t cut = 0; cut < der.size(); ++cut)
      variants.emplace_back(der.begin(), der.begin() + static_cast<std::ptrdiff_t>(cut));
    for (std::size_t at = 0; at < der.size(); ++at) {
      const std::array<unsigned char, 6> values{
          0x00, 0x01, 0x7f, 0x80, 0xff, static_cast<unsigned char>(random() & 0xff)};
      for (unsigned char v : values) {
        bytes changed = der;
        changed[at] = v;
        variants.push_back(changed);
        bytes inserted = der;
        inserted.insert(inserted.begin() + static_cast<std::ptrdiff_t>(at), v);
        variants.push_back(inserted);
      }
    }
    for (const auto& v : variants) {
      const auto ours = parse(v);
      if (ours) ++accepted;
      if (!same(ours, openssl_parse(v))) ++disagreements;
    }
  }
  EXPECT_EQ(disagreements, 0);
  EXPECT_GT(accepted, 60) << "the mutations should leave some valid signatures";
}

}  // namespace
}  // namespace mailhook::webhook
