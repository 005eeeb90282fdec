// `mailhook suppressions ...` as an operator runs it: the real binary against a real daemon
// (admin API, index replica) and the shared broker. Changes made through the CLI reach the
// index through Kafka, so the tests poll for them; imports go to Kafka directly.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <thread>

#include "support/daemon.h"
#include "support/kafka_reader.h"

namespace mailhook::testing {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::size_t count_lines(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (contains(line, part)) ++n;
  return n;
}

// The daemon fixture's writer token, as an operator exports it.
const std::map<std::string, std::string> writer_env{
    {"MAILHOOK_ADMIN_TOKEN", std::string(daemon::write_token)}};

// `mailhook suppressions <args>`, with the writer token unless `env` says otherwise.
run_result cli(std::vector<std::string> args,
               const std::map<std::string, std::string>& env = writer_env) {
  args.insert(args.begin(), {mailhook_binary(), "suppressions"});
  return run(args, env);
}

// Runs the command until `done` holds for its result or `timeout` passes; the last result.
run_result cli_until(const std::vector<std::string>& args,
                     const std::function<bool(const run_result&)>& done,
                     std::chrono::milliseconds timeout = 15s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto r = cli(args);
  while (!done(r) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    r = cli(args);
  }
  return r;
}

// A daemon with topics of the test's own, and a configuration file for the CLI that
// names the same broker, changelog topic and admin port.
class suppressions_cli : public ::testing::Test {
 protected:
  void SetUp() override {
    suppressions_topic_ = unique_topic("cli.suppressions");
    events_topic_ = unique_topic("cli.events");
  }

  std::string topics_toml() const {
    return "[topics.events]\nname = \"" + events_topic_ + "\"\npartitions = 1\n\n" +
           "[topics.suppressions]\nname = \"" + suppressions_topic_ + "\"\npartitions = 2\n\n";
  }

  void start(const std::vector<std::string>& args = {}) {
    daemon_ = std::make_unique<daemon>(shared_kafka_bootstrap(), topics_toml(), args);
    ASSERT_TRUE(daemon_->wait_for_readyz(200, 60s)) << daemon_->admin_get("/readyz").body << "\n"
                                                    << daemon_->output();
  }

  std::string admin_url() const {
    return "http://127.0.0.1:" + std::to_string(daemon_->admin_port());
  }

  // The CLI's configuration: the daemon's admin port (when one runs), the shared broker
  // and this test's topics.
  std::string config_file() const {
    std::string toml = "[kafka]\nbootstrap_servers = \"" + shared_kafka_bootstrap() + "\"\n\n";
    if (daemon_) {
      toml += "[admin]\nlisten = \"127.0.0.1:" + std::to_string(daemon_->admin_port()) + "\"\n\n";
    }
    return files_.write("cli.toml", toml + topics_toml()).string();
  }

  temp_dir files_;
  std::string suppressions_topic_;
  std::string events_topic_;
  std::unique_ptr<daemon> daemon_;
};

TEST_F(suppressions_cli, add_makes_check_report_suppressed_and_remove_allows_again) {
  start();
  auto admin = admin_url();
  auto before = cli({"check", "--admin", admin, "--tenant", "acme", "a@example.com"});
  EXPECT_EQ(before.status, 0) << before.output;
  EXPECT_EQ(before.output, "allowed  a@example.com\n");

  auto added = cli({"add", "--admin", admin, "--tenant", "acme", "--reason", "bounce", "--detail",
                    "550 5.1.1 user unknown", "--note", "ticket 1", "a@example.com"});
  ASSERT_EQ(added.status, 0) << added.output;
  EXPECT_TRUE(contains(added.output, "added acme/global/a@example.com (event manual:"))
      << added.output;

  auto suppressed =
      cli_until({"check", "--admin", admin, "--tenant", "acme", "a@example.com", "b@example.com"},
                [](const run_result& r) { return r.status == 3; });
  ASSERT_EQ(suppressed.status, 3) << suppressed.output;
  EXPECT_TRUE(std::regex_search(
      suppressed.output, std::regex(R"(^suppressed  a@example\.com  bounce \(global\) since )"
                                    R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: 550 5\.1\.1 user unknown$)",
                                    std::regex::multiline)))
      << suppressed.output;
  EXPECT_TRUE(contains(suppressed.output, "allowed  b@example.com\n")) << suppressed.output;

