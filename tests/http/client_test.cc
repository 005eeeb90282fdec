// The shared HTTP client on the wire, against a scripted peer: the rules of http/client.h
// for when a request is written again, the call's deadline, and the answer's size limit.
// (TLS verification and the rest of the wire faults are covered through the Mail Send
// client, which is this client with SendGrid's meaning on top: tests/sender.)
#include "http/client.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>

#include "support/scripted_peer.h"

namespace mailhook::http {
namespace {

using namespace std::chrono_literals;
using step = testing::scripted_peer::step;
using tcp = boost::asio::ip::tcp;

std::unique_ptr<client> client_for(std::uint16_t port, client_options options = {}) {
  auto made = client::create(url{.tls = false, .host = "127.0.0.1", .port = port}, options);
  EXPECT_TRUE(made) << made.error().describe();
  return made ? std::move(*made) : nullptr;
}

outgoing_request post(bool repeatable) {
  return {.method = verb::post,
          .target = "/v3/mail/send",
          .body = "{}",
          .content_type = json_content_type,
          .repeatable = repeatable};
}

TEST(http_client, keeps_one_connection_and_reads_status_headers_and_body) {
  testing::scripted_peer peer({{step::answer, step::answer}});
  auto c = client_for(peer.port());
  for (int i = 0; i < 2; ++i) {
    const answer a = c->call(post(false));
    ASSERT_TRUE(a.whole()) << a.error;
    EXPECT_EQ(a.status, 202);
    EXPECT_FALSE(a.header("x-message-id").empty());
    EXPECT_TRUE(a.request_started);
  }
  EXPECT_EQ(peer.connections(), 1);
}

// Rule 2: a request that went out and got no answer is never written again by the client.
TEST(http_client, never_writes_a_request_twice_that_is_not_repeatable) {
  testing::scripted_peer peer({{step::answer, step::close}, {step::answer}});
  auto c = client_for(peer.port());
  ASSERT_EQ(c->call(post(false)).status, 202);
  const answer a = c->call(post(false));
  EXPECT_EQ(a.status, 0);
  EXPECT_TRUE(a.request_started);
  EXPECT_NE(a.error.find("cannot read the answer of http://127.0.0.1:"), std::string::npos)
      << a.error;
  EXPECT_EQ(peer.requests(), 2);
  EXPECT_EQ(peer.connections(), 1);
}

// Rule 3: a repeatable request that broke a reused connection goes out once more.
TEST(http_client, writes_a_repeatable_request_again_when_a_reused_connection_broke) {
  testing::scripted_peer peer({{step::answer, step::close}, {step::answer}});
  auto c = client_for(peer.port());
  ASSERT_EQ(c->call(post(true)).status, 202);
  const answer a = c->call(post(true));
  EXPECT_TRUE(a.whole()) << a.error;
  EXPECT_EQ(a.status, 202);
  EXPECT_EQ(peer.requests(), 3);
  EXPECT_EQ(peer.connections(), 2);
}

// ... but not when the connection was new: that server saw the request and chose silence.
TEST(http_client, does_not_repeat_on_a_new_connection_or_after_part_of_an_answer) {
  {
    testing::scripted_peer peer({{step::close}, {step::answer}});
    auto c = client_for(peer.port());
    EXPECT_EQ(c->call(post(true)).status, 0);
    EXPECT_EQ(peer.requests(), 1);
  }
  {
    testing::scripted_peer peer({{step::answer, step::partial_answer}, {step::answer}});
    auto c = client_for(peer.port());
    ASSERT_EQ(c->call(post(true)).status, 202);
    const answer a = c->call(post(true));
    EXPECT_FALSE(a.whole());
    EXPECT_EQ(peer.requests(), 2);
  }
}

// Rule 1: an idle connection the server closed is replaced before anything is written.
TEST(http_client, replaces_an_idle_connection_the_server_closed_before_writing) {
  testing::scripted_peer peer({{step::answer_then_close}, {step::answer}});
  auto c = client_for(peer.port());
  ASSERT_EQ(c->call(post(false)).status, 202);
  ASSERT_TRUE(peer.wait_closed_idle(1, 5s));
  const answer a = c->call(post(false));
  EXPECT_TRUE(a.whole()) << a.error;
  EXPECT_EQ(peer.requests(), 2);
  EXPECT_EQ(peer.connections(), 2);
}

TEST(http_client, a_server_that_never_answers_costs_the_deadline_not_forever) {
  // Listening but never accepting: the kernel completes the connection, nothing reads.
  boost::asio::io_context io;
  tcp::acceptor silent(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  auto c = client_for(silent.local_endpoint().port(), {.timeout = 1s});
  const auto started = std::chrono::steady_clock::now();
  const answer a = c->call(post(true));
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(a.status, 0);
  EXPECT_NE(a.error.find("no answer within 1000 ms"), std::string::npos) << a.error;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 10s);
}

TEST(http_client, a_closed_port_is_a_connect_failure_before_anything_was_written) {
  boost::asio::io_context io;
  std::uint16_t port = 0;
  {
    tcp::acceptor probe(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  const answer a = client_for(port)->call(post(false));
  EXPECT_FALSE(a.request_started);
  EXPECT_NE(a.error.find("cannot connect to http://127.0.0.1:"), std::string::npos) << a.error;
}

TEST(http_client, an_answer_over_the_limit_keeps_its_status_and_loses_its_body) {
  testing::scripted_peer peer({{step::answer_500}});  // a 500 with a JSON body
  auto c = client_for(peer.port(), {.max_answer_body = 8});
  const answer a = c->call(post(false));
  EXPECT_EQ(a.status, 500);
  EXPECT_FALSE(a.whole());
  EXPECT_NE(a.error.find("cannot read the body of the answer of"), std::string::npos) << a.error;
}

TEST(http_client, refuses_a_missing_ca_file_and_a_timeout_that_is_not_positive) {
  auto https = parse_url("https://127.0.0.1:1");
  ASSERT_TRUE(https);
  auto no_ca = client::create(*https, {.ca_file = "/nonexistent/ca.pem"});
  ASSERT_FALSE(no_ca);
  EXPECT_NE(no_ca.error().describe().find("cannot load the CA file /nonexistent/ca.pem"),
            std::string::npos);
  EXPECT_FALSE(client::create(*https, {.timeout = 0ms}));
}

}  // namespace
}  // namespace mailhook::http
