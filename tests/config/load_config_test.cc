// Tests for loading daemon_config: defaults, every key, the environment layer, and errors
// that name the key and where it came from.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/daemon_config.h"
#include "support/temp_dir.h"

namespace mailhook::config {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

const environment no_env;

result<daemon_config> load(std::string_view text, const environment& env = no_env) {
  return load_string(text, "mailhook.toml", env);
}

// The failure message, or a marker that makes the expectation fail readably.
std::string error_of(const result<daemon_config>& loaded) {
  return loaded ? std::string("<loaded without error>") : loaded.error().message;
}

TEST(load_config, empty_file_gives_the_defaults) {
  auto loaded = load("");
  ASSERT_TRUE(loaded) << error_of(loaded);
  // A named object: g++ 12 at -O3 warns (wrongly) about a temporary of this size.
  const daemon_config defaults;
  EXPECT_EQ(*loaded, defaults);
  EXPECT_EQ(loaded->roles,
            (std::vector<role>{role::ingest, role::policy, role::index, role::sender}));
  EXPECT_EQ(loaded->admin.listen, (listen_address{"127.0.0.1", 9464}));
  EXPECT_EQ(loaded->kafka.health_interval, 1000ms);
  EXPECT_EQ(loaded->topics.suppressions.compacted, true);
}

TEST(load_config, reads_every_key) {
  auto loaded = load(R"(
roles = ["ingest", "index"]

[log]
level = "debug"
format = "json"

[admin]
listen = "[::1]:0"

[kafka]
bootstrap_servers = "k1:9092,k2:9092"
client_id = "mh-1"
create_topics = false
health_interval = "500ms"
health_timeout = "3s"

[kafka.properties]
"security.protocol" = "SASL_SSL"
linger.ms = 5
enable.idempotence = true

[topics.events]
name = "ev"
partitions = 64
replication_factor = 3
min_insync_replicas = 2
compacted = false
retention = "7d"

[topics.dlq]
name = "ev.dlq"
partitions = 6
replication_factor = 3
retention = "30d"

[topics.suppressions]
name = "supp"
partitions = 32
replication_factor = 3
compacted = true
retention = "0"

[topics.send_requests]
name = "req"
partitions = 24
replication_factor = 2

[topics.send_results]
name = "res"
partitions = 24
replication_factor = 2
retention = "1h30m"

[topics.send_ledger]
name = "ledger"
partitions = 24
replication_factor = 2
retention = "2d"
)");
  ASSERT_TRUE(loaded) << error_of(loaded);
  const daemon_config& c = *loaded;
  EXPECT_EQ(c.roles, (std::vector<role>{role::ingest, role::index}));
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, log_format::json);
  EXPECT_EQ(c.admin.listen, (listen_address{"::1", 0}));
  EXPECT_EQ(c.kafka.bootstrap_servers, "k1:9092,k2:9092");
  EXPECT_EQ(c.kafka.client_id, "mh-1");
  EXPECT_FALSE(c.kafka.create_topics);
  EXPECT_EQ(c.kafka.health_interval, 500ms);
  EXPECT_EQ(c.kafka.health_timeout, 3s);
  EXPECT_EQ(
      c.kafka.properties,
      (std::map<std::string, std::string>{
          {"enable.idempotence", "true"}, {"linger.ms", "5"}, {"security.protocol", "SASL_SSL"}}));
  EXPECT_EQ(c.topics.events, (topic_spec{"ev", 64, 3, false, 7 * 24h, 2}));
  EXPECT_EQ(c.topics.dlq, (topic_spec{"ev.dlq", 6, 3, false, 30 * 24h}));
  EXPECT_EQ(c.topics.suppressions, (topic_spec{"supp", 32, 3, true, 0ms}));
  EXPECT_EQ(c.topics.send_requests, (topic_spec{"req", 24, 2, false, 0ms}));
  EXPECT_EQ(c.topics.send_results, (topic_spec{"res", 24, 2, false, 90min}));
  EXPECT_EQ(c.topics.send_ledger, (topic_spec{"ledger", 24, 2, false, 48h}));
}