  // The admin URL may come from the configuration file instead of --admin.
  auto removed = cli({"remove", "--config", config_file(), "--tenant", "acme", "--note", "ticket 2",
                      "a@example.com"});
  ASSERT_EQ(removed.status, 0) << removed.output;
  EXPECT_TRUE(contains(removed.output, "removed acme/global/a@example.com (event manual:"))
      << removed.output;
  auto allowed = cli_until({"check", "--admin", admin, "--tenant", "acme", "a@example.com"},
                           [](const run_result& r) { return r.status == 0; });
  EXPECT_EQ(allowed.status, 0) << allowed.output;
  EXPECT_EQ(allowed.output, "allowed  a@example.com\n");
}

TEST_F(suppressions_cli, group_and_tenant_scopes_are_checked_as_the_api_defines_them) {
  start();
  auto admin = admin_url();
  ASSERT_EQ(
      cli({"add", "--admin", admin, "-t", "acme", "--group", "42", "--note", "n", "g@example.com"})
          .status,
      0);
  auto in_group =
      cli_until({"check", "--admin", admin, "-t", "acme", "--group", "42", "g@example.com"},
                [](const run_result& r) { return r.status == 3; });
  EXPECT_EQ(in_group.status, 3) << in_group.output;
  EXPECT_TRUE(contains(in_group.output, "suppressed  g@example.com  manual (group 42) since "))
      << in_group.output;
  // Outside group 42 the address is allowed.
  auto elsewhere = cli({"check", "--admin", admin, "-t", "acme", "--group", "7", "g@example.com"});
  EXPECT_EQ(elsewhere.status, 0) << elsewhere.output;

  auto suspended = cli({"add", "--admin", admin, "-t", "acme", "--scope", "tenant", "--reason",
                        "account_suspended", "--note", "compliance hold"});
  ASSERT_EQ(suspended.status, 0) << suspended.output;
  EXPECT_TRUE(contains(suspended.output, "added acme/tenant/ (event manual:")) << suspended.output;
  auto any = cli_until({"check", "--admin", admin, "-t", "acme", "x@example.com"},
                       [](const run_result& r) { return r.status == 3; });
  EXPECT_TRUE(contains(any.output, "suppressed  x@example.com  account_suspended (tenant) since"))
      << any.output;
  ASSERT_EQ(cli({"remove", "--admin", admin, "-t", "acme", "--scope", "tenant", "--note", "lifted"})
                .status,
            0);
  auto lifted = cli_until({"check", "--admin", admin, "-t", "acme", "x@example.com"},
                          [](const run_result& r) { return r.status == 0; });
  EXPECT_EQ(lifted.status, 0) << lifted.output;
}

