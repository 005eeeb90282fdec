// The mailhook binary's command line, run as a user would: config check, version, usage.
#include <gtest/gtest.h>

#include "support/daemon.h"

namespace mailhook::testing {
namespace {

TEST(cli, config_check_accepts_the_example_configuration) {
  auto r = run({mailhook_binary(), "config", "check",
                (source_dir() / "deploy/config/mailhook.example.toml").string()});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(": ok"), std::string::npos) << r.output;
}

TEST(cli, config_check_names_the_key_and_line_of_a_typo) {
  temp_dir dir;
  auto file = dir.write(
      "typo.toml", "[admin]\nlisten = \"127.0.0.1:9464\"\n\n[kafka]\nbootstrap_server = \"x:1\"\n");
  auto r = run({mailhook_binary(), "config", "check", file.string()});
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("typo.toml:5:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("kafka.bootstrap_server"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("kafka.bootstrap_servers"), std::string::npos) << "suggestion expected:\n"
                                                                         << r.output;
}

TEST(cli, config_check_names_the_key_and_line_of_a_bad_value) {
  temp_dir dir;
  auto file = dir.write("bad.toml", "[kafka]\nhealth_interval = \"soon\"\n");
  auto r = run({mailhook_binary(), "config", "check", file.string()});
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("bad.toml:2:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("kafka.health_interval"), std::string::npos) << r.output;
}

TEST(cli, config_check_names_an_environment_override_that_is_wrong) {
  temp_dir dir;
  auto file = dir.write("ok.toml", "");
  auto r = run({mailhook_binary(), "config", "check", file.string()},
               {{"MAILHOOK_ADMIN__LISTEN", "nowhere"}});
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("MAILHOOK_ADMIN__LISTEN"), std::string::npos) << r.output;
}

TEST(cli, version_prints_the_version) {
  auto r = run({mailhook_binary(), "version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output.rfind("mailhook ", 0), 0u) << r.output;
}

TEST(cli, an_unknown_role_is_a_usage_error) {
  auto r = run({mailhook_binary(), "serve", "--roles", "ingest,mailer"});
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("unknown role 'mailer'"), std::string::npos) << r.output;
}

TEST(cli, roles_on_the_command_line_follow_the_rules_of_the_file) {
  // One parse_roles for both: a duplicate and a sender without its index are refused too.
  for (const auto& [roles, message] :
       {std::pair{"ingest,ingest", "role 'ingest' is listed twice"},
        std::pair{"sender", "needs the index role too"}, std::pair{",", "at least one role"}}) {
    auto r = run({mailhook_binary(), "serve", "--roles", roles});
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("--roles: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << roles << ": " << r.output;
  }
}

TEST(cli, help_is_available_on_every_command) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                        {"serve", "--help"},
                                        {"config", "check", "--help"},
                                        {"topics", "ensure", "--help"}}) {
    args.insert(args.begin(), mailhook_binary());
    auto r = run(args);
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace mailhook::testing
