// The client is a blocking facade over Beast's asynchronous operations, run on its own
// io_context: beast::tcp_stream times out asynchronous operations only, and every step of
// a call must end by the call's deadline.
#include "http/client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <exception>
#include <limits>
#include <optional>

#include "common/text.h"

namespace mailhook::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

// Errors that mean the server had closed the kept-alive connection when the request went
// out (rule 3 of client.h).
bool closed_by_server(const beast::error_code& ec) {
  return ec == beast_http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted;
}

// Boost's host name check, recording why it refused where OpenSSL keeps verify errors,
// so that a mismatch reads "hostname mismatch" rather than "unspecified error".
class host_check {
 public:
  explicit host_check(const std::string& host) : check_(host), ip_(is_ip_address(host)) {}

  bool operator()(bool preverified, ssl::verify_context& ctx) const {
    if (check_(preverified, ctx)) return true;
    // Refused although OpenSSL accepted the chain: the leaf does not name the host.
    if (preverified) {
      X509_STORE_CTX_set_error(ctx.native_handle(),
                               ip_ ? X509_V_ERR_IP_ADDRESS_MISMATCH : X509_V_ERR_HOSTNAME_MISMATCH);
    }
    return false;
  }

 private:
  ssl::host_name_verification check_;
  bool ip_;
};

class beast_client final : public client {
 public:
  beast_client(url where, client_options options, std::shared_ptr<ssl::context> tls)
      : where_(std::move(where)), options_(std::move(options)), tls_context_(std::move(tls)) {}

  ~beast_client() override { close(); }
  beast_client(const beast_client&) = delete;
  beast_client& operator=(const beast_client&) = delete;

  [[nodiscard]] const url& where() const override { return where_; }

  answer call(const outgoing_request& request) override {
    answer out;
    try {
      call_once(request, out);
    } catch (const std::exception& e) {
      // Beast and Asio report failures as error codes here; only allocation can throw.
      close();
      const bool started = out.request_started;
      out = answer{};
      out.request_started = started;  // what may have gone out stays so
      out.error = "cannot call " + where_.origin() + ": " + e.what();
    }
    return out;
  }

 private:
  using tls_stream = beast::ssl_stream<beast::tcp_stream>;
  using wire_request = beast_http::request<beast_http::span_body<const char>>;

  void call_once(const outgoing_request& request, answer& out) {
    const steady::time_point deadline = steady::now() + options_.timeout;
    wire_request req{request.method, where_.path + request.target, 11};
    req.set(field::host, where_.host_header());
    req.set(field::user_agent, options_.user_agent);
    for (const auto& [name, value] : request.headers) req.set(name, value);
    if (!request.body.empty()) req.set(field::content_type, std::string(request.content_type));
    req.keep_alive(true);
    req.body() = beast::span<const char>(request.body.data(), request.body.size());
    req.prepare_payload();

    // Rule 1: a kept-alive connection that cannot take the request is replaced before
    // anything is written.
    if (connected() && !reusable()) close();
    for (bool first = true;; first = false) {
      const bool reused = connected();
      if (!reused) {
        if (std::string error = connect(deadline); !error.empty()) {
          out.error = std::move(error);
          return;
        }
      }
      const beast::error_code ec = exchange(req, deadline, out);
      // Rule 3: once more on a new connection, for a repeatable request only.
      if (ec && first && reused && request.repeatable && out.status == 0 && closed_by_server(ec)) {
        out = answer{};
        continue;
      }
      return;
    }
  }

  [[nodiscard]] bool connected() const { return plain_.has_value() || secure_.has_value(); }

  beast::tcp_stream& lowest() { return plain_ ? *plain_ : beast::get_lowest_layer(*secure_); }

  void close() {
    if (!connected()) return;
    beast::error_code ignored;
    // No TLS close_notify: every answer is length-delimited, and a clean shutdown would
    // cost a round trip on a connection we are done with.
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
    plain_.reset();
    secure_.reset();
    buffer_.clear();
  }

  // Whether the idle connection can take a request. Nothing is expected from the server
  // between answers, so bytes left over from the last answer, TLS records not yet read, or
  // a readable socket (its end, a reset, stray bytes) all mean it cannot; so does a
  // failed poll. A wrong "no" costs a new connection; a wrong "yes" a call that fails
  // after its request began to go out.
  bool reusable() {
    if (buffer_.size() != 0) return false;
    if (secure_) {
      SSL* ssl = secure_->native_handle();
      // (What the macro BIO_pending expands to, without its C cast.)
      if (SSL_has_pending(ssl) != 0 ||
          BIO_ctrl(SSL_get_rbio(ssl), BIO_CTRL_PENDING, 0, nullptr) > 0)
        return false;
    }
    pollfd p{};
    p.fd = lowest().socket().native_handle();
    p.events = POLLIN;
    return ::poll(&p, 1, 0) == 0;
  }

