// Loading daemon_config: parse the file, lay the environment over it, then one function
// per section reads and checks its keys. To add a section: a struct in daemon_config.h,
// a read_<section>() here, one section() line in read_daemon(), and its keys in
// deploy/config/mailhook.example.toml and docs/configuration.md.
// Over 600 lines: one reader per section of one schema, sharing the helpers above them.
#include "config/daemon_config.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <string>

#include "common/check.h"
#include "config/diagnostics.h"
#include "config/env_overlay.h"
#include "config/table_reader.h"

namespace mailhook::config {
namespace {

using namespace std::chrono_literals;

// Top-level keys that are not tables, so their variables have no "__" (MAILHOOK_ROLES).
constexpr std::string_view top_level_keys[] = {"roles"};
// Tables of librdkafka-style dotted names; see env_rules.
constexpr std::string_view dotted_key_tables[] = {"kafka.properties", "ingest.producer"};

constexpr std::string_view log_levels[] = {"trace", "debug",    "info", "warn",
                                           "error", "critical", "off"};

std::string in_quotes(std::string_view text) {
  return "'" + std::string(text) + "'";
}

void read_log(table_reader& t, log_config& out) {
  if (auto level = t.read_one_of("level", log_levels)) out.level = std::string(log_levels[*level]);
  static constexpr std::pair<std::string_view, log_format> formats[] = {{"text", log_format::text},
                                                                        {"json", log_format::json}};
  t.read_choice("format", out.format, formats);
}

// A portable environment variable name: letters, digits and '_', not starting with a digit.
bool is_env_name(std::string_view name) {
  auto first = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  return !name.empty() && first(name.front()) && std::all_of(name.begin(), name.end(), [&](char c) {
    return first(c) || (c >= '0' && c <= '9');
  });
}

// A source name is a path segment of the webhook URL; integration and token names follow
// the same rule, so that every name in the file looks alike (and logs as it is).
bool is_section_name(std::string_view name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

constexpr std::size_t min_token_secret = 16;
constexpr std::size_t max_token_secret = 4096;

// Where a token's secret comes from, for messages; never the secret itself.
std::string secret_origin(const admin_token_config& token) {
  return token.file.empty() ? "the environment variable " + token.env : "the file " + token.file;
}

// The bytes of the file `path`, which holds a secret: at most `max_size` + 2 of them, since
// what is longer cannot be one. A failure's message is the system's reason alone, so that
// the caller names the file and never its content.
result<std::string> read_secret_file(const std::string& path, std::size_t max_size) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!in) return failure(errc::io, std::strerror(errno));
  std::string secret;
  char buffer[1024];
  while (secret.size() <= max_size + 2) {
    std::size_t n = std::fread(buffer, 1, sizeof buffer, in.get());
    secret.append(buffer, n);
    if (n < sizeof buffer) break;
  }
  if (std::ferror(in.get())) return failure(errc::io, std::strerror(errno));
  return secret;
}

// Files written by `echo` or an editor end in a newline that is not part of the secret.
void drop_final_newline(std::string& secret) {
  if (secret.ends_with('\n')) secret.pop_back();
  if (secret.ends_with('\r')) secret.pop_back();
}

// The secret of `token` from its file or variable, checked as it will travel in an
// "Authorization: Bearer" header. Problems are reported on the `file` or `env` key, and
// no message repeats the secret or any part of it.
std::optional<std::string> read_token_secret(table_reader& t, const admin_token_config& token,
                                             const environment& env) {
  const key_path at{token.file.empty() ? "env" : "file"};
  std::string secret;
  if (!token.file.empty()) {
    auto read = read_secret_file(token.file, max_token_secret);
    if (!read) {
      t.report(errc::bad_value, at,
               "cannot read the secret of token '" + token.name + "' from " + token.file + ": " +
                   read.error().message);
      return std::nullopt;
    }
    secret = std::move(*read);
  } else {
    auto it = env.find(token.env);
    if (it == env.end()) {
      t.report(errc::bad_value, at,
               "token '" + token.name + "': the environment variable " + token.env + " is not set");
      return std::nullopt;
    }
    secret = it->second;
  }
  drop_final_newline(secret);
  const std::string where = "token '" + token.name + "': the secret in " + secret_origin(token);
  if (secret.empty()) {
    t.report(errc::bad_value, at, where + " is empty");
  } else if (secret.size() < min_token_secret) {
    t.report(errc::bad_value, at,
             where + " is " + std::to_string(secret.size()) + " bytes; it needs at least " +
                 std::to_string(min_token_secret) + " (e.g. the output of openssl rand -hex 32)");
  } else if (secret.size() > max_token_secret) {
    t.report(errc::bad_value, at,
             where + " is longer than " + std::to_string(max_token_secret) + " bytes");
  } else if (!std::all_of(secret.begin(), secret.end(),
                          [](char c) { return c > ' ' && c < '\x7f'; })) {
    t.report(errc::bad_value, at,
             where +
                 " holds spaces, control or non-ASCII characters; it travels in an HTTP "
                 "header, so it must be visible ASCII");
  } else {
    return secret;
  }
  return std::nullopt;
}

std::array<unsigned char, 32> sha256(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  bool ok = EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr) == 1;
  MAILHOOK_CHECK(ok && size == digest.size(), "SHA-256 is unavailable");
  return digest;
}

