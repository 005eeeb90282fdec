// Tests for the Signed Event Webhook verifier against SendGrid's genuine vector and its
// must_fail variants (tests/data/sendgrid/signed-dropped.*), plus keys made here with
// OpenSSL, the replay window, constant-time comparison and Authorization parsing.
// Over 600 lines: one case per must_fail variant and per header form.
#include "webhook/signature.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mailhook::webhook {
namespace {

using namespace std::chrono_literals;

// ---- the genuine vector ----

std::filesystem::path data_dir() {
  // CTest sets MAILHOOK_SOURCE_DIR; a direct run finds the repository from this file.
  const char* root = std::getenv("MAILHOOK_SOURCE_DIR");
  const std::filesystem::path repo =
      root != nullptr ? std::filesystem::path(root)
                      : std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  return repo / "tests/data/sendgrid";
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct variant {
  std::string change;  // public_key, signature, timestamp or body
  std::string to;
};

struct sendgrid_vector {
  std::string public_key;
  std::string signature;
  std::string timestamp;
  std::string body;
  std::string body_sha256;
  std::vector<variant> must_fail;
};

const sendgrid_vector& genuine() {
  static const sendgrid_vector v = [] {
    sendgrid_vector out;
    out.body = read_file(data_dir() / "signed-dropped.body");
    simdjson::dom::parser parser;
    simdjson::padded_string json(read_file(data_dir() / "signed-dropped.json"));
    simdjson::dom::element doc;
    if (parser.parse(json).get(doc) != simdjson::SUCCESS) {
      ADD_FAILURE() << "signed-dropped.json is not JSON";
      return out;
    }
    const auto text = [](simdjson::dom::element e, const char* pointer) {
      std::string_view s;
      EXPECT_EQ(e.at_pointer(pointer).get(s), simdjson::SUCCESS) << pointer;
      return std::string(s);
    };
    out.public_key = text(doc, "/public_key");
    out.signature = text(doc, "/headers/X-Twilio-Email-Event-Webhook-Signature");
    out.timestamp = text(doc, "/headers/X-Twilio-Email-Event-Webhook-Timestamp");
    out.body_sha256 = text(doc, "/body_sha256");
    simdjson::dom::array fails;
    EXPECT_EQ(doc["must_fail"].get(fails), simdjson::SUCCESS);
    for (simdjson::dom::element f : fails)
      out.must_fail.push_back({text(f, "/change"), text(f, "/to")});
    return out;
  }();
  return v;
}

// The "other key" of the must_fail variants: a valid P-256 key that is not SendGrid's.
const std::string& other_key() {
  for (const variant& f : genuine().must_fail) {
    if (f.change == "public_key") return f.to;
  }
  ADD_FAILURE() << "signed-dropped.json has no public_key variant";
  return genuine().public_key;
}

public_key key_of(std::string_view base64) {
  auto key = public_key::from_base64_spki(base64);
  EXPECT_TRUE(key) << key.error().describe();
  return *key;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 0xF]);
  }
  return out;
}

// ---- OpenSSL helpers for keys SendGrid would never send ----

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

std::string spki_base64_of(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(key, &der);
  EXPECT_GT(size, 0);
  std::string out =
      base64_encode({reinterpret_cast<const char*>(der), static_cast<std::size_t>(size)});
  OPENSSL_free(der);
  return out;
}

// The same signature with s replaced by n - s: the other of the two valid forms.
std::string flip_s(std::string_view signature_base64) {
  const std::optional<std::string> der = base64_decode(signature_base64);
  EXPECT_TRUE(der);
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der->size()));
  EXPECT_NE(sig, nullptr);
  EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  BIGNUM* other_s = BN_new();
  BN_sub(other_s, EC_GROUP_get0_order(group), s);
  ECDSA_SIG_set0(sig, BN_dup(r), other_s);
  unsigned char* out = nullptr;
  const int size = i2d_ECDSA_SIG(sig, &out);
  std::string result =
      base64_encode({reinterpret_cast<const char*>(out), static_cast<std::size_t>(size)});
  OPENSSL_free(out);
  ECDSA_SIG_free(sig);
  EC_GROUP_free(group);
  return result;
}

