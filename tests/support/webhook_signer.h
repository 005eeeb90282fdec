// SendGrid's side of the Signed Event Webhook, for tests that post events into mailhook:
// an ECDSA P-256 key pair, its public key as SendGrid shows it (base64 of the DER
// SubjectPublicKeyInfo), and signatures over the timestamp text followed by the body
// (base64 of the DER ECDSA signature). Written on OpenSSL 3's EVP API apart from
// webhook::signer, so that mailhook's verifier is tested against a second implementation.
//
// Thread-safety: immutable once built (copies share the key); const methods may be called
// from any thread, each OpenSSL operation has a context of its own.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

struct evp_pkey_st;

namespace mailhook::testing {

class webhook_signer {
 public:
  // A fresh key pair from OpenSSL's CSPRNG; throws std::runtime_error if OpenSSL fails.
  webhook_signer();

  // What to configure as the source's public key (SendGrid's "verification key").
  [[nodiscard]] const std::string& public_key_base64() const { return public_key_base64_; }

  // base64(DER(ECDSA-P256(SHA-256(timestamp || body)))); randomized, so two calls differ.
  // Throws std::runtime_error if OpenSSL fails.
  [[nodiscard]] std::string sign(std::string_view timestamp, std::string_view body) const;

  // The headers of a signed POST of `body`: X-Twilio-Email-Event-Webhook-Signature and
  // X-Twilio-Email-Event-Webhook-Timestamp (Unix seconds; now when not given).
  [[nodiscard]] std::map<std::string, std::string> headers(std::string_view body,
                                                           std::int64_t timestamp) const;
  [[nodiscard]] std::map<std::string, std::string> headers(std::string_view body) const;

 private:
  std::shared_ptr<evp_pkey_st> key_;
  std::string public_key_base64_;
};

}  // namespace mailhook::testing
