// http::server on a loopback port chosen by the kernel, driven by raw bytes where the
// wire format matters (100-continue, limits, malformed input) and by a Beast client
// elsewhere.
#include "http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "http/reply.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace mailhook::http {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Echoes the body and records what it saw; can answer later or never.
class test_handler final : public handler {
 public:
  // answer_later_on_executor: another thread posts the answer to responder::executor(),
  // as the webhook listener does from the producer's delivery thread.
  enum class mode { echo, answer_later, answer_later_on_executor, drop };
  std::atomic<mode> how{mode::echo};
  std::atomic<int> requests{0};
  std::atomic<int> headers{0};
  std::atomic<std::size_t> last_capacity{0};
  bool refuse_in_header = false;
  std::atomic<std::uint64_t> admit_up_to{std::numeric_limits<std::uint64_t>::max()};
  std::atomic<std::uint64_t> most_reading{0};
  std::mutex threads_mutex;
  std::vector<std::thread::id> request_threads;  // where each on_request ran, in order
  std::vector<std::thread::id> answer_threads;   // where each posted answer was sent

  bool admit_body_bytes(std::uint64_t bytes_reading) override {
    if (bytes_reading > most_reading) most_reading = bytes_reading;
    return bytes_reading <= admit_up_to;
  }

  std::optional<response> on_header(const request_header& h) override {
    headers.fetch_add(1);
    if (refuse_in_header || h.target() == "/refuse") {
      return error_reply({error_kind::unsupported_media_type, "unsupported_media_type"},
                         "refused early");
    }
    return std::nullopt;
  }

  void on_request(request&& req, responder res) override {
    requests.fetch_add(1);
    {
      std::lock_guard lock(threads_mutex);
      request_threads.push_back(std::this_thread::get_id());
    }
    last_capacity = req.body().capacity();
    switch (how.load()) {
      case mode::echo:
        res.send(make_response(status::ok, req.body(), text_content_type));
        break;
      case mode::answer_later:
        std::thread([r = std::move(res), body = req.body()]() mutable {
          std::this_thread::sleep_for(50ms);
          r.send(make_response(status::accepted, body, text_content_type));
        }).detach();
        break;
      case mode::answer_later_on_executor: {
        auto executor = res.executor();
        std::thread([this, executor, r = std::move(res), body = req.body()]() mutable {
          std::this_thread::sleep_for(10ms);
          asio::post(executor, [this, r = std::move(r), body = std::move(body)]() mutable {
            {
              std::lock_guard lock(threads_mutex);
              answer_threads.push_back(std::this_thread::get_id());
            }
            r.send(make_response(status::accepted, body, text_content_type));
          });
        }).detach();
        break;
      }
      case mode::drop:
        break;  // the responder dies here without an answer
    }
  }
};

class server_test : public ::testing::Test {
 protected:
  void start(server_options options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<server>(io_, options, handler_);
    auto listening = server_->listen();
    ASSERT_TRUE(listening) << listening.error().describe();
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_) server_->stop_accepting();
    if (server_) server_->close_idle_connections();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Sends raw bytes and reads until the server closes or `until` appears.
  std::string exchange(const std::string& bytes, const std::string& until = "") {
    asio::io_context io;
    tcp::socket socket = connect_from(io);
    asio::write(socket, asio::buffer(bytes));
    return read_all(socket, until);
  }

  // An open connection from `from` (any 127.0.0.0/8 address: a client of its own).
  tcp::socket connect_from(asio::io_context& io, const char* from = "127.0.0.1") {
    tcp::socket socket(io);
    socket.open(tcp::v4());
    socket.bind({asio::ip::make_address(from), 0});
    socket.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    return socket;
  }

  // Reads until the server closes the socket (or `until` appears).
  static std::string read_all(tcp::socket& socket, const std::string& until = "") {
    std::string received;
    char buffer[4096];
    boost::system::error_code ec;
    while (!ec) {
      auto n = socket.read_some(asio::buffer(buffer), ec);
      received.append(buffer, n);
      if (!until.empty() && received.find(until) != std::string::npos) break;
    }
    return received;
  }

  // The connection contexts of the tests that give the server some. Declared before io_,
  // so that they outlive it: the acceptor's last accept, pending on io_ until io_ is
  // destroyed, holds a socket of one of them (server.h).
  asio::io_context first_context_{1};
  asio::io_context second_context_{1};
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  test_handler handler_;
  std::unique_ptr<server> server_;
  std::thread thread_;
};