bool s_is_high(std::string_view signature_base64) {
  const std::optional<std::string> der = base64_decode(signature_base64);
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der->size()));
  EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  BIGNUM* half = BN_new();
  BN_rshift1(half, EC_GROUP_get0_order(group));
  const bool high = BN_cmp(ECDSA_SIG_get0_s(sig), half) > 0;
  BN_free(half);
  EC_GROUP_free(group);
  ECDSA_SIG_free(sig);
  return high;
}

// ---- signature_verifier: the genuine vector ----

TEST(sendgrid_vector, body_file_is_byte_exact) {
  // A checkout that rewrites line endings would break every signature test below.
  const sendgrid_vector& v = genuine();
  ASSERT_EQ(v.body.size(), 327u);
  EXPECT_TRUE(v.body.ends_with("]\r\n"));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  ASSERT_EQ(EVP_Digest(v.body.data(), v.body.size(), digest, &size, EVP_sha256(), nullptr), 1);
  EXPECT_EQ(hex(digest, size), v.body_sha256);
}

TEST(signature_verifier, accepts_the_genuine_sendgrid_vector) {
  const sendgrid_vector& v = genuine();
  const signature_verifier verifier(key_of(v.public_key));
  EXPECT_EQ(verifier.verify(v.timestamp, v.body, v.signature), verify_outcome::ok);
}

TEST(signature_verifier, rejects_every_must_fail_variant_of_the_genuine_vector) {
  const sendgrid_vector& v = genuine();
  ASSERT_EQ(v.must_fail.size(), 6u);
  for (const variant& change : v.must_fail) {
    std::string key = v.public_key;
    std::string signature = v.signature;
    std::string timestamp = v.timestamp;
    std::string body = v.body;
    if (change.change == "public_key") {
      key = change.to;
    } else if (change.change == "signature") {
      signature = change.to;
    } else if (change.change == "timestamp") {
      timestamp = change.to;
    } else if (change.change == "body" && change.to == "the same bytes without the final \\r\\n") {
      ASSERT_TRUE(body.ends_with("\r\n"));
      body.resize(body.size() - 2);
    } else if (change.change == "body" &&
               change.to == "the same bytes with < and > written as \\u003c and \\u003e") {
      body = replace_all(replace_all(body, "<", "\\u003c"), ">", "\\u003e");
      ASSERT_NE(body, v.body);
    } else {
      // A new variant in the file must get code here, not be skipped silently.
      ADD_FAILURE() << "unknown must_fail variant: " << change.change << " -> " << change.to;
      continue;
    }
    const signature_verifier verifier(key_of(key));
    EXPECT_EQ(verifier.verify(timestamp, body, signature), verify_outcome::bad_signature)
        << change.change << " -> " << change.to;
  }
}

TEST(signature_verifier, accepts_a_request_when_any_rotated_key_verifies) {
  const sendgrid_vector& v = genuine();
  const public_key right = key_of(v.public_key);
  const public_key wrong = key_of(other_key());
  for (const auto& keys :
       {std::vector<public_key>{wrong, right}, std::vector<public_key>{right, wrong}}) {
    const signature_verifier verifier(keys);
    EXPECT_EQ(verifier.key_count(), 2u);
    EXPECT_EQ(verifier.verify(v.timestamp, v.body, v.signature), verify_outcome::ok);
    EXPECT_EQ(verifier.verify("1600112503", v.body, v.signature), verify_outcome::bad_signature);
  }
}

TEST(signature_verifier, with_no_keys_rejects_everything) {
  const sendgrid_vector& v = genuine();
  const signature_verifier verifier(std::vector<public_key>{});
  EXPECT_EQ(verifier.verify(v.timestamp, v.body, v.signature), verify_outcome::bad_signature);
}

