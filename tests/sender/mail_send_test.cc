// The Mail Send client: the API key; the client against the Mail Send simulator (a real HTTP
// server on a loopback port, plain and TLS) and against a bare TCP peer where the wire
// matters (connections closed under a request or while idle, late, cut off or malformed
// answers): a request is written at most once per send(). Also the webhook signer the sender's
// end-to-end tests use, against mailhook's own verifier.
// Over 600 lines: one case per wire behaviour the at-most-once rule depends on.
#include "sender/mail_send.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "sender/send_request_fixtures.h"
#include "support/mail_send_simulator.h"
#include "support/scripted_peer.h"
#include "support/temp_dir.h"
#include "support/webhook_signer.h"
#include "webhook/signature.h"

namespace mailhook::sender {
namespace {

using namespace std::chrono_literals;
using mailhook::testing::mail_send_call;
using mailhook::testing::mail_send_simulator;
using mailhook::testing::mail_send_simulator_options;
using mailhook::testing::scripted_peer;
using step = mailhook::testing::scripted_peer::step;
namespace dom = simdjson::dom;
using namespace mailhook::sender::fixtures;

constexpr const char* test_key = "SG.test-key";

using fixtures::integration_for;  // overloaded below: both are found

// An integration that calls `peer` over plain HTTP on loopback.
config::integration_config integration_for(const scripted_peer& peer) {
  return integration_for("http://127.0.0.1:" + std::to_string(peer.port()));
}

// ---- load_api_key ----

class load_api_key_test : public ::testing::Test {
 protected:
  void TearDown() override { ::unsetenv(env_name); }

  static constexpr const char* env_name = "MAILHOOK_TEST_SENDGRID_KEY";
  testing::temp_dir dir_;
};

TEST_F(load_api_key_test, reads_the_first_line_of_the_file_trimmed) {
  auto integration = integration_for();
  integration.api_key_file = dir_.write("key", "  SG.file-key\t\r\nsecond line\n").string();
  auto key = load_api_key(integration);
  ASSERT_TRUE(key) << key.error().describe();
  EXPECT_EQ(*key, "SG.file-key");
}

TEST_F(load_api_key_test, reads_a_file_without_a_final_newline) {
  auto integration = integration_for();
  integration.api_key_file = dir_.write("key", "SG.no-newline").string();
  auto key = load_api_key(integration);
  ASSERT_TRUE(key) << key.error().describe();
  EXPECT_EQ(*key, "SG.no-newline");
}

TEST_F(load_api_key_test, reads_the_environment_variable_trimmed) {
  auto integration = integration_for();
  integration.api_key_env = env_name;
  ::setenv(env_name, " SG.env-key\n", 1);
  auto key = load_api_key(integration);
  ASSERT_TRUE(key) << key.error().describe();
  EXPECT_EQ(*key, "SG.env-key");
}

TEST_F(load_api_key_test, a_missing_file_is_named) {
  auto integration = integration_for();
  integration.api_key_file = (dir_.path() / "absent").string();
  auto key = load_api_key(integration);
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().describe().find(integration.api_key_file), std::string::npos)
      << key.error().describe();
  EXPECT_NE(key.error().describe().find("acme-main"), std::string::npos);
  EXPECT_EQ(key.error().code, std::errc::no_such_file_or_directory);
}

TEST_F(load_api_key_test, an_empty_first_line_is_an_error_that_does_not_show_the_rest) {
  auto integration = integration_for();
  integration.api_key_file = dir_.write("key", "   \nSG.secret-on-line-two\n").string();
  auto key = load_api_key(integration);
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().describe().find("is empty"), std::string::npos) << key.error().describe();
  EXPECT_NE(key.error().describe().find(integration.api_key_file), std::string::npos);
  EXPECT_EQ(key.error().describe().find("SG.secret"), std::string::npos);
}

TEST_F(load_api_key_test, an_unset_or_empty_variable_is_named) {
  auto integration = integration_for();
  integration.api_key_env = env_name;
  ::unsetenv(env_name);
  auto key = load_api_key(integration);
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().describe().find(env_name), std::string::npos) << key.error().describe();
  EXPECT_NE(key.error().describe().find("not set"), std::string::npos);

  ::setenv(env_name, " \t", 1);
  key = load_api_key(integration);
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().describe().find(env_name), std::string::npos) << key.error().describe();
  EXPECT_NE(key.error().describe().find("is empty"), std::string::npos);
}

