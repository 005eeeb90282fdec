// Tests for the sender's configuration: [sender], [topics.send_ledger] and
// [integrations.NAME], with their cross-checks and environment overrides.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/daemon_config.h"

namespace mailhook::config {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

const environment no_env;

result<daemon_config> load(std::string_view text, const environment& env = no_env) {
  return load_string(text, "mailhook.toml", env);
}

std::string error_of(const result<daemon_config>& loaded) {
  return loaded ? std::string("<loaded without error>") : loaded.error().message;
}

// An integration with every required key, to which a test adds or changes one.
std::string integration(std::string_view extra = "", std::string_view name = "acme_us",
                        std::string_view tenant = "acme") {
  return "[integrations." + std::string(name) + "]\ntenant = \"" + std::string(tenant) +
         "\"\napi_key_env = \"ACME_SENDGRID_KEY\"\nfrom_email = \"news@acme.example\"\n" +
         std::string(extra);
}

TEST(sender_config, defaults) {
  auto loaded = load("");
  ASSERT_TRUE(loaded) << error_of(loaded);
  const daemon_config defaults;
  EXPECT_EQ(*loaded, defaults);
  const sender_config& s = loaded->sender;
  EXPECT_EQ(s.group_id, "mailhook-sender");
  EXPECT_EQ(s.transactional_id, "");
  EXPECT_EQ(s.max_batch, 200);
  EXPECT_EQ(s.max_batch_wait, 50ms);
  EXPECT_EQ(s.max_attempts, 5);
  EXPECT_EQ(s.retry_backoff, 500ms);
  EXPECT_EQ(s.max_retry_backoff, 30s);
  EXPECT_EQ(s.max_rate_limit_wait, 60s);
  EXPECT_EQ(loaded->topics.send_ledger,
            (topic_spec{"mailhook.send.ledger", 12, 1, false, 7 * 24h}));
  EXPECT_TRUE(loaded->integrations.empty());
}

TEST(sender_config, reads_every_key) {
  auto loaded = load(R"(
[sender]
group_id = "senders"
transactional_id = "sender-1"
max_batch = 10000
max_batch_wait = "1ms"
max_attempts = 100
retry_backoff = "1s"
max_retry_backoff = "1s"
max_rate_limit_wait = "1s"
)");
  ASSERT_TRUE(loaded) << error_of(loaded);
  const sender_config& s = loaded->sender;
  EXPECT_EQ(s.group_id, "senders");
  EXPECT_EQ(s.transactional_id, "sender-1");
  EXPECT_EQ(s.max_batch, 10000);
  EXPECT_EQ(s.max_batch_wait, 1ms);
  EXPECT_EQ(s.max_attempts, 100);
  EXPECT_EQ(s.retry_backoff, 1s);
  EXPECT_EQ(s.max_retry_backoff, 1s);
  EXPECT_EQ(s.max_rate_limit_wait, 1s);
}

TEST(sender_config, refuses_an_empty_group_id) {
  EXPECT_EQ(error_of(load("[sender]\ngroup_id = \"\"\n")),
            "mailhook.toml:2:12: sender.group_id: must not be empty");
}

TEST(sender_config, refuses_out_of_range_values) {
  auto loaded = load(R"([sender]
max_batch = 0
max_batch_wait = "0ms"
max_attempts = 101
retry_backoff = "0ms"
max_rate_limit_wait = "999ms"
)");
  EXPECT_EQ(error_of(loaded),
            "mailhook.toml:2:13: sender.max_batch: must be from 1 to 10000, got 0\n"
            "mailhook.toml:3:18: sender.max_batch_wait: must be at least 1ms, got 0ms\n"
            "mailhook.toml:4:16: sender.max_attempts: must be from 1 to 100, got 101\n"
            "mailhook.toml:5:17: sender.retry_backoff: must be at least 1ms, got 0ms\n"
            "mailhook.toml:6:23: sender.max_rate_limit_wait: must be at least 1000ms, got 999ms");
  EXPECT_THAT(error_of(load("[sender]\nmax_batch = 10001\n")),
              HasSubstr("sender.max_batch: must be from 1 to 10000, got 10001"));
  EXPECT_THAT(error_of(load("[sender]\nmax_attempts = 0\n")),
              HasSubstr("sender.max_attempts: must be from 1 to 100, got 0"));
}

TEST(sender_config, refuses_a_max_retry_backoff_below_retry_backoff) {
  EXPECT_EQ(error_of(load("[sender]\nretry_backoff = \"2s\"\nmax_retry_backoff = \"1s\"\n")),
            "mailhook.toml:3:21: sender.max_retry_backoff: must be at least retry_backoff "
            "(2000ms), where the backoff starts");
  // Against the default retry_backoff (500ms) too, and the default cap (30s).
  EXPECT_THAT(error_of(load("[sender]\nmax_retry_backoff = \"100ms\"\n")),
              HasSubstr("sender.max_retry_backoff: must be at least retry_backoff (500ms)"));
  EXPECT_EQ(error_of(load("[sender]\nretry_backoff = \"1m\"\n")),
            "mailhook.toml: sender.max_retry_backoff: must be at least retry_backoff (60000ms), "
            "where the backoff starts");
}

TEST(sender_config, names_a_typo) {
  EXPECT_EQ(error_of(load("[sender]\nmax_batches = 5\n")),
            "mailhook.toml:2:1: sender.max_batches: unknown key (did you mean "
            "'sender.max_batch'?)");
}

TEST(sender_config, environment_overrides_a_sender_key) {
  auto loaded = load("[sender]\nmax_batch = 100\n", {{"MAILHOOK_SENDER__MAX_BATCH", "500"},
                                                     {"MAILHOOK_SENDER__RETRY_BACKOFF", "1s"}});
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->sender.max_batch, 500);
  EXPECT_EQ(loaded->sender.retry_backoff, 1s);
}