void read_admin_token(table_reader& t, admin_token_config& out,
                      const std::vector<admin_token_config>& earlier, const environment& env,
                      const load_options& options) {
  bool named = t.read("name", out.name);
  if (!named && t.contains({"name"})) {
    // Reported by read(): the wrong type.
  } else if (!named || !is_section_name(out.name)) {
    t.report(errc::bad_value, {"name"},
             "every token has a name, 1 to 128 of a-z A-Z 0-9 . _ - (it is what logs and "
             "changelog records show)");
  } else {
    for (std::size_t i = 0; i < earlier.size(); ++i) {
      if (earlier[i].name == out.name) {
        t.report(errc::bad_value, {"name"},
                 "'" + out.name + "' is also the name of admin.tokens[" + std::to_string(i) +
                     "]; names say who made a change, so each token needs its own");
      }
    }
  }
  static constexpr std::pair<std::string_view, admin_scope> scopes[] = {
      {"read", admin_scope::read}, {"write", admin_scope::write}};
  if (!t.contains({"scope"})) {
    t.report(errc::bad_value, {"scope"}, "every token says its scope: \"read\" or \"write\"");
  }
  t.read_choice("scope", out.scope, scopes);
  // The one mistake that must be caught before the file is copied around: a secret in it.
  // Its value is not repeated in the message.
  for (std::string_view key : {"secret", "token"}) {
    if (!t.contains({std::string(key)})) continue;
    std::string ignored;
    t.read(key, ignored);
    t.report(errc::bad_value, {std::string(key)},
             "a token's secret is never written in the configuration: name a file holding it "
             "(file) or an environment variable holding it (env)");
  }
  t.read("file", out.file);
  if (t.read("env", out.env) && !out.env.empty() && !is_env_name(out.env)) {
    t.report(errc::bad_value, {"env"},
             "expected the name of the environment variable that holds the secret (letters, "
             "digits and '_', not starting with a digit); the value is not shown, as it may be "
             "the secret itself");
    return;
  }
  if (out.file.empty() == out.env.empty()) {
    t.report(errc::bad_value, {out.file.empty() ? "file" : "env"},
             "a token reads its secret from exactly one of file (a file holding it) and env (an "
             "environment variable holding it)");
    return;
  }
  if (!options.read_secrets) return;
  auto secret = read_token_secret(t, out, env);
  if (!secret) return;
  out.secret_sha256 = sha256(*secret);
  for (std::size_t i = 0; i < earlier.size(); ++i) {
    if (earlier[i].secret_sha256 == out.secret_sha256) {
      t.report(errc::bad_value, {out.file.empty() ? "env" : "file"},
               "token '" + out.name + "' has the same secret as admin.tokens[" + std::to_string(i) +
                   "] ('" + earlier[i].name +
                   "'); each token needs its own, or the logs could not tell who it was");
    }
  }
}

bool is_loopback(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  return host.starts_with("127.") && std::all_of(host.begin(), host.end(), [](char c) {
           return (c >= '0' && c <= '9') || c == '.';
         });
}

// An allowed_hosts entry: "*", or a host name as it appears in a Host header, without port.
bool is_host_pattern(std::string_view host) {
  return host == "*" || (!host.empty() && host.size() <= 253 && host.front() != '.' &&
                         host.front() != '-' && std::all_of(host.begin(), host.end(), [](char c) {
                           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                  (c >= '0' && c <= '9') || c == '.' || c == '-';
                         }));
}

void read_admin(table_reader& t, admin_config& out, const environment& env,
                const load_options& options) {
  t.read("listen", out.listen);
  t.array_section("tokens", [&](table_reader& s) {
    admin_token_config token;
    read_admin_token(s, token, out.tokens, env, options);
    out.tokens.push_back(std::move(token));
  });
  if (t.read("allow_unauthenticated", out.allow_unauthenticated) && out.allow_unauthenticated) {
    if (!out.tokens.empty()) {
      t.report(errc::bad_value, {"allow_unauthenticated"},
               "contradicts admin.tokens: with tokens configured, every /v1 request needs one");
    } else if (!is_loopback(out.listen.host)) {
      t.report(errc::bad_value, {"allow_unauthenticated"},
               "is only for a development listener on loopback (127.0.0.1, ::1 or localhost), "
               "but admin.listen is " +
                   in_quotes(to_string(out.listen)) +
                   "; configure [[admin.tokens]] instead (docs/security.md)");
    }
  }
  if (t.read("allowed_hosts", out.allowed_hosts)) {
    for (const auto& host : out.allowed_hosts) {
      if (is_host_pattern(host)) continue;
      t.report(errc::bad_value, {"allowed_hosts"},
               "expected host names as the Host header carries them, without port or scheme "
               "(\"mailhook.internal\"), or \"*\" for any; got " +
                   in_quotes(host));
    }
  }
  t.section("tls", [&](table_reader& s) {
    s.read("certificate", out.tls.certificate);
    s.read("private_key", out.tls.private_key);
    if (out.tls.certificate.empty() != out.tls.private_key.empty()) {
      s.report(errc::bad_value, {out.tls.certificate.empty() ? "certificate" : "private_key"},
               "certificate and private_key go together");
    }
  });
  t.section("monitoring", [&](table_reader& s) {
    listen_address monitoring;
    if (!s.read("listen", monitoring)) return;
    if (monitoring == out.listen && monitoring.port != 0) {
      s.report(errc::bad_value, {"listen"},
               "must differ from admin.listen: the monitoring listener is a port of its own");
      return;
    }
    out.monitoring_listen = monitoring;
  });
}