// A topic created so would refuse every acks=all write.
TEST(load_config, reads_the_record_format_and_the_schema_ids) {
  auto loaded = load(
      "[ingest]\nrecord_format = \"headers\"\nevent_schema_id = 100001\n"
      "dead_letter_schema_id = 0\n");
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->ingest.format, record_format::headers);
  EXPECT_EQ(loaded->ingest.event_schema_id, 100001u);
  EXPECT_EQ(loaded->ingest.dead_letter_schema_id, 0u);
  const ingest_config defaults;  // named: see empty_file_gives_the_defaults
  EXPECT_EQ(defaults.format, record_format::confluent);
  EXPECT_EQ(error_of(load("[ingest]\nevent_schema_id = -1\n")),
            "mailhook.toml:2:19: ingest.event_schema_id: must be from 0 to 2147483647, got -1");
}

TEST(load_config, names_the_setting_that_replaced_kafka_headers) {
  EXPECT_EQ(error_of(load("[ingest]\nkafka_headers = true\n")),
            "mailhook.toml:2:17: ingest.kafka_headers: was replaced by record_format: write "
            "record_format = \"headers\" (docs/events.md)");
  EXPECT_THAT(error_of(load("[ingest]\nkafka_headers = false\n")),
              HasSubstr("record_format = \"plain\""));
}

TEST(load_config, reads_the_index_memtable_and_disk_limit) {
  auto loaded = load("[index]\nwrite_buffer = \"8MiB\"\nmax_disk = \"20GiB\"\n");
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->index.write_buffer, 8ULL << 20);
  EXPECT_EQ(loaded->index.max_disk, 20ULL << 30);
  const index_config defaults;  // named: see empty_file_gives_the_defaults
  EXPECT_EQ(defaults.write_buffer, 64ULL << 20);
  EXPECT_EQ(defaults.max_disk, 0u);
  EXPECT_THAT(error_of(load("[index]\nwrite_buffer = \"1KiB\"\n")),
              HasSubstr("index.write_buffer: must be between 64KiB and 64GiB"));
}

TEST(load_config, refuses_more_copies_in_sync_than_copies) {
  auto loaded = load("[topics.events]\nreplication_factor = 2\nmin_insync_replicas = 3\n");
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message,
              HasSubstr("3:23: topics.events.min_insync_replicas: must be at most "
                        "replication_factor (2), got 3"));
}

TEST(load_config, names_key_and_line_of_a_typo) {
  auto loaded = load("[kafka]\nbootstrap_server = \"k:9092\"\n");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, errc::unknown_key);
  EXPECT_EQ(loaded.error().message,
            "mailhook.toml:2:1: kafka.bootstrap_server: unknown key (did you mean "
            "'kafka.bootstrap_servers'?)");
}

TEST(load_config, suggests_nothing_for_a_key_unlike_any) {
  auto loaded = load("[admin]\nwebhook_port = 8080\n");
  EXPECT_EQ(error_of(loaded), "mailhook.toml:2:1: admin.webhook_port: unknown key");
}

TEST(load_config, names_an_unknown_section) {
  auto loaded = load("\n[kafak]\nclient_id = \"x\"\n");
  EXPECT_THAT(error_of(loaded), HasSubstr("mailhook.toml:2:"));
  EXPECT_THAT(error_of(loaded), HasSubstr("kafak: unknown key (did you mean 'kafka'?)"));
}

TEST(load_config, names_key_and_line_of_a_wrong_type) {
  auto loaded = load("[kafka]\n\ncreate_topics = \"yes\"\n");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, errc::wrong_type);
  EXPECT_EQ(
      loaded.error().message,
      "mailhook.toml:3:17: kafka.create_topics: expected a boolean (true or false), got a string");
}

TEST(load_config, refuses_a_section_that_is_not_a_table) {
  auto loaded = load("admin = \"127.0.0.1:1\"\n");
  EXPECT_EQ(error_of(loaded), "mailhook.toml:1:9: admin: expected a table, got a string");
}

TEST(load_config, refuses_a_bad_duration) {
  auto loaded = load("[kafka]\nhealth_interval = \"2 seconds\"\n");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, errc::bad_value);
  EXPECT_EQ(
      loaded.error().message,
      "mailhook.toml:2:19: kafka.health_interval: expected a duration like '250ms', '2s', '1m', "
      "'1h' or '7d', got '2 seconds'");
}