TEST(signature_verifier, accepts_high_s_signatures_and_their_low_s_twins) {
  // Every genuine SendGrid signature seen is high-S; a verifier that insists on low-S
  // (as Bitcoin-style libraries do) would refuse all real traffic.
  const sendgrid_vector& v = genuine();
  ASSERT_TRUE(s_is_high(v.signature));
  const std::string low = flip_s(v.signature);
  ASSERT_FALSE(s_is_high(low));
  const signature_verifier verifier(key_of(v.public_key));
  EXPECT_EQ(verifier.verify(v.timestamp, v.body, v.signature), verify_outcome::ok);
  EXPECT_EQ(verifier.verify(v.timestamp, v.body, low), verify_outcome::ok);
}

TEST(signature_r, names_one_signing_whatever_its_s_and_refuses_what_verify_calls_malformed) {
  // The replay guard keys on r: the s -> n - s twin of a captured signature verifies too,
  // and must not pass for a new request.
  const sendgrid_vector& v = genuine();
  const auto r = signature_r(v.signature);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(signature_r(flip_s(v.signature)), r);
  EXPECT_EQ((*r)[0], 0x61);  // r begins 61d056d1 (see the raw r || s below)
  EXPECT_EQ((*r)[31], 0x54);
  for (const std::string& bad : {v.signature.substr(1), std::string("not base64"), std::string()}) {
    EXPECT_FALSE(signature_r(bad).has_value()) << bad;
  }
}

TEST(signature_verifier, reports_a_header_that_is_not_base64_as_malformed) {
  const sendgrid_vector& v = genuine();
  const signature_verifier verifier(key_of(v.public_key));
  const std::string unpadded = v.signature.substr(0, v.signature.size() - 1);
  const std::string urlsafe = replace_all(v.signature, "+", "-");
  for (const std::string& bad :
       {v.signature + "causing failure", unpadded, urlsafe, " " + v.signature, v.signature + "\n",
        std::string("not base64 at all"), std::string(400, 'A')}) {
    EXPECT_EQ(verifier.verify(v.timestamp, v.body, bad), verify_outcome::malformed_signature)
        << bad;
  }
}

TEST(signature_verifier, reports_base64_that_is_not_a_der_signature_as_malformed) {
  const sendgrid_vector& v = genuine();
  const signature_verifier verifier(key_of(v.public_key));
  const std::string der = *base64_decode(v.signature);
  // r || s as raw 32-byte integers (IEEE P1363, what WebCrypto produces).
  const std::string raw_rs =
      "61d056d1a3f98dcb906f5f2dcc5fdea7c8d74432b200d698c3959b11b4bba654"
      "c818970d6cccfae39ee56d09b86fa5b9001b3c8a8787cf4cd794e5b8bb4466d3";
  std::string raw_bytes;
  for (std::size_t i = 0; i < raw_rs.size(); i += 2) {
    raw_bytes.push_back(static_cast<char>(std::stoi(raw_rs.substr(i, 2), nullptr, 16)));
  }
  // BER long-form length (0x81 0x45) instead of DER's short form.
  std::string long_form = der;
  long_form.replace(0, 2, std::string("\x30\x81\x45", 3));
  for (const std::string& bad : {
           base64_encode(raw_bytes),
           base64_encode(der + std::string(1, '\0')),     // trailing byte after the SEQUENCE
           base64_encode(der.substr(0, der.size() - 1)),  // truncated
           base64_encode(long_form),
           // sendgrid-php's bad-signature vector: base64, but the bytes are not DER.
           std::string("BADSIGNATURE+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+"
                       "luQAbPIqHh89M15TluLtEZtM="),
       }) {
    EXPECT_EQ(verifier.verify(v.timestamp, v.body, bad), verify_outcome::malformed_signature)
        << bad;
  }
}

TEST(signature_verifier, handles_empty_headers_and_body) {
  const sendgrid_vector& v = genuine();
  const signature_verifier verifier(key_of(v.public_key));
  EXPECT_EQ(verifier.verify(v.timestamp, v.body, ""), verify_outcome::malformed_signature);
  EXPECT_EQ(verifier.verify("", v.body, v.signature), verify_outcome::bad_signature);
  EXPECT_EQ(verifier.verify(v.timestamp, "", v.signature), verify_outcome::bad_signature);
  EXPECT_EQ(verifier.verify("", "", ""), verify_outcome::malformed_signature);
}