TEST_F(load_api_key_test, needs_exactly_one_source) {
  auto integration = integration_for();
  auto key = load_api_key(integration);
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().describe().find("no API key"), std::string::npos);

  integration.api_key_env = env_name;
  integration.api_key_file = dir_.write("key", "SG.both").string();
  ::setenv(env_name, "SG.both-env", 1);
  key = load_api_key(integration);
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().describe().find("not both"), std::string::npos);
  EXPECT_EQ(key.error().describe().find("SG.both"), std::string::npos);
}

// ---- mail_send_client::create ----

TEST(mail_send_client_create, refuses_urls_it_cannot_use) {
  for (const char* url :
       {"ftp://api.sendgrid.com", "api.sendgrid.com", "https://", "https://:443", "https://h:0",
        "https://h:65536", "https://h:x", "https://h/path?q=1", "https://user:pw@h",
        "http://api.sendgrid.com", "http://10.0.0.1:8080", "http://[::2]:80"}) {
    auto client = mail_send_client::create(integration_for(url), test_key);
    ASSERT_FALSE(client) << url;
    EXPECT_NE(client.error().describe().find("api_url"), std::string::npos)
        << client.error().describe();
  }
}

TEST(mail_send_client_create, refuses_plain_http_to_a_host_that_is_not_loopback) {
  auto client = mail_send_client::create(integration_for("http://api.sendgrid.com"), test_key);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().describe().find(
                "integration 'acme-main': api_url 'http://api.sendgrid.com': http:// is allowed "
                "only for a loopback host (127.0.0.0/8, [::1], localhost); any other host needs "
                "https://"),
            0u)
      << client.error().describe();
}

TEST(mail_send_client_create, accepts_sendgrids_urls) {
  for (const char* url :
       {"https://api.sendgrid.com", "https://api.eu.sendgrid.com/", "http://127.0.0.1:8080/base",
        "https://[::1]:8443", "http://[::1]:8080", "http://localhost:8025"}) {
    auto client = mail_send_client::create(integration_for(url), test_key);
    EXPECT_TRUE(client) << url << ": " << client.error().describe();
  }
}

TEST(mail_send_client_create, names_a_missing_ca_file) {
  auto integration = integration_for();
  integration.ca_file = "/nonexistent/ca.pem";
  auto client = mail_send_client::create(integration, test_key);
  ASSERT_FALSE(client);
  EXPECT_NE(client.error().describe().find("/nonexistent/ca.pem"), std::string::npos)
      << client.error().describe();
}

TEST(mail_send_client_create, refuses_keys_a_header_cannot_carry_without_showing_them) {
  EXPECT_FALSE(mail_send_client::create(integration_for(), ""));
  auto client = mail_send_client::create(integration_for(), "SG.abc\r\nX-Injected: 1");
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().describe().find("SG.abc"), std::string::npos);
}

// ---- the client against the simulator ----

class mail_send_client_test : public ::testing::Test {
 protected:
  std::unique_ptr<mail_send_client> client_for(const config::integration_config& integration,
                                               const std::string& key = test_key) {
    auto client = mail_send_client::create(integration, key);
    EXPECT_TRUE(client) << client.error().describe();
    return client ? std::move(*client) : nullptr;
  }

  std::string body_of(const v1::SendRequest& request,
                      const config::integration_config& integration) {
    return mail_send_body(request, recipients_of(request), integration);
  }
};