constexpr std::size_t max_kafka_password = 4096;

// The SASL password from kafka.sasl_password_file, as librdkafka will send it. Problems are
// reported on that key; no message repeats the password or any part of it.
std::optional<std::string> read_kafka_password(table_reader& t, const std::string& file) {
  const key_path at{"sasl_password_file"};
  auto password = read_secret_file(file, max_kafka_password);
  if (!password) {
    t.report(errc::bad_value, at,
             "cannot read the SASL password from " + file + ": " + password.error().message);
    return std::nullopt;
  }
  drop_final_newline(*password);
  const std::string where = "the SASL password in " + file;
  if (password->empty()) {
    t.report(errc::bad_value, at, where + " is empty");
  } else if (password->size() > max_kafka_password) {
    t.report(errc::bad_value, at,
             where + " is longer than " + std::to_string(max_kafka_password) + " bytes");
  } else if (std::any_of(password->begin(), password->end(), [](char c) {
               return static_cast<unsigned char>(c) < ' ' || c == '\x7f';
             })) {
    // librdkafka takes a C string: a NUL would cut the password short, and a second line
    // is a mistake, not part of a password.
    t.report(errc::bad_value, at,
             where +
                 " holds a control character or a second line; the file holds the password "
                 "alone, on one line");
  } else {
    return std::move(*password);
  }
  return std::nullopt;
}

void read_kafka(table_reader& t, kafka_config& out, const load_options& options) {
  // The broker list is librdkafka's to parse (it takes host, host:port and proto://host:port
  // entries); only an empty one is certainly wrong.
  if (t.read("bootstrap_servers", out.bootstrap_servers) &&
      out.bootstrap_servers.find_first_not_of(" ,") == std::string::npos) {
    t.report(errc::bad_value, {"bootstrap_servers"}, "must name at least one broker");
  }
  if (t.read("client_id", out.client_id) && out.client_id.empty()) {
    t.report(errc::bad_value, {"client_id"}, "must not be empty");
  }
  t.read("create_topics", out.create_topics);
  t.read_duration("health_interval", out.health_interval, 1ms);
  t.read_duration("health_timeout", out.health_timeout, 1ms);
  // Two names for one setting would leave the winner to chance.
  static constexpr std::pair<std::string_view, std::string_view> reserved[] = {
      {"bootstrap.servers", "kafka.bootstrap_servers"},
      {"metadata.broker.list", "kafka.bootstrap_servers"},  // librdkafka's older name for it
      {"client.id", "kafka.client_id"}};
  t.read_text_map("properties", out.properties, reserved);
  // The password is a secret, so it need not be written in the file: it may come from a file
  // of its own, or from MAILHOOK_KAFKA__PROPERTIES__SASL_PASSWORD into sasl.password.
  if (!t.read("sasl_password_file", out.sasl_password_file) || out.sasl_password_file.empty()) {
    return;
  }
  if (out.properties.contains("sasl.password")) {
    t.report(errc::bad_value, {"sasl_password_file"},
             "kafka.properties sets sasl.password too; give the password one way only");
    return;
  }
  if (!options.read_kafka_password) return;
  if (auto password = read_kafka_password(t, out.sasl_password_file)) {
    out.sasl_password = std::move(*password);
  }
}

