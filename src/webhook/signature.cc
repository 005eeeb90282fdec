// Signed Event Webhook verification, replay window and static credentials on OpenSSL 3.
// Thread-safety: see signature.h. The OpenSSL operation contexts (the SHA-256 EVP_MD_CTX
// here, the BN_CTX and points of p256_fixed_key) are per thread and reused; only the
// immutable keys, their verification tables and the fetched SHA-256 implementation are
// shared between threads.
#include "webhook/signature.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>

#include "common/c_ptr.h"
#include "webhook/der_signature.h"

namespace mailhook::webhook {

const char* describe(signature_errc e) noexcept {
  switch (e) {
    case signature_errc::key_not_base64:
      return "public key is not base64";
    case signature_errc::key_not_spki:
      return "public key is not a DER SubjectPublicKeyInfo";
    case signature_errc::key_not_p256:
      return "public key is not an EC P-256 key";
    case signature_errc::private_key_invalid:
      return "private key is not a PEM EC P-256 key";
    case signature_errc::crypto_failure:
      return "OpenSSL operation failed";
    case signature_errc::authorization_scheme:
      return "Authorization header uses another scheme";
    case signature_errc::authorization_malformed:
      return "Authorization header is malformed";
  }
  return "unknown signature error";
}

error_class classify(signature_errc e) noexcept {
  switch (e) {
    case signature_errc::key_not_base64:
    case signature_errc::key_not_spki:
    case signature_errc::key_not_p256:
    case signature_errc::private_key_invalid:
      return {error_kind::bad_input, "bad_key"};
    case signature_errc::crypto_failure:
      return {error_kind::internal, "crypto_failure"};
    case signature_errc::authorization_scheme:
    case signature_errc::authorization_malformed:
      return {error_kind::unauthorized, "bad_credentials"};
  }
  return {};
}

}  // namespace mailhook::webhook

MAILHOOK_DEFINE_ERRC(mailhook::webhook, signature_errc, "webhook.signature", describe, classify)

namespace mailhook::webhook {
namespace {

using md_ctx_ptr = c_ptr<EVP_MD_CTX, EVP_MD_CTX_free>;
using md_ptr = c_ptr<EVP_MD, EVP_MD_free>;
using bio_ptr = c_ptr<BIO, BIO_free>;

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, [](EVP_PKEY* p) { EVP_PKEY_free(p); });
}

// OpenSSL reports failures (including every bad signature) on the calling thread's error
// queue. Left there, they would surface later as a bogus error in whatever else uses
// OpenSSL on this thread (TLS reads check the queue), so each entry point removes what
// it added, and only that.
class openssl_error_scope {
 public:
  openssl_error_scope() noexcept { ERR_set_mark(); }
  ~openssl_error_scope() { ERR_pop_to_mark(); }
  openssl_error_scope(const openssl_error_scope&) = delete;
  openssl_error_scope& operator=(const openssl_error_scope&) = delete;
};

// Fetched once: an implicit fetch (EVP_sha256()) repeats the provider lookup per call.
const EVP_MD* sha256() {
  static const md_ptr md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  return md.get();
}

// ---- base64 ----

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_decode_table() {
  std::array<std::int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (std::size_t i = 0; i < base64_alphabet.size(); ++i) {
    table[static_cast<unsigned char>(base64_alphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}
constexpr std::array<std::int8_t, 256> decode_table = make_decode_table();

// Decodes strict base64 (see base64_decode in the header) into out[0, capacity).
// Returns the decoded size, or nullopt if `text` is not strict base64 or does not fit.
std::optional<std::size_t> decode_base64_to(std::string_view text, unsigned char* out,
                                            std::size_t capacity) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return 0;
  std::size_t pad = 0;
  if (text[text.size() - 1] == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  const std::size_t size = text.size() / 4 * 3 - pad;
  if (size > capacity) return std::nullopt;

  std::size_t o = 0;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t symbols = last ? 4 - pad : 4;
    std::uint32_t group = 0;
    std::uint32_t final_symbol = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      std::uint32_t v = 0;
      if (k < symbols) {
        // '=' is not in the table, so padding anywhere but the end is refused here.
        const std::int8_t d = decode_table[static_cast<unsigned char>(text[i + k])];
        if (d < 0) return std::nullopt;
        v = static_cast<std::uint32_t>(d);
        final_symbol = v;
      }
      group = (group << 6) | v;
    }
    // Unused low bits of the last symbol must be zero, else two texts decode alike.
    if (last && pad == 1 && (final_symbol & 0x3u) != 0) return std::nullopt;
    if (last && pad == 2 && (final_symbol & 0xFu) != 0) return std::nullopt;
    out[o++] = static_cast<unsigned char>(group >> 16);
    if (symbols > 2) out[o++] = static_cast<unsigned char>(group >> 8);
    if (symbols > 3) out[o++] = static_cast<unsigned char>(group);
  }
  return o;
}

// ---- keys ----

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// SendGrid shows the key as one base64 line; operators paste it with line breaks or as
// PEM. Drops "-----...-----" armor lines and all whitespace.
std::string strip_armor_and_space(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    while (!line.empty() && is_ascii_space(line.front())) line.remove_prefix(1);
    if (line.starts_with("-----")) continue;
    for (char c : line) {
      if (!is_ascii_space(c)) out.push_back(c);
    }
  }
  return out;
}

