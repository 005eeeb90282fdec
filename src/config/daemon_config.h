// The daemon's configuration: one TOML file, every key overridable by a MAILHOOK_*
// environment variable, checked completely at start (see docs/configuration.md). The
// structs are plain values: load once in main, then hand copies or const references to
// the modules; nothing here is shared mutable state.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/result.h"
#include "config/environment.h"
#include "config/errc.h"
#include "config/values.h"

namespace mailhook::config {

struct log_config {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  mailhook::log_format format = mailhook::log_format::text;

  bool operator==(const log_config&) const = default;
};

// What a token of the admin API may do (docs/security.md): read covers checks, listing,
// stats, export and the bounce report; write covers manual changes as well.
enum class admin_scope { read, write };

// [[admin.tokens]]: one bearer token of the admin API. The secret is never written in the
// configuration: `file` or `env` says where it is read from when the configuration loads.
struct admin_token_config {
  std::string name;  // who: goes into logs and into the changelog records of changes
  admin_scope scope = admin_scope::read;
  std::string file;  // a file holding the secret (one trailing newline is dropped)
  std::string env;   // or an environment variable holding it; exactly one of the two
  // SHA-256 of the secret, set by a load with load_options::read_secrets (all zero
  // otherwise): the secret itself is not kept, so no copy of the configuration holds it.
  std::array<unsigned char, 32> secret_sha256{};

  bool operator==(const admin_token_config&) const = default;
};

// [admin.tls]: a PEM certificate chain and its private key; with both, the admin
// listener speaks HTTPS.
struct admin_tls_config {
  std::string certificate;
  std::string private_key;

  bool operator==(const admin_tls_config&) const = default;
};

struct admin_config {
  listen_address listen{"127.0.0.1", 9464};  // /metrics, /healthz, /readyz, /v1
  // Bearer tokens for /v1. With none, /v1 answers 403 unless allow_unauthenticated.
  std::vector<admin_token_config> tokens;
  // /v1 without tokens, for a development listener on loopback only.
  bool allow_unauthenticated = false;
  // Host header names accepted besides localhost, the listen host and IP literals
  // (DNS rebinding defence); "*" accepts any.
  std::vector<std::string> allowed_hosts;
  admin_tls_config tls;
  // [admin.monitoring] listen: a second, unauthenticated listener with /metrics, /healthz
  // and /readyz only; none by default.
  std::optional<listen_address> monitoring_listen;

  bool operator==(const admin_config&) const = default;
};

struct topic_spec {
  std::string name;
  int partitions = 1;
  int replication_factor = 1;
  bool compacted = false;
  std::chrono::milliseconds retention{0};  // 0 = broker default
  // min.insync.replicas when created; 0 = broker default. With acks=all, a write then
  // needs this many copies, so one broker lost costs no acknowledged record.
  int min_insync_replicas = 0;

  bool operator==(const topic_spec&) const = default;
};

struct topics_config {
  topic_spec events{"sendgrid.events", 12, 1};
  topic_spec dlq{"sendgrid.events.dlq", 3, 1};
  topic_spec suppressions{"mailhook.suppressions", 12, 1, true};
  topic_spec send_requests{"mailhook.send.requests", 12, 1};
  topic_spec send_results{"mailhook.send.results", 12, 1};
  // The sender's write-ahead log (docs/sending.md): as many partitions as send_requests,
  // read only from the position committed with the request offsets, so a week is ample.
  topic_spec send_ledger{"mailhook.send.ledger", 12, 1, false,
                         std::chrono::milliseconds(7LL * 24 * 3600 * 1000)};
  // The policy role's soft-bounce history (proto/mailhook/v1/soft_bounces.proto) and the
  // deduplicated copy of the events topic (docs/events.md): each record goes to the
  // partition number of the events it comes from, so both have as many partitions as
  // the events topic. 0, the default: created with as many as topics.events.
  topic_spec soft_bounces{"mailhook.soft-bounces", 0, 1, true};
  topic_spec events_deduplicated{"sendgrid.events.deduplicated", 0, 1};