TEST(signature_verifier, leaves_no_openssl_errors_on_the_thread) {
  // A stale error on the queue would make a later TLS read on this thread fail.
  const sendgrid_vector& v = genuine();
  ERR_clear_error();
  const signature_verifier verifier(key_of(v.public_key));
  EXPECT_EQ(verifier.verify("1", v.body, v.signature), verify_outcome::bad_signature);
  EXPECT_EQ(verifier.verify(v.timestamp, v.body, base64_encode("xyz")),
            verify_outcome::malformed_signature);
  EXPECT_FALSE(public_key::from_base64_spki(base64_encode("not a key")));
  EXPECT_EQ(ERR_peek_error(), 0ul);
}

TEST(signature_verifier, verifies_concurrently_from_several_threads) {
  const sendgrid_vector& v = genuine();
  const signature_verifier verifier(
      std::vector<public_key>{key_of(other_key()), key_of(v.public_key)});
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (verifier.verify(v.timestamp, v.body, v.signature) != verify_outcome::ok) ++wrong;
        if (verifier.verify("0", v.body, v.signature) != verify_outcome::bad_signature) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(verify_outcome, has_names_for_metrics) {
  EXPECT_EQ(to_string(verify_outcome::ok), "ok");
  EXPECT_EQ(to_string(verify_outcome::malformed_signature), "malformed_signature");
  EXPECT_EQ(to_string(verify_outcome::bad_signature), "bad_signature");
}

// ---- signer and generate_p256_key ----

TEST(signer, signs_what_the_verifier_accepts_like_sendgrid) {
  auto pair = generate_p256_key();
  ASSERT_TRUE(pair) << pair.error().describe();
  EXPECT_TRUE(pair->public_key_base64.starts_with("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"));
  EXPECT_EQ(pair->private_key.public_key_base64(), pair->public_key_base64);
  const signature_verifier verifier(key_of(pair->public_key_base64));

  const std::string& body = genuine().body;
  auto signature = pair->private_key.sign("1700000000", body);
  ASSERT_TRUE(signature) << signature.error().describe();
  EXPECT_EQ(verifier.verify("1700000000", body, *signature), verify_outcome::ok);
  EXPECT_EQ(verifier.verify("1700000001", body, *signature), verify_outcome::bad_signature);
  EXPECT_EQ(verifier.verify("1700000000", body.substr(1), *signature),
            verify_outcome::bad_signature);
  // The signed message is timestamp || body with no separator, so moving a byte across
  // the boundary keeps the signature valid: proof of exactly that framing.
  EXPECT_EQ(verifier.verify("170000000", "0" + body, *signature), verify_outcome::ok);
  // The genuine SendGrid key does not verify what our key signed.
  EXPECT_EQ(signature_verifier(key_of(genuine().public_key)).verify("1700000000", body, *signature),
            verify_outcome::bad_signature);
}

TEST(signer, signs_a_768_kib_batch) {
  auto pair = generate_p256_key();
  ASSERT_TRUE(pair);
  std::string body(768 * 1024, 'x');
  auto signature = pair->private_key.sign("1700000000", body);
  ASSERT_TRUE(signature);
  const signature_verifier verifier(key_of(pair->public_key_base64));
  EXPECT_EQ(verifier.verify("1700000000", body, *signature), verify_outcome::ok);
  body.back() = 'y';
  EXPECT_EQ(verifier.verify("1700000000", body, *signature), verify_outcome::bad_signature);
}

TEST(signer, round_trips_through_pem) {
  auto pair = generate_p256_key();
  ASSERT_TRUE(pair);
  const std::string pem = pair->private_key.private_key_pem();
  EXPECT_TRUE(pem.starts_with("-----BEGIN PRIVATE KEY-----")) << pem;
  auto loaded = signer::from_pem(pem);
  ASSERT_TRUE(loaded) << loaded.error().describe();
  EXPECT_EQ(loaded->public_key_base64(), pair->public_key_base64);
  auto signature = loaded->sign("1", "body");
  ASSERT_TRUE(signature);
  EXPECT_EQ(signature_verifier(key_of(pair->public_key_base64)).verify("1", "body", *signature),
            verify_outcome::ok);
}

TEST(signer, refuses_pem_that_is_not_a_p256_private_key) {
  for (const std::string& pem :
       {std::string(),
        std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        std::string("hello")}) {
    auto loaded = signer::from_pem(pem);
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().code, signature_errc::private_key_invalid);
  }
  pkey_ptr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  ASSERT_TRUE(p384);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, p384.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  auto loaded = signer::from_pem(std::string(data, static_cast<std::size_t>(size)));
  BIO_free(bio);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, signature_errc::private_key_invalid);
  EXPECT_NE(loaded.error().message.find("secp384r1"), std::string::npos) << loaded.error().message;
}

