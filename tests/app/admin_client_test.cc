// The CLI's client of the admin API against servers that misbehave: one that never
// answers must cost the timeout, not hang the command.
#include "app/admin_client.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>

namespace mailhook::app {
namespace {

using namespace std::chrono_literals;
using tcp = boost::asio::ip::tcp;

TEST(admin_client, a_server_that_never_answers_costs_the_timeout_not_forever) {
  // Listening but never accepting: the kernel completes the connection, nothing reads.
  boost::asio::io_context io;
  tcp::acceptor silent(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  admin_client client({"127.0.0.1", silent.local_endpoint().port()}, 1s);
  auto started = std::chrono::steady_clock::now();
  auto reply = client.request(boost::beast::http::verb::get, "/healthz");
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(reply);
  EXPECT_NE(reply.error().describe().find("cannot read the answer of http://127.0.0.1:"),
            std::string::npos)
      << reply.error().describe();
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 10s);
}

TEST(admin_client, a_closed_port_is_a_connect_failure) {
  boost::asio::io_context io;
  std::uint16_t port = 0;
  {
    tcp::acceptor probe(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  admin_client client({"127.0.0.1", port}, 2s);
  auto reply = client.request(boost::beast::http::verb::get, "/healthz");
  ASSERT_FALSE(reply);
  EXPECT_NE(reply.error().describe().find("cannot connect to"), std::string::npos)
      << reply.error().describe();
}

}  // namespace
}  // namespace mailhook::app
