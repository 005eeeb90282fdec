#include "webhook/sources.h"

#include "http/reply.h"

namespace mailhook::webhook {
namespace {

std::string_view header_value(const http::request_header& h, std::string_view name) {
  auto it = h.find(boost::beast::string_view(name.data(), name.size()));
  if (it == h.end()) return {};
  return {it->value().data(), it->value().size()};
}

// How often a header appears.
std::size_t header_count(const http::request_header& h, std::string_view name) {
  return h.count(boost::beast::string_view(name.data(), name.size()));
}

bool matches_any(std::string_view presented, const std::vector<std::string>& accepted) {
  // Every candidate is compared, so timing tells nothing about which one came close.
  bool matched = false;
  for (const auto& candidate : accepted) matched |= constant_time_equal(presented, candidate);
  return matched;
}

}  // namespace

std::string_view label(auth_failure f) {
  switch (f) {
    case auth_failure::missing_signature:
      return "missing_signature";
    case auth_failure::malformed_signature:
      return "malformed_signature";
    case auth_failure::duplicate_header:
      return "duplicate_header";
    case auth_failure::bad_signature:
      return "bad_signature";
    case auth_failure::stale_timestamp:
      return "stale_timestamp";
    case auth_failure::bad_token:
      return "bad_token";
    case auth_failure::bad_basic_auth:
      return "bad_basic_auth";
  }
  return "unknown";
}

http::response reply_for(auth_failure f) {
  switch (f) {
    case auth_failure::missing_signature:
      return http::error_reply({error_kind::unauthorized, "missing_signature"},
                               "the request has no SendGrid signature and timestamp headers");
    case auth_failure::malformed_signature:
      return http::error_reply({error_kind::unauthorized, "malformed_signature"},
                               "the signature header is not base64 of a DER ECDSA signature, or "
                               "the timestamp header not decimal seconds");
    case auth_failure::duplicate_header:
      return http::error_reply({error_kind::bad_input, "duplicate_header"},
                               "a signature, timestamp or Authorization header appears twice");
    case auth_failure::bad_signature:
      return http::error_reply({error_kind::forbidden, "bad_signature"},
                               "the signature does not verify with any configured key");
    case auth_failure::stale_timestamp:
      return http::error_reply({error_kind::forbidden, "stale_timestamp"},
                               "the signed timestamp is outside the replay window");
    case auth_failure::bad_token: {
      // SendGrid's OAuth contract: a 401 whose body holds invalid_token makes it fetch a
      // new token and retry.
      auto r = http::error_reply({error_kind::unauthorized, "invalid_token"},
                                 "the bearer token is not accepted");
      r.set(http::field::www_authenticate, R"(Bearer error="invalid_token")");
      return r;
    }
    case auth_failure::bad_basic_auth: {
      auto r = http::error_reply({error_kind::unauthorized, "bad_credentials"},
                                 "the credentials are not accepted");
      r.set(http::field::www_authenticate, R"(Basic realm="mailhook")");
      return r;
    }
  }
  return http::error_reply({error_kind::forbidden, "forbidden"}, "refused");
}

result<source_table> source_table::build(const std::vector<config::source_config>& sources) {
  source_table table;
  for (const auto& config : sources) {
    source s;
    s.name = config.name;
    s.tenant = config.tenant;
    s.replay_window = std::chrono::duration_cast<std::chrono::seconds>(config.replay_window);
    s.max_clock_skew = std::chrono::duration_cast<std::chrono::seconds>(config.max_clock_skew);
    s.bearer_tokens = config.bearer_tokens;
    s.basic_auth = config.basic_auth;
    if (!config.public_keys.empty()) {
      std::vector<public_key> keys;
      for (std::size_t i = 0; i < config.public_keys.size(); ++i) {
        auto key = public_key::from_base64_spki(config.public_keys[i]);
        if (!key) {
          return failure(key.error().code, "sources." + config.name + ".public_keys[" +
                                               std::to_string(i) + "]: " + key.error().describe());
        }
        keys.push_back(std::move(*key));
      }
      s.verifier.emplace(std::move(keys));
    }
    table.sources_.emplace(s.name, std::move(s));
  }
  return table;
}

const source* source_table::find(std::string_view name) const {
  auto it = sources_.find(name);
  return it == sources_.end() ? nullptr : &it->second;
}

std::optional<auth_failure> authenticate_header(const source& s, const http::request_header& h,
                                                std::chrono::system_clock::time_point now) {
  if (s.verifier) {
    const std::size_t signatures = header_count(h, signature_header_name);
    const std::size_t timestamps = header_count(h, timestamp_header_name);
    if (signatures > 1 || timestamps > 1) return auth_failure::duplicate_header;
    std::string_view signature = header_value(h, signature_header_name);
    std::string_view timestamp = header_value(h, timestamp_header_name);
    if (signature.empty() || timestamp.empty()) return auth_failure::missing_signature;
    if (!signature_r(signature) || !parse_timestamp(timestamp))
      return auth_failure::malformed_signature;
    if (check_timestamp(timestamp, s.replay_window, s.max_clock_skew, now) !=
        timestamp_outcome::ok) {
      return auth_failure::stale_timestamp;
    }
  }
  if (s.bearer_tokens.empty() && s.basic_auth.empty()) return std::nullopt;
  if (header_count(h, "Authorization") > 1) return auth_failure::duplicate_header;
  std::string_view authorization = header_value(h, "Authorization");
  if (!s.bearer_tokens.empty()) {
    auto token = parse_bearer(authorization);
    if (!token || !matches_any(*token, s.bearer_tokens)) return auth_failure::bad_token;
  }
  if (!s.basic_auth.empty()) {
    auto credentials = parse_basic(authorization);
    bool matched = false;
    for (const auto& pair : s.basic_auth) {
      auto colon = pair.find(':');
      std::string_view user = std::string_view(pair).substr(0, colon);
      std::string_view password = std::string_view(pair).substr(colon + 1);
      // Every pair is compared, so timing tells nothing about which one came close.
      matched |= credentials && credentials->matches(user, password);
    }
    if (!matched) return auth_failure::bad_basic_auth;
  }
  return std::nullopt;
}

std::optional<auth_failure> authenticate_body(const source& s, const http::request_header& h,
                                              std::string_view body,
                                              std::chrono::system_clock::time_point now) {
  if (!s.verifier) return std::nullopt;
  std::string_view signature = header_value(h, signature_header_name);
  std::string_view timestamp = header_value(h, timestamp_header_name);
  if (signature.empty() || timestamp.empty()) return auth_failure::missing_signature;
  if (s.verifier->verify(timestamp, body, signature) != verify_outcome::ok)
    return auth_failure::bad_signature;
  // Checked again: reading the body took time.
  if (check_timestamp(timestamp, s.replay_window, s.max_clock_skew, now) != timestamp_outcome::ok) {
    return auth_failure::stale_timestamp;
  }
  return std::nullopt;
}

}  // namespace mailhook::webhook