TEST(load_config, a_signed_source_has_a_replay_window_unless_it_says_0) {
  const std::string keyed = "[sources.a]\ntenant = \"t\"\npublic_keys = [\"k\"]\n";
  auto loaded = load(keyed);
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->sources.at(0).replay_window, 25h);
  EXPECT_EQ(loaded->sources.at(0).max_clock_skew, 5min);
  loaded = load(keyed + "replay_window = \"0\"\n");
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->sources.at(0).replay_window, 0ms);
  // A source without keys has no signed timestamp to check.
  loaded = load("[sources.b]\ntenant = \"t\"\nbearer_tokens = [\"x\"]\n");
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->sources.at(0).replay_window, 0ms);
}

TEST(load_config, refuses_basic_auth_with_an_empty_user_or_password) {
  for (const char* pair : {":", "user:", ":password", "nocolon"}) {
    EXPECT_THAT(error_of(load(std::string("[sources.a]\ntenant = \"t\"\nbasic_auth = [\"") + pair +
                              "\"]\n")),
                HasSubstr("sources.a.basic_auth: each entry is \"user:password\", neither"))
        << pair;
  }
}

TEST(load_config, refuses_a_replay_window_that_is_not_whole_seconds) {
  // "500ms" used to become 0, which turned the check off without a word.
  const std::string keyed = "[sources.a]\ntenant = \"t\"\npublic_keys = [\"k\"]\n";
  EXPECT_THAT(error_of(load(keyed + "replay_window = \"500ms\"\n")),
              HasSubstr("sources.a.replay_window: must be whole seconds"));
  EXPECT_THAT(error_of(load(keyed + "max_clock_skew = \"1500ms\"\n")),
              HasSubstr("sources.a.max_clock_skew: must be whole seconds"));
}

TEST(load_config, refuses_a_duration_without_unit) {
  auto loaded = load("[kafka]\nhealth_timeout = 500\n");
  EXPECT_THAT(error_of(loaded), HasSubstr("kafka.health_timeout: a duration needs a unit"));
}

TEST(load_config, refuses_a_zero_health_interval) {
  auto loaded = load("[kafka]\nhealth_interval = \"0ms\"\n");
  EXPECT_THAT(error_of(loaded), HasSubstr("kafka.health_interval: must be at least 1ms, got 0ms"));
}

TEST(load_config, refuses_a_malformed_address) {
  auto loaded = load("[admin]\nlisten = \"9464\"\n");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, errc::bad_value);
  EXPECT_EQ(loaded.error().message,
            "mailhook.toml:2:10: admin.listen: expected HOST:PORT, got '9464'");
}

TEST(load_config, refuses_out_of_range_integers) {
  auto loaded = load("[topics.events]\npartitions = 0\nreplication_factor = 40000\n");
  EXPECT_THAT(error_of(loaded),
              HasSubstr("2:14: topics.events.partitions: must be from 1 to 2147483647, got 0"));
  EXPECT_THAT(
      error_of(loaded),
      HasSubstr("3:22: topics.events.replication_factor: must be from 1 to 32767, got 40000"));
}

TEST(load_config, refuses_an_unknown_enum_value) {
  auto loaded = load("[log]\nlevel = \"verbose\"\nformat = \"xml\"\n");
  EXPECT_EQ(error_of(loaded),
            "mailhook.toml:2:9: log.level: expected trace, debug, info, warn, error, critical or "
            "off, got "
            "'verbose'\n"
            "mailhook.toml:3:10: log.format: expected text or json, got 'xml'");
}

TEST(load_config, refuses_bad_and_shared_topic_names) {
  auto loaded = load(
      "[topics.events]\nname = \"bad name\"\n[topics.dlq]\nname = \"mailhook.suppressions\"\n");
  EXPECT_THAT(error_of(loaded), HasSubstr("2:8: topics.events.name: expected 1 to 249 of"));
  EXPECT_THAT(
      error_of(loaded),
      HasSubstr(
          "4:8: topics.dlq.name: 'mailhook.suppressions' is also the name of topics.suppressions"));
}

TEST(load_config, reports_every_error_together_in_file_order) {
  auto loaded = load(R"([admin]
listen = "abc"

[kafka]
client_idd = "x"
create_topics = 1

[topics.events]
retention = "forever"
)");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, errc::bad_value);  // the first one's
  EXPECT_EQ(loaded.error().message,
            "mailhook.toml:2:10: admin.listen: expected HOST:PORT, got 'abc'\n"
            "mailhook.toml:5:1: kafka.client_idd: unknown key (did you mean 'kafka.client_id'?)\n"
            "mailhook.toml:6:17: kafka.create_topics: expected a boolean (true or false), got an "
            "integer\n"
            "mailhook.toml:9:13: topics.events.retention: expected a duration like '250ms', '2s', "
            "'1m', '1h' "
            "or '7d', got 'forever'");
}

