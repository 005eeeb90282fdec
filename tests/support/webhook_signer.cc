#include "support/webhook_signer.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <stdexcept>
#include <vector>

namespace mailhook::testing {
namespace {

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};

[[noreturn]] void fail(const std::string& what) {
  const unsigned long code = ERR_get_error();
  char reason[256] = "no OpenSSL error queued";
  if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
  ERR_clear_error();
  throw std::runtime_error("webhook_signer: " + what + ": " + reason);
}

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  if (written < 0) fail("EVP_EncodeBlock");
  out.resize(static_cast<std::size_t>(written));
  return out;
}

}  // namespace

webhook_signer::webhook_signer() {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (raw == nullptr) fail("P-256 key generation");
  key_ = std::shared_ptr<EVP_PKEY>(raw, [](EVP_PKEY* p) { EVP_PKEY_free(p); });

  // i2d_PUBKEY writes the SubjectPublicKeyInfo: the form SendGrid shows, base64-encoded.
  const int size = i2d_PUBKEY(raw, nullptr);
  if (size <= 0) fail("i2d_PUBKEY");
  std::vector<unsigned char> der(static_cast<std::size_t>(size));
  unsigned char* cursor = der.data();
  if (i2d_PUBKEY(raw, &cursor) != size) fail("i2d_PUBKEY");
  public_key_base64_ = base64(der.data(), der.size());
}

std::string webhook_signer::sign(std::string_view timestamp, std::string_view body) const {
  std::string signed_bytes;
  signed_bytes.reserve(timestamp.size() + body.size());
  signed_bytes.append(timestamp).append(body);

  const std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key_.get(),
                                    nullptr) != 1) {
    fail("EVP_DigestSignInit_ex");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(signed_bytes.data());
  std::size_t size = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &size, data, signed_bytes.size()) != 1) {
    fail("EVP_DigestSign (size)");
  }
  std::vector<unsigned char> der(size);
  if (EVP_DigestSign(ctx.get(), der.data(), &size, data, signed_bytes.size()) != 1) {
    fail("EVP_DigestSign");
  }
  return base64(der.data(), size);
}

std::map<std::string, std::string> webhook_signer::headers(std::string_view body,
                                                           std::int64_t timestamp) const {
  const std::string stamp = std::to_string(timestamp);
  return {{"X-Twilio-Email-Event-Webhook-Signature", sign(stamp, body)},
          {"X-Twilio-Email-Event-Webhook-Timestamp", stamp}};
}

std::map<std::string, std::string> webhook_signer::headers(std::string_view body) const {
  return headers(body, std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
}

}  // namespace mailhook::testing