TEST(sender_config, environment_error_names_the_variable) {
  EXPECT_EQ(error_of(load("", {{"MAILHOOK_SENDER__MAX_ATTEMPTS", "0"}})),
            "environment MAILHOOK_SENDER__MAX_ATTEMPTS: sender.max_attempts: must be from 1 to "
            "100, got 0");
}

TEST(sender_config, sender_role_needs_the_index_role) {
  EXPECT_EQ(error_of(load("roles = [\"ingest\", \"sender\"]\n")),
            "mailhook.toml:1:9: roles: the sender role checks every recipient against the local "
            "index replica, so it needs the index role too");
  EXPECT_EQ(error_of(load("", {{"MAILHOOK_ROLES", "sender"}})),
            "environment MAILHOOK_ROLES: roles: the sender role checks every recipient against "
            "the local index replica, so it needs the index role too");
  auto loaded = load("roles = [\"sender\", \"index\"]\n");
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->roles, (std::vector<role>{role::sender, role::index}));
  // Roles without the sender need nothing more.
  EXPECT_TRUE(load("roles = [\"ingest\"]\n")) << error_of(load("roles = [\"ingest\"]\n"));
}

TEST(send_ledger_topic, reads_every_key) {
  auto loaded = load(R"(
[topics.send_requests]
partitions = 24

[topics.send_ledger]
name = "ledger"
partitions = 24
replication_factor = 3
compacted = false
retention = "2d"
)");
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->topics.send_ledger, (topic_spec{"ledger", 24, 3, false, 48h}));
}

TEST(send_ledger_topic, shares_its_name_with_no_other_topic) {
  EXPECT_EQ(error_of(load("[topics.send_ledger]\nname = \"mailhook.send.results\"\n")),
            "mailhook.toml:2:8: topics.send_ledger.name: 'mailhook.send.results' is also the name "
            "of topics.send_results");
  // The operator set the other one: that one is blamed.
  EXPECT_EQ(error_of(load("[topics.events]\nname = \"mailhook.send.ledger\"\n")),
            "mailhook.toml:2:8: topics.events.name: 'mailhook.send.ledger' is also the name of "
            "topics.send_ledger");
}

