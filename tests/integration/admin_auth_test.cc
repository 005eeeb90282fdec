// The admin API's access rules against the real daemon and the shared broker: requests
// without a token, with a read token on a write route, with a foreign Host or a text/plain
// body are refused and change nothing (the changelog topic stays empty); a write token's
// change carries its name and the note into the changelog record; the monitoring
// listener serves probes and metrics without a token; no tokens closes /v1 and the
// development opt-out opens it; the admin listener speaks HTTPS when configured.
#include <gtest/gtest.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "mailhook/v1/suppression_record.pb.h"
#include "support/daemon.h"
#include "support/eventually.h"
#include "support/kafka_reader.h"
#include "support/mail_send_simulator.h"
#include "support/process.h"

namespace mailhook::testing {
namespace {

using namespace std::chrono_literals;
using verb = boost::beast::http::verb;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const std::string add_body =
    R"({"tenant":"acme","email":"bob@example.com","reason":"spam_report"})";

// A daemon with a changelog topic of the test's own, so that "nothing was written" can be
// read from Kafka itself.
class admin_auth : public ::testing::Test {
 protected:
  void start(admin_settings admin = {}, const std::string& extra_toml = "") {
    topic_ = unique_topic("admin-auth.suppressions");
    daemon_ = std::make_unique<daemon>(
        shared_kafka_bootstrap(),
        "[topics.suppressions]\nname = \"" + topic_ + "\"\npartitions = 1\n\n" + extra_toml,
        std::vector<std::string>{"--roles", "index"}, std::move(admin));
    ASSERT_TRUE(daemon_->wait_for_readyz(200, 60s)) << daemon_->output();
  }

  // A request on a fresh connection to the admin port, with exactly these headers.
  http_reply request(verb method, const std::string& target, const std::string& body,
                     const std::map<std::string, std::string>& headers) const {
    http_client client("127.0.0.1", daemon_->admin_port());
    return client.request(method, target, body, headers);
  }

  static std::map<std::string, std::string> with(std::map<std::string, std::string> headers,
                                                 std::string_view token) {
    headers["Authorization"] = "Bearer " + std::string(token);
    return headers;
  }

  std::string check_bob() const {
    return daemon_->admin_get("/v1/suppressions/check?tenant=acme&email=bob@example.com").body;
  }

  // The changelog records written so far, reading for `wait` when none are expected.
  std::vector<mailhook::v1::SuppressionRecord> changelog(std::size_t expected,
                                                         std::chrono::milliseconds wait) const {
    std::vector<mailhook::v1::SuppressionRecord> records;
    for (const auto& r : read_topic(shared_kafka_bootstrap(), topic_, expected, wait)) {
      mailhook::v1::SuppressionRecord record;
      EXPECT_TRUE(record.ParseFromString(r.value));
      records.push_back(std::move(record));
    }
    return records;
  }

  void expect_nothing_changed() const {
    EXPECT_TRUE(contains(check_bob(), R"("allowed":true)")) << check_bob();
    EXPECT_TRUE(changelog(0, 2s).empty()) << "a refused request wrote to the changelog";
  }

  std::string refused_count(std::string_view reason) const {
    auto metrics = daemon_->admin_get("/metrics").body;
    auto name = "mailhook_admin_requests_refused_total{reason=\"" + std::string(reason) + "\"} ";
    auto at = metrics.find(name);
    if (at == std::string::npos) return "<absent>";
    return metrics.substr(at + name.size(), metrics.find('\n', at) - at - name.size());
  }

