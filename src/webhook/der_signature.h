// The DER form of an ECDSA signature (SEC 1 / RFC 3279 ECDSA-Sig-Value, a SEQUENCE of two
// INTEGERs r and s), as SendGrid's X-Twilio-Email-Event-Webhook-Signature header carries
// it in base64, read without OpenSSL.
//
// OpenSSL's d2i_ECDSA_SIG builds an ECDSA_SIG and two BIGNUMs on the heap, and a strict
// check needs a re-encoding on top: about 0.9 µs, made three times for every signed
// request (header check, replay guard, verification), a twentieth of a 1-event request's
// CPU. This reads the 8 to 72 bytes in place into two fixed arrays.
//
// Accepted are exactly the encodings DER allows for two non-negative integers below 2^256:
// short-form lengths (every P-256 signature is shorter than 128 bytes), each integer in
// its fewest bytes (a leading 0x00 only before a byte of 0x80 or more), and nothing after
// the SEQUENCE. That is OpenSSL's rule as mailhook applied it before (d2i_ECDSA_SIG, then
// the re-encoding compared with the input), narrowed by what no P-256 signature can be:
// a negative integer or one of more than 32 bytes, which the verification refused anyway.
// tests/webhook/der_signature_test.cc and tests/fuzz/der_signature_fuzz.cc hold the two
// rules against each other.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>

namespace mailhook::webhook {

// r and s big-endian, left-padded with zeros to 32 bytes each. Neither is checked against
// the group order here: the verification does that.
struct ecdsa_signature {
  std::array<unsigned char, 32> r{};
  std::array<unsigned char, 32> s{};
};

// The signature in `der`, or nullopt when `der` is not one by the rule above.
[[nodiscard]] std::optional<ecdsa_signature> parse_der_signature(
    std::span<const unsigned char> der) noexcept;

}  // namespace mailhook::webhook