TEST_F(mail_send_client_test, a_good_request_gets_202_with_a_message_id) {
  mail_send_simulator sim;
  const auto integration = integration_for(sim.url());
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const auto request = content_request();
  const std::string body = body_of(request, integration);

  const api_answer answer = client->send(body);
  ASSERT_EQ(answer.status, 202) << explain(answer);
  EXPECT_EQ(classify(answer), answer_kind::accepted);
  EXPECT_EQ(answer.message_id.rfind("sim-", 0), 0u) << answer.message_id;
  EXPECT_TRUE(answer.errors.empty());
  EXPECT_TRUE(answer.transport_error.empty()) << answer.transport_error;
  ASSERT_TRUE(answer.rate_limit_reset.has_value());
  EXPECT_GT(answer.latency.count(), 0);
  EXPECT_EQ(explain(answer), "sent, message id " + answer.message_id);

  const auto calls = sim.calls();
  ASSERT_EQ(calls.size(), 1u);
  const mail_send_call& call = calls[0];
  EXPECT_EQ(call.api_key, test_key);
  EXPECT_EQ(call.headers.at("authorization"), std::string("Bearer ") + test_key);
  EXPECT_EQ(call.headers.at("content-type"), "application/json");
  EXPECT_EQ(call.headers.at("accept"), "application/json");
  EXPECT_EQ(call.headers.at("user-agent"), "mailhook");
  EXPECT_EQ(call.headers.at("host"), "127.0.0.1:" + std::to_string(sim.port()));
  EXPECT_EQ(call.body, body);
  EXPECT_EQ(call.status, 202);
  EXPECT_EQ(call.message_id, answer.message_id);
  EXPECT_EQ(call.from_email, "news@acme.test");
  EXPECT_EQ(call.reply_to_email, "help@acme.test");
  EXPECT_EQ(call.recipients, std::vector<std::string>{"ann@example.com"});
  EXPECT_EQ(call.subject, "Hi");
  EXPECT_EQ(call.content_types, (std::vector<std::string>{"text/plain", "text/html"}));
  EXPECT_EQ(call.categories, std::vector<std::string>{"welcome"});
  EXPECT_EQ(call.asm_group_id, 7);
  EXPECT_EQ(call.custom_args,
            (std::map<std::string, std::string>{
                {"user", "42"}, {"mailhook_request_id", "r-1"}, {"mailhook_tenant", "acme"}}));
}

TEST_F(mail_send_client_test, a_template_request_to_many_recipients_is_accepted) {
  mail_send_simulator sim;
  auto integration = integration_for(sim.url());
  integration.reply_to_email.clear();
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const api_answer answer = client->send(body_of(template_request(), integration));
  ASSERT_EQ(answer.status, 202) << explain(answer);
  const auto calls = sim.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].personalizations, 2u);
  EXPECT_EQ(calls[0].recipients, (std::vector<std::string>{"ann@example.com", "bob@example.com"}));
  EXPECT_EQ(calls[0].reply_to_email, "");
  EXPECT_EQ(calls[0].template_id, "d-0123456789abcdef");
}

TEST_F(mail_send_client_test, an_unknown_key_gets_401_and_the_key_is_nowhere_in_the_answer) {
  mail_send_simulator sim;
  const auto integration = integration_for(sim.url());
  auto client = client_for(integration, "SG.wrong-key");
  ASSERT_NE(client, nullptr);
  const api_answer answer = client->send(body_of(content_request(), integration));
  EXPECT_EQ(answer.status, 401);
  EXPECT_EQ(classify(answer), answer_kind::rejected);
  ASSERT_EQ(answer.errors.size(), 1u);
  EXPECT_EQ(answer.errors[0].message(),
            "The provided authorization grant is invalid, expired, or revoked");
  EXPECT_EQ(answer.errors[0].field(), "");  // null in the body
  EXPECT_EQ(explain(answer).rfind("API key rejected (401: The provided authorization grant", 0), 0u)
      << explain(answer);
  EXPECT_EQ(explain(answer).find("SG.wrong-key"), std::string::npos);
  ASSERT_EQ(sim.call_count(), 1u);
  EXPECT_EQ(sim.calls()[0].api_key, "SG.wrong-key");
  EXPECT_EQ(sim.calls()[0].status, 401);
}