TEST(load_config, names_line_and_column_of_a_syntax_error) {
  auto loaded = load("[kafka]\nclient_id = \"unterminated\n");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, errc::syntax);
  EXPECT_THAT(loaded.error().message, ::testing::StartsWith("mailhook.toml:2:"));
}

TEST(load_config, checks_roles) {
  EXPECT_EQ(error_of(load("roles = []")),
            "mailhook.toml:1:9: roles: at least one role is required");
  EXPECT_EQ(error_of(load("roles = [\"ingest\", \"ingest\"]")),
            "mailhook.toml:1:9: roles: role 'ingest' is listed twice");
  EXPECT_EQ(error_of(load("roles = [\"sendr\"]")),
            "mailhook.toml:1:9: roles: unknown role 'sendr' (expected ingest, policy, index, "
            "sender, report or dedup; did you mean 'sender'?)");
  EXPECT_EQ(error_of(load("roles = [\"ingest\", 3]")),
            "mailhook.toml:1:20: roles: expected an array of strings, element 1 is an integer");
  EXPECT_EQ(error_of(load("roles = \"ingest\"")),
            "mailhook.toml:1:9: roles: expected an array of strings, got a string");
}

TEST(load_config, flattens_dotted_kafka_property_keys) {
  auto loaded =
      load("[kafka.properties]\nsasl.mechanisms = \"PLAIN\"\n\"sasl.username\" = \"u\"\n");
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->kafka.properties, (std::map<std::string, std::string>{
                                          {"sasl.mechanisms", "PLAIN"}, {"sasl.username", "u"}}));
}

TEST(load_config, refuses_kafka_properties_that_mailhook_sets_or_cannot_pass) {
  auto loaded = load("[kafka.properties]\n\"bootstrap.servers\" = \"k:1\"\nlinger.ms = 0.5\n");
  EXPECT_EQ(error_of(loaded),
            "mailhook.toml:2:23: kafka.properties.\"bootstrap.servers\": is set by mailhook; use "
            "kafka.bootstrap_servers instead\n"
            "mailhook.toml:3:13: kafka.properties.linger.ms: expected a string, integer or "
            "boolean, got a float");
}

TEST(load_config, refuses_the_old_name_of_bootstrap_servers_in_properties) {
  auto loaded = load("[kafka.properties]\nmetadata.broker.list = \"k:1\"\n");
  EXPECT_THAT(error_of(loaded), HasSubstr("use kafka.bootstrap_servers instead"));
}

TEST(load_config, refuses_a_property_given_twice) {
  auto loaded = load("[kafka.properties]\n\"linger.ms\" = 1\nlinger.ms = 2\n");
  EXPECT_THAT(error_of(loaded), HasSubstr("'linger.ms' is set twice"));
}

TEST(load_config, environment_overrides_a_scalar) {
  auto loaded =
      load("[admin]\nlisten = \"127.0.0.1:1\"\n", {{"MAILHOOK_ADMIN__LISTEN", "0.0.0.0:9000"}});
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->admin.listen, (listen_address{"0.0.0.0", 9000}));
}

TEST(load_config, environment_overrides_a_nested_key_the_file_lacks) {
  auto loaded = load("", {{"MAILHOOK_TOPICS__EVENTS__PARTITIONS", "48"},
                          {"MAILHOOK_TOPICS__EVENTS__COMPACTED", "true"},
                          {"MAILHOOK_TOPICS__EVENTS__RETENTION", "3d"}});
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->topics.events, (topic_spec{"sendgrid.events", 48, 1, true, 72h}));
}

TEST(load_config, environment_sets_kafka_properties_with_dots_for_underscores) {
  auto loaded = load("[kafka.properties]\n\"security.protocol\" = \"PLAINTEXT\"\n",
                     {{"MAILHOOK_KAFKA__PROPERTIES__SECURITY_PROTOCOL", "SASL_SSL"},
                      {"MAILHOOK_KAFKA__PROPERTIES__LINGER_MS", "5"},
                      {"MAILHOOK_KAFKA__PROPERTIES__MESSAGE_TIMEOUT_MS", "1.5"}});
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(
      loaded->kafka.properties,
      (std::map<std::string, std::string>{
          {"linger.ms", "5"}, {"message.timeout.ms", "1.5"}, {"security.protocol", "SASL_SSL"}}));
}