// Kafka's own rule for topic names; the broker would refuse the others later, at a worse time.
bool is_topic_name(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

void read_topic(table_reader& t, topic_spec& out) {
  if (t.read("name", out.name) && !is_topic_name(out.name)) {
    t.report(
        errc::bad_value, {"name"},
        "expected 1 to 249 of a-z A-Z 0-9 . _ - (not '.' or '..'), got " + in_quotes(out.name));
  }
  t.read("partitions", out.partitions, 1, std::numeric_limits<int>::max());
  t.read("replication_factor", out.replication_factor, 1, std::numeric_limits<std::int16_t>::max());
  t.read("compacted", out.compacted);
  t.read_duration("retention", out.retention);
  // More copies in sync than there are copies would refuse every write to the topic.
  if (t.read("min_insync_replicas", out.min_insync_replicas, 0,
             std::numeric_limits<std::int16_t>::max()) &&
      out.min_insync_replicas > out.replication_factor) {
    t.report(errc::bad_value, {"min_insync_replicas"},
             "must be at most replication_factor (" + std::to_string(out.replication_factor) +
                 "), got " + std::to_string(out.min_insync_replicas));
  }
}

void read_topics(table_reader& t, topics_config& out) {
  const std::pair<std::string_view, topic_spec*> topics[] = {
      {"events", &out.events},
      {"dlq", &out.dlq},
      {"suppressions", &out.suppressions},
      {"send_requests", &out.send_requests},
      {"send_results", &out.send_results},
      {"send_ledger", &out.send_ledger},
      {"soft_bounces", &out.soft_bounces},
      {"events_deduplicated", &out.events_deduplicated}};
  for (const auto& [key, spec] : topics) {
    t.section(key, [spec = spec](table_reader& s) { read_topic(s, *spec); });
  }
  // Two roles sharing a topic would read each other's records.
  for (std::size_t i = 0; i < std::size(topics); ++i) {
    for (std::size_t j = i + 1; j < std::size(topics); ++j) {
      if (topics[i].second->name != topics[j].second->name) continue;
      // Blame the one the operator set; the other may be a default.
      auto [blamed, other] =
          t.contains({std::string(topics[j].first), "name"}) ? std::pair{j, i} : std::pair{i, j};
      t.report(errc::bad_value, {std::string(topics[blamed].first), "name"},
               in_quotes(topics[blamed].second->name) + " is also the name of " +
                   display({"topics", std::string(topics[other].first)}));
    }
  }
}

void read_ingest(table_reader& t, ingest_config& out) {
  t.read("listen", out.listen);
  t.read("threads", out.threads, 0, 256);
  if (t.read_byte_size("max_body", out.max_body) && out.max_body == 0) {
    t.report(errc::bad_value, {"max_body"}, "must be more than 0 bytes");
  }
  if (t.read_byte_size("max_header", out.max_header) &&
      (out.max_header < 1024 || out.max_header > 1024 * 1024)) {
    t.report(errc::bad_value, {"max_header"}, "must be between 1KiB and 1MiB");
  }
  t.read_duration("header_timeout", out.header_timeout, 1ms);
  t.read_duration("body_timeout", out.body_timeout, 1ms);
  t.read_duration("idle_timeout", out.idle_timeout, 1ms);
  t.read_duration("error_idle_timeout", out.error_idle_timeout, 1ms);
  t.read("max_connections", out.max_connections, 1, 1'000'000);
  t.read("max_connections_per_client", out.max_connections_per_client, 0, 1'000'000);
  t.read_byte_size("max_body_bytes_per_client", out.max_body_bytes_per_client);
  t.read_byte_size("min_upload_rate", out.min_upload_rate);
  t.read("replay_cache_entries", out.replay_cache_entries, 0, 100'000'000);
  t.read_duration("request_deadline", out.request_deadline, 1ms);
  if (t.read_byte_size("inflight_budget", out.inflight_budget) &&
      out.inflight_budget < out.max_body) {
    t.report(errc::bad_value, {"inflight_budget"},
             "must be at least max_body, or no batch of that size could pass");
  }
  t.read_duration("retry_after", out.retry_after, 1000ms);
  static constexpr std::pair<std::string_view, event_encoding> encodings[] = {
      {"protobuf", event_encoding::protobuf}, {"json", event_encoding::json}};
  t.read_choice("encoding", out.encoding, encodings);
  t.read("keep_raw_event", out.keep_raw_event);
  if (t.read_byte_size("dead_letter_part_bytes", out.dead_letter_part_bytes) &&
      (out.dead_letter_part_bytes < 1024 || out.dead_letter_part_bytes > 64 * 1024 * 1024)) {
    t.report(errc::bad_value, {"dead_letter_part_bytes"}, "must be between 1KiB and 64MiB");
  }
  static constexpr std::pair<std::string_view, record_format> formats[] = {
      {"confluent", record_format::confluent},
      {"headers", record_format::headers},
      {"plain", record_format::plain}};
  t.read_choice("record_format", out.format, formats);
  // The setting record_format replaced; named, so that an old file gets told what to write.
  if (bool kafka_headers = false; t.read("kafka_headers", kafka_headers)) {
    t.report(errc::bad_value, {"kafka_headers"},
             std::string("was replaced by record_format: write record_format = ") +
                 (kafka_headers ? "\"headers\"" : "\"plain\"") + " (docs/events.md)");
  }
  constexpr std::int64_t max_schema_id = std::numeric_limits<std::int32_t>::max();
  if (int id = 0; t.read("event_schema_id", id, 0, max_schema_id)) {
    out.event_schema_id = static_cast<std::uint32_t>(id);
  }
  if (int id = 0; t.read("dead_letter_schema_id", id, 0, max_schema_id)) {
    out.dead_letter_schema_id = static_cast<std::uint32_t>(id);
  }
  t.read("tls_cert_file", out.tls_cert_file);
  t.read("tls_key_file", out.tls_key_file);
  if (out.tls_cert_file.empty() != out.tls_key_file.empty()) {
    t.report(errc::bad_value, {out.tls_cert_file.empty() ? "tls_cert_file" : "tls_key_file"},
             "tls_cert_file and tls_key_file go together");
  }
  static constexpr std::pair<std::string_view, std::string_view> reserved[] = {
      {"bootstrap.servers", "kafka.bootstrap_servers"},
      {"metadata.broker.list", "kafka.bootstrap_servers"},
      {"client.id", "kafka.client_id"}};
  t.read_text_map("producer", out.producer, reserved);
}

void read_tenant(table_reader& t, std::string& out, std::string_view what) {
  if (!t.read("tenant", out) || out.empty()) {
    t.report(errc::bad_value, {"tenant"}, "every " + std::string(what) + " names its tenant");
  } else if (out.find('/') != std::string::npos) {
    t.report(errc::bad_value, {"tenant"},
             "must not contain '/', which separates the parts of Kafka keys");
  }
}

// A duration the signed timestamp (whole seconds) is compared with: "0" or whole seconds.
// "500ms" would silently become 0 (off) when truncated, so it is an error instead.
bool read_whole_seconds(table_reader& t, std::string_view key, std::chrono::milliseconds& out) {
  if (!t.read_duration(key, out)) return false;
  if (out.count() % 1000 != 0) {
    t.report(errc::bad_value, {std::string(key)},
             "must be whole seconds (\"0\" turns it off): the signed timestamp counts seconds");
  }
  return true;
}

void read_source(table_reader& t, source_config& out) {
  read_tenant(t, out.tenant, "source");
  t.read("public_keys", out.public_keys);
  const bool window_set = read_whole_seconds(t, "replay_window", out.replay_window);
  read_whole_seconds(t, "max_clock_skew", out.max_clock_skew);
  t.read("bearer_tokens", out.bearer_tokens);
  if (t.read("basic_auth", out.basic_auth)) {
    for (const auto& pair : out.basic_auth) {
      // ":" or "user:" would accept an empty password (or user) as a credential.
      const auto colon = pair.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == pair.size()) {
        t.report(errc::bad_value, {"basic_auth"},
                 "each entry is \"user:password\", neither of them empty");
        break;
      }
    }
  }
  t.read("allow_unauthenticated", out.allow_unauthenticated);
  if (!out.bearer_tokens.empty() && !out.basic_auth.empty()) {
    t.report(errc::bad_value, {"basic_auth"},
             "bearer_tokens and basic_auth both need the Authorization header; a source can use "
             "one of them");
  }
  bool authenticated =
      !out.public_keys.empty() || !out.bearer_tokens.empty() || !out.basic_auth.empty();
  if (!authenticated && !out.allow_unauthenticated) {
    t.report(errc::bad_value, {"public_keys"},
             "source has no authentication: set public_keys, bearer_tokens or basic_auth, "
             "or allow_unauthenticated = true to accept anyone who knows the URL");
  }
  if (authenticated && out.allow_unauthenticated) {
    t.report(errc::bad_value, {"allow_unauthenticated"},
             "contradicts the credentials set for this source");
  }
  if (window_set && out.replay_window.count() > 0 && out.public_keys.empty()) {
    t.report(errc::bad_value, {"replay_window"},
             "checks the signed timestamp, so it needs public_keys");
  }
  if (out.public_keys.empty()) out.replay_window = std::chrono::milliseconds{0};
}

