// An HTTP/1.1 server on Boost.Beast for one listening address, over plain TCP or TLS.
//
// Each connection reads a request header, lets the handler refuse it before a single
// body byte is read (and before "100 Continue" is sent), reads the body within the
// configured limits, and hands the request to the handler, which answers later, from
// any thread, through a responder. Requests on a connection are answered in order and
// one at a time (keep-alive, no pipelining).
//
// Threading: the server and its connections run on the io_context they are given
// (usually several threads), each connection confined to a strand of its own; or the
// connections are spread over several io_contexts in turn, each run by one thread, and a
// connection then runs on its context's thread. Either way a connection's handlers run one
// at a time and in order, on what responder::executor() returns, and the handler's
// methods are called there. stop_accepting() and close_idle_connections() may be called
// from any thread.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "http/message.h"

namespace mailhook::http {

struct server_options {
  std::string name = "http";  // names the listener in logs and metrics
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: the kernel picks one; see server::port()
  std::size_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 8 * 1024 * 1024;
  // Spare capacity kept after each body, so that a parser that reads past the end
  // (simdjson needs 64 bytes) can work on the receive buffer without a copy.
  std::size_t body_padding = 64;
  // What a connection reads into at once before a body (a body of known length is then
  // read into its own buffer), from its second request on: a header and a small body, a
  // one-event webhook of about 1 KiB, arrive in one system call instead of a 512-byte one
  // and the rest. Held per connection that has carried a request (an idle new one holds
  // 512 bytes); it grows up to max_header_bytes for a header that needs it.
  std::size_t read_buffer_bytes = 4 * 1024;
  std::chrono::milliseconds header_timeout{10'000};  // first byte to end of header
  std::chrono::milliseconds body_timeout{60'000};    // end of header to end of body
  std::chrono::milliseconds idle_timeout{75'000};    // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30'000};
  std::size_t max_connections = 4096;  // more are accepted and closed at once
  // Limits per client address (0 = none): open connections, and bytes of bodies being
  // read at once. Past them a connection is closed at once, a body refused with 429.
  std::size_t max_connections_per_client = 0;
  std::uint64_t max_body_bytes_per_client = 0;
  // A body must arrive at least this fast, in bytes per second, once upload_grace has
  // passed since its header (0 = no minimum): a slow sender cannot hold memory and a
  // connection for the whole body_timeout.
  std::uint64_t min_upload_rate = 0;
  std::chrono::milliseconds upload_grace{5'000};
  // After an error answer (4xx, 5xx) a kept-alive connection waits this long for its next
  // request instead of idle_timeout.
  std::chrono::milliseconds error_idle_timeout{2'000};
  // A PEM certificate chain and its private key: with both, the listener speaks TLS
  // (1.2 or later) instead of plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
};

// Counters a server keeps about itself; the metrics module reads them at scrape time.
struct server_stats {
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_refused{0};             // over max_connections
  std::atomic<std::uint64_t> connections_refused_per_client{0};  // over max_connections_per_client
  std::atomic<std::uint64_t> requests_rejected_client_bytes{0};  // over max_body_bytes_per_client
  std::atomic<std::uint64_t> requests_rejected_overloaded{0};    // refused by admit_body_bytes
  std::atomic<std::uint64_t> slow_uploads{0};                    // under min_upload_rate
  std::atomic<std::int64_t> connections_open{0};
  std::atomic<std::uint64_t> requests_rejected_header_too_large{0};
  std::atomic<std::uint64_t> requests_rejected_body_too_large{0};
  std::atomic<std::uint64_t> requests_rejected_malformed{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> tls_handshake_failures{0};
  // Bytes of bodies being read right now, as memory held or about to be: the announced
  // Content-Length from the header on, and a chunked body's bytes as they arrive. A
  // handler's budget counts them before admitting more.
  std::atomic<std::uint64_t> body_bytes_reading{0};
};

namespace detail {
class connection;
struct listener_state;
}  // namespace detail

// The one way to answer a request. Move-only; send() must be called once. A responder
// dropped without an answer sends 500, so that a handler bug never leaves a client
// hanging until its own timeout.
class responder {
 public:
  explicit responder(std::shared_ptr<detail::connection> connection);
  responder(responder&&) noexcept = default;
  responder& operator=(responder&&) noexcept = default;
  responder(const responder&) = delete;
  responder& operator=(const responder&) = delete;
  ~responder();

  void send(response res);
  // Where the connection's handlers run (its strand, or its context's one thread): work
  // a handler posts there runs in order with them, and a send() made there writes at once,
  // without another trip through the io_context's queue. Valid until send().
  [[nodiscard]] boost::asio::any_io_executor executor() const;

 private:
  std::shared_ptr<detail::connection> connection_;
};

class handler {
 public:
  virtual ~handler() = default;
  // Called when a request header is complete. A response returned here is sent at once
  // and the body is not read (the connection then closes if a body was announced).
  [[nodiscard]] virtual std::optional<response> on_header(const request_header& header) {
    (void)header;
    return std::nullopt;
  }
  // Called with the complete request. Answer through `res`, now or later.
  virtual void on_request(request&& req, responder res) = 0;
  // Called when a body of unannounced size (chunked) has grown, with every body byte the
  // listener is reading now; false refuses the body with 503 and closes the connection,
  // so that no body holds memory a budget has not admitted.
  [[nodiscard]] virtual bool admit_body_bytes(std::uint64_t bytes_reading) {
    (void)bytes_reading;
    return true;
  }
};

class server {
 public:
  // `h` must outlive the server and every connection it accepted. The acceptor runs on
  // `io`, and so do the connections unless `connection_contexts` are given: each accepted
  // connection then runs on the next of them in turn. Each of these contexts must be run
  // by one thread only: its connections have no strand, the thread keeps their handlers
  // apart. No two threads then share a scheduler's queue or its epoll set, and a
  // connection's handlers all run on the thread that reads its socket. They must outlive
  // `io`'s pending work: the acceptor's pending accept, on `io`, holds a socket of the
  // next of them until `io` is destroyed.
  server(boost::asio::io_context& io, server_options options, handler& h,
         std::vector<boost::asio::io_context*> connection_contexts = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and starts accepting. Fails with the address and the OS error.
  [[nodiscard]] result<void> listen();
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] const server_options& options() const;
  [[nodiscard]] const server_stats& stats() const;
  // The same counters, for readers that may outlive the server (a metrics collector).
  [[nodiscard]] std::shared_ptr<const server_stats> shared_stats() const;

  // Stops intake: no new connection is accepted, and connections close after their
  // current response. Requests already being read or handled complete.
  void stop_accepting();
  // Closes connections that wait for a next request. Call after stop_accepting().
  void close_idle_connections();
  [[nodiscard]] std::int64_t open_connections() const { return stats().connections_open.load(); }

 private:
  void accept_next();

  boost::asio::io_context& io_;
  const std::vector<boost::asio::io_context*> connection_contexts_;
  std::size_t next_context_ = 0;  // used by the accept handler only
  // Shared with every connection, so that a connection still finishing after the
  // server object is gone never touches freed memory.
  std::shared_ptr<detail::listener_state> state_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
};

}  // namespace mailhook::http