TEST(send_ledger_topic, needs_as_many_partitions_as_send_requests) {
  EXPECT_EQ(error_of(load("[topics.send_ledger]\npartitions = 6\n")),
            "mailhook.toml:2:14: topics.send_ledger.partitions: is 6 but must equal "
            "topics.send_requests.partitions (12): the ledger partition of a send request is the "
            "request's own partition number");
  // Changing send_requests alone leaves the ledger behind.
  EXPECT_THAT(error_of(load("[topics.send_requests]\npartitions = 4\n")),
              HasSubstr("topics.send_ledger.partitions: is 12 but must equal "
                        "topics.send_requests.partitions (4)"));
}

TEST(send_ledger_topic, environment_sets_both_partition_counts) {
  auto loaded = load("", {{"MAILHOOK_TOPICS__SEND_REQUESTS__PARTITIONS", "48"},
                          {"MAILHOOK_TOPICS__SEND_LEDGER__PARTITIONS", "48"}});
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->topics.send_ledger.partitions, 48);
  EXPECT_EQ(error_of(load("", {{"MAILHOOK_TOPICS__SEND_LEDGER__PARTITIONS", "3"}})),
            "environment MAILHOOK_TOPICS__SEND_LEDGER__PARTITIONS: topics.send_ledger.partitions: "
            "is 3 but must equal topics.send_requests.partitions (12): the ledger partition of a "
            "send request is the request's own partition number");
}

TEST(integrations_config, reads_every_key) {
  auto loaded = load(R"(
[integrations.acme_eu]
tenant = "acme"
api_key_file = "/run/secrets/acme_eu.key"
from_email = "news@acme.example"
from_name = "Acme News"
reply_to_email = "help@acme.example"
reply_to_name = "Acme Help"
default_asm_group = 42
api_url = "https://api.eu.sendgrid.com"
ca_file = "/etc/ssl/sendgrid.pem"
rate_limit = 2.5
concurrency = 256
timeout = "100ms"
is_default = true

[integrations.acme_us]
tenant = "acme"
api_key_env = "ACME_US_KEY"
from_email = "news@acme.example"
rate_limit = 10
)");
  ASSERT_TRUE(loaded) << error_of(loaded);
  ASSERT_EQ(loaded->integrations.size(), 2u);
  const integration_config& eu = loaded->integrations[0];
  EXPECT_EQ(eu.name, "acme_eu");
  EXPECT_EQ(eu.tenant, "acme");
  EXPECT_EQ(eu.api_key_file, "/run/secrets/acme_eu.key");
  EXPECT_EQ(eu.api_key_env, "");
  EXPECT_EQ(eu.from_email, "news@acme.example");
  EXPECT_EQ(eu.from_name, "Acme News");
  EXPECT_EQ(eu.reply_to_email, "help@acme.example");
  EXPECT_EQ(eu.reply_to_name, "Acme Help");
  EXPECT_EQ(eu.default_asm_group, 42);
  EXPECT_EQ(eu.api_url, "https://api.eu.sendgrid.com");
  EXPECT_EQ(eu.ca_file, "/etc/ssl/sendgrid.pem");
  EXPECT_EQ(eu.rate_limit, 2.5);
  EXPECT_EQ(eu.concurrency, 256);
  EXPECT_EQ(eu.timeout, 100ms);
  EXPECT_TRUE(eu.is_default);
  const integration_config& us = loaded->integrations[1];
  EXPECT_EQ(us.name, "acme_us");
  EXPECT_EQ(us.api_key_env, "ACME_US_KEY");
  EXPECT_EQ(us.rate_limit, 10.0);  // an integer is a number too
  EXPECT_FALSE(us.is_default);
}

TEST(integrations_config, an_integration_takes_the_defaults) {
  auto loaded = load(integration());
  ASSERT_TRUE(loaded) << error_of(loaded);
  ASSERT_EQ(loaded->integrations.size(), 1u);
  integration_config expected;
  expected.name = "acme_us";
  expected.tenant = "acme";
  expected.api_key_env = "ACME_SENDGRID_KEY";
  expected.from_email = "news@acme.example";
  EXPECT_EQ(loaded->integrations[0], expected);
  EXPECT_EQ(expected.api_url, "https://api.sendgrid.com");
  EXPECT_EQ(expected.rate_limit, 0.0);
  EXPECT_EQ(expected.concurrency, 4);
  EXPECT_EQ(expected.timeout, 30s);
  EXPECT_EQ(expected.default_asm_group, 0);
  EXPECT_FALSE(expected.is_default);
}