  // Runs one asynchronous operation to completion on io_; returns its error.
  template <class Start>
  beast::error_code run(Start&& start) {
    beast::error_code result = asio::error::would_block;
    std::forward<Start>(start)([&result](beast::error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run();
    return result;
  }

  std::string step_error(std::string_view step, const beast::error_code& ec) const {
    if (ec == beast::error::timeout || ec == asio::error::timed_out) {
      return std::string(step) + " " + where_.origin() + ": no answer within " +
             std::to_string(options_.timeout.count()) + " ms";
    }
    return std::string(step) + " " + where_.origin() + ": " + ec.message();
  }

  // Resolves, connects and (for https) shakes hands; "" on success, else why not.
  std::string connect(steady::time_point deadline) {
    tcp::resolver resolver(io_);
    asio::steady_timer timer(io_, deadline);
    beast::error_code resolve_ec = asio::error::would_block;
    tcp::resolver::results_type endpoints;
    bool timed_out = false;
    resolver.async_resolve(where_.host, std::to_string(where_.port),
                           [&](beast::error_code ec, tcp::resolver::results_type r) {
                             resolve_ec = ec;
                             endpoints = std::move(r);
                             timer.cancel();
                           });
    timer.async_wait([&](beast::error_code ec) {
      if (ec) return;
      timed_out = true;
      resolver.cancel();
    });
    io_.restart();
    io_.run();
    if (timed_out) return step_error("cannot resolve the host of", beast::error::timeout);
    if (resolve_ec) return step_error("cannot resolve the host of", resolve_ec);

    if (tls_context_) {
      secure_.emplace(io_, *tls_context_);
    } else {
      plain_.emplace(io_);
    }
    lowest().expires_at(deadline);
    if (auto ec = run([&](auto handler) { lowest().async_connect(endpoints, handler); })) {
      close();
      return step_error("cannot connect to", ec);
    }
    beast::error_code ignored;
    lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (!tls_context_) return {};

    // SNI only for names: RFC 6066 does not allow an IP address there. (What the macro
    // SSL_set_tlsext_host_name expands to, without its C cast.)
    if (!is_ip_address(where_.host) &&
        SSL_ctrl(secure_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(where_.host.c_str())) != 1) {
      close();
      return "cannot set the TLS server name for " + where_.origin();
    }
    secure_->set_verify_callback(host_check(where_.host));
    lowest().expires_at(deadline);
    if (auto ec = run(
            [&](auto handler) { secure_->async_handshake(ssl::stream_base::client, handler); })) {
      const long verify = SSL_get_verify_result(secure_->native_handle());
      std::string error = step_error("TLS handshake failed with", ec);
      if (verify != X509_V_OK) {
        error += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
      }
      close();
      return error;
    }
    return {};
  }

  beast::error_code exchange(wire_request& req, steady::time_point deadline, answer& out) {
    return tls_context_ ? exchange(*secure_, req, deadline, out)
                        : exchange(*plain_, req, deadline, out);
  }

  // Writes the request and reads the answer; returns the error that ended the call, if
  // any (also in out.error). From the first write on, the server may have the request
  // whatever happens next (even a write that fails may have put part or all of it on
  // the wire), so out.request_started is set before it.
  template <class Stream>
  beast::error_code exchange(Stream& stream, wire_request& req, steady::time_point deadline,
                             answer& out) {
    const steady::time_point started = steady::now();
    lowest().expires_at(deadline);
    out.request_started = true;
    if (auto ec = run([&](auto handler) { beast_http::async_write(stream, req, handler); })) {
      close();
      out.error = step_error("cannot send the request to", ec);
      return ec;
    }

    beast_http::response_parser<beast_http::string_body> parser;
    // The limit is set once the header is in: Beast refuses a Content-Length over it
    // while reading the header, and the status line must be kept either way. (Not
    // boost::none: Boost 1.74 compares the length with the empty optional and refuses.)
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    lowest().expires_at(deadline);
    if (auto ec = run([&](auto handler) {
          beast_http::async_read_header(stream, buffer_, parser, handler);
        })) {
      close();
      out.error = step_error("cannot read the answer of", ec);
      return ec;
    }
    // From here on the status is known, and kept even if the body is lost: a caller
    // must not take "no answer" for an answer that said yes.
    const auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      const auto name = f.name_string();
      out.headers[to_ascii_lower(std::string_view(name.data(), name.size()))] =
          std::string(trim(std::string_view(f.value().data(), f.value().size())));
    }
    if (const auto length = parser.content_length(); length && *length > options_.max_answer_body) {
      close();
      out.error = "cannot read the body of the answer of " + where_.origin() + ": " +
                  std::to_string(*length) + " bytes, more than the limit of " +
                  std::to_string(options_.max_answer_body);
      return beast_http::error::body_limit;
    }
    parser.body_limit(options_.max_answer_body);

    lowest().expires_at(deadline);
    auto ec = run([&](auto handler) { beast_http::async_read(stream, buffer_, parser, handler); });
    out.latency = std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - started);
    if (ec) {
      close();
      out.error = step_error("cannot read the body of the answer of", ec);
      return ec;
    }
    out.body = std::move(parser.get().body());
    if (!parser.get().keep_alive()) close();
    return {};
  }

  url where_;
  client_options options_;
  std::shared_ptr<ssl::context> tls_context_;  // null for http://
  asio::io_context io_{1};
  std::optional<beast::tcp_stream> plain_;  // the connection, when http:// and open
  std::optional<tls_stream> secure_;        // the connection, when https:// and open
  beast::flat_buffer buffer_;
};

}  // namespace

std::string_view answer::header(std::string_view name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

result<std::unique_ptr<client>> client::create(url where, client_options options) {
  if (options.timeout.count() <= 0) {
    return failure(std::make_error_code(std::errc::invalid_argument),
                   "the timeout must be positive");
  }
  std::shared_ptr<ssl::context> tls;
  if (where.tls) {
    tls = std::make_shared<ssl::context>(ssl::context::tls_client);
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls->set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    if (!options.ca_file.empty()) {
      tls->load_verify_file(options.ca_file, ec);
      if (ec) {
        return failure(static_cast<std::error_code>(ec),
                       "cannot load the CA file " + options.ca_file + ": " + ec.message());
      }
    } else {
      tls->set_default_verify_paths(ec);
      if (ec) {
        return failure(static_cast<std::error_code>(ec),
                       "cannot load the system's trusted certificates: " + ec.message());
      }
    }
  }
  return std::unique_ptr<client>(
      std::make_unique<beast_client>(std::move(where), std::move(options), std::move(tls)));
}

}  // namespace mailhook::http