TEST(load_config, environment_keeps_text_for_string_keys) {
  auto loaded = load(
      "", {{"MAILHOOK_KAFKA__CLIENT_ID", "42"}, {"MAILHOOK_KAFKA__BOOTSTRAP_SERVERS", "\"k:1\""}});
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->kafka.client_id, "42");
  EXPECT_EQ(loaded->kafka.bootstrap_servers, "k:1");
}

TEST(load_config, environment_sets_roles_as_array_or_comma_list) {
  auto as_array = load("", {{"MAILHOOK_ROLES", R"(["ingest", "policy"])"}});
  ASSERT_TRUE(as_array) << error_of(as_array);
  EXPECT_EQ(as_array->roles, (std::vector<role>{role::ingest, role::policy}));
  auto as_list = load("", {{"MAILHOOK_ROLES", "index, sender"}});
  ASSERT_TRUE(as_list) << error_of(as_list);
  EXPECT_EQ(as_list->roles, (std::vector<role>{role::index, role::sender}));
}

TEST(load_config, environment_error_names_the_variable) {
  auto loaded = load("[admin]\nlisten = \"127.0.0.1:1\"\n", {{"MAILHOOK_ADMIN__LISTEN", "abc"}});
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, errc::bad_value);
  EXPECT_EQ(loaded.error().message,
            "environment MAILHOOK_ADMIN__LISTEN: admin.listen: expected HOST:PORT, got 'abc'");
}

TEST(load_config, environment_wrong_type_names_the_variable) {
  auto loaded = load("", {{"MAILHOOK_KAFKA__CREATE_TOPICS", "yes"}});
  EXPECT_EQ(error_of(loaded),
            "environment MAILHOOK_KAFKA__CREATE_TOPICS: kafka.create_topics: expected a boolean "
            "(true or false), "
            "got a string");
}

TEST(load_config, environment_typo_is_an_error) {
  auto loaded =
      load("", {{"MAILHOOK_KAFKA__BOOTSTRAP_SERVER", "k:1"}, {"MAILHOOK_KAFAK__CLIENT_ID", "x"}});
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, errc::unknown_key);
  EXPECT_EQ(loaded.error().message,
            "environment MAILHOOK_KAFAK__CLIENT_ID: kafak: unknown key (did you mean 'kafka'?)\n"
            "environment MAILHOOK_KAFKA__BOOTSTRAP_SERVER: kafka.bootstrap_server: unknown key "
            "(did you mean "
            "'kafka.bootstrap_servers'?)");
}

TEST(load_config, environment_typo_in_a_nested_table_is_an_error) {
  auto loaded =
      load("[topics.events]\npartitions = 3\n", {{"MAILHOOK_TOPICS__EVENT__PARTITIONS", "6"}});
  EXPECT_EQ(
      error_of(loaded),
      "environment MAILHOOK_TOPICS__EVENT__PARTITIONS: topics.event: unknown key (did you mean "
      "'topics.events'?)");
}

TEST(load_config, environment_roles_are_checked_and_name_the_variable) {
  auto loaded = load("", {{"MAILHOOK_ROLES", "ingest,ingest"}});
  EXPECT_EQ(error_of(loaded), "environment MAILHOOK_ROLES: roles: role 'ingest' is listed twice");
}

TEST(load_config, environment_ignores_other_variables) {
  auto loaded = load("", {{"HOME", "/root"},
                          {"MAILHOOK_SOURCE_DIR", "/src"},
                          {"MAILHOOK_TEST_KAFKA_BOOTSTRAP", "k:1"}});
  ASSERT_TRUE(loaded) << error_of(loaded);
}

TEST(load_config, environment_malformed_name_is_an_error) {
  auto loaded = load("", {{"MAILHOOK_KAFKA____CLIENT_ID", "x"}});
  EXPECT_THAT(error_of(loaded),
              HasSubstr("environment MAILHOOK_KAFKA____CLIENT_ID: names no configuration key"));
}

TEST(load_config, environment_cannot_set_below_a_value) {
  auto loaded = load("roles = [\"index\"]\n", {{"MAILHOOK_ROLES__X", "1"}});
  EXPECT_EQ(error_of(loaded),
            "environment MAILHOOK_ROLES__X: roles.x: cannot be set: roles is not a table");
}