TEST_F(mail_send_client_test, an_unverified_from_gets_403_explained) {
  mail_send_simulator_options options;
  options.verified_senders = {"news@acme.test"};
  mail_send_simulator sim(options);
  auto integration = integration_for(sim.url());
  integration.from_email = "someone-else@acme.test";
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const api_answer answer = client->send(body_of(content_request(), integration));
  EXPECT_EQ(answer.status, 403);
  EXPECT_EQ(classify(answer), answer_kind::rejected);
  ASSERT_EQ(answer.errors.size(), 1u);
  EXPECT_EQ(answer.errors[0].field(), "from");
  EXPECT_EQ(
      explain(answer).rfind("From address is not a verified sender (403: The from address", 0), 0u)
      << explain(answer);

  // The verified one (compared without case) goes through.
  integration.from_email = "News@Acme.test";
  client = client_for(integration);
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->send(body_of(content_request(), integration)).status, 202);
}

TEST_F(mail_send_client_test, bodies_sendgrid_refuses_get_400_with_the_field) {
  mail_send_simulator sim;
  const auto integration = integration_for(sim.url());
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);

  auto no_subject = content_request();
  no_subject.clear_subject();
  auto no_content = content_request();
  no_content.clear_content();
  auto many_categories = content_request();
  for (int i = 0; i < 10; ++i) many_categories.add_categories("c" + std::to_string(i));
  auto many_recipients = content_request();
  for (int i = 0; i < 1000; ++i) {
    *many_recipients.add_to() = recipient("u" + std::to_string(i) + "@x.test");
  }
  const std::string from = R"("from":{"email":"news@acme.test"},"subject":"s",)"
                           R"("content":[{"type":"text/plain","value":"v"}])";
  struct refused {
    std::string what;
    std::string body;
    std::string field;
  };
  const std::vector<refused> cases = {
      {"not JSON", "{\"personalizations\":", ""},
      {"no personalizations", "{" + from + "}", "personalizations"},
      {"no from", R"({"personalizations":[{"to":[{"email":"a@x.test"}]}],"subject":"s"})",
       "from.email"},
      {"no to", "{\"personalizations\":[{\"to\":[]}]," + from + "}", "personalizations.0.to"},
      {"the same address twice",
       "{\"personalizations\":[{\"to\":[{\"email\":\"a@x.test\"},{\"email\":\"A@x.test\"}]}]," +
           from + "}",
       "personalizations.0.to.1"},
      {"reply_to and reply_to_list",
       "{\"personalizations\":[{\"to\":[{\"email\":\"a@x.test\"}]}]," + from +
           R"(,"reply_to":{"email":"r@x.test"},"reply_to_list":[{"email":"r@x.test"}]})",
       "reply_to"},
      {"text/html before text/plain",
       R"({"personalizations":[{"to":[{"email":"a@x.test"}]}],"from":{"email":"f@x.test"},)"
       R"("subject":"s","content":[{"type":"text/html","value":"h"},)"
       R"({"type":"text/plain","value":"p"}]})",
       "content"},
      {"no subject without a template", body_of(no_subject, integration), "subject"},
      {"no content without a template", body_of(no_content, integration), "content"},
      {"11 categories", body_of(many_categories, integration), "categories"},
      {"1001 personalizations", body_of(many_recipients, integration), "personalizations"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const api_answer answer = client->send(c.body);
    EXPECT_EQ(answer.status, 400) << explain(answer);
    EXPECT_EQ(classify(answer), answer_kind::rejected);
    ASSERT_EQ(answer.errors.size(), 1u);
    EXPECT_FALSE(answer.errors[0].message().empty());
    EXPECT_EQ(answer.errors[0].field(), c.field);
    EXPECT_EQ(explain(answer).rfind("request refused (400: ", 0), 0u) << explain(answer);
  }
  // All on one connection: a 400 does not close it.
  EXPECT_EQ(sim.connections_accepted(), 1u);
}

TEST_F(mail_send_client_test, a_body_over_30_mb_gets_413) {
  mail_send_simulator sim;
  const auto integration = integration_for(sim.url());
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const api_answer answer = client->send(std::string(testing::simulated_max_body + 1, ' '));
  EXPECT_EQ(answer.status, 413) << explain(answer);
  EXPECT_EQ(classify(answer), answer_kind::rejected);
  EXPECT_EQ(explain(answer), "content too large (413: content too large)");
}