// Empty if `key` is an EC P-256 key, else what it is instead, for the error message.
std::string describe_if_not_p256(const EVP_PKEY* key) {
  const char* type = EVP_PKEY_get0_type_name(key);
  if (!EVP_PKEY_is_a(key, "EC"))
    return std::string("it is ") + (type ? type : "of an unknown type");
  std::array<char, 80> group{};
  std::size_t group_size = 0;
  if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &group_size) != 1) {
    return "it is EC without a named curve";
  }
  int nid = OBJ_sn2nid(group.data());
  if (nid == NID_undef) nid = EC_curve_nist2nid(group.data());
  if (nid != NID_X9_62_prime256v1) return std::string("it is EC on curve ") + group.data();
  return {};
}

std::string spki_base64(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(key, &der);
  if (size <= 0) return {};
  std::string out = base64_encode(
      std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(size)));
  OPENSSL_free(der);
  return out;
}

// ---- signatures ----

// A DER ECDSA-Sig-Value for P-256 is at most 72 bytes; anything longer is not one.
constexpr std::size_t max_signature_der = 80;

// The header's signature: strict base64 of a strict DER signature (der_signature.h).
// Naming the failure tells a malformed header from a forged one and spares hashing the
// body for garbage.
std::optional<ecdsa_signature> decode_signature_header(std::string_view base64) {
  std::array<unsigned char, max_signature_der> der{};
  const std::optional<std::size_t> der_size = decode_base64_to(base64, der.data(), der.size());
  if (!der_size) return std::nullopt;
  return parse_der_signature(std::span<const unsigned char>(der.data(), *der_size));
}

using sha256_digest = std::array<unsigned char, 32>;

// SHA-256(timestamp || body), streamed: the body is never copied. Hashed once per
// request, not per key, so a rotation with several keys hashes a 768 KB body once.
bool hash_signed_bytes(std::string_view timestamp, std::string_view body, sha256_digest& out) {
  const EVP_MD* md = sha256();
  // One context per thread, reused: a new one costs two allocations (the context and the
  // provider's SHA-256 state) and their frees, where initialising it again with the same
  // digest only resets that state. Made again if it could not be made before (out of
  // memory then).
  thread_local md_ctx_ptr ctx;
  if (!ctx) ctx.reset(EVP_MD_CTX_new());
  unsigned int size = 0;
  return md != nullptr && ctx && EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1 &&
         EVP_DigestUpdate(ctx.get(), timestamp.data(), timestamp.size()) == 1 &&
         EVP_DigestUpdate(ctx.get(), body.data(), body.size()) == 1 &&
         EVP_DigestFinal_ex(ctx.get(), out.data(), &size) == 1 && size == out.size();
}

// ---- Authorization ----

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// The credentials after `scheme` ("<scheme> 1*SP <token68>"): non-empty visible ASCII.
// Messages never quote the header: it carries secrets.
result<std::string_view> credentials_after(std::string_view header, std::string_view scheme) {
  while (!header.empty() && is_ows(header.front())) header.remove_prefix(1);
  while (!header.empty() && is_ows(header.back())) header.remove_suffix(1);
  if (header.empty())
    return {signature_errc::authorization_malformed, "Authorization header is empty"};
  std::size_t end = 0;
  while (end < header.size() && !is_ows(header[end])) ++end;
  if (!iequals_ascii(header.substr(0, end), scheme)) {
    return {signature_errc::authorization_scheme,
            "Authorization header does not use the " + std::string(scheme) + " scheme"};
  }
  std::string_view rest = header.substr(end);
  while (!rest.empty() && is_ows(rest.front())) rest.remove_prefix(1);
  if (rest.empty()) {
    return {signature_errc::authorization_malformed,
            "Authorization header has no credentials after " + std::string(scheme)};
  }
  for (char c : rest) {
    if (c < '!' || c > '~') {
      return {signature_errc::authorization_malformed,
              std::string(scheme) + " credentials contain whitespace or non-ASCII bytes"};
    }
  }
  return rest;
}

}  // namespace