TEST(load_config, environment_table_where_a_value_belongs_names_the_variable) {
  auto loaded = load("", {{"MAILHOOK_ROLES__X", "1"}});
  EXPECT_EQ(error_of(loaded),
            "environment MAILHOOK_ROLES__X: roles: expected an array of strings, got a table");
}

TEST(load_config, file_and_environment_errors_are_listed_together) {
  auto loaded = load("[log]\nlevel = \"loud\"\n", {{"MAILHOOK_ADMIN__LISTEN", "nope"}});
  EXPECT_EQ(error_of(loaded),
            "mailhook.toml:2:9: log.level: expected trace, debug, info, warn, error, critical or "
            "off, got 'loud'\n"
            "environment MAILHOOK_ADMIN__LISTEN: admin.listen: expected HOST:PORT, got 'nope'");
}

TEST(load_file, reads_a_file_from_disk) {
  testing::temp_dir dir;
  auto file = dir.write("mailhook.toml", "[kafka]\nclient_id = \"from-disk\"\n");
  auto loaded = load_file(file, no_env);
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->kafka.client_id, "from-disk");
}

TEST(load_file, names_the_file_in_errors) {
  testing::temp_dir dir;
  auto file = dir.write("mailhook.toml", "[kafka]\nclient = \"x\"\n");
  auto loaded = load_file(file, no_env);
  EXPECT_THAT(error_of(loaded),
              ::testing::StartsWith(file.string() + ":2:1: kafka.client: unknown key"));
}

TEST(load_file, missing_file_is_a_clear_io_error) {
  testing::temp_dir dir;
  auto loaded = load_file(dir.path() / "absent.toml", no_env);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, errc::io);
  EXPECT_EQ(loaded.error().message,
            (dir.path() / "absent.toml").string() + ": cannot read: No such file or directory");
}

TEST(load_file, directory_is_an_io_error) {
  testing::temp_dir dir;
  auto loaded = load_file(dir.path(), no_env);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, errc::io);
}

TEST(load_config, reads_the_report_section_and_its_role) {
  auto loaded = load(R"(roles = ["ingest", "report"]

[report]
dir = "/data/report"
seen_days = 5
max_batch = 500
metric_tenants = 0
bounce_rate_alert = 0.02
spam_rate_alert = 0.0005
)");
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->roles, (std::vector<role>{role::ingest, role::report}));
  EXPECT_EQ(loaded->report.dir, "/data/report");
  EXPECT_EQ(loaded->report.seen_days, 5);
  EXPECT_EQ(loaded->report.max_batch, 500);
  EXPECT_EQ(loaded->report.metric_tenants, 0);
  EXPECT_DOUBLE_EQ(loaded->report.bounce_rate_alert, 0.02);
  EXPECT_DOUBLE_EQ(loaded->report.spam_rate_alert, 0.0005);
}

TEST(load_config, refuses_report_values_out_of_range) {
  for (const char* bad : {"seen_days = 0", "seen_days = 31", "dir = \"\"",
                          "bounce_rate_alert = 1.5", "spam_rate_alert = -0.1", "max_batch = 0"}) {
    auto loaded = load(std::string("[report]\n") + bad + "\n");
    EXPECT_FALSE(loaded) << bad;
  }
}

TEST(load_config, the_topics_made_from_events_have_as_many_partitions) {
  auto unset = load("[topics.events]\npartitions = 24\n");
  ASSERT_TRUE(unset) << error_of(unset);
  EXPECT_EQ(unset->topics.soft_bounces.partitions, 0);  // created with 24
  EXPECT_TRUE(load("[topics.events]\npartitions = 24\n[topics.soft_bounces]\npartitions = 24\n"));
  auto other = load(
      "[topics.events]\npartitions = 24\n[topics.soft_bounces]\npartitions = 12\n"
      "[topics.events_deduplicated]\npartitions = 6\n");
  ASSERT_FALSE(other);
  EXPECT_THAT(other.error().message,
              HasSubstr("topics.soft_bounces.partitions: is 12 but must equal "
                        "topics.events.partitions (24)"));
  EXPECT_THAT(other.error().message,
              HasSubstr("topics.events_deduplicated.partitions: is 6 but must equal"));
}

}  // namespace
}  // namespace mailhook::config