TEST_F(mail_send_client_test, a_scripted_429_carries_the_reset_and_a_500_is_retryable) {
  mail_send_simulator sim;
  const auto integration = integration_for(sim.url());
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const std::string body = body_of(content_request(), integration);
  sim.answer_next({429, 500});

  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const api_answer limited = client->send(body);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(classify(limited), answer_kind::rate_limited);
  ASSERT_TRUE(limited.rate_limit_reset.has_value());
  EXPECT_GE(*limited.rate_limit_reset, now);
  EXPECT_LE(*limited.rate_limit_reset, now + 3);
  EXPECT_EQ(explain(limited), "rate limited (429: too many requests)");

  const api_answer failed = client->send(body);
  EXPECT_EQ(failed.status, 500);
  EXPECT_EQ(classify(failed), answer_kind::retryable);
  EXPECT_EQ(explain(failed), "SendGrid error (500: internal server error)");

  const api_answer sent = client->send(body);
  EXPECT_EQ(sent.status, 202);
  EXPECT_FALSE(sent.message_id.empty());
  EXPECT_EQ(sim.connections_accepted(), 1u);
}

TEST_F(mail_send_client_test, keeps_one_connection_for_several_calls) {
  mail_send_simulator sim;
  const auto integration = integration_for(sim.url());
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const std::string body = body_of(content_request(), integration);
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    const api_answer answer = client->send(body);
    ASSERT_EQ(answer.status, 202) << explain(answer);
    ids.insert(answer.message_id);
  }
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_EQ(sim.connections_accepted(), 1u);
}

TEST_F(mail_send_client_test, reconnects_when_the_server_closed_the_idle_connection) {
  mail_send_simulator sim;
  const auto integration = integration_for(sim.url());
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const std::string body = body_of(content_request(), integration);
  ASSERT_EQ(client->send(body).status, 202);
  ASSERT_TRUE(sim.close_idle_connections());

  const api_answer answer = client->send(body);
  EXPECT_EQ(answer.status, 202) << explain(answer);
  EXPECT_EQ(sim.connections_accepted(), 2u);
  EXPECT_EQ(sim.call_count(), 2u);
  EXPECT_EQ(sim.requests_received(), 2u);  // the closed connection got nothing
}

TEST_F(mail_send_client_test, reconnects_after_the_servers_idle_timeout) {
  mail_send_simulator_options options;
  options.idle_timeout = 50ms;
  mail_send_simulator sim(options);
  const auto integration = integration_for(sim.url());
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const std::string body = body_of(content_request(), integration);
  ASSERT_EQ(client->send(body).status, 202);
  // Wait for the server's own idle timeout to close the connection.
  for (int i = 0; i < 500 && sim.open_connections() > 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(sim.open_connections(), 0);

  EXPECT_EQ(client->send(body).status, 202);
  EXPECT_EQ(sim.connections_accepted(), 2u);
}

TEST_F(mail_send_client_test, an_unreachable_port_is_status_0_with_the_reason) {
  std::uint16_t port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = acceptor.local_endpoint().port();
  }  // closed: nothing listens there now
  const auto integration = integration_for("http://127.0.0.1:" + std::to_string(port));
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const api_answer answer = client->send(body_of(content_request(), integration));
  EXPECT_EQ(answer.status, 0);
  EXPECT_FALSE(answer.request_started);
  EXPECT_EQ(classify(answer), answer_kind::retryable);
  EXPECT_NE(
      answer.transport_error.find("cannot connect to http://127.0.0.1:" + std::to_string(port)),
      std::string::npos)
      << answer.transport_error;
  EXPECT_EQ(explain(answer).rfind("unreachable: cannot connect", 0), 0u) << explain(answer);
  EXPECT_EQ(answer.transport_error.find(test_key), std::string::npos);
}

TEST_F(mail_send_client_test,
       an_answer_later_than_the_timeout_is_indeterminate_then_the_next_call_works) {
  mail_send_simulator sim;
  auto integration = integration_for(sim.url());
  integration.timeout = 300ms;
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const std::string body = body_of(content_request(), integration);
  sim.set_response_delay(5s);

  const auto started = std::chrono::steady_clock::now();
  const api_answer late = client->send(body);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(late.status, 0);
  // The simulator has the request: calling again could send the email twice.
  EXPECT_EQ(classify(late), answer_kind::indeterminate);
  EXPECT_EQ(sim.requests_received(), 1u);
  EXPECT_NE(late.transport_error.find("no answer within 300 ms"), std::string::npos)
      << late.transport_error;
  EXPECT_LT(took, 4s);  // the deadline, not the server's delay, ended the call

  sim.set_response_delay(0ms);
  const api_answer next = client->send(body);
  EXPECT_EQ(next.status, 202) << explain(next);
  EXPECT_EQ(sim.requests_received(), 2u);
}