TEST_F(suppressions_cli, imports_of_a_bounce_csv_and_a_group_json_show_in_list_and_export) {
  start();
  auto config = config_file();
  auto csv = files_.write("bounces.csv",
                          "email,created,reason,status\r\n"
                          "b1@example.com,1700000000,mailbox does not exist,5.1.1\r\n"
                          "b2@example.com,1700000100,domain not found,5.1.2\r\n"
                          "b3@example.com,2023-11-14 22:20:00,user unknown,5.1.1\r\n");
  auto imported = cli({"import", "--config", config, "--tenant", "acme", "--kind", "bounces",
                       "--note", "moving from SendGrid", csv.string()});
  ASSERT_EQ(imported.status, 0) << imported.output;
  EXPECT_TRUE(contains(imported.output, "imported 3 suppressions (bounces) from " + csv.string() +
                                            " into tenant acme"))
      << imported.output;

  auto json = files_.write("group_7.json",
                           R"(["u1@example.com",{"email":"u2@example.com","created":1700000200}])");
  auto group_import =
      cli({"import", "--config", config, "--tenant", "acme", "--kind", "group_unsubscribes",
           "--group", "7", "--note", "group 7", json.string()});
  ASSERT_EQ(group_import.status, 0) << group_import.output;
  EXPECT_TRUE(contains(group_import.output, "imported 2 suppressions (group_unsubscribes)"))
      << group_import.output;

  auto list = cli_until({"list", "--config", config, "--tenant", "acme"},
                        [](const run_result& r) { return count_lines(r.output, "@example") == 5; });
  ASSERT_EQ(list.status, 0) << list.output;
  EXPECT_TRUE(
      std::regex_search(list.output, std::regex(R"(EMAIL\s+SCOPE\s+REASON\s+SINCE\s+DETAIL)")))
      << list.output;
  EXPECT_TRUE(std::regex_search(
      list.output,
      std::regex(R"(b1@example\.com\s+global\s+bounce\s+2023-11-14T22:13:20Z\s+5\.1\.1 mailbox)")))
      << list.output;
  EXPECT_EQ(count_lines(list.output, " bounce "), 3u) << list.output;
  EXPECT_TRUE(std::regex_search(
      list.output, std::regex(R"(u2@example\.com\s+group:7\s+group_unsubscribe\s+2023-11-14)")))
      << list.output;
  EXPECT_EQ(count_lines(list.output, "group_unsubscribe"), 2u) << list.output;

  // --limit and --reason narrow the table; pages follow the cursor either way.
  auto limited = cli({"list", "--config", config, "--tenant", "acme", "--limit", "2"});
  EXPECT_EQ(count_lines(limited.output, "@example"), 2u) << limited.output;
  auto bounces = cli({"list", "--config", config, "--tenant", "acme", "--reason", "bounce"});
  EXPECT_EQ(count_lines(bounces.output, "@example"), 3u) << bounces.output;

  auto file = files_.path() / "export.ndjson";
  auto exported =
      cli({"export", "--config", config, "--tenant", "acme", "--output", file.string()});
  ASSERT_EQ(exported.status, 0) << exported.output;
  EXPECT_TRUE(contains(exported.output, "exported 5 suppressions of tenant acme"))
      << exported.output;
  auto ndjson = read_file(file);
  EXPECT_EQ(std::count(ndjson.begin(), ndjson.end(), '\n'), 5) << ndjson;
  EXPECT_EQ(count_lines(ndjson, R"("reason":"bounce","origin":"import")"), 3u) << ndjson;
  EXPECT_EQ(count_lines(ndjson, R"("scope":"group","group":7,)"), 2u) << ndjson;
  EXPECT_EQ(count_lines(ndjson, R"("source":"bounces.csv")"), 3u) << ndjson;
  EXPECT_EQ(count_lines(ndjson, R"("source":"group_7.json")"), 2u) << ndjson;
  // Who imported (the system user running the command) and why.
  std::smatch user;
  ASSERT_TRUE(std::regex_search(ndjson, user, std::regex(R"re("actor":"import:([^"]+)")re")))
      << ndjson;
  EXPECT_EQ(count_lines(ndjson, R"("note":"moving from SendGrid")"), 3u) << ndjson;
  EXPECT_EQ(count_lines(ndjson, R"("note":"group 7")"), 2u) << ndjson;
  EXPECT_EQ(count_lines(ndjson, "\"actor\":\"import:" + user[1].str() + "\""), 5u) << ndjson;

  // To stdout, with a reason filter.
  auto to_stdout =
      cli({"export", "--config", config, "--tenant", "acme", "--reason", "group_unsubscribe"});
  ASSERT_EQ(to_stdout.status, 0) << to_stdout.output;
  EXPECT_EQ(count_lines(to_stdout.output, R"({"key":"acme/group:7/)"), 2u) << to_stdout.output;
  EXPECT_EQ(count_lines(to_stdout.output, R"("reason":"bounce")"), 0u) << to_stdout.output;
}

TEST_F(suppressions_cli, list_and_export_follow_the_cursor_across_pages) {
  start();
  auto config = config_file();
  // More rows than one page of the list endpoint holds (1000).
  std::string csv = "email,created\n";
  for (int i = 0; i < 2500; ++i) csv += "p" + std::to_string(i) + "@example.com,1700000000\n";
  auto file = files_.write("many.csv", csv);
  auto imported = cli({"import", "--config", config, "--tenant", "acme", "--kind", "invalid_emails",
                       "--note", "n", file.string()});
  ASSERT_EQ(imported.status, 0) << imported.output;

  auto list = cli_until({"list", "--config", config, "--tenant", "acme"}, [](const run_result& r) {
    return count_lines(r.output, "@example.com") == 2500;
  });
  EXPECT_EQ(count_lines(list.output, "@example.com"), 2500u);
  EXPECT_EQ(count_lines(list.output, " invalid "), 2500u);
  EXPECT_EQ(count_lines(list.output, "EMAIL"), 1u) << "one header";
  EXPECT_TRUE(contains(list.output, "2500 suppressions of tenant acme"));
  auto limited = cli({"list", "--config", config, "--tenant", "acme", "--limit", "1500"});
  EXPECT_EQ(count_lines(limited.output, "@example.com"), 1500u);

  auto exported = cli({"export", "--config", config, "--tenant", "acme"});
  ASSERT_EQ(exported.status, 0);
  EXPECT_EQ(count_lines(exported.output, R"("reason":"invalid")"), 2500u);
  EXPECT_TRUE(contains(exported.output, "exported 2500 suppressions of tenant acme"));
}

TEST_F(suppressions_cli, import_dry_run_counts_rows_and_writes_nothing) {
  auto csv =
      files_.write("bounces.csv", "Email,Created At\nd1@example.com,1700000000\nd2@example.com,\n");
  auto r = cli({"import", "--config", config_file(), "--tenant", "acme", "--kind", "bounces",
                "--dry-run", csv.string()});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "would import 2 suppressions (bounces)")) << r.output;
  EXPECT_TRUE(contains(r.output, "nothing written")) << r.output;
  EXPECT_TRUE(read_topic(shared_kafka_bootstrap(), suppressions_topic_, 0, 3s).empty());

  // A file that cannot be imported fails and names the row.
  auto bad = files_.write("bad.csv", "email,created\nok@example.com,1\nnot-an-address,x\n");
  auto failed = cli({"import", "--config", config_file(), "--tenant", "acme", "--kind", "bounces",
                     "--dry-run", bad.string()});
  EXPECT_EQ(failed.status, 1) << failed.output;
  EXPECT_TRUE(contains(failed.output, "bad.csv")) << failed.output;
}

TEST_F(suppressions_cli, stats_count_suppressions_per_tenant_scope_and_reason) {
  start();
  auto admin = admin_url();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"-t", "acme", "--reason", "bounce", "s1@example.com"},
           {"-t", "acme", "--reason", "bounce", "s2@example.com"},
           {"-t", "acme", "--group", "3", "--reason", "group_unsubscribe", "s3@example.com"},
           {"-t", "globex", "--reason", "spam_report", "s4@example.com"}}) {
    auto command = args;
    command.insert(command.begin(), {"add", "--admin", admin, "--note", "n"});
    auto r = cli(command);
    ASSERT_EQ(r.status, 0) << r.output;
  }
  auto all = cli_until({"stats", "--admin", admin}, [](const run_result& r) {
    return contains(r.output, "tenant globex: 1 suppression\n") &&
           contains(r.output, "tenant acme: 3 suppressions\n");
  });
  ASSERT_EQ(all.status, 0) << all.output;
  EXPECT_TRUE(std::regex_search(all.output, std::regex(R"(\n  global\s+bounce\s+2\n)")))
      << all.output;
  EXPECT_TRUE(std::regex_search(all.output, std::regex(R"(\n  group\s+group_unsubscribe\s+1\n)")))
      << all.output;
  EXPECT_TRUE(std::regex_search(all.output, std::regex(R"(\n  global\s+spam_report\s+1\n)")))
      << all.output;
  EXPECT_TRUE(contains(all.output, "keys in the index (lifted suppressions included): 4"))
      << all.output;

  auto one = cli({"stats", "--admin", admin, "--tenant", "globex"});
  ASSERT_EQ(one.status, 0) << one.output;
  EXPECT_TRUE(contains(one.output, "tenant globex: 1 suppression\n")) << one.output;
  EXPECT_FALSE(contains(one.output, "acme")) << one.output;
  auto none = cli({"stats", "--admin", admin, "--tenant", "initech"});
  EXPECT_EQ(none.output, "tenant initech: no suppressions\n");
}

