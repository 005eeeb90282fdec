// Loading daemon_config: parse the file, lay the environment over it, then one function
// per section reads and checks its keys. To add a section: a struct in daemon_config.h,
// a read_<section>() here, one section() line in read_daemon(), and its keys in
// deploy/config/mailhook.example.toml and docs/configuration.md.
#include "config/daemon_config.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <memory>

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

void read_admin(table_reader& t, admin_config& out) {
  t.read("listen", out.listen);
}

void read_kafka(table_reader& t, kafka_config& out) {
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
}

void read_topics(table_reader& t, topics_config& out) {
  const std::pair<std::string_view, topic_spec*> topics[] = {{"events", &out.events},
                                                             {"dlq", &out.dlq},
                                                             {"suppressions", &out.suppressions},
                                                             {"send_requests", &out.send_requests},
                                                             {"send_results", &out.send_results}};
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
  t.read("max_connections", out.max_connections, 1, 1'000'000);
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
  t.read("kafka_headers", out.kafka_headers);
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

// A source name is a path segment of the webhook URL.
bool is_source_name(std::string_view name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

void read_source(table_reader& t, source_config& out) {
  if (!t.read("tenant", out.tenant) || out.tenant.empty()) {
    t.report(errc::bad_value, {"tenant"}, "every source names its tenant");
  } else if (out.tenant.find('/') != std::string::npos) {
    t.report(errc::bad_value, {"tenant"},
             "must not contain '/', which separates the parts of Kafka keys");
  }
  t.read("public_keys", out.public_keys);
  t.read_duration("replay_window", out.replay_window);
  t.read("bearer_tokens", out.bearer_tokens);
  if (t.read("basic_auth", out.basic_auth)) {
    for (const auto& pair : out.basic_auth) {
      if (pair.find(':') == std::string::npos) {
        t.report(errc::bad_value, {"basic_auth"}, "each entry is \"user:password\"");
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
  if (out.replay_window.count() > 0 && out.public_keys.empty()) {
    t.report(errc::bad_value, {"replay_window"},
             "checks the signed timestamp, so it needs public_keys");
  }
}

void read_sources(table_reader& t, std::vector<source_config>& out) {
  for (std::string_view name : t.keys()) {
    source_config source;
    source.name = std::string(name);
    if (!is_source_name(name)) {
      t.report(errc::bad_value, {source.name}, "a source name is 1 to 128 of a-z A-Z 0-9 . _ -");
    }
    t.section(name, [&](table_reader& s) { read_source(s, source); });
    out.push_back(std::move(source));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
}

void check_roles(table_reader& t, const std::vector<std::string>& roles) {
  std::vector<std::string_view> known(std::begin(all_roles), std::end(all_roles));
  if (roles.empty()) t.report(errc::bad_value, {"roles"}, "at least one role is required");
  for (std::size_t i = 0; i < roles.size(); ++i) {
    const std::string& role = roles[i];
    if (std::find(known.begin(), known.end(), role) == known.end()) {
      std::string message =
          "unknown role " + in_quotes(role) + " (expected ingest, policy, index or sender";
      if (auto suggestion = closest(role, known); !suggestion.empty()) {
        message += "; did you mean " + in_quotes(suggestion) + "?";
      }
      t.report(errc::bad_value, {"roles"}, message + ")");
    } else if (std::find(roles.begin(), roles.begin() + static_cast<std::ptrdiff_t>(i), role) !=
               roles.begin() + static_cast<std::ptrdiff_t>(i)) {
      t.report(errc::bad_value, {"roles"}, "role " + in_quotes(role) + " is listed twice");
    }
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
}

void read_daemon(table_reader& t, daemon_config& out) {
  if (t.read("roles", out.roles)) check_roles(t, out.roles);
  t.section("log", [&](table_reader& s) { read_log(s, out.log); });
  t.section("admin", [&](table_reader& s) { read_admin(s, out.admin); });
  t.section("kafka", [&](table_reader& s) { read_kafka(s, out.kafka); });
  t.section("topics", [&](table_reader& s) { read_topics(s, out.topics); });
  t.section("ingest", [&](table_reader& s) { read_ingest(s, out.ingest); });
  t.section("policy", [&](table_reader& s) { read_policy(s, out.policy); });
  t.section("index", [&](table_reader& s) { read_index(s, out.index); });
  t.section("sources", [&](table_reader& s) { read_sources(s, out.sources); });
}

}  // namespace

result<daemon_config> load_string(std::string_view toml_text, std::string_view source_name,
                                  const environment& env) {
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
  read_daemon(reader, config);
  reader.finish();
  if (!errors.empty()) return errors.to_failure();
  return config;
}

result<daemon_config> load_file(const std::filesystem::path& file, const environment& env) {
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
  return load_string(text, file.string(), env);
}

}  // namespace mailhook::config