// ---- public_key ----

TEST(public_key, parses_the_sendgrid_key_and_writes_it_back_unchanged) {
  const std::string& text = genuine().public_key;
  EXPECT_EQ(key_of(text).to_base64_spki(), text);
}

TEST(public_key, accepts_pem_armor_line_breaks_and_surrounding_space) {
  const std::string& text = genuine().public_key;
  const std::string pem = "-----BEGIN PUBLIC KEY-----\n" + text.substr(0, 64) + "\n" +
                          text.substr(64) + "\n-----END PUBLIC KEY-----\n";
  EXPECT_EQ(key_of(pem).to_base64_spki(), text);
  EXPECT_EQ(key_of("  " + text + "\r\n").to_base64_spki(), text);
}

TEST(public_key, refuses_text_that_is_not_base64) {
  for (const std::string& text : {genuine().public_key + "corrupting the public key",
                                  std::string("MFkw!"), genuine().public_key.substr(1)}) {
    auto key = public_key::from_base64_spki(text);
    ASSERT_FALSE(key) << text;
    EXPECT_EQ(key.error().code, signature_errc::key_not_base64);
    EXPECT_NE(key.error().message.find("not base64"), std::string::npos);
  }
}

TEST(public_key, refuses_base64_that_is_not_a_subject_public_key_info) {
  const std::string spki = *base64_decode(genuine().public_key);
  auto pair = generate_p256_key();
  ASSERT_TRUE(pair);
  // A PKCS#8 private key is DER, but not an SPKI.
  const std::string pem = pair->private_key.private_key_pem();
  std::string pkcs8_base64;
  for (std::string_view rest = pem; !rest.empty();) {
    const std::size_t eol = rest.find('\n');
    const std::string_view line = rest.substr(0, eol);
    if (!line.starts_with("-----")) pkcs8_base64 += line;
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
  }
  for (const std::string& text : {std::string(""), base64_encode("not a key at all"),
                                  base64_encode(spki.substr(0, spki.size() - 1)),
                                  base64_encode(spki + std::string(1, '\0')), pkcs8_base64}) {
    auto key = public_key::from_base64_spki(text);
    ASSERT_FALSE(key) << text;
    EXPECT_EQ(key.error().code, signature_errc::key_not_spki) << text;
  }
}

TEST(public_key, refuses_keys_that_are_not_ec_p256) {
  pkey_ptr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)));
  pkey_ptr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  pkey_ptr ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_TRUE(rsa && p384 && ed25519);
  const std::pair<EVP_PKEY*, const char*> cases[] = {
      {rsa.get(), "RSA"}, {p384.get(), "secp384r1"}, {ed25519.get(), "ED25519"}};
  for (const auto& [key, named] : cases) {
    auto parsed = public_key::from_base64_spki(spki_base64_of(key));
    ASSERT_FALSE(parsed) << named;
    EXPECT_EQ(parsed.error().code, signature_errc::key_not_p256);
    EXPECT_NE(parsed.error().message.find(named), std::string::npos) << parsed.error().message;
  }
}

TEST(public_key, copies_share_the_openssl_key) {
  const public_key a = key_of(genuine().public_key);
  const public_key b = a;  // NOLINT(performance-unnecessary-copy-initialization): the point
  EXPECT_EQ(a.native(), b.native());
}

TEST(signature_errc, has_a_category_and_descriptions) {
  const std::error_code code = signature_errc::key_not_p256;
  EXPECT_STREQ(code.category().name(), "webhook.signature");
  EXPECT_EQ(code.message(), "public key is not an EC P-256 key");
}

