// ECDSA P-256 verification by a public key known in advance, about twice as fast as
// OpenSSL's own verify (bench/micro/signature_bench.cc).
//
// A verify computes u1·G + u2·Q for the curve's base point G and the key Q. OpenSSL
// keeps a table of multiples of G, but multiplies Q from scratch on every call, which
// is two thirds of the cost. A webhook source's keys are fixed while the daemon runs,
// so each key gets the same kind of table once, when it is loaded (about 21 ms and
// 148 KiB per key), and u2·Q then costs what u1·G does. The table is OpenSSL's own:
// a copy of the P-256 group whose generator is Q, given to EC_GROUP_precompute_mult.
// All arithmetic is OpenSSL's; this file only chains the steps of SEC 1 section 4.1.4,
// which OpenSSL's verify follows too.
//
// Thread-safety: immutable once built; verify() may run on any number of threads at
// once. Each thread has its own BN_CTX and points; the groups and tables are only read.
// Copies share the tables.
#pragma once

#include <array>
#include <memory>

#include "common/result.h"
#include "webhook/der_signature.h"

// OpenSSL's type, kept out of this header's includes.
struct evp_pkey_st;

namespace mailhook::webhook {

class p256_fixed_key {
 public:
  // `key` must be an EC P-256 public key (public_key checks that first). Fails with
  // signature_errc::key_not_p256 for the point at infinity and crypto_failure when
  // OpenSSL cannot build the table (out of memory).
  [[nodiscard]] static result<p256_fixed_key> from_public_key(const evp_pkey_st* key);

  // Whether (r, s) is an ECDSA signature of `digest`, a SHA-256, by this key. Any s in
  // [1, n-1] is accepted: high-S signatures (SendGrid's) verify, as with OpenSSL.
  [[nodiscard]] bool verify(const std::array<unsigned char, 32>& digest,
                            const ecdsa_signature& signature) const;

 private:
  struct tables;
  explicit p256_fixed_key(std::shared_ptr<const tables> t) : tables_(std::move(t)) {}
  std::shared_ptr<const tables> tables_;  // never null
};

}  // namespace mailhook::webhook