TEST(integrations_config, are_sorted_by_name) {
  auto loaded = load(integration("is_default = true\n", "zeta") + integration("", "alpha") +
                     integration("", "mid"));
  ASSERT_TRUE(loaded) << error_of(loaded);
  ASSERT_EQ(loaded->integrations.size(), 3u);
  EXPECT_EQ(loaded->integrations[0].name, "alpha");
  EXPECT_EQ(loaded->integrations[1].name, "mid");
  EXPECT_EQ(loaded->integrations[2].name, "zeta");
}

TEST(integrations_config, refuses_a_bad_name) {
  EXPECT_EQ(error_of(load(integration("", "\"acme us\""))),
            "mailhook.toml:1:1: integrations.\"acme us\": an integration name is 1 to 128 of a-z "
            "A-Z 0-9 . _ -");
}

TEST(integrations_config, needs_a_tenant_without_slash) {
  EXPECT_EQ(error_of(load("[integrations.a]\napi_key_env = \"K\"\nfrom_email = \"a@b.c\"\n")),
            "mailhook.toml: integrations.a.tenant: every integration names its tenant");
  EXPECT_EQ(
      error_of(load(
          "[integrations.a]\ntenant = \"acme/eu\"\napi_key_env = \"K\"\nfrom_email = \"a@b.c\"\n")),
      "mailhook.toml:2:10: integrations.a.tenant: must not contain '/', which separates the parts "
      "of Kafka keys");
}

TEST(integrations_config, needs_exactly_one_place_for_the_api_key) {
  EXPECT_EQ(error_of(load("[integrations.a]\ntenant = \"acme\"\nfrom_email = \"a@b.c\"\n")),
            "mailhook.toml: integrations.a.api_key_file: every integration needs "
            "api_key_file (a file whose first line is the SendGrid API key) or api_key_env (an "
            "environment variable holding it); the key itself is never written in the "
            "configuration");
  EXPECT_EQ(error_of(load(integration("api_key_file = \"/run/key\"\n"))),
            "mailhook.toml:3:15: integrations.acme_us.api_key_env: api_key_file and api_key_env "
            "are both set; an integration reads its key from one of them");
  // An empty one counts as not set.
  EXPECT_THAT(
      error_of(
          load("[integrations.a]\ntenant = \"t\"\napi_key_env = \"\"\nfrom_email = \"a@b.c\"\n")),
      HasSubstr("integrations.a.api_key_file: every integration needs api_key_file"));
}

TEST(integrations_config, refuses_an_api_key_in_the_file_without_repeating_it) {
  auto loaded = load(
      "[integrations.a]\ntenant = \"acme\"\napi_key = \"SG.secret-value\"\nfrom_email = "
      "\"a@b.c\"\n");
  EXPECT_EQ(error_of(loaded),
            "mailhook.toml:3:11: integrations.a.api_key: the API key is never written in the "
            "configuration: name a file holding it (api_key_file) or an environment variable "
            "holding it (api_key_env)");
  EXPECT_THAT(error_of(loaded), Not(HasSubstr("secret-value")));
  auto from_env = load(integration(), {{"MAILHOOK_INTEGRATIONS__ACME_US__API_KEY", "SG.x"}});
  EXPECT_THAT(error_of(from_env), HasSubstr("integrations.acme_us.api_key: the API key is never"));
  EXPECT_THAT(error_of(from_env), Not(HasSubstr("SG.x")));
}