  std::string topic_;
  std::unique_ptr<daemon> daemon_;
};

TEST_F(admin_auth, without_a_token_v1_is_401_and_nothing_changes) {
  start();
  const std::map<std::string, std::string> json{{"Content-Type", "application/json"},
                                                {"X-Mailhook-Reason", "n"}};
  auto add = request(verb::post, "/v1/suppressions", add_body, json);
  EXPECT_EQ(add.status, 401) << add.body;
  EXPECT_EQ(add.headers["www-authenticate"], R"(Bearer realm="mailhook-admin")");
  EXPECT_TRUE(contains(add.body, R"("error":"token_missing")")) << add.body;
  auto remove =
      request(verb::delete_, "/v1/suppressions?tenant=acme&email=bob@example.com&note=n", "", {});
  EXPECT_EQ(remove.status, 401) << remove.body;
  auto unknown = request(verb::post, "/v1/suppressions", add_body,
                         with(json, "a-token-that-was-never-configured"));
  EXPECT_EQ(unknown.status, 401) << unknown.body;
  EXPECT_EQ(unknown.headers["www-authenticate"],
            R"(Bearer realm="mailhook-admin", error="invalid_token")");
  // Reads need a token too: the export holds every complainer's address.
  EXPECT_EQ(request(verb::get, "/v1/suppressions/export?tenant=acme", "", {}).status, 401);
  EXPECT_EQ(request(verb::get, "/v1/suppressions/check?tenant=acme&email=a@b", "", {}).status, 401);
  expect_nothing_changed();
  EXPECT_EQ(refused_count("token_missing"), "4");
  EXPECT_EQ(refused_count("token_unknown"), "1");
  // The probes need none.
  EXPECT_EQ(request(verb::get, "/healthz", "", {}).status, 200);
  EXPECT_EQ(request(verb::get, "/readyz", "", {}).status, 200);
  EXPECT_EQ(request(verb::get, "/metrics", "", {}).status, 200);
}

TEST_F(admin_auth, a_read_token_checks_and_lists_but_a_write_route_is_403_and_changes_nothing) {
  start();
  auto check = request(verb::get, "/v1/suppressions/check?tenant=acme&email=bob@example.com", "",
                       bearer(daemon::read_token));
  EXPECT_EQ(check.status, 200) << check.body;
  EXPECT_EQ(
      request(verb::get, "/v1/suppressions?tenant=acme", "", bearer(daemon::read_token)).status,
      200);
  EXPECT_EQ(request(verb::post, "/v1/suppressions/check", R"({"tenant":"acme","emails":["a@b"]})",
                    with({{"Content-Type", "application/json"}}, daemon::read_token))
                .status,
            200);

  auto add = request(
      verb::post, "/v1/suppressions", add_body,
      with({{"Content-Type", "application/json"}, {"X-Mailhook-Reason", "n"}}, daemon::read_token));
  EXPECT_EQ(add.status, 403) << add.body;
  EXPECT_TRUE(contains(add.body, "token 'test-reader' has read scope")) << add.body;
  EXPECT_EQ(add.headers["www-authenticate"],
            R"(Bearer realm="mailhook-admin", error="insufficient_scope", scope="write")");
  auto remove = request(verb::delete_, "/v1/suppressions?tenant=acme&email=bob@example.com&note=n",
                        "", bearer(daemon::read_token));
  EXPECT_EQ(remove.status, 403) << remove.body;
  expect_nothing_changed();
  EXPECT_EQ(refused_count("insufficient_scope"), "2");
}

TEST_F(admin_auth, a_write_tokens_changes_carry_its_name_and_the_note_into_the_changelog) {
  start();
  auto add = request(
      verb::post, "/v1/suppressions",
      R"({"tenant":"acme","email":"Bob@Example.com","reason":"spam_report","note":"ticket 9: complained by phone"})",
      with({{"Content-Type", "application/json; charset=utf-8"}}, daemon::write_token));
  ASSERT_EQ(add.status, 202) << add.body;
  ASSERT_TRUE(eventually([&] { return contains(check_bob(), R"("allowed":false)"); }, 15s));

  // Lifting it, with the note in the header this time.
  auto remove = daemon_->admin_write(
      verb::delete_, "/v1/suppressions?tenant=acme&email=bob@example.com", "", "ticket 10: lifted");
  ASSERT_EQ(remove.status, 202) << remove.body;
  ASSERT_TRUE(eventually([&] { return contains(check_bob(), R"("allowed":true)"); }, 15s));

  auto records = changelog(2, 30s);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_TRUE(records[0].suppressed());
  EXPECT_EQ(records[0].actor(), "test-writer");
  EXPECT_EQ(records[0].note(), "ticket 9: complained by phone");
  EXPECT_EQ(records[0].source(), "api");
  EXPECT_FALSE(records[1].suppressed());
  EXPECT_EQ(records[1].actor(), "test-writer");
  EXPECT_EQ(records[1].note(), "ticket 10: lifted");
  // And in the log, at info level.
  EXPECT_TRUE(contains(daemon_->output(),
                       "info admin: test-writer added acme/global/bob@example.com (reason "
                       "spam_report, event manual:"))
      << daemon_->output();
  EXPECT_TRUE(contains(daemon_->output(), ": note \"ticket 10: lifted\"")) << daemon_->output();
  // The secrets never reach the log.
  EXPECT_FALSE(contains(daemon_->output(), std::string(daemon::write_token)));
  EXPECT_FALSE(contains(daemon_->output(), std::string(daemon::read_token)));
}

TEST_F(admin_auth, a_change_without_a_note_is_400_and_changes_nothing) {
  start();
  auto add = request(verb::post, "/v1/suppressions", add_body,
                     with({{"Content-Type", "application/json"}}, daemon::write_token));
  EXPECT_EQ(add.status, 400) << add.body;
  EXPECT_TRUE(contains(add.body, "a note is required")) << add.body;
  expect_nothing_changed();
}

TEST_F(admin_auth, a_foreign_host_is_421_even_with_a_good_token_and_changes_nothing) {
  start();
  auto add = request(verb::post, "/v1/suppressions", add_body,
                     with({{"Content-Type", "application/json"},
                           {"X-Mailhook-Reason", "n"},
                           {"Host", "rebound.attacker.example:9464"}},
                          daemon::write_token));
  EXPECT_EQ(add.status, 421) << add.body;
  EXPECT_TRUE(contains(add.body, R"("error":"host_not_allowed")")) << add.body;
  EXPECT_EQ(request(verb::get, "/metrics", "", {{"Host", "rebound.attacker.example"}}).status, 421);
  // Addresses and localhost are fine, with any port.
  EXPECT_EQ(request(verb::get, "/healthz", "", {{"Host", "localhost:1234"}}).status, 200);
  EXPECT_EQ(request(verb::get, "/healthz", "", {{"Host", "[::1]:9464"}}).status, 200);
  expect_nothing_changed();
  EXPECT_EQ(refused_count("host_not_allowed"), "2");
}

TEST_F(admin_auth, a_text_plain_or_form_post_is_415_and_changes_nothing) {
  start();
  for (const char* type :
       {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
    auto add =
        request(verb::post, "/v1/suppressions", add_body,
                with({{"Content-Type", type}, {"X-Mailhook-Reason", "n"}}, daemon::write_token));
    EXPECT_EQ(add.status, 415) << type << ": " << add.body;
  }
  expect_nothing_changed();
  EXPECT_EQ(refused_count("unsupported_media_type"), "3");
}

TEST_F(admin_auth, the_monitoring_listener_serves_metrics_and_probes_without_a_token_only) {
  start({}, "[admin.monitoring]\nlisten = \"127.0.0.1:0\"\n");
  auto port = daemon_->monitoring_port();
  ASSERT_NE(port, 0) << daemon_->output();
  ASSERT_NE(port, daemon_->admin_port());
  auto ready = http_get(port, "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_TRUE(contains(ready.body, R"("index":"ok")")) << ready.body;
  EXPECT_EQ(http_get(port, "/healthz").status, 200);
  auto metrics = http_get(port, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_TRUE(contains(metrics.body, "mailhook_admin_requests_refused_total{reason="))
      << metrics.body;
  EXPECT_TRUE(contains(metrics.body, R"(mailhook_http_connections_total{listener="monitoring"})"))
      << metrics.body;
  // Nothing else, whatever the token.
  http_client client("127.0.0.1", port);
  auto v1 = client.request(verb::get, "/v1/suppressions/stats", "", bearer(daemon::write_token));
  EXPECT_EQ(v1.status, 404) << v1.body;
  // It is stopped after the admin listener, and the exit is still clean.
  EXPECT_EQ(daemon_->stop(), 0) << daemon_->output();
}

TEST_F(admin_auth, without_tokens_v1_is_closed_but_the_probes_answer) {
  start({.tokens = false});
  auto stats = request(verb::get, "/v1/suppressions/stats", "", bearer("anything-at-all-here"));
  EXPECT_EQ(stats.status, 403) << stats.body;
  EXPECT_TRUE(contains(stats.body, R"("error":"api_closed")")) << stats.body;
  EXPECT_TRUE(contains(daemon_->output(), "admin: /v1 is closed (403)")) << daemon_->output();
  EXPECT_EQ(request(verb::get, "/metrics", "", {}).status, 200);
}

TEST_F(admin_auth, the_development_opt_out_admits_changes_as_unauthenticated) {
  start({.tokens = false, .keys = "allow_unauthenticated = true\n"});
  auto add = request(verb::post, "/v1/suppressions", add_body,
                     {{"Content-Type", "application/json"}, {"X-Mailhook-Reason", "dev"}});
  ASSERT_EQ(add.status, 202) << add.body;
  auto records = changelog(1, 30s);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].actor(), "unauthenticated");
  EXPECT_EQ(records[0].note(), "dev");
  // A cross-site form post is refused all the same.
  EXPECT_EQ(request(verb::post, "/v1/suppressions", add_body,
                    {{"Content-Type", "text/plain"}, {"X-Mailhook-Reason", "dev"}})
                .status,
            415);
}

TEST_F(admin_auth, the_admin_listener_speaks_https_when_configured) {
  temp_dir dir;
  const auto files = make_self_signed_certificate(dir.path());
  const std::string& cert = files.cert_file;
  const std::string& key = files.key_file;
  // Readiness through the monitoring listener: the admin port no longer speaks plain HTTP.
  topic_ = unique_topic("admin-auth.tls");
  daemon_ = std::make_unique<daemon>(shared_kafka_bootstrap(),
                                     "[topics.suppressions]\nname = \"" + topic_ +
                                         "\"\npartitions = 1\n\n[admin.tls]\ncertificate = \"" +
                                         cert + "\"\nprivate_key = \"" + key +
                                         "\"\n\n[admin.monitoring]\nlisten = \"127.0.0.1:0\"\n",
                                     std::vector<std::string>{"--roles", "index"});
  ASSERT_TRUE(eventually(
      [&] { return http_get(daemon_->monitoring_port(), "/readyz").status == 200; }, 60s))
      << daemon_->output();
  EXPECT_TRUE(contains(daemon_->output(), "admin listener on 127.0.0.1:")) << daemon_->output();
  EXPECT_TRUE(contains(daemon_->output(), "(https)")) << daemon_->output();

  namespace asio = boost::asio;
  namespace beast = boost::beast;
  asio::io_context io;
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.load_verify_file(cert);
  tls.set_verify_mode(asio::ssl::verify_peer);
  auto get = [&](const std::string& token) {
    beast::ssl_stream<beast::tcp_stream> stream(io, tls);
    beast::get_lowest_layer(stream).connect(
        {asio::ip::make_address("127.0.0.1"), daemon_->admin_port()});
    stream.handshake(asio::ssl::stream_base::client);
    beast::http::request<beast::http::string_body> req{verb::get, "/v1/suppressions/stats", 11};
    req.set(beast::http::field::host, "127.0.0.1");
    if (!token.empty()) req.set(beast::http::field::authorization, "Bearer " + token);
    beast::http::write(stream, req);
    beast::flat_buffer buffer;
    beast::http::response<beast::http::string_body> res;
    beast::http::read(stream, buffer, res);
    return res.result_int();
  };
  EXPECT_EQ(get(std::string(daemon::read_token)), 200u);
  EXPECT_EQ(get(""), 401u);
  // Plain HTTP on the TLS port gets no answer.
  EXPECT_EQ(http_get(daemon_->admin_port(), "/healthz").status, 0);

  // The CLI speaks HTTPS to it, verifying the certificate against the CA it is given.
  const std::string admin = "https://127.0.0.1:" + std::to_string(daemon_->admin_port());
  const auto cli = [&](const std::string& url, const std::string& ca_file) {
    return run({mailhook_binary(), "suppressions", "stats", "--admin", url, "--ca-file", ca_file,
                "--token-file", daemon_->read_token_file().string()});
  };
  const auto trusted = cli(admin, cert);
  EXPECT_EQ(trusted.status, 0) << trusted.output;
  temp_dir other;
  const auto stranger = cli(admin, make_self_signed_certificate(other.path()).cert_file);
  EXPECT_EQ(stranger.status, 1) << stranger.output;
  EXPECT_TRUE(contains(stranger.output, "certificate verify failed")) << stranger.output;
  // The certificate names 127.0.0.1 only: reached as localhost, the name does not match.
  const auto renamed = cli("https://localhost:" + std::to_string(daemon_->admin_port()), cert);
  EXPECT_EQ(renamed.status, 1) << renamed.output;
  EXPECT_TRUE(contains(renamed.output, "hostname mismatch")) << renamed.output;
}

}  // namespace
}  // namespace mailhook::testing