// ---- check_timestamp ----

std::chrono::system_clock::time_point at(std::int64_t seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}

TEST(check_timestamp, accepts_a_timestamp_inside_the_window) {
  EXPECT_EQ(check_timestamp("1700000000", 300s, 300s, at(1700000000)), timestamp_outcome::ok);
  EXPECT_EQ(check_timestamp("1700000000", 300s, 300s, at(1700000300)), timestamp_outcome::ok);
  EXPECT_EQ(check_timestamp("1700000300", 300s, 300s, at(1700000000)), timestamp_outcome::ok);
  // Sub-second parts of now do not push an edge case out.
  EXPECT_EQ(check_timestamp("1700000000", 300s, 300s, at(1700000300) + 999ms),
            timestamp_outcome::ok);
}

TEST(check_timestamp, refuses_a_timestamp_older_than_the_window) {
  EXPECT_EQ(check_timestamp("1700000000", 300s, 300s, at(1700000301)), timestamp_outcome::too_old);
  EXPECT_EQ(check_timestamp(genuine().timestamp, 300s, 300s, at(1700000000)),
            timestamp_outcome::too_old);
  EXPECT_EQ(check_timestamp("0", 300s, 300s, at(1700000000)), timestamp_outcome::too_old);
}

TEST(check_timestamp, allows_a_long_age_but_only_a_small_skew_ahead) {
  // The defaults: 25 h of age (SendGrid retries for 24 h), 5 min ahead.
  EXPECT_EQ(check_timestamp("1700000000", 90000s, 300s, at(1700000000 + 86400)),
            timestamp_outcome::ok);
  EXPECT_EQ(check_timestamp("1700000000", 90000s, 300s, at(1700000000 + 90001)),
            timestamp_outcome::too_old);
  EXPECT_EQ(check_timestamp("1700000600", 90000s, 300s, at(1700000000)),
            timestamp_outcome::too_new);
}

TEST(check_timestamp, refuses_a_timestamp_further_in_the_future_than_the_window) {
  EXPECT_EQ(check_timestamp("1700000301", 300s, 300s, at(1700000000)), timestamp_outcome::too_new);
  EXPECT_EQ(check_timestamp("999999999999999999", 300s, 300s, at(1700000000)),
            timestamp_outcome::too_new);
}

TEST(check_timestamp, with_window_zero_is_off) {
  EXPECT_EQ(check_timestamp(genuine().timestamp, 0s, 0s, at(1800000000)), timestamp_outcome::ok);
  EXPECT_EQ(check_timestamp("not a number", 0s, 0s, at(1800000000)), timestamp_outcome::ok);
}

TEST(check_timestamp, refuses_a_header_that_is_not_a_plain_decimal_integer) {
  for (const char* text :
       {"", "abc", "+1700000000", "-1", " 1700000000", "1700000000 ", "1700000000.5", "1.7e9",
        "0x6553f100", "1700000000\r\n", "1234567890123456789"}) {
    EXPECT_EQ(check_timestamp(text, 300s, 300s, at(1700000000)), timestamp_outcome::malformed)
        << text;
  }
}

TEST(check_timestamp, has_names_for_metrics) {
  EXPECT_EQ(to_string(timestamp_outcome::too_old), "too_old");
  EXPECT_EQ(to_string(timestamp_outcome::too_new), "too_new");
  EXPECT_EQ(to_string(timestamp_outcome::malformed), "malformed");
  EXPECT_EQ(to_string(timestamp_outcome::ok), "ok");
}

TEST(check_timestamp_death, aborts_on_a_negative_window) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH((void)check_timestamp("1", -1s, 300s, at(1)), "replay window");
}

// ---- constant_time_equal ----