// Reads each [WHAT.NAME] table below `t` with read_one, then sorts them by name.
template <typename T, typename F>
void read_named(table_reader& t, std::string_view what, std::vector<T>& out, F read_one) {
  for (std::string_view name : t.keys()) {
    T item;
    item.name = std::string(name);
    if (!is_section_name(name)) {
      t.report(errc::bad_value, {item.name},
               std::string(what) + " name is 1 to 128 of a-z A-Z 0-9 . _ -");
    }
    t.section(name, [&](table_reader& s) { read_one(s, item); });
    out.push_back(std::move(item));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
}

void read_sources(table_reader& t, std::vector<source_config>& out) {
  read_named(t, "a source", out, read_source);
}

void read_roles(table_reader& t, std::vector<role>& out) {
  std::vector<std::string> names;
  if (!t.read("roles", names)) return;
  auto roles = parse_roles(names);
  if (roles) {
    out = std::move(*roles);
  } else {
    t.report(errc::bad_value, {"roles"}, roles.error().message);
  }
}

void read_policy(table_reader& t, policy_config& out) {
  if (t.read("group_id", out.group_id) && out.group_id.empty()) {
    t.report(errc::bad_value, {"group_id"}, "must not be empty");
  }
  t.read("transactional_id", out.transactional_id);
  t.read("soft_bounce_threshold", out.soft_bounce_threshold, 0, 1000);
  t.read_duration("soft_bounce_window", out.soft_bounce_window, 1000ms);
  t.read("suppress_hard_bounces", out.suppress_hard_bounces);
  t.read("suppress_dropped", out.suppress_dropped);
  t.read("suppress_spam_reports", out.suppress_spam_reports);
  t.read("suppress_unsubscribes", out.suppress_unsubscribes);
  t.read("honor_group_unsubscribes", out.honor_group_unsubscribes);
  t.read("honor_account_status", out.honor_account_status);
  t.read("max_batch", out.max_batch, 1, 100'000);
  t.read_duration("max_batch_wait", out.max_batch_wait, 1ms);
}

void read_index(table_reader& t, index_config& out) {
  if (t.read("dir", out.dir) && out.dir.empty()) {
    t.report(errc::bad_value, {"dir"}, "must not be empty");
  }
  t.read_byte_size("block_cache", out.block_cache);
  t.read("expected_keys", out.expected_keys, 1000, 1'000'000'000);
  t.read("max_apply_batch", out.max_apply_batch, 1, 1'000'000);
  // RocksDB's own bounds for a memtable.
  if (t.read_byte_size("write_buffer", out.write_buffer) &&
      (out.write_buffer < 64 * 1024 || out.write_buffer > 64ULL * 1024 * 1024 * 1024)) {
    t.report(errc::bad_value, {"write_buffer"}, "must be between 64KiB and 64GiB");
  }
  t.read_byte_size("max_disk", out.max_disk);
}

void read_report(table_reader& t, report_config& out) {
  if (t.read("dir", out.dir) && out.dir.empty()) {
    t.report(errc::bad_value, {"dir"}, "must not be empty");
  }
  t.read("seen_days", out.seen_days, 1, 30);
  t.read("max_batch", out.max_batch, 1, 1'000'000);
  t.read("metric_tenants", out.metric_tenants, 0, 10'000);
  t.read("bounce_rate_alert", out.bounce_rate_alert, 0, 1);
  t.read("spam_rate_alert", out.spam_rate_alert, 0, 1);
}

void read_dedup(table_reader& t, dedup_config& out) {
  if (t.read("group_id", out.group_id) && out.group_id.empty()) {
    t.report(errc::bad_value, {"group_id"}, "must not be empty");
  }
  t.read("transactional_id", out.transactional_id);
  if (t.read("dir", out.dir) && out.dir.empty()) {
    t.report(errc::bad_value, {"dir"}, "must not be empty");
  }
  t.read("window", out.window, 1000, 100'000'000);
  t.read("max_batch", out.max_batch, 1, 100'000);
  t.read_duration("max_batch_wait", out.max_batch_wait, 1ms);
}

void read_sender(table_reader& t, sender_config& out) {
  if (t.read("group_id", out.group_id) && out.group_id.empty()) {
    t.report(errc::bad_value, {"group_id"}, "must not be empty");
  }
  t.read("transactional_id", out.transactional_id);
  t.read("max_batch", out.max_batch, 1, 10'000);
  t.read_duration("max_batch_wait", out.max_batch_wait, 1ms);
  t.read("max_attempts", out.max_attempts, 1, 100);
  t.read_duration("retry_backoff", out.retry_backoff, 1ms);
  t.read_duration("max_retry_backoff", out.max_retry_backoff, 1ms);
  // Also when only retry_backoff was raised past the default cap.
  if (out.max_retry_backoff < out.retry_backoff) {
    t.report(errc::bad_value, {"max_retry_backoff"},
             "must be at least retry_backoff (" + std::to_string(out.retry_backoff.count()) +
                 "ms), where the backoff starts");
  }
  t.read_duration("max_rate_limit_wait", out.max_rate_limit_wait, 1000ms);
}

// An address SendGrid takes as from or reply_to: LOCAL@DOMAIN, both parts non-empty, no
// spaces or control characters, ASCII only (SendGrid refuses Unicode addresses there).
// SendGrid checks the rest; this catches what is certainly wrong before the first send.
void check_email(table_reader& t, std::string_view key, const std::string& email) {
  auto at = email.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == email.size() ||
      email.find('@', at + 1) != std::string::npos) {
    t.report(errc::bad_value, {std::string(key)},
             "expected an address like sender@example.com (one '@', text on both sides), got " +
                 in_quotes(email));
  } else if (std::any_of(email.begin(), email.end(),
                         [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    t.report(errc::bad_value, {std::string(key)},
             "must be ASCII: SendGrid refuses addresses with Unicode characters here, got " +
                 in_quotes(email));
  } else if (std::any_of(email.begin(), email.end(), [](char c) {
               return static_cast<unsigned char>(c) <= ' ' || c == '\x7f';
             })) {
    t.report(errc::bad_value, {std::string(key)},
             "must not contain spaces or control characters, got " + in_quotes(email));
  }
}

// http[s]://HOST[:PORT][/PATH]: HOST a name, an IPv4 address or a bracketed IPv6 address.
// No user info, query or fragment: the sender appends /v3/... to it. The host (without
// brackets) of such a URL, or nullopt when it is not one.
std::optional<std::string_view> api_url_host(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return std::nullopt;
  }
  std::size_t host_end = 0;
  std::string_view host;
  if (rest.starts_with('[')) {
    host_end = rest.find(']');
    if (host_end == std::string_view::npos || host_end == 1) return std::nullopt;
    bool ipv6 = std::all_of(rest.begin() + 1, rest.begin() + static_cast<std::ptrdiff_t>(host_end),
                            [](char c) {
                              return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                                     (c >= 'A' && c <= 'F') || c == ':' || c == '.';
                            });
    if (!ipv6) return std::nullopt;
    host = rest.substr(1, host_end - 1);
    ++host_end;
  } else {
    host_end = std::min(rest.find_first_of(":/"), rest.size());
    host = rest.substr(0, host_end);
    bool name = !host.empty() && host.front() != '.' && host.front() != '-' &&
                std::all_of(host.begin(), host.end(), [](char c) {
                  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '-';
                });
    if (!name) return std::nullopt;
  }
  rest.remove_prefix(host_end);
  if (rest.starts_with(':')) {
    std::size_t digits = std::min(rest.find('/'), rest.size()) - 1;
    std::string_view port = rest.substr(1, digits);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    if (int number = std::stoi(std::string(port)); number == 0 || number > 65535) {
      return std::nullopt;
    }
    rest.remove_prefix(1 + digits);
  }
  if (rest.empty()) return host;
  // A path: visible ASCII, no query or fragment.
  const bool path = rest.front() == '/' && std::all_of(rest.begin(), rest.end(), [](char c) {
                      return c > ' ' && c < '\x7f' && c != '?' && c != '#';
                    });
  if (!path) return std::nullopt;
  return host;
}

void read_integration(table_reader& t, integration_config& out) {
  read_tenant(t, out.tenant, "integration");
  // The one key that must never be here: an API key in a file that is copied around, checked
  // in and printed. Its value is not repeated in the message.
  if (t.contains({"api_key"})) {
    std::string ignored;
    t.read("api_key", ignored);
    t.report(errc::bad_value, {"api_key"},
             "the API key is never written in the configuration: name a file holding it "
             "(api_key_file) or an environment variable holding it (api_key_env)");
  }
  t.read("api_key_file", out.api_key_file);
  if (t.read("api_key_env", out.api_key_env) && !out.api_key_env.empty() &&
      !is_env_name(out.api_key_env)) {
    // Not quoted back: a key pasted here by mistake would end up in the log.
    t.report(errc::bad_value, {"api_key_env"},
             "expected the name of the environment variable that holds the key (letters, digits "
             "and '_', not starting with a digit); the value is not shown, as it may be the key "
             "itself");
  }
  if (out.api_key_file.empty() && out.api_key_env.empty() && !t.contains({"api_key"})) {
    t.report(errc::bad_value, {"api_key_file"},
             "every integration needs api_key_file (a file whose first line is the SendGrid API "
             "key) or api_key_env (an environment variable holding it); the key itself is never "
             "written in the configuration");
  } else if (!out.api_key_file.empty() && !out.api_key_env.empty()) {
    t.report(errc::bad_value, {"api_key_env"},
             "api_key_file and api_key_env are both set; an integration reads its key from one "
             "of them");
  }
  if (!t.read("from_email", out.from_email) || out.from_email.empty()) {
    t.report(errc::bad_value, {"from_email"},
             "every integration names its From address, a verified sender of the account");
  } else {
    check_email(t, "from_email", out.from_email);
  }
  t.read("from_name", out.from_name);
  if (t.read("reply_to_email", out.reply_to_email) && !out.reply_to_email.empty()) {
    check_email(t, "reply_to_email", out.reply_to_email);
  }
  t.read("reply_to_name", out.reply_to_name);
  t.read("default_asm_group", out.default_asm_group, 0, std::numeric_limits<int>::max());
  if (t.read("api_url", out.api_url)) {
    const auto host = api_url_host(out.api_url);
    if (!host) {
      t.report(
          errc::bad_value, {"api_url"},
          "expected https://HOST[:PORT][/PATH] (US accounts: https://api.sendgrid.com, EU "
          "subusers: https://api.eu.sendgrid.com; http:// only for a loopback test server), got " +
              in_quotes(out.api_url));
    } else if (out.api_url.starts_with("http://") && !is_loopback_host(*host)) {
      // The API key travels in every request's Authorization header: in clear text only
      // to this machine (a local test server), never over a network.
      t.report(errc::bad_value, {"api_url"},
               "http:// is allowed only for a loopback host (127.0.0.0/8, [::1], localhost), "
               "such as a local test server; any other host needs https://, got " +
                   in_quotes(out.api_url));
    }
  }
  t.read("ca_file", out.ca_file);
  t.read("rate_limit", out.rate_limit, 0);
  t.read("concurrency", out.concurrency, 1, 256);
  t.read_duration("timeout", out.timeout, 100ms);
  t.read("is_default", out.is_default);
}

void read_integrations(table_reader& t, std::vector<integration_config>& out) {
  read_named(t, "an integration", out, read_integration);
  // Requests that name no integration go to their tenant's default, so a tenant with
  // several needs exactly one; a lone integration is its tenant's default anyway.
  std::map<std::string_view, std::vector<const integration_config*>> by_tenant;
  for (const auto& integration : out) {
    if (!integration.tenant.empty()) by_tenant[integration.tenant].push_back(&integration);
  }
  for (const auto& [tenant, integrations] : by_tenant) {
    std::vector<const integration_config*> defaults;
    std::string names;
    for (const auto* integration : integrations) {
      if (integration->is_default) defaults.push_back(integration);
      names += (names.empty() ? "" : ", ") + in_quotes(integration->name);
    }
    if (defaults.size() > 1) {
      for (std::size_t i = 1; i < defaults.size(); ++i) {
        t.report(errc::bad_value, {defaults[i]->name, "is_default"},
                 "tenant " + in_quotes(tenant) + " already has a default integration, " +
                     in_quotes(defaults[0]->name) + "; a tenant has at most one");
      }
    } else if (defaults.empty() && integrations.size() > 1) {
      t.report(errc::bad_value, {integrations.front()->name, "is_default"},
               "tenant " + in_quotes(tenant) + " has several integrations (" + names +
                   "): mark exactly one is_default = true, for requests that name none");
    }
  }
}

// The ledger record of a request goes to the request's own partition number, so that one
// consumer owns both; the two topics must have as many partitions.
void check_send_ledger(table_reader& t, const topics_config& topics) {
  if (topics.send_ledger.partitions == topics.send_requests.partitions) return;
  t.report(errc::bad_value, {"topics", "send_ledger", "partitions"},
           "is " + std::to_string(topics.send_ledger.partitions) +
               " but must equal topics.send_requests.partitions (" +
               std::to_string(topics.send_requests.partitions) +
               "): the ledger partition of a send request is the request's own partition "
               "number");
}

// The topics whose partition n holds what was made from partition n of the events topic:
// unset (0), they are created with as many partitions as it (kafka::all_topics); set,
// it must be as many.
void check_co_partitioned_with_events(table_reader& t, const topics_config& topics) {
  const std::pair<std::string_view, const topic_spec*> followers[] = {
      {"soft_bounces", &topics.soft_bounces}, {"events_deduplicated", &topics.events_deduplicated}};
  for (const auto& [key, spec] : followers) {
    if (spec->partitions != 0 && spec->partitions != topics.events.partitions) {
      t.report(errc::bad_value, {"topics", std::string(key), "partitions"},
               "is " + std::to_string(spec->partitions) +
                   " but must equal topics.events.partitions (" +
                   std::to_string(topics.events.partitions) +
                   "): its partition n holds what came from partition n of the events topic");
    }
  }
}

void read_daemon(table_reader& t, daemon_config& out, const environment& env,
                 const load_options& options) {
  read_roles(t, out.roles);
  t.section("log", [&](table_reader& s) { read_log(s, out.log); });
  t.section("admin", [&](table_reader& s) { read_admin(s, out.admin, env, options); });
  t.section("kafka", [&](table_reader& s) { read_kafka(s, out.kafka, options); });
  t.section("topics", [&](table_reader& s) { read_topics(s, out.topics); });
  t.section("ingest", [&](table_reader& s) { read_ingest(s, out.ingest); });
  t.section("policy", [&](table_reader& s) { read_policy(s, out.policy); });
  t.section("index", [&](table_reader& s) { read_index(s, out.index); });
  t.section("sender", [&](table_reader& s) { read_sender(s, out.sender); });
  t.section("report", [&](table_reader& s) { read_report(s, out.report); });
  t.section("dedup", [&](table_reader& s) { read_dedup(s, out.dedup); });
  t.section("sources", [&](table_reader& s) { read_sources(s, out.sources); });
  t.section("integrations", [&](table_reader& s) { read_integrations(s, out.integrations); });
  check_send_ledger(t, out.topics);
  check_co_partitioned_with_events(t, out.topics);
}

}  // namespace

std::string_view to_string(role r) noexcept {
  switch (r) {
    case role::ingest:
      return "ingest";
    case role::policy:
      return "policy";
    case role::index:
      return "index";
    case role::sender:
      return "sender";
    case role::report:
      return "report";
    case role::dedup:
      return "dedup";
  }
  return "unknown";
}

result<std::vector<role>> parse_roles(const std::vector<std::string>& names) {
  std::vector<std::string_view> known;
  for (role r : all_roles) known.push_back(to_string(r));
  std::vector<role> roles;
  std::string problems;
  auto problem = [&](const std::string& text) {
    if (!problems.empty()) problems += "; ";
    problems += text;
  };
  if (names.empty()) problem("at least one role is required");
  for (const auto& name : names) {
    auto at = std::find(known.begin(), known.end(), name);
    if (at == known.end()) {
      std::string message = "unknown role " + in_quotes(name) +
                            " (expected ingest, policy, index, sender, report or dedup";
      if (auto suggestion = closest(name, known); !suggestion.empty()) {
        message += "; did you mean " + in_quotes(suggestion) + "?";
      }
      problem(message + ")");
      continue;
    }
    const role r = all_roles[at - known.begin()];
    if (std::find(roles.begin(), roles.end(), r) != roles.end()) {
      problem("role " + in_quotes(name) + " is listed twice");
    } else {
      roles.push_back(r);
    }
  }
  const auto runs = [&](role r) { return std::find(roles.begin(), roles.end(), r) != roles.end(); };
  if (runs(role::sender) && !runs(role::index)) {
    problem(
        "the sender role checks every recipient against the local index replica, so it needs the "
        "index role too");
  }
  if (!problems.empty()) return failure(errc::bad_value, problems);
  return roles;
}

result<daemon_config> load_string(std::string_view toml_text, std::string_view source_name,
                                  const environment& env, load_options options) {
  diagnostics errors{std::string(source_name)};
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    // The parser stops at its first error, so this one is all there is to report.
    errors.add(errc::syntax, origin{{}, e.source().begin.line, e.source().begin.column}, "",
               std::string(e.description()));
    return errors.to_failure();
  }

  env_origins origins;
  apply_environment(root, env, env_rules{top_level_keys, dotted_key_tables}, origins, errors);

  read_context context(origins, errors);
  table_reader reader(context, {}, &root);
  daemon_config config;
  read_daemon(reader, config, env, options);
  reader.finish();
  if (!errors.empty()) return errors.to_failure();
  return config;
}

result<daemon_config> load_file(const std::filesystem::path& file, const environment& env,
                                load_options options) {
  auto cannot_read = [&](int error) {
    return failure(errc::io,
                   file.string() + ": cannot read: " + std::generic_category().message(error));
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!in) return cannot_read(errno);
  std::string text;
  char buffer[16 * 1024];
  while (true) {
    std::size_t n = std::fread(buffer, 1, sizeof buffer, in.get());
    text.append(buffer, n);
    if (n < sizeof buffer) break;
  }
  if (std::ferror(in.get())) return cannot_read(errno);
  return load_string(text, file.string(), env, options);
}

}  // namespace mailhook::config
