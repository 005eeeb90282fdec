// Authenticity checks for SendGrid Event Webhook POSTs, run before anything is kept:
// the Signed Event Webhook (ECDSA P-256 / SHA-256 over the timestamp header's text
// followed by the raw body bytes, signature = base64 of DER), the replay window on the
// timestamp header, and the static credentials (Bearer token, Basic user:password)
// compared in constant time. Also the signing side (signer, generate_p256_key) so the
// load generator and the tests can sign requests exactly as SendGrid does.
//
// Thread-safety: public_key, signature_verifier and signer are immutable once built;
// every const member may be called from any number of threads at once. They share one
// EVP_PKEY per key (copies are cheap), which OpenSSL 3 allows: a key that nobody
// modifies may be used by concurrent verify/sign operations, each with its own
// operation context (openssl-threads(7)). The free functions are pure.
// Nothing here throws on input: bad input is a typed error or an outcome value.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error_category.h"
#include "common/result.h"
#include "webhook/p256_fixed_key.h"

// OpenSSL's key type, kept out of this header's includes.
struct evp_pkey_st;

namespace mailhook::webhook {

// Errors of this file's fallible constructors and parsers. (verify() and
// check_timestamp() return outcome enums instead: their failures are verdicts.)
enum class signature_errc {
  key_not_base64 = 1,       // the configured public key text is not base64
  key_not_spki,             // base64, but not a DER SubjectPublicKeyInfo
  key_not_p256,             // an SPKI, but not an EC key on P-256 (RSA, P-384, ...)
  private_key_invalid,      // not a PEM EC P-256 private key (signer::from_pem)
  crypto_failure,           // OpenSSL failed on valid input (out of memory, missing provider)
  authorization_scheme,     // Authorization uses another scheme than the one expected
  authorization_malformed,  // right scheme, unusable credentials
};

[[nodiscard]] const char* describe(signature_errc e) noexcept;
// A key that cannot be used is bad configuration; an Authorization header that cannot is
// unauthorized; crypto_failure is internal.
[[nodiscard]] error_class classify(signature_errc e) noexcept;

}  // namespace mailhook::webhook

MAILHOOK_DECLARE_ERRC(mailhook::webhook, signature_errc)

namespace mailhook::webhook {

// The two request headers of the Signed Event Webhook.
inline constexpr std::string_view signature_header_name = "X-Twilio-Email-Event-Webhook-Signature";
inline constexpr std::string_view timestamp_header_name = "X-Twilio-Email-Event-Webhook-Timestamp";

// A SendGrid verification key: an EC P-256 public key, parsed once at startup, with
// its verification table (p256_fixed_key.h).
class public_key {
 public:
  // `text` is what SendGrid's API returns: base64 of a DER SubjectPublicKeyInfo
  // ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE..."). Whitespace and line breaks are ignored,
  // and PEM armor ("-----BEGIN PUBLIC KEY-----") is accepted, because operators paste it.
  [[nodiscard]] static result<public_key> from_base64_spki(std::string_view text);

  // The key as base64 SPKI DER, the same form from_base64_spki() reads.
  [[nodiscard]] std::string to_base64_spki() const;

  // For OpenSSL calls; owned by this object (and its copies).
  [[nodiscard]] evp_pkey_st* native() const noexcept { return key_.get(); }

  [[nodiscard]] const p256_fixed_key& verification() const noexcept { return verification_; }

 private:
  public_key(std::shared_ptr<evp_pkey_st> key, p256_fixed_key verification)
      : key_(std::move(key)), verification_(std::move(verification)) {}
  std::shared_ptr<evp_pkey_st> key_;  // never null
  p256_fixed_key verification_;
};

enum class verify_outcome {
  ok,                   // one of the keys verifies the signature over timestamp + body
  malformed_signature,  // the header is empty, not strict base64, or not a DER ECDSA signature
  bad_signature,        // well-formed, but no key verifies it (forged, altered, other key)
};
[[nodiscard]] std::string_view to_string(verify_outcome o) noexcept;

// Verifies Signed Event Webhook requests against one or more keys. Several keys exist
// during a rotation (each SendGrid webhook also has its own key): a request verifies if
// any key verifies it.
class signature_verifier {
 public:
  // With no keys, every request fails with bad_signature (fail closed).
  explicit signature_verifier(std::vector<public_key> keys) : keys_(std::move(keys)) {}
  explicit signature_verifier(public_key key) : keys_{std::move(key)} {}

  // `timestamp_header` and `body` are the exact bytes received (SendGrid's body ends in
  // "\r\n", which is signed); they are hashed in place, never copied. High-S signatures
  // (every genuine SendGrid signature seen so far) are accepted: nothing normalizes s.
  // Does not look at the timestamp's value: see check_timestamp().
  [[nodiscard]] verify_outcome verify(std::string_view timestamp_header, std::string_view body,
                                      std::string_view signature_header_base64) const;

  [[nodiscard]] std::size_t key_count() const noexcept { return keys_.size(); }