TEST(integrations_config, refuses_a_bad_api_key_env_without_repeating_it) {
  for (const char* name : {"1KEY", "SENDGRID-KEY", "KEY NAME", "$KEY", "SG.abc.def"}) {
    auto loaded = load("[integrations.a]\ntenant = \"t\"\napi_key_env = \"" + std::string(name) +
                       "\"\nfrom_email = \"a@b.c\"\n");
    EXPECT_EQ(error_of(loaded),
              "mailhook.toml:3:15: integrations.a.api_key_env: expected the name of the "
              "environment variable that holds the key (letters, digits and '_', not starting "
              "with a digit); the value is not shown, as it may be the key itself")
        << name;
  }
  for (const char* name : {"K", "_KEY", "sendgrid_key_2"}) {
    auto loaded = load("[integrations.a]\ntenant = \"t\"\napi_key_env = \"" + std::string(name) +
                       "\"\nfrom_email = \"a@b.c\"\n");
    EXPECT_TRUE(loaded) << name << ": " << error_of(loaded);
  }
}

TEST(integrations_config, needs_a_from_email) {
  EXPECT_EQ(error_of(load("[integrations.a]\ntenant = \"t\"\napi_key_env = \"K\"\n")),
            "mailhook.toml: integrations.a.from_email: every integration names its From "
            "address, a verified sender of the account");
}

TEST(integrations_config, refuses_from_email_that_is_not_an_address) {
  auto from = [](std::string_view email) {
    return error_of(load("[integrations.a]\ntenant = \"t\"\napi_key_env = \"K\"\nfrom_email = \"" +
                         std::string(email) + "\"\n"));
  };
  for (const char* email : {"news", "@acme.example", "news@", "a@b@c"}) {
    EXPECT_EQ(from(email),
              "mailhook.toml:4:14: integrations.a.from_email: expected an address like "
              "sender@example.com (one '@', text on both sides), got '" +
                  std::string(email) + "'")
        << email;
  }
  EXPECT_EQ(from("news @acme.example"),
            "mailhook.toml:4:14: integrations.a.from_email: must not contain spaces or control "
            "characters, got 'news @acme.example'");
  EXPECT_THAT(from("news@acme.example\\r\\nBcc: x"),
              HasSubstr("must not contain spaces or control characters"));
  EXPECT_EQ(from("n\u00e9ws@acme.example"),
            "mailhook.toml:4:14: integrations.a.from_email: must be ASCII: SendGrid refuses "
            "addresses with Unicode characters here, got 'n\u00e9ws@acme.example'");
  EXPECT_THAT(from("news@ac\u00e9me.example"), HasSubstr("must be ASCII"));
}

TEST(integrations_config, checks_reply_to_email_only_when_set) {
  EXPECT_EQ(error_of(load(integration("reply_to_email = \"help\"\n"))),
            "mailhook.toml:5:18: integrations.acme_us.reply_to_email: expected an address like "
            "sender@example.com (one '@', text on both sides), got 'help'");
  EXPECT_THAT(error_of(load(integration("reply_to_email = \"h\u00e9lp@acme.example\"\n"))),
              HasSubstr("integrations.acme_us.reply_to_email: must be ASCII"));
  auto loaded = load(integration("reply_to_email = \"\"\n"));
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->integrations[0].reply_to_email, "");
}

TEST(integrations_config, refuses_a_negative_default_asm_group) {
  EXPECT_EQ(error_of(load(integration("default_asm_group = -1\n"))),
            "mailhook.toml:5:21: integrations.acme_us.default_asm_group: must be from 0 to "
            "2147483647, got -1");
}

TEST(integrations_config, accepts_https_api_urls_and_http_ones_to_loopback_hosts) {
  for (const char* url :
       {"https://api.sendgrid.com", "https://api.eu.sendgrid.com", "http://127.0.0.1:8025",
        "http://localhost:8025/", "https://sendgrid-proxy.internal/prefix/v1", "http://[::1]:8080",
        "https://API.SendGrid.com:443", "http://127.255.0.9/base", "http://LocalHost",
        "http://[0:0:0:0:0:0:0:1]:80", "https://10.0.0.7:8443"}) {
    auto loaded = load(integration("api_url = \"" + std::string(url) + "\"\n"));
    ASSERT_TRUE(loaded) << url << ": " << error_of(loaded);
    EXPECT_EQ(loaded->integrations[0].api_url, url);
  }
}