TEST_F(mail_send_client_test, on_accepted_sees_each_202) {
  std::promise<mail_send_call> seen;
  mail_send_simulator_options options;
  options.on_accepted = [&seen](const mail_send_call& call) { seen.set_value(call); };
  mail_send_simulator sim(options);
  const auto integration = integration_for(sim.url());
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const api_answer answer = client->send(body_of(content_request(), integration));
  ASSERT_EQ(answer.status, 202);
  auto future = seen.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  const mail_send_call call = future.get();
  EXPECT_EQ(call.message_id, answer.message_id);
  EXPECT_EQ(call.custom_args.at("mailhook_request_id"), "r-1");
}

TEST_F(mail_send_client_test, requests_go_below_the_base_path_of_the_api_url) {
  mail_send_simulator sim;
  auto integration = integration_for(sim.url() + "/");
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->send(body_of(content_request(), integration)).status, 202);

  integration.api_url = sim.url() + "/proxy";
  client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const api_answer answer = client->send(body_of(content_request(), integration));
  EXPECT_EQ(answer.status, 404);  // the simulator serves /v3/mail/send only
  EXPECT_EQ(explain(answer), "refused by SendGrid (404: not found)");
}

// ---- HTTPS ----

class mail_send_tls_test : public mail_send_client_test {
 protected:
  void SetUp() override {
    certificate_ = testing::make_self_signed_certificate(dir_.path(), "IP:127.0.0.1");
    mail_send_simulator_options options;
    options.tls_cert_file = certificate_.cert_file;
    options.tls_key_file = certificate_.key_file;
    sim_ = std::make_unique<mail_send_simulator>(options);
  }

  testing::temp_dir dir_;
  testing::certificate_files certificate_;
  std::unique_ptr<mail_send_simulator> sim_;
};

TEST_F(mail_send_tls_test, verifies_the_server_against_ca_file_and_keeps_the_connection) {
  auto integration = integration_for(sim_->url());
  ASSERT_EQ(integration.api_url.rfind("https://127.0.0.1:", 0), 0u);
  integration.ca_file = certificate_.cert_file;
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const std::string body = body_of(content_request(), integration);
  for (int i = 0; i < 3; ++i) {
    const api_answer answer = client->send(body);
    ASSERT_EQ(answer.status, 202) << explain(answer);
    EXPECT_FALSE(answer.message_id.empty());
  }
  EXPECT_EQ(sim_->connections_accepted(), 1u);
  EXPECT_EQ(sim_->calls()[0].api_key, test_key);

  // And over a new connection once the server closed the old one, sent once.
  ASSERT_TRUE(sim_->close_idle_connections());
  EXPECT_EQ(client->send(body).status, 202);
  EXPECT_EQ(sim_->connections_accepted(), 2u);
  EXPECT_EQ(sim_->requests_received(), 4u);
}

TEST_F(mail_send_tls_test, refuses_a_certificate_the_system_does_not_trust) {
  const auto integration = integration_for(sim_->url());  // no ca_file: the system's CAs
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const api_answer answer = client->send(body_of(content_request(), integration));
  EXPECT_EQ(answer.status, 0);
  EXPECT_FALSE(answer.request_started);
  EXPECT_EQ(classify(answer), answer_kind::retryable);  // no byte of the request went out
  EXPECT_NE(answer.transport_error.find("TLS handshake failed"), std::string::npos)
      << answer.transport_error;
  EXPECT_NE(answer.transport_error.find("certificate verify failed"), std::string::npos)
      << answer.transport_error;
  EXPECT_NE(answer.transport_error.find("self-signed certificate"), std::string::npos)
      << answer.transport_error;
  EXPECT_EQ(sim_->call_count(), 0u);
}

