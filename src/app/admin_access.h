// Who may use the admin listener, decided from a request's header alone, so that a refused
// request is answered before its body is read (docs/security.md):
//   - the Host header must name this listener (DNS rebinding from a browser);
//   - /v1 needs a bearer token of the configured ones, with the scope of the route (read
//     for checks, listing, stats and export; write for add and remove), unless the
//     development opt-out admin.allow_unauthenticated is set;
//   - a /v1 request with a body must say Content-Type: application/json, which a
//     cross-site form or a "simple" fetch cannot send.
// Failures are admin_errc values; reply_for() turns one into its HTTP answer.
//
// Thread-safety: every class here is immutable once built and may be used from any
// thread. Nothing keeps a token's secret: only the SHA-256 digests from the configuration.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/error_category.h"
#include "common/result.h"
#include "config/daemon_config.h"
#include "http/message.h"

namespace mailhook::app {

enum class admin_errc {
  host_missing = 1,        // 400: no Host header
  host_not_allowed,        // 421: a Host this listener does not answer for
  api_closed,              // 403: no tokens configured and no opt-out
  token_missing,           // 401: no Authorization header
  token_malformed,         // 401: not "Bearer <token>", or the header given twice
  token_unknown,           // 401: no configured token has this secret
  insufficient_scope,      // 403: a read token on a write route
  unsupported_media_type,  // 415: a body that is not application/json
};

[[nodiscard]] const char* describe(admin_errc e) noexcept;
// The kind (bad_input, misdirected, unauthorized, forbidden, unsupported_media_type) and
// the stable word for logs, metrics (reason label) and the error body.
[[nodiscard]] error_class classify(admin_errc e) noexcept;
inline constexpr admin_errc all_admin_errc[] = {
    admin_errc::host_missing,       admin_errc::host_not_allowed,      admin_errc::api_closed,
    admin_errc::token_missing,      admin_errc::token_malformed,       admin_errc::token_unknown,
    admin_errc::insufficient_scope, admin_errc::unsupported_media_type};

// The answer to a refused request: the status of its admin_errc, the WWW-Authenticate
// challenge RFC 6750 asks for on 401 and on 403 for a scope, and the JSON error body.
[[nodiscard]] http::response reply_for(const failure& refused);

// Who made an admitted request.
struct admin_principal {
  std::string name;  // the token's name, or "unauthenticated" under the opt-out
  config::admin_scope scope = config::admin_scope::read;
};

inline constexpr std::string_view unauthenticated_actor = "unauthenticated";

// The configured tokens, found by their secret.
class token_table {
 public:
  explicit token_table(const std::vector<config::admin_token_config>& tokens);

  // The token whose secret is `presented`, or null. The digest of `presented` is compared
  // with every token's (CRYPTO_memcmp, no early exit), so the time taken tells nothing
  // about which token came close or how many bytes matched.
  [[nodiscard]] const config::admin_token_config* find(std::string_view presented) const;
  [[nodiscard]] bool empty() const { return tokens_.empty(); }
  [[nodiscard]] std::size_t size() const { return tokens_.size(); }

 private:
  std::vector<config::admin_token_config> tokens_;
};

// The names a Host header may carry: localhost, the listen host when it is a name, the
// configured allowed_hosts ("*": any), and any IP address (a DNS rebinding attack needs a
// name of the attacker's; an address names the machine itself). The port is not compared,
// so that a tunnel or port-forward to another local port still works.
class host_allowlist {
 public:
  explicit host_allowlist(const config::admin_config& admin);
  [[nodiscard]] bool allows(std::string_view host_header) const;

 private:
  bool any_ = false;
  std::vector<std::string> names_;  // lower case, without a trailing dot
};

// The scope a /v1 route needs: write for POST and DELETE on /v1/suppressions (add and
// remove), read for everything else.
[[nodiscard]] config::admin_scope required_scope(http::verb method, std::string_view path);

// Whether a Content-Type value is application/json (parameters such as charset allowed).
[[nodiscard]] bool is_json_content_type(std::string_view value);

class admin_access {
 public:
  explicit admin_access(const config::admin_config& admin);

  // For every request on the admin listener: does its Host name this listener?
  [[nodiscard]] result<void> check_host(const http::request_header& h) const;
  // For a request to `path` under /v1 (Host already checked): who makes it, and whether
  // the route's scope and the body's type are right.
  [[nodiscard]] result<admin_principal> check_v1(const http::request_header& h,
                                                 std::string_view path) const;

  // Whether /v1 can be used at all: tokens are configured, or the opt-out is set.
  [[nodiscard]] bool open() const { return allow_unauthenticated_ || !tokens_.empty(); }
  [[nodiscard]] const token_table& tokens() const { return tokens_; }

 private:
  token_table tokens_;
  host_allowlist hosts_;
  bool allow_unauthenticated_ = false;
};

}  // namespace mailhook::app

MAILHOOK_DECLARE_ERRC(mailhook::app, admin_errc)