TEST_F(server_test, answers_several_requests_on_one_keep_alive_connection) {
  start();
  testing::http_client client("127.0.0.1", server_->port());
  for (int i = 0; i < 3; ++i) {
    auto r = client.post("/x", "body-" + std::to_string(i));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "body-" + std::to_string(i));
  }
  EXPECT_EQ(server_->stats().connections_accepted.load(), 1u);
}

TEST_F(server_test, a_handler_may_answer_later_from_another_thread) {
  start();
  handler_.how = test_handler::mode::answer_later;
  testing::http_client client("127.0.0.1", server_->port());
  auto r = client.post("/x", "later");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, "later");
}

TEST_F(server_test, connections_run_on_the_given_contexts_in_turn_each_on_one_thread) {
  asio::io_context& first = first_context_;
  asio::io_context& second = second_context_;
  auto keep_first = asio::make_work_guard(first);
  auto keep_second = asio::make_work_guard(second);
  std::thread first_thread([&] { first.run(); });
  std::thread second_thread([&] { second.run(); });
  const auto a = first_thread.get_id();
  const auto b = second_thread.get_id();
  server_options options;
  server_ = std::make_unique<server>(io_, options, handler_,
                                     std::vector<asio::io_context*>{&first, &second});
  if (auto listening = server_->listen(); !listening) {
    first.stop();
    second.stop();
    first_thread.join();
    second_thread.join();
    FAIL() << listening.error().describe();
  }
  thread_ = std::thread([this] { io_.run(); });  // the acceptor's
  for (int c = 0; c < 4; ++c) {
    testing::http_client client("127.0.0.1", server_->port());
    for (int i = 0; i < 2; ++i) EXPECT_EQ(client.post("/x", "ping").status, 200);
  }
  server_->stop_accepting();
  server_->close_idle_connections();
  keep_first.reset();
  keep_second.reset();
  first_thread.join();
  second_thread.join();
  // Connection 0 on the first context, 1 on the second, 2 on the first again...; every
  // request of a connection on its context's thread.
  const std::vector<std::thread::id> expected = {a, a, b, b, a, a, b, b};
  std::lock_guard lock(handler_.threads_mutex);
  EXPECT_EQ(handler_.request_threads, expected);
}

// Connections on a context of one thread have no strand: what another thread posts to
// the responder's executor runs on that thread, between the connection's own handlers.
TEST_F(server_test, an_answer_posted_from_another_thread_runs_on_the_connections_context) {
  asio::io_context& context = first_context_;
  auto keep = asio::make_work_guard(context);
  std::thread context_thread([&] { context.run(); });
  const auto expected_thread = context_thread.get_id();
  handler_.how = test_handler::mode::answer_later_on_executor;
  server_ = std::make_unique<server>(io_, server_options{}, handler_,
                                     std::vector<asio::io_context*>{&context});
  auto listening = server_->listen();
  if (listening) {
    thread_ = std::thread([this] { io_.run(); });  // the acceptor's
    testing::http_client client("127.0.0.1", server_->port());
    for (int i = 0; i < 3; ++i) {
      auto r = client.post("/x", "later " + std::to_string(i));
      EXPECT_EQ(r.status, 202);
      EXPECT_EQ(r.body, "later " + std::to_string(i));
    }
    server_->stop_accepting();
    server_->close_idle_connections();
  }
  keep.reset();
  context_thread.join();
  ASSERT_TRUE(listening) << listening.error().describe();
  std::lock_guard lock(handler_.threads_mutex);
  EXPECT_EQ(handler_.answer_threads, std::vector<std::thread::id>(3, expected_thread));
  EXPECT_EQ(handler_.request_threads, std::vector<std::thread::id>(3, expected_thread));
}

TEST_F(server_test, a_dropped_responder_answers_500) {
  start();
  handler_.how = test_handler::mode::drop;
  testing::http_client client("127.0.0.1", server_->port());
  EXPECT_EQ(client.post("/x", "lost").status, 500);
}

TEST_F(server_test, body_capacity_leaves_room_for_parser_padding) {
  server_options options;
  options.body_padding = 64;
  start(options);
  testing::http_client client("127.0.0.1", server_->port());
  client.post("/x", std::string(1000, 'a'));
  EXPECT_GE(handler_.last_capacity.load(), 1064u);
}