TEST(integrations_config, refuses_other_api_urls_naming_the_us_and_eu_ones) {
  for (const char* url :
       {"api.sendgrid.com", "ftp://api.sendgrid.com", "https://", "https:///v3",
        "https://api.sendgrid.com:", "https://api.sendgrid.com:0", "https://api.sendgrid.com:65536",
        "https://api.sendgrid.com:443x", "https://user:pw@api.sendgrid.com",
        "https://api.sendgrid.com/v3?x=1", "https://api.sendgrid.com/#frag",
        "https://api sendgrid.com", "https://[::1", "https://[]", "HTTPS://api.sendgrid.com",
        "https://api.sendgrid.com/a b", ""}) {
    EXPECT_EQ(error_of(load(integration("api_url = \"" + std::string(url) + "\"\n"))),
              "mailhook.toml:5:11: integrations.acme_us.api_url: expected "
              "https://HOST[:PORT][/PATH] (US accounts: https://api.sendgrid.com, EU subusers: "
              "https://api.eu.sendgrid.com; http:// only for a loopback test server), got '" +
                  std::string(url) + "'")
        << url;
  }
}

TEST(integrations_config, refuses_plain_http_to_any_host_but_a_loopback_one) {
  for (const char* url :
       {"http://api.sendgrid.com", "http://10.0.0.7:8080", "http://128.0.0.1", "http://[::2]:80",
        "http://[::ffff:127.0.0.1]", "http://localhost.example.com", "http://127.0.0.1.nip.io",
        "http://0.0.0.0:8025", "http://sendgrid-proxy.internal/prefix"}) {
    EXPECT_EQ(error_of(load(integration("api_url = \"" + std::string(url) + "\"\n"))),
              "mailhook.toml:5:11: integrations.acme_us.api_url: http:// is allowed only for a "
              "loopback host (127.0.0.0/8, [::1], localhost), such as a local test server; any "
              "other host needs https://, got '" +
                  std::string(url) + "'")
        << url;
  }
  EXPECT_EQ(error_of(load(integration(), {{"MAILHOOK_INTEGRATIONS__ACME_US__API_URL",
                                           "http://api.sendgrid.com"}})),
            "environment MAILHOOK_INTEGRATIONS__ACME_US__API_URL: integrations.acme_us.api_url: "
            "http:// is allowed only for a loopback host (127.0.0.0/8, [::1], localhost), such as "
            "a local test server; any other host needs https://, got 'http://api.sendgrid.com'");
}

TEST(integrations_config, checks_rate_limit_concurrency_and_timeout) {
  EXPECT_EQ(error_of(load(integration("rate_limit = -0.5\nconcurrency = 0\ntimeout = \"99ms\"\n"))),
            "mailhook.toml:5:14: integrations.acme_us.rate_limit: must be a finite number of at "
            "least 0, got -0.5\n"
            "mailhook.toml:6:15: integrations.acme_us.concurrency: must be from 1 to 256, got 0\n"
            "mailhook.toml:7:11: integrations.acme_us.timeout: must be at least 100ms, got 99ms");
  EXPECT_THAT(error_of(load(integration("rate_limit = inf\n"))),
              HasSubstr("rate_limit: must be a finite number of at least 0, got inf"));
  EXPECT_THAT(error_of(load(integration("rate_limit = nan\n"))),
              HasSubstr("rate_limit: must be a finite number of at least 0, got nan"));
  EXPECT_EQ(error_of(load(integration("rate_limit = \"10\"\n"))),
            "mailhook.toml:5:14: integrations.acme_us.rate_limit: expected a number, got a string");
  EXPECT_THAT(error_of(load(integration("concurrency = 257\n"))),
              HasSubstr("integrations.acme_us.concurrency: must be from 1 to 256, got 257"));
  auto zero = load(integration("rate_limit = 0\n"));
  ASSERT_TRUE(zero) << error_of(zero);
  EXPECT_EQ(zero->integrations[0].rate_limit, 0.0);
}