// ---- public_key ----

result<public_key> public_key::from_base64_spki(std::string_view text) {
  const openssl_error_scope errors;
  const std::optional<std::string> der = base64_decode(strip_armor_and_space(text));
  if (!der)
    return {
        signature_errc::key_not_base64,
        "public key is not base64 (as SendGrid shows it: MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE...)"};
  const auto* begin = reinterpret_cast<const unsigned char*>(der->data());
  const unsigned char* p = begin;
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(der->size()));
  if (raw == nullptr) {
    return {signature_errc::key_not_spki,
            "public key is base64 but not a DER SubjectPublicKeyInfo"};
  }
  auto key = share(raw);
  if (p != begin + der->size()) {
    return {signature_errc::key_not_spki, "public key has " +
                                              std::to_string(begin + der->size() - p) +
                                              " bytes after its SubjectPublicKeyInfo"};
  }
  if (std::string what = describe_if_not_p256(raw); !what.empty()) {
    return {signature_errc::key_not_p256,
            "public key is not an EC P-256 key as SendGrid uses: " + what};
  }
  auto verification = p256_fixed_key::from_public_key(raw);
  if (!verification) return verification.error();
  return public_key(std::move(key), std::move(*verification));
}

std::string public_key::to_base64_spki() const {
  const openssl_error_scope errors;
  return spki_base64(key_.get());
}

// ---- signature_verifier ----

std::string_view to_string(verify_outcome o) noexcept {
  switch (o) {
    case verify_outcome::ok:
      return "ok";
    case verify_outcome::malformed_signature:
      return "malformed_signature";
    case verify_outcome::bad_signature:
      return "bad_signature";
  }
  return "unknown";
}

std::optional<signature_id> signature_r(std::string_view signature_header_base64) {
  const auto signature = decode_signature_header(signature_header_base64);
  if (!signature) return std::nullopt;
  return signature->r;
}

verify_outcome signature_verifier::verify(std::string_view timestamp_header, std::string_view body,
                                          std::string_view signature_header_base64) const {
  const openssl_error_scope errors;
  const auto signature = decode_signature_header(signature_header_base64);
  if (!signature) return verify_outcome::malformed_signature;
  // A hashing failure (out of memory, no SHA-256 provider) fails closed: the request is
  // refused and SendGrid retries it.
  sha256_digest digest{};
  if (keys_.empty() || !hash_signed_bytes(timestamp_header, body, digest)) {
    return verify_outcome::bad_signature;
  }
  for (const public_key& key : keys_) {
    if (key.verification().verify(digest, *signature)) return verify_outcome::ok;
  }
  return verify_outcome::bad_signature;
}

// ---- signer ----

result<signer> signer::from_pem(std::string_view pem) {
  const openssl_error_scope errors;
  if (pem.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return {signature_errc::private_key_invalid, "private key PEM is too large"};
  }
  const bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return {signature_errc::crypto_failure, "cannot allocate a BIO"};
  // An empty passphrase instead of a null one: OpenSSL would otherwise prompt on the
  // terminal for an encrypted key.
  char empty_passphrase[] = "";
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, empty_passphrase);
  if (raw == nullptr) {
    return {signature_errc::private_key_invalid, "private key is not an unencrypted PEM key"};
  }
  auto key = share(raw);
  if (std::string what = describe_if_not_p256(raw); !what.empty()) {
    return {signature_errc::private_key_invalid, "private key is not EC P-256: " + what};
  }
  return signer(std::move(key));
}

result<std::string> signer::sign(std::string_view timestamp, std::string_view body) const {
  const openssl_error_scope errors;
  const EVP_MD* md = sha256();
  const md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::array<unsigned char, max_signature_der> der{};
  std::size_t size = der.size();
  if (md == nullptr || !ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_.get()) != 1 ||
      EVP_DigestSignUpdate(ctx.get(), timestamp.data(), timestamp.size()) != 1 ||
      EVP_DigestSignUpdate(ctx.get(), body.data(), body.size()) != 1 ||
      EVP_DigestSignFinal(ctx.get(), der.data(), &size) != 1) {
    return {signature_errc::crypto_failure, "ECDSA signing failed"};
  }
  return base64_encode(std::string_view(reinterpret_cast<const char*>(der.data()), size));
}