TEST_F(server_test, announced_oversize_body_gets_413_before_it_is_read) {
  server_options options;
  options.max_body_bytes = 100;
  start(options);
  auto reply = exchange("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
  EXPECT_NE(reply.find("body_too_large"), std::string::npos);
  EXPECT_EQ(handler_.requests.load(), 0);
}

TEST_F(server_test, chunked_body_over_the_limit_gets_413) {
  server_options options;
  options.max_body_bytes = 10;
  start(options);
  auto reply = exchange(
      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
  EXPECT_EQ(handler_.requests.load(), 0);
}

TEST_F(server_test, a_response_has_the_bytes_beasts_serializer_would_write) {
  // The server writes the status line and fields itself; they must be what Beast's own
  // serializer makes of the same message. It answers HTTP/1.1, to a 1.0 request too.
  start();
  for (const unsigned version : {11U, 10U}) {
    const std::string request = version == 11
                                    ? "POST /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                                      "Content-Length: 5\r\n\r\nhello"
                                    : "POST /x HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello";
    auto expected = make_response(status::ok, "hello", text_content_type);
    expected.keep_alive(false);
    expected.set(field::server, "mailhook");
    std::ostringstream beast_bytes;
    beast_bytes << expected;
    EXPECT_EQ(exchange(request), beast_bytes.str())
        << "HTTP/" << version / 10 << "." << version % 10;
  }
}

TEST_F(server_test, chunked_body_within_the_limit_is_reassembled) {
  start();
  auto reply = exchange(
      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("\r\n\r\nabcde"), std::string::npos) << reply;
}

TEST_F(server_test, oversize_header_gets_431) {
  server_options options;
  options.max_header_bytes = 256;
  start(options);
  auto reply =
      exchange("GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(400, 'b') + "\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply;
  EXPECT_EQ(server_->stats().requests_rejected_header_too_large.load(), 1u);
}

TEST_F(server_test, malformed_request_gets_400_and_is_counted) {
  start();
  auto reply = exchange("NOT A REQUEST\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_EQ(server_->stats().requests_rejected_malformed.load(), 1u);
}

TEST_F(server_test, a_transfer_coding_other_than_chunked_is_refused_before_the_body) {
  start();
  // Beast would take the Content-Length beside a coding it does not know and read "hello"
  // as the body; a proxy that follows RFC 7230 would not.
  auto reply = exchange(
      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n"
      "hello");
  EXPECT_EQ(reply.rfind("HTTP/1.1 501", 0), 0u) << reply;
  EXPECT_NE(reply.find("unsupported_transfer_encoding"), std::string::npos) << reply;
  for (const char* coding : {"gzip, chunked", "chunked, chunked", "chunked;x=1", ""}) {
    reply = exchange(std::string("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") + coding +
                     "\r\n\r\n0\r\n\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << coding << ": " << reply;
  }
  reply = exchange(
      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
      "chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_EQ(handler_.headers.load(), 0);
  EXPECT_EQ(handler_.requests.load(), 0);
  EXPECT_EQ(server_->stats().requests_rejected_malformed.load(), 6u);
  // The one form read, in any case and with spaces around it.
  reply = exchange(
      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  Chunked \r\nConnection: close\r\n\r\n"
      "2\r\nok\r\n0\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
}

TEST_F(server_test, expect_100_continue_gets_interim_then_final_response) {
  start();
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  asio::write(socket,
              asio::buffer(std::string(
                  "POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n"
                  "Connection: close\r\n\r\n")));
  char buffer[256];
  auto n = socket.read_some(asio::buffer(buffer));
  std::string interim(buffer, n);
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue", 0), 0u) << interim;
  asio::write(socket, asio::buffer(std::string("hello")));
  std::string rest;
  boost::system::error_code ec;
  while (!ec) {
    n = socket.read_some(asio::buffer(buffer), ec);
    rest.append(buffer, n);
  }
  EXPECT_NE(rest.find("HTTP/1.1 200"), std::string::npos) << rest;
  EXPECT_NE(rest.find("hello"), std::string::npos) << rest;
}

TEST_F(server_test, early_refusal_skips_100_continue_and_the_body) {
  start();
  auto reply = exchange(
      "POST /refuse HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 415", 0), 0u) << reply;
  EXPECT_EQ(reply.find("100 Continue"), std::string::npos) << reply;
  EXPECT_EQ(handler_.requests.load(), 0);
}

TEST_F(server_test, connections_over_the_limit_are_closed_at_once) {
  server_options options;
  options.max_connections = 1;
  start(options);
  testing::http_client first("127.0.0.1", server_->port());
  ASSERT_EQ(first.post("/x", "a").status, 200);
  auto refused = exchange("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(refused, "");
  EXPECT_EQ(server_->stats().connections_refused.load(), 1u);
}

TEST_F(server_test, idle_keep_alive_connection_is_closed_after_the_idle_timeout) {
  server_options options;
  options.idle_timeout = 100ms;
  start(options);
  auto started = std::chrono::steady_clock::now();
  auto reply = exchange("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");  // reads until the server closes
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST_F(server_test, slow_header_is_cut_off_at_the_header_timeout) {
  server_options options;
  options.header_timeout = 100ms;
  start(options);
  auto started = std::chrono::steady_clock::now();
  auto reply = exchange("GET /x HTTP/1.1\r\nHost: a\r\n");  // never finishes the header
  EXPECT_EQ(reply, "");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  // The client can see the socket close before the server's read handler has counted
  // the timeout: wait for the count rather than race it.
  for (int i = 0; i < 200 && server_->stats().timeouts.load() == 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server_->stats().timeouts.load(), 1u);
}

TEST_F(server_test, speaks_tls_when_given_a_certificate_and_refuses_plain_http_there) {
  testing::temp_dir dir;
  const auto cert = (dir.path() / "cert.pem").string();
  const auto key = (dir.path() / "key.pem").string();
  auto made = testing::run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "1", "-subj", "/CN=127.0.0.1"});
  ASSERT_EQ(made.status, 0) << made.output;
  server_options options;
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  start(options);

  namespace beast = boost::beast;
  asio::io_context io;
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.load_verify_file(cert);  // the self-signed certificate is its own authority
  tls.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(io, tls);
  beast::get_lowest_layer(stream).connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  stream.handshake(asio::ssl::stream_base::client);
  beast::http::request<beast::http::string_body> req{beast::http::verb::post, "/x", 11};
  req.set(beast::http::field::host, "127.0.0.1");
  req.body() = "over tls";
  req.prepare_payload();
  beast::http::write(stream, req);
  beast::flat_buffer buffer;
  beast::http::response<beast::http::string_body> res;
  beast::http::read(stream, buffer, res);
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body(), "over tls");

  // Plain HTTP on the TLS port gets no answer, only a closed connection.
  EXPECT_EQ(exchange("GET /x HTTP/1.1\r\nHost: a\r\n\r\n").find("HTTP/1.1"), std::string::npos);
  EXPECT_EQ(server_->stats().tls_handshake_failures.load(), 1u);
}

TEST_F(server_test, a_missing_certificate_fails_listen_with_its_path) {
  server_options options;
  options.host = "127.0.0.1";
  options.tls_cert_file = "/nonexistent/cert.pem";
  options.tls_key_file = "/nonexistent/key.pem";
  server s(io_, options, handler_);
  auto listening = s.listen();
  ASSERT_FALSE(listening);
  EXPECT_NE(listening.error().describe().find("/nonexistent/cert.pem"), std::string::npos)
      << listening.error().describe();
}

TEST_F(server_test, stop_accepting_refuses_new_connections) {
  start();
  server_->stop_accepting();
  std::this_thread::sleep_for(50ms);
  asio::io_context io;
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect({asio::ip::make_address("127.0.0.1"), server_->port()}, ec);
  EXPECT_TRUE(ec) << "connected after stop_accepting";
}

}  // namespace
}  // namespace mailhook::http

namespace mailhook::http {
namespace {

std::string chunk(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

TEST_F(server_test, chunked_bytes_count_as_they_arrive_and_the_handler_can_refuse_them) {
  // A chunked body that never ends held memory nobody counted: now every chunk counts,
  // and past what the handler admits the body is refused with 503 and the socket closed.
  handler_.admit_up_to = 100'000;
  start();
  asio::io_context io;
  auto socket = connect_from(io);
  asio::write(socket, asio::buffer(std::string("POST /x HTTP/1.1\r\nHost: a\r\n"
                                               "Transfer-Encoding: chunked\r\n\r\n")));
  asio::write(socket, asio::buffer(chunk(std::string(60'000, 'a'))));
  for (int i = 0; i < 200 && server_->stats().body_bytes_reading.load() < 60'000; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server_->stats().body_bytes_reading.load(), 60'000u);
  asio::write(socket, asio::buffer(chunk(std::string(60'000, 'b'))));
  auto reply = read_all(socket);
  EXPECT_EQ(reply.rfind("HTTP/1.1 503", 0), 0u) << reply;
  EXPECT_NE(reply.find("Retry-After"), std::string::npos) << reply;
  EXPECT_EQ(handler_.requests.load(), 0);
  EXPECT_EQ(server_->stats().requests_rejected_overloaded.load(), 1u);
  for (int i = 0; i < 200 && server_->stats().body_bytes_reading.load() != 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server_->stats().body_bytes_reading.load(), 0u);
}

TEST_F(server_test, a_complete_chunked_body_reaches_the_handler) {
  start();
  auto reply = exchange(
      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
      "Connection: close\r\n\r\n" +
      chunk("hello ") + chunk("world") + "0\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("hello world"), std::string::npos) << reply;
  EXPECT_EQ(server_->stats().body_bytes_reading.load(), 0u);
}

TEST_F(server_test, one_client_address_gets_at_most_its_connections_and_others_still_get_in) {
  server_options options;
  options.max_connections_per_client = 2;
  start(options);
  asio::io_context io;
  auto first = connect_from(io, "127.0.0.2");
  auto second = connect_from(io, "127.0.0.2");
  for (int i = 0; i < 200 && server_->stats().connections_open.load() < 2; ++i)
    std::this_thread::sleep_for(10ms);
  auto third = connect_from(io, "127.0.0.2");
  EXPECT_EQ(read_all(third), "");  // closed at once
  EXPECT_EQ(server_->stats().connections_refused_per_client.load(), 1u);
  // Another address is another client.
  auto other = connect_from(io, "127.0.0.3");
  asio::write(other, asio::buffer(std::string("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")));
  auto reply = read_all(other, "\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  // A closed connection gives its place back.
  first.close();
  for (int i = 0; i < 200 && server_->stats().connections_open.load() > 2; ++i)
    std::this_thread::sleep_for(10ms);
  auto again = connect_from(io, "127.0.0.2");
  asio::write(again, asio::buffer(std::string("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")));
  reply = read_all(again, "\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
}

TEST_F(server_test, one_client_address_reads_at_most_its_body_bytes_at_once) {
  server_options options;
  options.max_body_bytes_per_client = 1000;
  start(options);
  asio::io_context io;
  // 800 announced bytes, never sent, hold the client's room...
  auto holder = connect_from(io, "127.0.0.2");
  asio::write(holder, asio::buffer(std::string("POST /x HTTP/1.1\r\nHost: a\r\n"
                                               "Content-Length: 800\r\n\r\n")));
  for (int i = 0; i < 200 && server_->stats().body_bytes_reading.load() < 800; ++i)
    std::this_thread::sleep_for(10ms);
  // ...so the same address cannot start 300 more, while another address can.
  auto refused = connect_from(io, "127.0.0.2");
  asio::write(refused, asio::buffer(std::string("POST /x HTTP/1.1\r\nHost: a\r\n"
                                                "Content-Length: 300\r\n\r\n")));
  auto reply = read_all(refused);
  EXPECT_EQ(reply.rfind("HTTP/1.1 429", 0), 0u) << reply;
  auto other = connect_from(io, "127.0.0.3");
  asio::write(other, asio::buffer(std::string("POST /x HTTP/1.1\r\nHost: a\r\n"
                                              "Content-Length: 300\r\n\r\n") +
                                  std::string(300, 'x')));
  reply = read_all(other, std::string(300, 'x'));
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_EQ(server_->stats().requests_rejected_client_bytes.load(), 1u);
}

TEST_F(server_test, a_body_slower_than_the_minimum_upload_rate_is_cut_off) {
  server_options options;
  options.min_upload_rate = 10'000;  // bytes per second
  options.upload_grace = 200ms;
  start(options);
  asio::io_context io;
  auto socket = connect_from(io);
  asio::write(socket, asio::buffer(std::string("POST /x HTTP/1.1\r\nHost: a\r\n"
                                               "Content-Length: 100000\r\n\r\n")));
  const auto started = std::chrono::steady_clock::now();
  // 100 bytes every 100 ms: 1000 bytes/s, a tenth of the minimum.
  boost::system::error_code ec;
  for (int i = 0; i < 50 && !ec; ++i) {
    asio::write(socket, asio::buffer(std::string(100, 's')), ec);
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(read_all(socket), "");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
  for (int i = 0; i < 200 && server_->stats().slow_uploads.load() == 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server_->stats().slow_uploads.load(), 1u);
  EXPECT_EQ(handler_.requests.load(), 0);
}

TEST_F(server_test, after_an_error_answer_the_connection_waits_only_briefly) {
  server_options options;
  options.idle_timeout = 30s;
  options.error_idle_timeout = 100ms;
  start(options);
  const auto started = std::chrono::steady_clock::now();
  // Refused in on_header (no body): kept alive, then closed after the short wait.
  auto reply = exchange("GET /refuse HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 415", 0), 0u) << reply;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

}  // namespace
}  // namespace mailhook::http