TEST(integrations_config, a_lone_integration_needs_no_is_default) {
  auto loaded = load(integration("", "acme_us", "acme") + integration("", "beta_us", "beta"));
  ASSERT_TRUE(loaded) << error_of(loaded);
  ASSERT_EQ(loaded->integrations.size(), 2u);
  EXPECT_FALSE(loaded->integrations[0].is_default);
  EXPECT_FALSE(loaded->integrations[1].is_default);
}

TEST(integrations_config, a_tenant_with_several_integrations_marks_one_default) {
  EXPECT_EQ(error_of(load(integration("", "acme_us") + integration("", "acme_eu"))),
            "mailhook.toml: integrations.acme_eu.is_default: tenant 'acme' has several "
            "integrations ('acme_eu', 'acme_us'): mark exactly one is_default = true, for "
            "requests that name none");
  auto loaded = load(integration("", "acme_us") + integration("is_default = true\n", "acme_eu"));
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_TRUE(loaded->integrations[0].is_default);
  EXPECT_FALSE(loaded->integrations[1].is_default);
}

TEST(integrations_config, a_tenant_has_at_most_one_default) {
  EXPECT_EQ(error_of(load(integration("is_default = true\n", "acme_us") +
                          integration("is_default = true\n", "acme_eu") +
                          integration("is_default = false\n", "acme_ca"))),
            "mailhook.toml:5:14: integrations.acme_us.is_default: tenant 'acme' already has a "
            "default integration, 'acme_eu'; a tenant has at most one");
}

TEST(integrations_config, environment_overrides_an_integration_key) {
  auto loaded = load(integration(), {{"MAILHOOK_INTEGRATIONS__ACME_US__FROM_NAME", "Acme"},
                                     {"MAILHOOK_INTEGRATIONS__ACME_US__RATE_LIMIT", "2.5"},
                                     {"MAILHOOK_INTEGRATIONS__ACME_US__CONCURRENCY", "8"}});
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->integrations[0].from_name, "Acme");
  EXPECT_EQ(loaded->integrations[0].rate_limit, 2.5);
  EXPECT_EQ(loaded->integrations[0].concurrency, 8);
}

TEST(integrations_config, environment_alone_can_define_an_integration) {
  // Variable names are upper case, so such an integration has a lower-case name.
  auto loaded = load("", {{"MAILHOOK_INTEGRATIONS__LOCAL__TENANT", "sample"},
                          {"MAILHOOK_INTEGRATIONS__LOCAL__API_KEY_ENV", "SENDGRID_API_KEY"},
                          {"MAILHOOK_INTEGRATIONS__LOCAL__FROM_EMAIL", "sender@example.com"}});
  ASSERT_TRUE(loaded) << error_of(loaded);
  ASSERT_EQ(loaded->integrations.size(), 1u);
  EXPECT_EQ(loaded->integrations[0].name, "local");
  EXPECT_EQ(loaded->integrations[0].tenant, "sample");
  EXPECT_EQ(loaded->integrations[0].api_key_env, "SENDGRID_API_KEY");
}

TEST(integrations_config, environment_error_names_the_variable) {
  EXPECT_EQ(error_of(load(integration(), {{"MAILHOOK_INTEGRATIONS__ACME_US__API_URL", "ftp://x"}})),
            "environment MAILHOOK_INTEGRATIONS__ACME_US__API_URL: integrations.acme_us.api_url: "
            "expected https://HOST[:PORT][/PATH] (US accounts: https://api.sendgrid.com, EU "
            "subusers: https://api.eu.sendgrid.com; http:// only for a loopback test server), got "
            "'ftp://x'");
  EXPECT_EQ(error_of(load(integration(), {{"MAILHOOK_INTEGRATIONS__ACME_US__TIMEOUTT", "1s"}})),
            "environment MAILHOOK_INTEGRATIONS__ACME_US__TIMEOUTT: integrations.acme_us.timeoutt: "
            "unknown key (did you mean 'integrations.acme_us.timeout'?)");
}

}  // namespace
}  // namespace mailhook::config