TEST_F(suppressions_cli, usage_errors_exit_2_with_a_message) {
  auto csv = files_.write("g.csv", "email\na@example.com\n");
  struct usage_case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const auto& c : std::vector<usage_case>{
           {{}, "a subcommand is required"},
           {{"frobnicate"}, "not expected: frobnicate"},
           {{"check", "a@example.com"}, "--tenant is required"},
           {{"check", "--tenant", "acme"}, "EMAIL is required"},
           {{"check", "--tenant", "a/b", "a@example.com"}, "is not a tenant"},
           {{"check", "--tenant", "acme", "--group", "seven", "a@example.com"}, "--group"},
           {{"add", "--tenant", "acme", "--note", "n"}, "EMAIL is required"},
           {{"add", "--tenant", "acme", "--note", "n", "--reason", "annoyed", "a@example.com"},
            "--reason"},
           {{"add", "--tenant", "acme", "--note", "n", "--scope", "group", "a@example.com"},
            "--group N"},
           {{"add", "--tenant", "acme", "--note", "n", "--scope", "tenant", "a@example.com"},
            "give no EMAIL"},
           {{"remove", "--tenant", "acme", "--note", "n", "--scope", "global", "--group", "3",
             "a@example.com"},
            "--scope group"},
           {{"add", "--tenant", "acme", "a@example.com"}, "--note is required"},
           {{"remove", "--tenant", "acme", "a@example.com"}, "--note is required"},
           {{"check", "--tenant", "acme", "--token-file", (files_.path() / "no-token").string(),
             "a@example.com"},
            "--token-file: cannot read"},
           {{"list", "--tenant", "acme", "--limit", "0"}, "at least 1"},
           {{"check", "--admin", "ftp://127.0.0.1:9464", "-t", "acme", "a@example.com"},
            "the scheme must be https or http"},
           {{"check", "--admin", "http://127.0.0.1", "-t", "acme", "a@example.com"},
            "the port is missing"},
           {{"import", "--tenant", "acme", "--kind", "bounces", csv.string()},
            "--config is required"},
           {{"import", "--config", files_.write("k.toml", "").string(), "--tenant", "acme",
             "--kind", "bounces", csv.string()},
            "--note is required"},
           {{"import", "--tenant", "acme", "--kind", "complaints", "--dry-run", csv.string()},
            "--kind"},
           {{"import", "--tenant", "acme", "--kind", "bounces", "--group", "3", "--dry-run",
             csv.string()},
            "group_unsubscribes"},
           {{"import", "--tenant", "acme", "--kind", "bounces", "--dry-run",
             (files_.path() / "missing.csv").string()},
            "missing.csv"}}) {
    auto r = cli(c.args);
    std::string shown;
    for (const auto& a : c.args) shown += " " + a;
    EXPECT_EQ(r.status, 2) << "suppressions" << shown << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, c.message))
        << "suppressions" << shown << ": expected '" << c.message << "' in\n"
        << r.output;
  }
  auto help = cli({"check", "--help"});
  EXPECT_EQ(help.status, 0) << help.output;
  EXPECT_TRUE(contains(help.output, "3 at least one suppressed")) << help.output;
}

