#include "app/admin_access.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>

#include "common/check.h"
#include "common/text.h"
#include "http/reply.h"
#include "http/url.h"
#include "webhook/signature.h"

namespace mailhook::app {
namespace {

// A header's values; Beast keeps every field, so a header given twice is seen twice.
std::vector<std::string_view> values_of(const http::request_header& h, http::field name) {
  std::vector<std::string_view> values;
  auto [first, last] = h.equal_range(name);
  for (auto it = first; it != last; ++it)
    values.emplace_back(it->value().data(), it->value().size());
  return values;
}

bool has_body(const http::request_header& h) {
  if (h.find(http::field::transfer_encoding) != h.end()) return true;
  auto length = h.find(http::field::content_length);
  return length != h.end() && length->value() != "0";
}

// Texts from the network shown back in an error body: short, one line.
std::string shown(std::string_view text) {
  std::string out(text.substr(0, 100));
  for (auto& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

}  // namespace

const char* describe(admin_errc e) noexcept {
  switch (e) {
    case admin_errc::host_missing:
      return "the request has no Host header";
    case admin_errc::host_not_allowed:
      return "this listener does not answer for that Host";
    case admin_errc::api_closed:
      return "the admin API is closed: no admin.tokens are configured (docs/security.md)";
    case admin_errc::token_missing:
      return "this route needs a bearer token: Authorization: Bearer <token>";
    case admin_errc::token_malformed:
      return "the Authorization header is not one \"Bearer <token>\"";
    case admin_errc::token_unknown:
      return "the bearer token is not accepted";
    case admin_errc::insufficient_scope:
      return "this route needs a token with write scope";
    case admin_errc::unsupported_media_type:
      return "a request body must be application/json";
  }
  return "refused";
}

error_class classify(admin_errc e) noexcept {
  switch (e) {
    case admin_errc::host_missing:
      return {error_kind::bad_input, "host_missing"};
    case admin_errc::host_not_allowed:
      return {error_kind::misdirected, "host_not_allowed"};
    case admin_errc::api_closed:
      return {error_kind::forbidden, "api_closed"};
    case admin_errc::token_missing:
      return {error_kind::unauthorized, "token_missing"};
    case admin_errc::token_malformed:
      return {error_kind::unauthorized, "token_malformed"};
    case admin_errc::token_unknown:
      return {error_kind::unauthorized, "token_unknown"};
    case admin_errc::insufficient_scope:
      return {error_kind::forbidden, "insufficient_scope"};
    case admin_errc::unsupported_media_type:
      return {error_kind::unsupported_media_type, "unsupported_media_type"};
  }
  return {};
}

http::response reply_for(const failure& refused) {
  MAILHOOK_CHECK(refused.code.category() == admin_errc_category(),
                 "reply_for() takes admin_errc failures only");
  const auto e = static_cast<admin_errc>(refused.code.value());
  auto r = http::error_reply(refused);
  // RFC 6750 section 3: the challenge says what was wrong, never which tokens exist.
  constexpr std::string_view realm = R"(Bearer realm="mailhook-admin")";
  switch (e) {
    case admin_errc::token_missing:
      r.set(http::field::www_authenticate, std::string(realm));
      break;
    case admin_errc::token_malformed:
      r.set(http::field::www_authenticate, std::string(realm) + R"(, error="invalid_request")");
      break;
    case admin_errc::token_unknown:
      r.set(http::field::www_authenticate, std::string(realm) + R"(, error="invalid_token")");
      break;
    case admin_errc::insufficient_scope:
      r.set(http::field::www_authenticate,
            std::string(realm) + R"(, error="insufficient_scope", scope="write")");
      break;
    default:
      break;
  }
  return r;
}

// ---- tokens -----------------------------------------------------------------------------

token_table::token_table(const std::vector<config::admin_token_config>& tokens) : tokens_(tokens) {}

const config::admin_token_config* token_table::find(std::string_view presented) const {
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  if (EVP_Digest(presented.data(), presented.size(), digest.data(), &size, EVP_sha256(), nullptr) !=
          1 ||
      size != digest.size()) {
    return nullptr;
  }
  // Digests are compared, not secrets, so how far a comparison gets says nothing about a
  // secret; and every token is compared, so the time does not say which one matched.
  const config::admin_token_config* found = nullptr;
  for (const auto& token : tokens_) {
    if (CRYPTO_memcmp(digest.data(), token.secret_sha256.data(), digest.size()) == 0) {
      found = &token;
    }
  }
  return found;
}

// ---- hosts ------------------------------------------------------------------------------

host_allowlist::host_allowlist(const config::admin_config& admin) {
  names_.emplace_back("localhost");
  if (!http::is_ip_address(admin.listen.host)) names_.push_back(to_ascii_lower(admin.listen.host));
  for (const auto& name : admin.allowed_hosts) {
    if (name == "*") any_ = true;
    names_.push_back(to_ascii_lower(name));
  }
}

bool host_allowlist::allows(std::string_view host_header) const {
  std::string_view host = host_header;
  if (host.starts_with('[')) {
    // "[IPv6]" or "[IPv6]:port": an address.
    auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    return http::is_ip_address(host.substr(1, close - 1));
  }
  if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    auto port = host.substr(colon + 1);
    if (port.empty() ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    host = host.substr(0, colon);
  }
  if (host.ends_with('.')) host.remove_suffix(1);  // "localhost." is the same name
  if (host.empty()) return false;
  if (host.find(':') == std::string_view::npos && http::is_ip_address(host)) return true;
  if (any_) return true;
  auto name = to_ascii_lower(host);
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

// ---- routes -----------------------------------------------------------------------------

config::admin_scope required_scope(http::verb method, std::string_view path) {
  if (path == "/v1/suppressions" && (method == http::verb::post || method == http::verb::delete_))
    return config::admin_scope::write;
  return config::admin_scope::read;
}

bool is_json_content_type(std::string_view value) {
  auto media_type = value.substr(0, value.find(';'));
  while (!media_type.empty() && (media_type.back() == ' ' || media_type.back() == '\t'))
    media_type.remove_suffix(1);
  while (!media_type.empty() && (media_type.front() == ' ' || media_type.front() == '\t'))
    media_type.remove_prefix(1);
  return to_ascii_lower(media_type) == "application/json";
}

admin_access::admin_access(const config::admin_config& admin)
    : tokens_(admin.tokens), hosts_(admin), allow_unauthenticated_(admin.allow_unauthenticated) {}

result<void> admin_access::check_host(const http::request_header& h) const {
  auto hosts = values_of(h, http::field::host);
  if (hosts.empty() || hosts.front().empty()) return admin_errc::host_missing;
  if (hosts.size() > 1) {
    return {admin_errc::host_not_allowed, "the Host header is given more than once"};
  }
  if (!hosts_.allows(hosts.front())) {
    return {admin_errc::host_not_allowed, "this listener does not answer for Host '" +
                                              shown(hosts.front()) +
                                              "' (admin.allowed_hosts; docs/security.md)"};
  }
  return {};
}

result<admin_principal> admin_access::check_v1(const http::request_header& h,
                                               std::string_view path) const {
  if (!open()) return admin_errc::api_closed;
  admin_principal who;
  if (allow_unauthenticated_) {
    who = {std::string(unauthenticated_actor), config::admin_scope::write};
  } else {
    auto authorization = values_of(h, http::field::authorization);
    if (authorization.empty()) return admin_errc::token_missing;
    if (authorization.size() > 1) {
      return {admin_errc::token_malformed, "the Authorization header is given more than once"};
    }
    auto secret = webhook::parse_bearer(authorization.front());
    if (!secret) return admin_errc::token_malformed;
    const auto* token = tokens_.find(*secret);
    if (token == nullptr) return admin_errc::token_unknown;
    who = {token->name, token->scope};
  }
  if (required_scope(h.method(), path) == config::admin_scope::write &&
      who.scope != config::admin_scope::write) {
    return {admin_errc::insufficient_scope,
            "token '" + who.name + "' has read scope; this route needs write"};
  }
  // A browser sends text/plain, form and multipart bodies across sites without asking
  // first; application/json it does not.
  if (h.method() == http::verb::post || has_body(h)) {
    auto type = h.find(http::field::content_type);
    if (type == h.end() || !is_json_content_type({type->value().data(), type->value().size()})) {
      std::string got = type == h.end() ? std::string("none")
                                        : shown({type->value().data(), type->value().size()});
      return {admin_errc::unsupported_media_type,
              "a request body must be Content-Type: application/json (got " + got + ")"};
    }
  }
  return who;
}

}  // namespace mailhook::app

MAILHOOK_DEFINE_ERRC(mailhook::app, admin_errc, "app.admin", describe, classify)