std::string signer::public_key_base64() const {
  const openssl_error_scope errors;
  return spki_base64(key_.get());
}

std::string signer::private_key_pem() const {
  const openssl_error_scope errors;
  const bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return {};
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string{};
}

result<p256_key_pair> generate_p256_key() {
  const openssl_error_scope errors;
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (raw == nullptr) return {signature_errc::crypto_failure, "P-256 key generation failed"};
  signer key(share(raw));
  std::string public_base64 = key.public_key_base64();
  if (public_base64.empty())
    return {signature_errc::crypto_failure, "cannot encode the public key"};
  return p256_key_pair{std::move(key), std::move(public_base64)};
}

// ---- replay window ----

std::string_view to_string(timestamp_outcome o) noexcept {
  switch (o) {
    case timestamp_outcome::ok:
      return "ok";
    case timestamp_outcome::malformed:
      return "malformed";
    case timestamp_outcome::too_old:
      return "too_old";
    case timestamp_outcome::too_new:
      return "too_new";
  }
  return "unknown";
}

std::optional<std::int64_t> parse_timestamp(std::string_view header) noexcept {
  // 18 digits cannot overflow int64 and cover any real date.
  if (header.empty() || header.size() > 18) return std::nullopt;
  std::int64_t stamp = 0;
  for (char c : header) {
    if (c < '0' || c > '9') return std::nullopt;
    stamp = stamp * 10 + (c - '0');
  }
  return stamp;
}

timestamp_outcome check_timestamp(std::string_view header, std::chrono::seconds max_age,
                                  std::chrono::seconds max_ahead,
                                  std::chrono::system_clock::time_point now) {
  MAILHOOK_CHECK(max_age.count() >= 0 && max_ahead.count() >= 0,
                 "the replay window must not be negative");
  if (max_age.count() == 0) return timestamp_outcome::ok;
  const std::optional<std::int64_t> stamp = parse_timestamp(header);
  if (!stamp) return timestamp_outcome::malformed;
  const std::int64_t now_s =
      std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
  if (now_s - *stamp > max_age.count()) return timestamp_outcome::too_old;
  if (*stamp - now_s > max_ahead.count()) return timestamp_outcome::too_new;
  return timestamp_outcome::ok;
}

// ---- static credentials ----

bool constant_time_equal(std::string_view presented, std::string_view expected) noexcept {
  // On a size mismatch, do the same work against `presented` itself so the time says
  // nothing about `expected`, then answer false. CRYPTO_memcmp never exits early.
  const bool same_size = presented.size() == expected.size();
  const char* other = same_size ? expected.data() : presented.data();
  const int diff = CRYPTO_memcmp(presented.data(), other, presented.size());
  return same_size & (diff == 0);
}

bool basic_credentials::matches(std::string_view expected_user,
                                std::string_view expected_password) const noexcept {
  // '&', not '&&': a wrong user must not skip the password comparison.
  return constant_time_equal(user, expected_user) &
         constant_time_equal(password, expected_password);
}

result<std::string_view> parse_bearer(std::string_view header) {
  return credentials_after(header, "Bearer");
}

result<basic_credentials> parse_basic(std::string_view header) {
  auto encoded = credentials_after(header, "Basic");
  if (!encoded) return encoded.error();
  std::optional<std::string> decoded = base64_decode(*encoded);
  if (!decoded)
    return {signature_errc::authorization_malformed, "Basic credentials are not base64"};
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) {
    return {signature_errc::authorization_malformed,
            "Basic credentials have no ':' after the user"};
  }
  return basic_credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

// ---- base64 ----

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out(text.size() / 4 * 3, '\0');
  const std::optional<std::size_t> size =
      decode_base64_to(text, reinterpret_cast<unsigned char*>(out.data()), out.size());
  if (!size) return std::nullopt;
  out.resize(*size);
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out.push_back(base64_alphabet[group >> 18]);
    out.push_back(base64_alphabet[(group >> 12) & 0x3F]);
    out.push_back(base64_alphabet[(group >> 6) & 0x3F]);
    out.push_back(base64_alphabet[group & 0x3F]);
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    const std::uint32_t group = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out.push_back(base64_alphabet[group >> 18]);
    out.push_back(base64_alphabet[(group >> 12) & 0x3F]);
    out.push_back(rest == 2 ? base64_alphabet[(group >> 6) & 0x3F] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace mailhook::webhook