TEST_F(suppressions_cli, an_unreachable_admin_url_fails_with_exit_1_naming_the_url) {
  // Port 1 (tcpmux) is privileged and unused: the connection is refused at once.
  auto r = cli({"check", "--admin", "http://127.0.0.1:1", "--tenant", "acme", "a@example.com"});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "cannot connect to http://127.0.0.1:1: Connection refused"))
      << r.output;
  auto list = cli({"list", "--admin", "http://127.0.0.1:1", "--tenant", "acme"});
  EXPECT_EQ(list.status, 1) << list.output;
  EXPECT_TRUE(contains(list.output, "http://127.0.0.1:1")) << list.output;
}

TEST_F(suppressions_cli, an_api_error_prints_the_apis_message_and_exits_1) {
  // Without the index role the daemon has no suppression API: 404 with a message.
  start({"--roles", "ingest"});
  auto r = cli({"check", "--admin", admin_url(), "--tenant", "acme", "a@example.com"});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "this process does not run the index role")) << r.output;
  EXPECT_TRUE(contains(r.output, "HTTP 404")) << r.output;
}

TEST_F(suppressions_cli, takes_the_token_from_the_environment_or_a_file_and_fails_clearly_without) {
  start();
  auto admin = admin_url();
  const std::vector<std::string> check{"check", "--admin", admin, "-t", "acme", "a@example.com"};

  auto without = cli(check, {});
  EXPECT_EQ(without.status, 1) << without.output;
  EXPECT_TRUE(contains(without.output,
                       "(HTTP 401): the admin API needs a token: give "
                       "--token-file FILE or set MAILHOOK_ADMIN_TOKEN"))
      << without.output;

  auto from_env = cli(check, {{"MAILHOOK_ADMIN_TOKEN", std::string(daemon::read_token)}});
  EXPECT_EQ(from_env.status, 0) << from_env.output;
  EXPECT_EQ(from_env.output, "allowed  a@example.com\n");

  auto with_file = check;
  with_file.insert(with_file.end(), {"--token-file", daemon_->read_token_file().string()});
  auto from_file = cli(with_file, {});
  EXPECT_EQ(from_file.status, 0) << from_file.output;
  // The file wins over the variable.
  auto both = cli(with_file, {{"MAILHOOK_ADMIN_TOKEN", "not-the-token-at-all"}});
  EXPECT_EQ(both.status, 0) << both.output;

  auto wrong = cli(check, {{"MAILHOOK_ADMIN_TOKEN", "not-the-token-at-all"}});
  EXPECT_EQ(wrong.status, 1) << wrong.output;
  EXPECT_TRUE(contains(wrong.output, "the bearer token is not accepted (HTTP 401)"))
      << wrong.output;

  // A read token cannot change anything, and says so.
  auto add_as_reader = cli({"add", "--admin", admin, "-t", "acme", "--note", "n", "--token-file",
                            daemon_->read_token_file().string(), "a@example.com"},
                           {});
  EXPECT_EQ(add_as_reader.status, 1) << add_as_reader.output;
  EXPECT_TRUE(contains(add_as_reader.output,
                       "token 'test-reader' has read scope; this route needs write (HTTP 403)"))
      << add_as_reader.output;
  auto still = cli(check);
  EXPECT_EQ(still.status, 0) << still.output;
}

TEST_F(suppressions_cli, a_change_records_the_tokens_name_and_the_note) {
  start();
  auto admin = admin_url();
  ASSERT_EQ(cli({"add", "--admin", admin, "-t", "acme", "--note", "ticket 77: complained by phone",
                 "n@example.com"})
                .status,
            0);
  auto exported = cli_until({"export", "--admin", admin, "-t", "acme"}, [](const run_result& r) {
    return contains(r.output, "n@example.com");
  });
  EXPECT_TRUE(
      contains(exported.output, R"("actor":"test-writer","note":"ticket 77: complained by phone")"))
      << exported.output;
}

}  // namespace
}  // namespace mailhook::testing