TEST_F(mail_send_tls_test, refuses_a_trusted_certificate_for_another_host) {
  auto integration = integration_for("https://localhost:" + std::to_string(sim_->port()));
  integration.ca_file = certificate_.cert_file;  // trusted, but it names 127.0.0.1 only
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const api_answer answer = client->send(body_of(content_request(), integration));
  EXPECT_EQ(answer.status, 0);
  EXPECT_NE(answer.transport_error.find("hostname mismatch"), std::string::npos)
      << answer.transport_error;
  EXPECT_EQ(sim_->call_count(), 0u);
}

TEST_F(mail_send_tls_test, checks_the_ip_address_of_an_ip_url) {
  const auto other = testing::make_self_signed_certificate(dir_.path(), "DNS:localhost");
  mail_send_simulator_options options;
  options.tls_cert_file = other.cert_file;
  options.tls_key_file = other.key_file;
  mail_send_simulator named(options);
  auto integration = integration_for(named.url());  // https://127.0.0.1:PORT
  integration.ca_file = other.cert_file;
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const api_answer refused = client->send(body_of(content_request(), integration));
  EXPECT_EQ(refused.status, 0);
  EXPECT_NE(refused.transport_error.find("IP address mismatch"), std::string::npos)
      << refused.transport_error;

  // The same certificate by its name (with SNI) is fine.
  integration.api_url = "https://localhost:" + std::to_string(named.port());
  client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const api_answer sent = client->send(body_of(content_request(), integration));
  EXPECT_EQ(sent.status, 202) << explain(sent);
  EXPECT_EQ(named.calls().at(0).headers.at("host"), "localhost:" + std::to_string(named.port()));
}

TEST_F(mail_send_tls_test, plain_http_to_a_tls_port_is_status_0) {
  auto integration = integration_for("http://127.0.0.1:" + std::to_string(sim_->port()));
  integration.timeout = 2s;
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const api_answer answer = client->send(body_of(content_request(), integration));
  EXPECT_EQ(answer.status, 0);
  EXPECT_FALSE(answer.transport_error.empty());
}

// ---- the client against a bare peer ----

// A call whose request went out and got no whole answer: indeterminate, never written
// again, whatever broke.
struct indeterminate_case {
  const char* what;
  std::vector<std::vector<step>> scripts;
  bool after_an_answered_call;  // the faulty call reuses a kept-alive connection
  std::size_t body_bytes;       // 0: a content request's body
  const char* error_says;       // in transport_error
};

