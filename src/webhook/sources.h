// The configured webhook sources and how a request proves it comes from SendGrid.
//
// Built once at start from [sources.*] (public keys parsed and cached then); read-only
// afterwards, so any number of I/O threads may authenticate concurrently.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/daemon_config.h"
#include "http/message.h"
#include "webhook/signature.h"

namespace mailhook::webhook {

struct source {
  std::string name;
  std::string tenant;
  std::optional<signature_verifier> verifier;  // set when public_keys are configured
  std::chrono::seconds replay_window{0};       // max age of the signed timestamp; 0 = off
  std::chrono::seconds max_clock_skew{0};      // how far ahead of now it may be
  std::vector<std::string> bearer_tokens;
  std::vector<std::string> basic_auth;  // "user:password"
};

// Why a request was refused; each maps to one status and one metric label.
enum class auth_failure {
  missing_signature,    // 401: no signature or timestamp header
  malformed_signature,  // 401: the signature is not base64 DER, the timestamp not digits
  duplicate_header,     // 400: a signature, timestamp or Authorization header twice
  bad_signature,        // 403: no configured key verifies it
  stale_timestamp,      // 403: outside the replay window
  bad_token,            // 401 with invalid_token: SendGrid then fetches a new OAuth token
  bad_basic_auth,       // 401 with WWW-Authenticate
};

[[nodiscard]] std::string_view label(auth_failure f);
// The reply for a refused request: the status, a JSON error, and the headers each needs.
[[nodiscard]] http::response reply_for(auth_failure f);

class source_table {
 public:
  // Fails naming the source and key whose value cannot be used (e.g. a public key that is
  // not a P-256 key).
  [[nodiscard]] static result<source_table> build(
      const std::vector<config::source_config>& sources);

  [[nodiscard]] const source* find(std::string_view name) const;
  [[nodiscard]] const std::map<std::string, source, std::less<>>& all() const { return sources_; }

 private:
  std::map<std::string, source, std::less<>> sources_;
};

// Everything that needs only the header, run before a body byte is read: tokens and
// basic auth; for a signed source, one well-formed signature and timestamp header
// each, and a timestamp inside the replay window. A header repeated, which two parts of
// a proxy chain could read differently, is refused rather than one copy chosen.
[[nodiscard]] std::optional<auth_failure> authenticate_header(
    const source& s, const http::request_header& h, std::chrono::system_clock::time_point now);

// The signature check over the raw body, and the replay window. `now` is injected for tests.
[[nodiscard]] std::optional<auth_failure> authenticate_body(
    const source& s, const http::request_header& h, std::string_view body,
    std::chrono::system_clock::time_point now);

}  // namespace mailhook::webhook