  bool operator==(const topics_config&) const = default;
};

struct kafka_config {
  std::string bootstrap_servers = "127.0.0.1:9092";
  std::string client_id = "mailhook";
  bool create_topics = true;                        // create missing topics at start
  std::chrono::milliseconds health_interval{1000};  // how often readiness probes the cluster
  std::chrono::milliseconds health_timeout{2000};
  // [kafka.properties]: passed verbatim to librdkafka. Values may be TOML strings,
  // integers or booleans; they are stored as text.
  std::map<std::string, std::string> properties;
  // A file holding the SASL password (one trailing newline is dropped), so that it is not
  // written in the configuration; read when the configuration loads.
  std::string sasl_password_file;
  // What sasl_password_file holds, passed to librdkafka as sasl.password by every client
  // (kafka::make_conf); empty without the file or when the load did not read it.
  std::string sasl_password;

  bool operator==(const kafka_config&) const = default;
};

// [ingest]: the public webhook listener and how events are published.
enum class event_encoding { protobuf, json };
// How ingest's records carry what a consumer needs besides the value (docs/events.md):
// confluent = the Confluent Schema Registry wire format, no headers; headers = a bare
// value and the mailhook-event-id, mailhook-tenant and mailhook-schema headers; plain = a
// bare value alone.
enum class record_format { confluent, headers, plain };

struct ingest_config {
  listen_address listen{"127.0.0.1", 8080};  // the public port: only /webhooks/sendgrid/{source}
  int threads = 0;                           // I/O threads; 0 = one per core
  std::uint64_t max_body = 8 * 1024 * 1024;  // SendGrid batches reach ~768 KB
  std::uint64_t max_header = 16 * 1024;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds idle_timeout{75'000};
  // After an error answer the connection waits this long for another request, not
  // idle_timeout: a client that was refused gets no long-lived socket out of it.
  std::chrono::milliseconds error_idle_timeout{2'000};
  int max_connections = 4096;
  // Per client address (docs/security.md); 0 = no limit. Behind a load balancer every
  // request comes from its few addresses: raise them there.
  int max_connections_per_client = 256;
  std::uint64_t max_body_bytes_per_client = 64 * 1024 * 1024;  // bodies being read
  // A body must arrive at least this fast (bytes per second, after a grace of one
  // second per 64 KiB of it, at least 5 s); slower senders are cut off (slowloris).
  std::uint64_t min_upload_rate = 16 * 1024;
  // Signatures of accepted requests remembered to refuse replays; 0 = no replay guard.
  int replay_cache_entries = 262'144;
  // Kafka must confirm a whole batch within this, or the answer is 503 (SendGrid retries).
  std::chrono::milliseconds request_deadline{10'000};
  // Bytes held for batches not yet confirmed by Kafka; past it new batches get 503.
  std::uint64_t inflight_budget = 256 * 1024 * 1024;
  std::chrono::milliseconds retry_after{5'000};  // the Retry-After of a 503
  event_encoding encoding = event_encoding::protobuf;
  bool keep_raw_event = false;  // also publish each event's JSON exactly as received
  // A dead letter's payload larger than this is split over several dead letters: the
  // broker refuses a record over its message.max.bytes (1 MB by default), and an
  // authentic body that can never be dead-lettered would be answered 503 forever.
  std::uint64_t dead_letter_part_bytes = 512 * 1024;
  record_format format = record_format::confluent;
  // The Schema Registry ids framed values name (record_format = "confluent"): those the
  // registry gave proto/mailhook/v1/email_event.proto under each topic's value subject.
  std::uint32_t event_schema_id = 1;
  std::uint32_t dead_letter_schema_id = 2;
  std::string tls_cert_file;  // PEM chain; with tls_key_file, the listener speaks HTTPS
  std::string tls_key_file;
  // [ingest.producer]: librdkafka settings for the events producer, over mailhook's
  // defaults (idempotence, lz4, batching) and over [kafka.properties].
  std::map<std::string, std::string> producer;

  bool operator==(const ingest_config&) const = default;
};

// [sources.NAME]: one SendGrid Event Webhook, posting to /webhooks/sendgrid/NAME.
struct source_config {
  std::string name;
  std::string tenant;
  std::vector<std::string>
      public_keys;  // base64 SPKI, as SendGrid shows them; several for rotation
  // Max age of the signed timestamp, and how long its signature is remembered; "0" =
  // off. SendGrid retries for up to 24 h after an event (docs/security.md): 25 h.
  std::chrono::milliseconds replay_window{25LL * 3600 * 1000};
  std::chrono::milliseconds max_clock_skew{5 * 60 * 1000};  // how far ahead it may be
  std::vector<std::string> bearer_tokens;  // accepted "Authorization: Bearer" tokens
  std::vector<std::string> basic_auth;     // accepted "user:password" pairs
  bool allow_unauthenticated =
      false;  // must be said explicitly for a source without any of the above

  bool operator==(const source_config&) const = default;
};

// [policy]: the role that turns events into suppression changes (docs/suppressions.md).
struct policy_config {
  std::string group_id = "mailhook-policy";  // consumer group on the events topic
  // Kafka transactional.id; stable per instance so that a restarted instance fences its
  // own unfinished transaction. Empty: "mailhook-policy-<hostname>".
  std::string transactional_id;
  // Soft bounces (type blocked or expired) within soft_bounce_window that suppress an
  // address as soft_bounce; 0 = never, as SendGrid.
  int soft_bounce_threshold = 0;
  std::chrono::milliseconds soft_bounce_window{7LL * 24 * 3600 * 1000};
  // The rows of the policy table, each switchable.
  bool suppress_hard_bounces = true;
  bool suppress_dropped = true;  // Bounced / Invalid / Spam Reporting / Unsubscribed Address
  bool suppress_spam_reports = true;
  bool suppress_unsubscribes = true;
  bool honor_group_unsubscribes = true;
  bool honor_account_status = true;
  // One Kafka transaction carries at most this many events, or what arrived within
  // max_batch_wait.
  int max_batch = 10'000;
  std::chrono::milliseconds max_batch_wait{100};

  bool operator==(const policy_config&) const = default;
};

// [index]: the local RocksDB replica of the suppressions changelog.
struct index_config {
  std::string dir = "/var/lib/mailhook/index";
  std::uint64_t block_cache = 256 * 1024 * 1024;  // RocksDB block cache, bytes
  // Keys the in-memory verdict table is sized for at start (23 to 46 bytes each); it is
  // sized for what the replica holds when that is more, and doubles when it fills.
  int expected_keys = 1'000'000;

  // Changelog records applied per RocksDB write, at most.
  int max_apply_batch = 10'000;
  // RocksDB's memtable: writes skip the WAL, so this much is kept in memory before a flush.
  std::uint64_t write_buffer = 64 * 1024 * 1024;
  // The replica stops keeping changes (not ready, no "allowed" answers) while its SST
  // files and memtables take more than this; 0: no limit but the disk's.
  std::uint64_t max_disk = 0;

  bool operator==(const index_config&) const = default;
};

// [report]: the bounce report's counts per tenant and day (docs/report.md).
struct report_config {
  std::string dir = "/var/lib/mailhook/report";  // its RocksDB store
  // Days before its arrival day that an event's sg_event_id is still recognized as counted;
  // SendGrid retries a delivery for up to 24 hours.
  int seen_days = 3;
  int max_batch = 10'000;  // records counted per RocksDB write, at most
  // Tenants with a label of their own in mailhook_report_events_total besides those of
  // [sources]; the events of any others are counted under tenant="_other".
  int metric_tenants = 100;
  // The rates over which the MailhookTenantBounceRate and MailhookTenantSpamRate alerts
  // fire, exposed as mailhook_report_alert_threshold for their rules. SendGrid reviews
  // senders whose bounces pass a few percent and whose spam reports pass 0.1%.
  double bounce_rate_alert = 0.05;
  double spam_rate_alert = 0.001;
  bool operator==(const report_config&) const = default;
};

// [dedup]: the opt-in role that copies the events topic to topics.events_deduplicated,
// each sg_event_id once (docs/events.md, "Exactly once, deduplicated").
struct dedup_config {
  std::string group_id = "mailhook-dedup";  // consumer group on the events topic
  // Kafka transactional.id; stable per instance. Empty: "mailhook-dedup-<hostname>".
  std::string transactional_id;
  std::string dir = "/var/lib/mailhook/dedup";  // its RocksDB store of the seen ids
  // The sg_event_ids remembered per partition: the newest this many of the
  // deduplicated topic's offsets. A duplicate further behind than that passes.
  int window = 1'000'000;
  int max_batch = 10'000;  // events per Kafka transaction, at most
  std::chrono::milliseconds max_batch_wait{100};
  bool operator==(const dedup_config&) const = default;
};

// [integrations.NAME]: one SendGrid account a tenant sends through (docs/sending.md).
struct integration_config {
  std::string name;
  std::string tenant;
  // Where the API key is read from at start: a file (its first line) or an environment
  // variable; exactly one. The key itself is never part of the configuration.
  std::string api_key_file;
  std::string api_key_env;
  std::string from_email;  // a verified sender of the account
  std::string from_name;
  std::string reply_to_email;  // empty: no reply_to
  std::string reply_to_name;
  int default_asm_group = 0;  // unsubscribe group for requests that name none; 0 = none
  // https://api.sendgrid.com (US) or https://api.eu.sendgrid.com (EU subusers); http:// only
  // for a loopback host (127.0.0.0/8, ::1, localhost): a local test server.
  std::string api_url = "https://api.sendgrid.com";
  std::string ca_file;    // PEM bundle trusted instead of the system's; empty = system
  double rate_limit = 0;  // API calls per second at most; 0 = no limit of our own
  int concurrency = 4;    // API calls in flight at most
  std::chrono::milliseconds timeout{30'000};  // per API call: connect, send, answer
  bool is_default = false;  // the tenant's integration for requests that name none

  bool operator==(const integration_config&) const = default;
};

// [sender]: the role that delivers send requests (docs/sending.md).
struct sender_config {
  std::string group_id = "mailhook-sender";  // consumer group on send_requests
  // Kafka transactional.id of the results producer; stable per instance. Empty:
  // "mailhook-sender-<hostname>".
  std::string transactional_id;
  int max_batch = 200;  // requests per transaction, at most
  std::chrono::milliseconds max_batch_wait{50};
  // API calls per request at most (429, 5xx and failed connections are retried), with jittered
  // exponential backoff from retry_backoff up to max_retry_backoff.
  int max_attempts = 5;
  std::chrono::milliseconds retry_backoff{500};
  std::chrono::milliseconds max_retry_backoff{30'000};
  // A 429 waits until X-RateLimit-Reset, but never longer than this per wait.
  std::chrono::milliseconds max_rate_limit_wait{60'000};

  bool operator==(const sender_config&) const = default;
};

// What a process runs (docs/ARCHITECTURE.md, "Process layout").
enum class role : std::uint8_t { ingest, policy, index, sender, report, dedup };
inline constexpr role all_roles[] = {role::ingest, role::policy, role::index,
                                     role::sender, role::report, role::dedup};
[[nodiscard]] std::string_view to_string(role r) noexcept;

// `names` as roles, by the rules of the `roles` key and of `serve --roles`: at least one,
// each known (an unknown one with the closest known name), none twice, and sender only
// with index (it checks every recipient against the local replica). Every broken rule is
// in the failure's message, "; " between them.
[[nodiscard]] result<std::vector<role>> parse_roles(const std::vector<std::string>& names);

struct daemon_config {
  // At least one, without duplicates, sender only with index (parse_roles).
  std::vector<role> roles{role::ingest, role::policy, role::index, role::sender};
  [[nodiscard]] bool runs(role r) const noexcept {
    return std::find(roles.begin(), roles.end(), r) != roles.end();
  }
  log_config log;
  admin_config admin;
  kafka_config kafka;
  topics_config topics;
  ingest_config ingest;
  policy_config policy;
  index_config index;
  sender_config sender;
  report_config report;
  dedup_config dedup;

  std::vector<source_config> sources;            // sorted by name
  std::vector<integration_config> integrations;  // sorted by name

  bool operator==(const daemon_config&) const = default;
};

struct load_options {
  // Read the secrets the configuration names (admin.tokens: files and variables of `env`)
  // and check them. The daemon and `config check` do. Commands that only need addresses
  // from the file (the suppressions CLI, send-test) do not, so that an operator who may
  // not read the daemon's secrets can still run them.
  bool read_secrets = true;
  // Read kafka.sasl_password_file. Every command that connects to Kafka needs it (the
  // daemon, `config check`, `topics ensure`, `suppressions import`); the others do not,
  // for the same reason as above.
  bool read_kafka_password = true;
};

// Reads `file`, applies the MAILHOOK_* variables of `env` over it and checks the result.
// On failure the message lists every problem found, one per line, each naming the key
// and where it came from ("FILE:LINE:COL: KEY: ..." or "environment NAME: KEY: ...");
// the code is errc::io when the file cannot be read, else the first problem's.
[[nodiscard]] result<daemon_config> load_file(const std::filesystem::path& file,
                                              const environment& env, load_options options = {});

// The same for text already in memory; `source_name` stands for the file in messages.
[[nodiscard]] result<daemon_config> load_string(std::string_view toml_text,
                                                std::string_view source_name,
                                                const environment& env, load_options options = {});

}  // namespace mailhook::config
