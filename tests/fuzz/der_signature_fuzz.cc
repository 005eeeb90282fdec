// libFuzzer target for the reader of DER ECDSA signatures (webhook/der_signature.h),
// checked against the rule it replaced: OpenSSL's d2i_ECDSA_SIG, the re-encoding giving
// back the same bytes, and r and s non-negative and below 2^256. Both must accept the
// same inputs and read the same r and s from them. Single-threaded.
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>

#include "webhook/der_signature.h"

namespace {

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

std::optional<mailhook::webhook::ecdsa_signature> openssl_parse(const std::uint8_t* data,
                                                                std::size_t size) {
  const unsigned char* p = data;
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(size));
  if (sig == nullptr) return std::nullopt;
  std::optional<mailhook::webhook::ecdsa_signature> out;
  unsigned char* again = nullptr;
  const int again_size = i2d_ECDSA_SIG(sig, &again);
  const BIGNUM* r = ECDSA_SIG_get0_r(sig);
  const BIGNUM* s = ECDSA_SIG_get0_s(sig);
  mailhook::webhook::ecdsa_signature read;
  if (p == data + size && again_size == static_cast<int>(size) &&
      CRYPTO_memcmp(again, data, size) == 0 && !BN_is_negative(r) && !BN_is_negative(s) &&
      BN_bn2binpad(r, read.r.data(), static_cast<int>(read.r.size())) >= 0 &&
      BN_bn2binpad(s, read.s.data(), static_cast<int>(read.s.size())) >= 0) {
    out = read;
  }
  OPENSSL_free(again);
  ECDSA_SIG_free(sig);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto ours =
      mailhook::webhook::parse_der_signature(std::span<const unsigned char>(data, size));
  const auto reference = openssl_parse(data, size);
  require(ours.has_value() == reference.has_value(), "accepted by one rule only");
  if (ours) require(ours->r == reference->r && ours->s == reference->s, "r or s read differently");
  return 0;
}