TEST(constant_time_equal, is_true_only_for_identical_bytes) {
  EXPECT_TRUE(constant_time_equal("s3cret-token", "s3cret-token"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal("s3cret-token", "s3cret-tokeN"));
  EXPECT_FALSE(constant_time_equal("S3cret-token", "s3cret-token"));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(constant_time_equal, is_false_when_sizes_differ_even_for_a_prefix) {
  EXPECT_FALSE(constant_time_equal("s3cret", "s3cret-token"));
  EXPECT_FALSE(constant_time_equal("s3cret-token", "s3cret"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_FALSE(constant_time_equal("x", ""));
}

// ---- Authorization ----

TEST(parse_bearer, returns_the_token_whatever_the_scheme_case) {
  for (const char* header : {"Bearer abc.DEF-123_~+/==", "bearer abc.DEF-123_~+/==",
                             "BEARER   abc.DEF-123_~+/==", " Bearer abc.DEF-123_~+/==\t"}) {
    auto token = parse_bearer(header);
    ASSERT_TRUE(token) << header << ": " << token.error().describe();
    EXPECT_EQ(*token, "abc.DEF-123_~+/==") << header;
  }
}

TEST(parse_bearer, refuses_another_scheme) {
  for (const char* header : {"Basic dXNlcjpwYXNz", "Bearerabc", "Token abc", "Bear abc"}) {
    auto token = parse_bearer(header);
    ASSERT_FALSE(token) << header;
    EXPECT_EQ(token.error().code, signature_errc::authorization_scheme) << header;
  }
}

TEST(parse_bearer, refuses_a_missing_or_spaced_token) {
  for (const char* header : {"", "   ", "Bearer", "Bearer   ", "Bearer a b", "Bearer a\x01"}) {
    auto token = parse_bearer(header);
    ASSERT_FALSE(token) << header;
    EXPECT_EQ(token.error().code, signature_errc::authorization_malformed) << header;
  }
}

TEST(parse_basic, decodes_user_and_password) {
  // RFC 7617's own example.
  auto creds = parse_basic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  ASSERT_TRUE(creds) << creds.error().describe();
  EXPECT_EQ(creds->user, "Aladdin");
  EXPECT_EQ(creds->password, "open sesame");
  EXPECT_TRUE(creds->matches("Aladdin", "open sesame"));
  EXPECT_FALSE(creds->matches("Aladdin", "open sesamE"));
  EXPECT_FALSE(creds->matches("aladdin", "open sesame"));
}

TEST(parse_basic, keeps_colons_in_the_password_and_allows_empty_parts) {
  auto creds = parse_basic("basic " + base64_encode("hook:pa:ss:"));
  ASSERT_TRUE(creds);
  EXPECT_EQ(creds->user, "hook");
  EXPECT_EQ(creds->password, "pa:ss:");
  creds = parse_basic("BASIC " + base64_encode(":"));
  ASSERT_TRUE(creds);
  EXPECT_EQ(creds->user, "");
  EXPECT_EQ(creds->password, "");
}

TEST(parse_basic, refuses_bad_credentials) {
  auto other = parse_basic("Bearer abc");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, signature_errc::authorization_scheme);
  for (const std::string& header :
       {std::string("Basic"), std::string("Basic !!!!"), "Basic " + base64_encode("no colon"),
        std::string("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ")}) {
    auto creds = parse_basic(header);
    ASSERT_FALSE(creds) << header;
    EXPECT_EQ(creds.error().code, signature_errc::authorization_malformed) << header;
    EXPECT_EQ(creds.error().message.find("open sesame"), std::string::npos);
  }
}

// ---- base64 ----

TEST(base64_decode, decodes_each_padding_length) {
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9v"), "foo");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(base64_decode("+/+/"), std::string("\xfb\xff\xbf", 3));
  EXPECT_EQ(base64_decode("AAAA"), std::string(3, '\0'));
}

TEST(base64_decode, refuses_anything_but_strict_padded_base64) {
  for (const char* text :
       {"Zg", "Zg=", "Zm8", "Z", "Z===", "====", "=Zg=", "Zm=v",
        "Zg==Zg==", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", "-_-_", "Zm9v====", "\xc3\xa9\xc3\xa9"}) {
    EXPECT_FALSE(base64_decode(text)) << text;
  }
  EXPECT_FALSE(base64_decode(std::string("Zg\0=", 4)));
}

TEST(base64_encode, round_trips_every_length_and_byte) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes) << i;
    bytes.push_back(static_cast<char>(i * 37));
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
}

}  // namespace
}  // namespace mailhook::webhook
