// Micro-benchmarks for Signed Event Webhook verification: SendGrid's genuine one-event
// request (327 B) and a 768 KiB batch (SendGrid's batch threshold), single-threaded and
// with two threads sharing one verifier; a rotation with the right key second; parsing a
// key (which builds its verification table); signing (the load generator's cost). Two
// baselines call OpenSSL's EVP_DigestVerify directly, with a context per call and with
// a reused thread_local one: the cost of a verify without the per-key table of
// p256_fixed_key.h. The steps of one verification, timed one by one, show where its
// time goes with and without that table.
//
// The steps call EC_GROUP_precompute_mult, deprecated in OpenSSL 3 (see p256_fixed_key.cc).
#define OPENSSL_SUPPRESS_DEPRECATED

#include <benchmark/benchmark.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "common/c_ptr.h"
#include "webhook/scalar_inverse.h"
#include "webhook/signature.h"

namespace mailhook::webhook {
namespace {

// tests/data/sendgrid/signed-dropped.*: the vector of SendGrid's helper libraries.
constexpr std::string_view sendgrid_key =
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+"
    "2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
constexpr std::string_view other_key =
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo"
    "7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==";
constexpr std::string_view sendgrid_signature =
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+"
    "luQAbPIqHh89M15TluLtEZtM=";
constexpr std::string_view sendgrid_timestamp = "1600112502";
constexpr std::string_view sendgrid_body =
    "[{\"email\":\"hello@world.com\",\"event\":\"dropped\",\"reason\":\"Bounced Address\","
    "\"sg_event_id\":\"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA\","
    "\"sg_message_id\":\"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9."
    "0\","
    "\"smtp-id\":\"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>\","
    "\"timestamp\":1600112492}]\r\n";

public_key must_parse(std::string_view text) {
  auto key = public_key::from_base64_spki(text);
  if (!key) std::abort();
  return *key;
}

// A 768 KiB batch in SendGrid's wire format, signed by a key made here.
struct large_request {
  std::string body;
  std::string timestamp = "1700000000";
  std::string signature;
  std::string key_base64;
};

const large_request& large() {
  static const large_request r = [] {
    large_request out;
    const std::string_view event = sendgrid_body.substr(1, sendgrid_body.size() - 4);  // {...}
    out.body = "[";
    while (out.body.size() + event.size() + 5 < 768 * 1024) {
      if (out.body.size() > 1) out.body += ",\r\n";
      out.body += event;
    }
    out.body += "]\r\n";
    auto pair = generate_p256_key();
    if (!pair) std::abort();
    auto signature = pair->private_key.sign(out.timestamp, out.body);
    if (!signature) std::abort();
    out.signature = std::move(*signature);
    out.key_base64 = std::move(pair->public_key_base64);
    return out;
  }();
  return r;
}

void verify_sendgrid_event(benchmark::State& state) {
  static const signature_verifier verifier(must_parse(sendgrid_key));
  for (auto _ : state) {
    if (verifier.verify(sendgrid_timestamp, sendgrid_body, sendgrid_signature) !=
        verify_outcome::ok) {
      state.SkipWithError("genuine vector did not verify");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(sendgrid_body.size()));
}
BENCHMARK(verify_sendgrid_event)->Unit(benchmark::kMicrosecond);
BENCHMARK(verify_sendgrid_event)->Unit(benchmark::kMicrosecond)->Threads(2);

void verify_768kib_batch(benchmark::State& state) {
  const large_request& r = large();
  static const signature_verifier verifier(must_parse(large().key_base64));
  for (auto _ : state) {
    if (verifier.verify(r.timestamp, r.body, r.signature) != verify_outcome::ok) {
      state.SkipWithError("large batch did not verify");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(r.body.size()));
}
BENCHMARK(verify_768kib_batch)->Unit(benchmark::kMicrosecond);
BENCHMARK(verify_768kib_batch)->Unit(benchmark::kMicrosecond)->Threads(2);

// During a rotation the old key is tried first and fails: one hash, two EC verifies.
void verify_768kib_batch_rotation_right_key_second(benchmark::State& state) {
  const large_request& r = large();
  static const signature_verifier verifier(
      std::vector<public_key>{must_parse(other_key), must_parse(large().key_base64)});
  for (auto _ : state) {
    if (verifier.verify(r.timestamp, r.body, r.signature) != verify_outcome::ok) {
      state.SkipWithError("large batch did not verify");
      break;
    }
  }
}
BENCHMARK(verify_768kib_batch_rotation_right_key_second)->Unit(benchmark::kMicrosecond);

// The header's r, as the header check and the replay guard read it from every signed
// request before the verification reads the whole signature again.
void signature_r_of_sendgrid_header(benchmark::State& state) {
  for (auto _ : state) {
    auto r = signature_r(sendgrid_signature);
    if (!r) {
      state.SkipWithError("genuine signature not read");
      break;
    }
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(signature_r_of_sendgrid_header)->Unit(benchmark::kMicrosecond);

// A forged request costs the same as a genuine one; a malformed header costs almost nothing.
void reject_malformed_signature(benchmark::State& state) {
  static const signature_verifier verifier(must_parse(sendgrid_key));
  for (auto _ : state) {
    benchmark::DoNotOptimize(verifier.verify(sendgrid_timestamp, sendgrid_body, "bm90IGRlcg=="));
  }
}
BENCHMARK(reject_malformed_signature)->Unit(benchmark::kMicrosecond);

void parse_public_key(benchmark::State& state) {
  for (auto _ : state) {
    auto key = public_key::from_base64_spki(sendgrid_key);
    benchmark::DoNotOptimize(key);
  }
}
BENCHMARK(parse_public_key)->Unit(benchmark::kMicrosecond);

void sign_sendgrid_event(benchmark::State& state) {
  static const auto pair = generate_p256_key();
  for (auto _ : state) {
    auto signature = pair->private_key.sign(sendgrid_timestamp, sendgrid_body);
    benchmark::DoNotOptimize(signature);
  }
}
BENCHMARK(sign_sendgrid_event)->Unit(benchmark::kMicrosecond);

// ---- baselines: OpenSSL's EVP_DigestVerify, without the per-key table ----

using md_ctx_ptr = c_ptr<EVP_MD_CTX, EVP_MD_CTX_free>;

EVP_PKEY* baseline_key() {
  static const public_key key = must_parse(sendgrid_key);
  return key.native();
}

const std::string& baseline_der() {
  static const std::string der = *base64_decode(sendgrid_signature);
  return der;
}

bool digest_verify(EVP_MD_CTX* ctx) {
  const std::string& der = baseline_der();
  return EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, baseline_key()) == 1 &&
         EVP_DigestVerifyUpdate(ctx, sendgrid_timestamp.data(), sendgrid_timestamp.size()) == 1 &&
         EVP_DigestVerifyUpdate(ctx, sendgrid_body.data(), sendgrid_body.size()) == 1 &&
         EVP_DigestVerifyFinal(ctx, reinterpret_cast<const unsigned char*>(der.data()),
                               der.size()) == 1;
}

void baseline_digest_verify_context_per_call(benchmark::State& state) {
  for (auto _ : state) {
    const md_ctx_ptr ctx(EVP_MD_CTX_new());
    if (!digest_verify(ctx.get())) {
      state.SkipWithError("baseline did not verify");
      break;
    }
  }
}
BENCHMARK(baseline_digest_verify_context_per_call)->Unit(benchmark::kMicrosecond);
BENCHMARK(baseline_digest_verify_context_per_call)->Unit(benchmark::kMicrosecond)->Threads(2);

void baseline_digest_verify_thread_local_context(benchmark::State& state) {
  thread_local const md_ctx_ptr ctx(EVP_MD_CTX_new());
  for (auto _ : state) {
    EVP_MD_CTX_reset(ctx.get());
    if (!digest_verify(ctx.get())) {
      state.SkipWithError("baseline did not verify");
      break;
    }
  }
}
BENCHMARK(baseline_digest_verify_thread_local_context)->Unit(benchmark::kMicrosecond);
BENCHMARK(baseline_digest_verify_thread_local_context)->Unit(benchmark::kMicrosecond)->Threads(2);

// ---- the steps of one verification: u1·G, u2·Q with and without a table, s^-1 mod n ----

using group_ptr = c_ptr<EC_GROUP, EC_GROUP_free>;
using point_ptr = c_ptr<EC_POINT, EC_POINT_free>;
using bn_ptr = c_ptr<BIGNUM, BN_free>;
using bn_ctx_ptr = c_ptr<BN_CTX, BN_CTX_free>;

struct verification_steps {
  group_ptr base{EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)};
  group_ptr with_key_table{EC_GROUP_dup(base.get())};  // generator Q, precomputed
  point_ptr key{EC_POINT_new(base.get())};             // Q
  point_ptr out{EC_POINT_new(base.get())};
  bn_ptr scalar{BN_new()};  // a random scalar in [1, n-1], as u1, u2 and s are
  bn_ptr inverse{BN_new()};
  bn_ctx_ptr ctx{BN_CTX_new()};

  verification_steps() {
    const BIGNUM* n = EC_GROUP_get0_order(base.get());
    const bn_ptr private_key(BN_new());
    if (BN_rand_range(private_key.get(), n) != 1 || BN_rand_range(scalar.get(), n) != 1 ||
        BN_is_zero(scalar.get()) ||
        EC_POINT_mul(base.get(), key.get(), private_key.get(), nullptr, nullptr, ctx.get()) != 1 ||
        EC_GROUP_set_generator(with_key_table.get(), key.get(), n,
                               EC_GROUP_get0_cofactor(base.get())) != 1 ||
        EC_GROUP_precompute_mult(with_key_table.get(), ctx.get()) != 1) {
      std::abort();
    }
  }
};

const verification_steps& steps() {
  static const verification_steps s;
  return s;
}

void step_multiply_base_point(benchmark::State& state) {
  const verification_steps& s = steps();
  for (auto _ : state) {
    EC_POINT_mul(s.base.get(), s.out.get(), s.scalar.get(), nullptr, nullptr, s.ctx.get());
  }
}
BENCHMARK(step_multiply_base_point)->Unit(benchmark::kMicrosecond);

void step_multiply_key_with_table(benchmark::State& state) {
  const verification_steps& s = steps();
  for (auto _ : state) {
    EC_POINT_mul(s.with_key_table.get(), s.out.get(), s.scalar.get(), nullptr, nullptr,
                 s.ctx.get());
  }
}
BENCHMARK(step_multiply_key_with_table)->Unit(benchmark::kMicrosecond);

void step_multiply_key_without_table(benchmark::State& state) {
  const verification_steps& s = steps();
  for (auto _ : state) {
    EC_POINT_mul(s.base.get(), s.out.get(), nullptr, s.key.get(), s.scalar.get(), s.ctx.get());
  }
}
BENCHMARK(step_multiply_key_without_table)->Unit(benchmark::kMicrosecond);

void step_inverse_mod_n(benchmark::State& state) {
  const verification_steps& s = steps();
  const BIGNUM* n = EC_GROUP_get0_order(s.base.get());
  for (auto _ : state) {
    benchmark::DoNotOptimize(BN_mod_inverse(s.inverse.get(), s.scalar.get(), n, s.ctx.get()));
  }
}
BENCHMARK(step_inverse_mod_n)->Unit(benchmark::kMicrosecond);

// The same inverse on fixed-size limbs, as p256_fixed_key computes it.
void step_inverse_mod_n_fixed_width(benchmark::State& state) {
  const verification_steps& s = steps();
  const BIGNUM* n = EC_GROUP_get0_order(s.base.get());
  std::array<unsigned char, 32> bytes{};
  u256 a{};
  u256 order{};
  auto limbs = [&bytes](const BIGNUM* v, u256& out) {
    BN_bn2lebinpad(v, bytes.data(), static_cast<int>(bytes.size()));
    std::memcpy(out.data(), bytes.data(), bytes.size());
  };
  limbs(s.scalar.get(), a);
  limbs(n, order);
  for (auto _ : state) benchmark::DoNotOptimize(inverse_mod_odd(a, order));
}
BENCHMARK(step_inverse_mod_n_fixed_width)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace mailhook::webhook

BENCHMARK_MAIN();
