// The scripted peer: blocking Asio and Beast on its own thread; the destructor wakes a
// blocked accept or read with shutdown(2) and a waiting late answer with the condition.
#include "support/scripted_peer.h"

#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <string>

namespace mailhook::testing {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// Requests of the client's tests are small, but one test writes tens of MiB to be cut off.
constexpr std::uint64_t max_request_body = 256ull * 1024 * 1024;

void write_answer(tcp::socket& socket, bhttp::status status, int n, boost::system::error_code& ec) {
  bhttp::response<bhttp::string_body> res{status, 11};
  if (status == bhttp::status::accepted) {
    res.set("X-Message-Id", "peer-" + std::to_string(n));
  } else {
    res.body() = R"({"errors":[{"message":"internal server error"}]})";
  }
  res.keep_alive(true);
  res.prepare_payload();
  bhttp::write(socket, res, ec);
}

}  // namespace

scripted_peer::scripted_peer(std::vector<std::vector<step>> connections,
                             scripted_peer_options options)
    : scripts_(std::move(connections)), options_(options), acceptor_(io_) {
  const tcp::endpoint local(asio::ip::make_address("127.0.0.1"), 0);
  acceptor_.open(local.protocol());
  acceptor_.bind(local);
  port_ = acceptor_.local_endpoint().port();
  if (options_.listening) listen();
}

void scripted_peer::listen() {
  if (thread_.joinable()) return;
  acceptor_.listen();
  thread_ = std::thread([this] { run(); });
}

scripted_peer::~scripted_peer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  // shutdown() wakes a blocked accept() or read() in the peer's thread.
  ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
  if (const int fd = current_fd_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
}

bool scripted_peer::wait_closed_idle(int count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return closed_idle_ >= count; });
}

bool scripted_peer::pause(std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex_);
  return !changed_.wait_for(lock, duration, [&] { return stopping_; });
}

void scripted_peer::run() {
  for (const auto& script : scripts_) {
    boost::system::error_code ec;
    tcp::socket socket(io_);
    acceptor_.accept(socket, ec);
    if (ec) return;
    connections_.fetch_add(1);
    current_fd_ = socket.native_handle();
    boost::beast::flat_buffer buffer;
    bool open = true;
    for (step s : script) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(max_request_body);
      bhttp::read_header(socket, buffer, parser, ec);
      if (ec) {
        open = false;
        break;
      }
      const int n = requests_.fetch_add(1) + 1;
      if (s == step::reset_mid_request) {
        // Linger 0: close() sends a reset at once, with the rest of the request unread.
        socket.set_option(asio::socket_base::linger(true, 0), ec);
        open = false;
        break;
      }
      bhttp::read(socket, buffer, parser, ec);
      if (ec) {
        open = false;
        break;
      }
      if (s == step::answer || s == step::answer_500 || s == step::answer_then_close) {
        write_answer(
            socket,
            s == step::answer_500 ? bhttp::status::internal_server_error : bhttp::status::accepted,
            n, ec);
        if (s != step::answer_then_close) continue;
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
        {
          std::lock_guard lock(mutex_);
          ++closed_idle_;
        }
        changed_.notify_all();
        open = false;
        break;
      }
      if (s == step::late_answer) {
        if (!pause(options_.late_by)) return;
        write_answer(socket, bhttp::status::accepted, n, ec);
        continue;
      }
      if (s == step::partial_answer) {
        asio::write(socket, asio::buffer(std::string("HTTP/1.1 20")), ec);
      } else if (s == step::malformed_answer) {
        asio::write(socket, asio::buffer(std::string("220 mail.example ESMTP ready\r\n\r\n")), ec);
      }
      socket.shutdown(tcp::socket::shutdown_both, ec);
      open = false;
      break;
    }
    if (open) {
      char byte;
      while (!ec) socket.read_some(asio::buffer(&byte, 1), ec);  // until the client closes
    }
    current_fd_ = -1;
    socket.close(ec);
  }
}

}  // namespace mailhook::testing
