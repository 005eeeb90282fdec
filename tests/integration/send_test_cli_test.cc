// `mailhook send-test` as an operator runs it: the real binary, a real daemon for the
// suppression check, and the Mail Send simulator standing in for SendGrid. Each verdict
// the command promises is produced once: sent with a message id, API key rejected, From
// address not verified, suppressed, unreachable.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/daemon.h"
#include "support/kafka_reader.h"
#include "support/mail_send_simulator.h"

namespace mailhook::testing {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class send_test_cli : public ::testing::Test {
 protected:
  void SetUp() override {
    mail_send_simulator_options options;
    options.api_keys = {"SG.right"};
    options.verified_senders = {"orders@acme.example"};
    sim_ = std::make_unique<mail_send_simulator>(options);
    daemon_ = std::make_unique<daemon>(
        shared_kafka_bootstrap(),
        "[topics.suppressions]\nname = \"" + unique_topic("send-test.suppressions") + "\"\n");
    ASSERT_TRUE(daemon_->wait_for_readyz(200, 60s)) << daemon_->output();
  }

  // A configuration for the CLI with one integration, "acme", on the simulator.
  std::filesystem::path config(const std::string& from = "orders@acme.example",
                               const std::string& url = "") const {
    auto path = dir_.path() / "mailhook.toml";
    std::ofstream(path) << "[admin]\nlisten = \"127.0.0.1:" << daemon_->admin_port() << "\"\n\n"
                        << "[integrations.acme]\ntenant = \"acme\"\n"
                        << "api_key_env = \"SENDGRID_API_KEY\"\n"
                        << "from_email = \"" << from << "\"\n"
                        << "reply_to_email = \"help@acme.example\"\n"
                        << "api_url = \"" << (url.empty() ? sim_->url() : url) << "\"\n";
    return path;
  }

  // With the daemon's reader token in MAILHOOK_ADMIN_TOKEN, for the suppression check.
  run_result send_test(const std::filesystem::path& config_file, const std::string& to,
                       const std::string& key = "SG.right") const {
    return run(
        {mailhook_binary(), "send-test", "-c", config_file.string(), "--integration", "acme",
         "--to", to},
        {{"SENDGRID_API_KEY", key}, {"MAILHOOK_ADMIN_TOKEN", std::string(daemon::read_token)}});
  }

  temp_dir dir_;
  std::unique_ptr<mail_send_simulator> sim_;
  std::unique_ptr<daemon> daemon_;
};

TEST_F(send_test_cli, sends_one_email_with_the_integrations_from_and_reply_to) {
  auto r = send_test(config(), "ann@example.com");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "sent: sent, message id sim-")) << r.output;
  ASSERT_EQ(sim_->call_count(), 1u);
  auto call = sim_->calls()[0];
  EXPECT_EQ(call.api_key, "SG.right");
  EXPECT_EQ(call.from_email, "orders@acme.example");
  EXPECT_EQ(call.reply_to_email, "help@acme.example");
  EXPECT_EQ(call.recipients, std::vector<std::string>{"ann@example.com"});
  EXPECT_TRUE(contains(r.output, call.message_id)) << r.output;
}

TEST_F(send_test_cli, a_wrong_key_is_reported_as_rejected_and_never_printed) {
  auto r = send_test(config(), "ann@example.com", "SG.wrong-secret");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "not sent: API key rejected (401")) << r.output;
  EXPECT_FALSE(contains(r.output, "SG.wrong-secret")) << r.output;
}

TEST_F(send_test_cli, an_unverified_from_address_is_named) {
  auto r = send_test(config("someone@elsewhere.example"), "ann@example.com");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "not sent: From address is not a verified sender (403"))
      << r.output;
}

TEST_F(send_test_cli, a_suppressed_address_is_not_sent_and_says_why) {
  auto added = daemon_->admin_write(
      boost::beast::http::verb::post, "/v1/suppressions",
      R"({"tenant":"acme","email":"gone@example.com","reason":"spam_report","detail":"complained"})");
  ASSERT_EQ(added.status, 202) << added.body;
  for (int i = 0; i < 100; ++i) {
    auto check = daemon_->admin_get("/v1/suppressions/check?tenant=acme&email=gone@example.com");
    if (contains(check.body, R"("allowed":false)")) break;
    std::this_thread::sleep_for(100ms);
  }
  auto r = send_test(config(), "Gone@Example.com");
  EXPECT_EQ(r.status, 3) << r.output;
  EXPECT_TRUE(contains(r.output,
                       "not sent: Gone@Example.com is suppressed for tenant acme: "
                       "spam_report (global): complained"))
      << r.output;
  EXPECT_EQ(sim_->call_count(), 0u);
}

TEST_F(send_test_cli, the_suppression_check_needs_a_token_and_says_how_to_give_one) {
  const std::vector<std::string> command{mailhook_binary(), "send-test", "-c",   config().string(),
                                         "--integration",   "acme",      "--to", "ann@example.com"};
  auto without = run(command, {{"SENDGRID_API_KEY", "SG.right"}});
  EXPECT_EQ(without.status, 1) << without.output;
  EXPECT_TRUE(contains(without.output, "answered 401")) << without.output;
  EXPECT_TRUE(contains(without.output, "give --token-file FILE or set MAILHOOK_ADMIN_TOKEN"))
      << without.output;
  EXPECT_EQ(sim_->call_count(), 0u);

  auto with_file = command;
  with_file.insert(with_file.end(), {"--token-file", daemon_->read_token_file().string()});
  auto sent = run(with_file, {{"SENDGRID_API_KEY", "SG.right"}});
  EXPECT_EQ(sent.status, 0) << sent.output;
  EXPECT_EQ(sim_->call_count(), 1u);
}

TEST_F(send_test_cli, an_unreachable_api_is_said_plainly) {
  auto r = send_test(config("orders@acme.example", "http://127.0.0.1:1"), "ann@example.com");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "not sent: unreachable")) << r.output;
}

TEST_F(send_test_cli, an_unknown_integration_or_a_missing_key_is_a_usage_error) {
  auto r = run({mailhook_binary(), "send-test", "-c", config().string(), "--integration", "nope",
                "--to", "ann@example.com"},
               {{"SENDGRID_API_KEY", "SG.right"}});
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "no integration \"nope\"")) << r.output;
  EXPECT_TRUE(contains(r.output, "(configured: acme)")) << r.output;

  r = run({mailhook_binary(), "send-test", "-c", config().string(), "--integration", "acme", "--to",
           "ann@example.com"});
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "SENDGRID_API_KEY")) << r.output;
}

}  // namespace
}  // namespace mailhook::testing