 private:
  std::vector<public_key> keys_;
};

struct p256_key_pair;

// Signs requests as SendGrid does, with an EC P-256 private key. For the load
// generator and tests; the daemon itself only verifies.
class signer {
 public:
  // A PEM private key: "-----BEGIN PRIVATE KEY-----" (PKCS#8) or "-----BEGIN EC
  // PRIVATE KEY-----" (SEC1), unencrypted, on P-256.
  [[nodiscard]] static result<signer> from_pem(std::string_view pem);

  // base64(DER(ECDSA-P256(SHA-256(timestamp || body)))): the value of the
  // X-Twilio-Email-Event-Webhook-Signature header. ECDSA is randomized, so two calls
  // give different (equally valid) signatures.
  [[nodiscard]] result<std::string> sign(std::string_view timestamp, std::string_view body) const;

  // The matching public key in SendGrid's form (base64 SPKI DER).
  [[nodiscard]] std::string public_key_base64() const;
  // The private key as unencrypted PKCS#8 PEM, to hand to another process.
  [[nodiscard]] std::string private_key_pem() const;

 private:
  friend result<p256_key_pair> generate_p256_key();
  explicit signer(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
  std::shared_ptr<evp_pkey_st> key_;  // never null
};

struct p256_key_pair {
  signer private_key;
  std::string public_key_base64;  // base64 SPKI DER, as SendGrid shows it
};
// A fresh key pair from OpenSSL's CSPRNG.
[[nodiscard]] result<p256_key_pair> generate_p256_key();

// The r of an ECDSA signature: 32 bytes, big-endian, left-padded with zeros.
using signature_id = std::array<unsigned char, 32>;

// The header's r, or nullopt when the header is not strict base64 of a strict DER
// ECDSA signature (the same parse verify() makes, so it answers at header time what
// verify() would call malformed). r comes from the signer's random nonce: it names one
// act of signing, and neither s -> n - s nor another encoding of the same signature
// changes it, which makes it the replay guard's key.
[[nodiscard]] std::optional<signature_id> signature_r(std::string_view signature_header_base64);

// The replay window. SendGrid documents none; this is our own defence against a
// captured request being replayed later.
enum class timestamp_outcome {
  ok,
  malformed,  // not a plain decimal integer of seconds ("", "+1", " 1", "1.5", "1e9")
  too_old,    // more than `window` before now
  too_new,    // more than `window` after now (clock skew or a forged future stamp)
};
[[nodiscard]] std::string_view to_string(timestamp_outcome o) noexcept;

// Checks the X-Twilio-Email-Event-Webhook-Timestamp header against `now` (injected so
// tests control the clock): at most `max_age` behind it and `max_ahead` ahead (a
// difference of exactly either passes). `max_age` == 0 turns the check off: the header
// is then not looked at at all (the signature still covers it). A negative limit is a
// bug (config refuses it) and aborts.
[[nodiscard]] timestamp_outcome check_timestamp(std::string_view header,
                                                std::chrono::seconds max_age,
                                                std::chrono::seconds max_ahead,
                                                std::chrono::system_clock::time_point now);

// The header's value in seconds when it is a plain decimal integer, else nullopt.
[[nodiscard]] std::optional<std::int64_t> parse_timestamp(std::string_view header) noexcept;

// Equality of a presented secret with the expected one, in time that depends only on
// presented.size(), never on where the bytes differ or on expected.size(): when the
// sizes differ, `presented` is compared with itself (same amount of work) and the
// answer is false. Pass the untrusted value first.
[[nodiscard]] bool constant_time_equal(std::string_view presented,
                                       std::string_view expected) noexcept;

// Parses "Authorization: Bearer <token>" (scheme case-insensitive, RFC 7235). Returns a
// view into `header`: the token, which must be non-empty and contain no whitespace.
// Fails with authorization_scheme for any other scheme (so the caller can answer 401
// with the right WWW-Authenticate) and authorization_malformed otherwise.
[[nodiscard]] result<std::string_view> parse_bearer(std::string_view header);

struct basic_credentials {
  std::string user;
  std::string password;

  // Both fields compared in constant time, both always compared (no short circuit).
  [[nodiscard]] bool matches(std::string_view expected_user,
                             std::string_view expected_password) const noexcept;
};

// Parses "Authorization: Basic <base64(user:password)>" (RFC 7617; scheme
// case-insensitive). The user ends at the first ':'; the password may contain ':'.
// Errors as parse_bearer().
[[nodiscard]] result<basic_credentials> parse_basic(std::string_view header);

// Strict standard base64 (RFC 4648 section 4): the length must be a multiple of 4,
// '=' padding is required and only at the end, no whitespace, no URL-safe alphabet,
// and unused bits of the last symbol must be zero (one encoding per byte string).
// nullopt if `text` is not such base64.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);
[[nodiscard]] std::string base64_encode(std::string_view bytes);

}  // namespace mailhook::webhook