TEST_F(mail_send_client_test, a_request_without_a_whole_answer_is_indeterminate_and_not_resent) {
  const indeterminate_case cases[] = {
      // Before, this request was sent again on a new connection; but the server had read
      // it, and SendGrid may have accepted it before the connection ended.
      {"a kept-alive connection closed under the request",
       {{step::answer, step::close}, {step::answer}},
       true,
       0,
       "cannot read the answer of"},
      {"part of an answer arrived",
       {{step::answer, step::partial_answer}, {step::answer}},
       true,
       0,
       "127.0.0.1"},
      {"a new connection closed without an answer",
       {{step::close}, {step::answer}},
       false,
       0,
       "127.0.0.1"},
      {"a malformed answer",
       {{step::malformed_answer}, {step::answer}},
       false,
       0,
       "cannot read the answer of"},
      // Larger than what the two sockets' buffers hold, so that the write itself fails.
      {"a reset in the middle of the request",
       {{step::reset_mid_request}, {step::answer}},
       false,
       64 * 1024 * 1024,
       "cannot send the request to"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    scripted_peer peer(c.scripts);
    const auto integration = integration_for(peer);
    auto client = client_for(integration);
    ASSERT_NE(client, nullptr);
    const std::string body = c.body_bytes != 0 ? std::string(c.body_bytes, ' ')
                                               : body_of(content_request(), integration);
    if (c.after_an_answered_call) {
      const api_answer first = client->send(body);
      ASSERT_EQ(first.status, 202) << explain(first);
      EXPECT_EQ(first.message_id, "peer-1");
    }
    const api_answer answer = client->send(body);
    EXPECT_EQ(answer.status, 0);
    EXPECT_TRUE(answer.request_started);
    EXPECT_EQ(classify(answer), answer_kind::indeterminate);
    EXPECT_EQ(explain(answer).rfind("no answer after the request was sent: ", 0), 0u)
        << explain(answer);
    EXPECT_NE(answer.transport_error.find(c.error_says), std::string::npos)
        << answer.transport_error;
    // Were the request sent again, the peer's next connection would answer it with a 202:
    // one request per email on the peer is the proof.
    EXPECT_EQ(peer.requests(), c.after_an_answered_call ? 2 : 1);
    EXPECT_EQ(peer.connections(), 1);
    client.reset();  // lets the peer see the close
  }
}

TEST_F(mail_send_client_test, an_idle_connection_the_server_closed_is_replaced_before_writing) {
  scripted_peer peer({{step::answer_then_close}, {step::answer}});
  const auto integration = integration_for(peer);
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const std::string body = body_of(content_request(), integration);
  const api_answer first = client->send(body);
  ASSERT_EQ(first.status, 202) << explain(first);
  ASSERT_TRUE(peer.wait_closed_idle(1, 5s));
  std::this_thread::sleep_for(20ms);  // the close on its way through the loopback

  const api_answer second = client->send(body);
  EXPECT_EQ(second.status, 202) << explain(second);
  EXPECT_EQ(second.message_id, "peer-2");
  EXPECT_EQ(peer.requests(), 2);  // once each: nothing was written to the closed connection
  EXPECT_EQ(peer.connections(), 2);
  client.reset();
}

TEST_F(mail_send_client_test, a_refused_connection_is_retryable_and_nothing_was_sent) {
  testing::scripted_peer_options options;
  options.listening = false;  // bound, so nobody else takes the port, but refusing
  scripted_peer peer({{step::answer}}, options);
  const auto integration = integration_for(peer);
  auto client = client_for(integration);
  ASSERT_NE(client, nullptr);
  const std::string body = body_of(content_request(), integration);
  const api_answer refused = client->send(body);
  EXPECT_EQ(refused.status, 0);
  EXPECT_FALSE(refused.request_started);
  EXPECT_EQ(classify(refused), answer_kind::retryable);

  peer.listen();
  const api_answer sent = client->send(body);
  EXPECT_EQ(sent.status, 202) << explain(sent);
  EXPECT_EQ(peer.requests(), 1);
  client.reset();
}

// ---- the webhook signer of the test support ----

TEST(webhook_signer, signs_what_mailhooks_verifier_accepts) {
  const testing::webhook_signer signer;
  auto key = webhook::public_key::from_base64_spki(signer.public_key_base64());
  ASSERT_TRUE(key) << key.error().describe();
  EXPECT_EQ(key->to_base64_spki(), signer.public_key_base64());
  const webhook::signature_verifier verifier(*key);

  const std::string body = R"([{"email":"a@x.test","event":"bounce","mailhook_request_id":"r-1"}])"
                           "\r\n";
  const auto headers = signer.headers(body, 1700000000);
  EXPECT_EQ(headers.at("X-Twilio-Email-Event-Webhook-Timestamp"), "1700000000");
  const std::string& signature = headers.at("X-Twilio-Email-Event-Webhook-Signature");
  EXPECT_EQ(verifier.verify("1700000000", body, signature), webhook::verify_outcome::ok);
  EXPECT_EQ(verifier.verify("1700000001", body, signature), webhook::verify_outcome::bad_signature);
  EXPECT_EQ(verifier.verify("1700000000", body + " ", signature),
            webhook::verify_outcome::bad_signature);

  const testing::webhook_signer other;
  EXPECT_EQ(verifier.verify("1700000000", body, other.sign("1700000000", body)),
            webhook::verify_outcome::bad_signature);
}

TEST(webhook_signer, headers_without_a_timestamp_use_now) {
  const testing::webhook_signer signer;
  const auto headers = signer.headers("[]");
  const auto stamp = headers.at("X-Twilio-Email-Event-Webhook-Timestamp");
  EXPECT_EQ(webhook::check_timestamp(stamp, std::chrono::seconds(60), std::chrono::seconds(60),
                                     std::chrono::system_clock::now()),
            webhook::timestamp_outcome::ok);
}

}  // namespace
}  // namespace mailhook::sender
