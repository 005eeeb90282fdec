#include "http/server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstring>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "http/reply.h"

namespace mailhook::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace detail {

struct listener_state {
  listener_state(server_options o, handler& h) : options(std::move(o)), handler_ref(h) {}

  const server_options options;
  handler& handler_ref;
  server_stats stats;
  std::atomic<bool> draining{false};
  std::mutex connections_mutex;
  std::unordered_set<connection*> connections;
  std::shared_ptr<asio::ssl::context> tls;  // set when the listener speaks TLS

  // What each client address holds now, for the per-client limits. An entry lives while
  // the address has a connection open; the connections point at it (map nodes do not
  // move), so that counting a body's bytes takes neither the lock nor a lookup.
  struct client_usage {
    std::size_t connections = 0;  // under clients_mutex
    std::atomic<std::uint64_t> body_bytes{0};
  };
  std::mutex clients_mutex;
  std::unordered_map<std::string, client_usage> clients;

  // Counts a connection of `client` and returns its entry; null (counting nothing) when
  // it has max_connections_per_client open already.
  client_usage* add_client_connection(const std::string& client) {
    std::lock_guard lock(clients_mutex);
    auto& usage = clients[client];
    if (options.max_connections_per_client != 0 &&
        usage.connections >= options.max_connections_per_client) {
      if (usage.connections == 0) clients.erase(client);
      return nullptr;
    }
    ++usage.connections;
    return &usage;
  }
  void remove_client_connection(const std::string& client) {
    std::lock_guard lock(clients_mutex);
    auto it = clients.find(client);
    if (it != clients.end() && --it->second.connections == 0) clients.erase(it);
  }
  // Counts `n` more body bytes read for a client; false (counting nothing) past
  // max_body_bytes_per_client.
  bool add_client_body_bytes(client_usage& usage, std::uint64_t n) const {
    const std::uint64_t limit = options.max_body_bytes_per_client;
    std::uint64_t held = usage.body_bytes.load(std::memory_order_relaxed);
    do {
      if (limit != 0 && held + n > limit) return false;
    } while (!usage.body_bytes.compare_exchange_weak(held, held + n, std::memory_order_relaxed));
    return true;
  }
};

// One accepted connection, as the rest of the server sees it.
class connection : public std::enable_shared_from_this<connection> {
 public:
  virtual ~connection() = default;
  virtual void start() = 0;
  // Any thread: write the response on this connection's strand (at once when called on
  // it, queued from anywhere else).
  virtual void send(response res) = 0;
  virtual asio::any_io_executor executor() = 0;
  // Any thread: close the connection if it is between requests.
  virtual void close_if_idle() = 0;
};

// Where a connection's handlers run, bound to its socket and stream by type: Beast's
// tcp_stream holds a type-erased executor instead, whose copies and `prefer` calls on
// every read, write and timer wait were about 3% of a 1-event webhook's CPU (a profile in
// docs/benchmarks.md, "The 1-event path"). On a context that several threads run, a
// strand per connection keeps its handlers in order and apart. A context that one thread
// runs (the server's connection_contexts) does that by itself, and a strand there only
// costs: a reference count copied with every handler, its own queue and lock, and
// allocations for each hand-over from another thread (5% of a 1-event webhook's CPU,
// docs/benchmarks.md, "No strand where one thread runs the context"). So the Executor
// is a strand of the server's io_context, or a connection context's own executor.
template <class Executor>
using plain_stream = beast::basic_stream<tcp, Executor>;
template <class Executor>
using tls_stream = beast::ssl_stream<plain_stream<Executor>>;

// A connection over plain TCP (Stream = plain_stream) or TLS (tls_stream). Lives as long
// as an asynchronous operation or a responder holds it; confined to its executor.
template <class Stream>
class stream_connection final : public connection {
 public:
  using lowest_stream = beast::lowest_layer_type<Stream>;  // the plain_stream
  using socket_type = typename lowest_stream::socket_type;
  static constexpr bool is_tls = !std::is_same_v<Stream, lowest_stream>;

  // `client` is the peer's address, already counted by add_client_connection(), which
  // gave `usage`.
  template <class... Args>
  stream_connection(std::shared_ptr<listener_state> state, std::string client,
                    listener_state::client_usage& usage, socket_type socket, Args&... tls_context)
      : stream_(std::move(socket), tls_context...),
        state_(std::move(state)),
        client_(std::move(client)),
        usage_(usage) {
    state_->stats.connections_open.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(state_->connections_mutex);
    state_->connections.insert(this);
  }

  ~stream_connection() override {
    stop_counting_body();
    state_->remove_client_connection(client_);
    state_->stats.connections_open.fetch_sub(1, std::memory_order_relaxed);
    std::lock_guard lock(state_->connections_mutex);
    state_->connections.erase(this);
  }

  stream_connection(const stream_connection&) = delete;
  stream_connection& operator=(const stream_connection&) = delete;

  void start() override {
    asio::dispatch(stream_.get_executor(), [self = self()] {
      if constexpr (is_tls) {
        self->lowest().expires_after(self->options().header_timeout);
        self->stream_.async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
          if (!ec) return self->read_header();
          self->state_->stats.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
          self->close();
        });
      } else {
        self->read_header();
      }
    });
  }

  void send(response res) override {
    asio::dispatch(stream_.get_executor(),
                   [self = self(), r = std::move(res)]() mutable { self->write(std::move(r)); });
  }

  asio::any_io_executor executor() override { return stream_.get_executor(); }

  void close_if_idle() override {
    asio::post(stream_.get_executor(), [self = self()] {
      if (self->phase_ == phase::awaiting_request) self->close();
    });
  }

 private:
  enum class phase { awaiting_request, reading, handling, writing, closed };

  const server_options& options() const { return state_->options; }

  void read_header() {
    if (state_->draining.load()) return close();
    phase_ = phase::awaiting_request;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
    parser_->body_limit(options().max_body_bytes);
    // Room for the next request whole, once this connection has carried one: a connection
    // that never sends a byte keeps the 512 bytes Beast starts with.
    if (!first_request_ && buffer_.capacity() < options().read_buffer_bytes) {
      buffer_.reserve(options().read_buffer_bytes);
    }
    lowest().expires_after(first_request_ ? options().header_timeout
                           : after_error_ ? options().error_idle_timeout
                                          : options().idle_timeout);
    beast::http::async_read_header(
        stream_, buffer_, *parser_,
        [self = self()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    first_request_ = false;
    if (ec) return on_read_error(ec);
    phase_ = phase::reading;
    const auto& header = parser_->get();
    keep_alive_ = header.keep_alive();
    // Before the handler sees it: a body whose framing could be read two ways is not read.
    if (auto refused = refuse_transfer_encoding(header.base())) {
      state_->stats.requests_rejected_malformed.fetch_add(1, std::memory_order_relaxed);
      keep_alive_ = false;
      return write(std::move(*refused));
    }
    if (auto early = state_->handler_ref.on_header(header.base())) {
      // The body was not read: the connection cannot be reused unless there was none.
      if (!parser_->is_done()) keep_alive_ = false;
      return write(std::move(*early));
    }
    if (auto length = parser_->content_length()) {
      if (*length > options().max_body_bytes) {
        state_->stats.requests_rejected_body_too_large.fetch_add(1, std::memory_order_relaxed);
        keep_alive_ = false;
        return write(error_reply(
            {error_kind::too_large, "body_too_large"},
            "the body is larger than " + std::to_string(options().max_body_bytes) + " bytes"));
      }
      if (!count_body_bytes(*length)) return refuse_client_bytes();
      parser_->get().body().reserve(static_cast<std::size_t>(*length) + options().body_padding);
    }
    if (beast::iequals(header[field::expect], "100-continue")) {
      continue_.emplace(status::continue_, 11);
      lowest().expires_after(options().write_timeout);
      return beast::http::async_write(stream_, *continue_,
                                      [self = self()](beast::error_code wec, std::size_t) {
                                        self->continue_.reset();
                                        if (wec) return self->close();
                                        self->read_body();
                                      });
    }
    read_body();
  }

  void read_body() {
    body_started_ = std::chrono::steady_clock::now();
    if (parser_->is_done()) {  // no body at all (a GET)
      stop_counting_body();
      return dispatch_request();
    }
    if (auto length = parser_->content_length(); length && !parser_->chunked()) {
      return read_body_directly(static_cast<std::size_t>(*length));
    }
    read_chunks();
  }

  // Until the body's deadline, and no later than min_upload_rate allows for the bytes
  // received so far.
  void expire_for_upload(std::uint64_t received) {
    auto deadline = body_started_ + options().body_timeout;
    if (const std::uint64_t rate = options().min_upload_rate; rate != 0) {
      const auto by_rate = body_started_ + options().upload_grace +
                           std::chrono::milliseconds(received * 1000 / rate);
      if (by_rate < deadline) {
        deadline = by_rate;
        upload_rate_bound_ = true;
      } else {
        upload_rate_bound_ = false;
      }
    }
    lowest().expires_at(deadline);
  }

  // A body of unannounced size (chunked), piece by piece: every byte counts against the
  // listener's and the client's budgets as it arrives, not once the body is complete.
  void read_chunks() {
    expire_for_upload(parser_->get().body().size());
    beast::http::async_read_some(
        stream_, buffer_, *parser_, [self = self()](beast::error_code ec, std::size_t) {
          if (ec) {
            self->stop_counting_body();
            return self->on_read_error(ec);
          }
          const std::uint64_t held = self->parser_->get().body().size();
          if (held > self->counted_body_bytes_) {
            if (!self->count_body_bytes(held - self->counted_body_bytes_))
              return self->refuse_client_bytes();
            if (!self->state_->handler_ref.admit_body_bytes(
                    self->state_->stats.body_bytes_reading.load())) {
              self->state_->stats.requests_rejected_overloaded.fetch_add(1,
                                                                         std::memory_order_relaxed);
              self->stop_counting_body();
              self->keep_alive_ = false;
              return self->write(error_reply({error_kind::overloaded, "overloaded"},
                                             "too many bodies are being read; retry later",
                                             std::chrono::seconds{5}));
            }
          }
          if (!self->parser_->is_done()) return self->read_chunks();
          self->stop_counting_body();
          self->dispatch_request();
        });
  }

  // A body of known length is read straight into its final buffer: one copy out of the
  // kernel and few system calls, where Beast's parser would read it through buffer_ in
  // small pieces and copy each one again. The parser is done with after the header.
  void read_body_directly(std::size_t length) {
    std::string& body = parser_->get().body();
    body.resize(length);  // the capacity, with its padding, was reserved in on_header
    auto received = beast::buffers_front(buffer_.data());
    std::size_t have = std::min(received.size(), length);
    std::memcpy(body.data(), received.data(), have);
    buffer_.consume(have);
    read_rest(have, length);
  }

  void read_rest(std::size_t have, std::size_t length) {
    if (have == length) {
      stop_counting_body();
      return dispatch_request();
    }
    expire_for_upload(have);
    std::string& body = parser_->get().body();
    stream_.async_read_some(asio::buffer(body.data() + have, length - have),
                            [self = self(), have, length](beast::error_code ec, std::size_t n) {
                              if (ec) {
                                self->stop_counting_body();
                                return self->on_read_error(ec);
                              }
                              self->read_rest(have + n, length);
                            });
  }

  void dispatch_request() {
    phase_ = phase::handling;
    lowest().expires_never();  // the handler owns the deadline while it works
    auto req = parser_->release();
    parser_.reset();
    state_->handler_ref.on_request(std::move(req), responder(self()));
  }

  void on_read_error(beast::error_code ec) {
    using http_error = beast::http::error;
    auto& stats = state_->stats;
    if (ec == http_error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      return close();
    }
    if (ec == beast::error::timeout) {
      // the stream has already closed the socket: a slow client cannot be told why.
      stats.timeouts.fetch_add(1, std::memory_order_relaxed);
      if (phase_ == phase::reading && upload_rate_bound_)
        stats.slow_uploads.fetch_add(1, std::memory_order_relaxed);
      return close();
    }
    keep_alive_ = false;
    if (ec == http_error::header_limit) {
      stats.requests_rejected_header_too_large.fetch_add(1, std::memory_order_relaxed);
      return write(error_reply({error_kind::header_too_large, "header_too_large"},
                               "the request header is larger than " +
                                   std::to_string(options().max_header_bytes) + " bytes"));
    }
    if (ec == http_error::body_limit) {
      stats.requests_rejected_body_too_large.fetch_add(1, std::memory_order_relaxed);
      return write(error_reply(
          {error_kind::too_large, "body_too_large"},
          "the body is larger than " + std::to_string(options().max_body_bytes) + " bytes"));
    }
    if (ec.category() == make_error_code(http_error::bad_target).category()) {
      stats.requests_rejected_malformed.fetch_add(1, std::memory_order_relaxed);
      return write(error_reply({error_kind::bad_input, "malformed_request"}, ec.message()));
    }
    close();
  }

  void write(response res) {
    if (phase_ == phase::closed) return;
    phase_ = phase::writing;
    if (state_->draining.load()) keep_alive_ = false;
    after_error_ = res.result_int() >= 400;
    res.keep_alive(keep_alive_);
    res.set(field::server, "mailhook");
    if (!res.has_content_length() && !res.chunked()) res.prepare_payload();
    response_.emplace(std::move(res));
    lowest().expires_after(options().write_timeout);
    const auto done = [self = self()](beast::error_code ec, std::size_t) {
      self->response_.reset();
      if (ec || !self->keep_alive_) return self->close();
      self->read_header();
    };
    if (response_->chunked()) return beast::http::async_write(stream_, *response_, done);
    write_head(*response_, head_);
    const std::array<asio::const_buffer, 2> bytes = {asio::buffer(head_),
                                                     asio::buffer(response_->body())};
    asio::async_write(stream_, bytes, done);
  }

  // The status line and the fields, in order, as Beast's serializer writes them. That
  // serializer walks a generic sequence of buffers, which took 4–5% of a 1-event webhook's
  // CPU (docs/benchmarks.md) for about 150 bytes; a body of known length follows as is.
  static void write_head(const response& res, std::string& out) {
    out.clear();
    const unsigned version = res.version();
    out += "HTTP/";
    out += static_cast<char>('0' + version / 10);
    out += '.';
    out += static_cast<char>('0' + version % 10);
    out += ' ';
    out += std::to_string(res.result_int());
    out += ' ';
    const auto reason =
        res.reason().empty() ? beast::http::obsolete_reason(res.result()) : res.reason();
    out.append(reason.data(), reason.size());
    out += "\r\n";
    for (const auto& f : res) {
      out.append(f.name_string().data(), f.name_string().size());
      out += ": ";
      out.append(f.value().data(), f.value().size());
      out += "\r\n";
    }
    out += "\r\n";
  }

  // Counts `n` more body bytes as held by this connection, for the listener and for its
  // client; false, counting nothing, when the client would pass its limit.
  bool count_body_bytes(std::uint64_t n) {
    if (!state_->add_client_body_bytes(usage_, n)) return false;
    counted_body_bytes_ += n;
    state_->stats.body_bytes_reading.fetch_add(n, std::memory_order_relaxed);
    return true;
  }

  void stop_counting_body() {
    const std::uint64_t n = std::exchange(counted_body_bytes_, 0);
    state_->stats.body_bytes_reading.fetch_sub(n, std::memory_order_relaxed);
    usage_.body_bytes.fetch_sub(n, std::memory_order_relaxed);
  }

  void refuse_client_bytes() {
    state_->stats.requests_rejected_client_bytes.fetch_add(1, std::memory_order_relaxed);
    stop_counting_body();
    keep_alive_ = false;
    write(error_reply({error_kind::rate_limited, "client_budget"},
                      "this client address is sending too many bodies at once; retry later",
                      std::chrono::seconds{5}));
  }

  void close() {
    if (phase_ == phase::closed) return;
    phase_ = phase::closed;
    beast::error_code ignored;
    // TLS connections close without close_notify: every response is length-delimited,
    // so a truncation cannot pass for a complete answer.
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

  std::shared_ptr<stream_connection> self() {
    return std::static_pointer_cast<stream_connection>(shared_from_this());
  }
  lowest_stream& lowest() { return beast::get_lowest_layer(stream_); }

  Stream stream_;
  std::shared_ptr<listener_state> state_;
  const std::string client_;             // the peer's address, for the per-client limits
  listener_state::client_usage& usage_;  // its entry, alive while this connection is
  beast::flat_buffer buffer_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  std::optional<beast::http::response<beast::http::empty_body>> continue_;
  std::optional<response> response_;
  std::string head_;  // response_'s status line and fields, serialized
  phase phase_ = phase::awaiting_request;
  bool keep_alive_ = true;
  bool first_request_ = true;
  bool after_error_ = false;        // the last answer was an error: a short idle wait follows
  bool upload_rate_bound_ = false;  // the read deadline comes from min_upload_rate
  std::chrono::steady_clock::time_point body_started_;
  std::uint64_t counted_body_bytes_ = 0;
};

// The peer's address as text, the key of the per-client limits ("" if the socket has
// none any more: such connections share one entry).
template <class Socket>
std::string peer_address(const Socket& socket) {
  beast::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string() : endpoint.address().to_string();
}

// Starts a connection on an accepted socket, or closes the socket past the limits on
// connections. The socket's executor becomes the connection's.
template <class Socket>
void take_connection(const std::shared_ptr<listener_state>& state, beast::error_code ec,
                     Socket socket) {
  using executor = typename Socket::executor_type;
  listener_state::client_usage* usage = nullptr;
  if (ec) {
    // Running out of descriptors is an environment problem worth a line; keep accepting.
    spdlog::warn("{} listener: accept failed: {}", state->options.name, ec.message());
  } else if (state->stats.connections_open.load() >=
             static_cast<std::int64_t>(state->options.max_connections)) {
    state->stats.connections_refused.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ignored;
    socket.close(ignored);
  } else if (std::string client = peer_address(socket);
             (usage = state->add_client_connection(client)) == nullptr) {
    state->stats.connections_refused_per_client.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ignored;
    socket.close(ignored);
  } else {
    state->stats.connections_accepted.fetch_add(1, std::memory_order_relaxed);
    socket.set_option(tcp::no_delay(true), ec);
    if (state->tls) {
      std::make_shared<stream_connection<tls_stream<executor>>>(state, std::move(client), *usage,
                                                                std::move(socket), *state->tls)
          ->start();
    } else {
      std::make_shared<stream_connection<plain_stream<executor>>>(state, std::move(client), *usage,
                                                                  std::move(socket))
          ->start();
    }
  }
}

}  // namespace detail

responder::responder(std::shared_ptr<detail::connection> connection)
    : connection_(std::move(connection)) {}

responder::~responder() {
  if (connection_) {
    connection_->send(error_reply({error_kind::internal, "internal"},
                                  "the request was dropped without an answer"));
  }
}

void responder::send(response res) {
  MAILHOOK_CHECK(connection_ != nullptr, "responder::send called twice");
  std::exchange(connection_, nullptr)->send(std::move(res));
}

asio::any_io_executor responder::executor() const {
  MAILHOOK_CHECK(connection_ != nullptr, "responder::executor called after send");
  return connection_->executor();
}

server::server(asio::io_context& io, server_options options, handler& h,
               std::vector<asio::io_context*> connection_contexts)
    : io_(io),
      connection_contexts_(std::move(connection_contexts)),
      state_(std::make_shared<detail::listener_state>(std::move(options), h)),
      acceptor_(asio::make_strand(io)) {}

server::~server() {
  stop_accepting();
}

const server_options& server::options() const {
  return state_->options;
}
std::shared_ptr<const server_stats> server::shared_stats() const {
  return {state_, &state_->stats};
}

const server_stats& server::stats() const {
  return state_->stats;
}

result<void> server::listen() {
  const auto& opts = state_->options;
  const std::string where =
      opts.name + " listener on " + opts.host + ":" + std::to_string(opts.port);
  beast::error_code ec;
  auto address = asio::ip::make_address(opts.host, ec);
  if (ec) return failure(ec, where + ": '" + opts.host + "' is not an IP address");
  if (!opts.tls_cert_file.empty()) {
    auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    tls->use_certificate_chain_file(opts.tls_cert_file, ec);
    if (ec)
      return failure(ec, where + ": TLS certificate " + opts.tls_cert_file + ": " + ec.message());
    tls->use_private_key_file(opts.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) return failure(ec, where + ": TLS key " + opts.tls_key_file + ": " + ec.message());
    state_->tls = std::move(tls);
  }
  tcp::endpoint endpoint{address, opts.port};
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return failure(ec, where + ": " + ec.message());
  port_ = acceptor_.local_endpoint().port();
  asio::dispatch(acceptor_.get_executor(), [this] { accept_next(); });
  return {};
}

void server::accept_next() {
  auto accepted = [this, state = state_](beast::error_code ec, auto socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    detail::take_connection(state, ec, std::move(socket));
    accept_next();
  };
  if (connection_contexts_.empty()) {
    acceptor_.async_accept(asio::make_strand(io_), std::move(accepted));
  } else {
    auto& context = *connection_contexts_[next_context_++ % connection_contexts_.size()];
    acceptor_.async_accept(context.get_executor(), std::move(accepted));
  }
}

void server::stop_accepting() {
  state_->draining.store(true);
  asio::post(acceptor_.get_executor(), [this, state = state_] {
    beast::error_code ignored;
    acceptor_.close(ignored);
  });
}

void server::close_idle_connections() {
  // Owning references are taken under the lock and used and dropped after it: the last
  // reference to a connection may be one of these, and its destructor takes the lock to
  // unlist itself.
  std::vector<std::shared_ptr<detail::connection>> alive;
  {
    std::lock_guard lock(state_->connections_mutex);
    alive.reserve(state_->connections.size());
    for (auto* c : state_->connections) {
      // A connection in its destructor is still listed but can no longer be locked.
      if (auto locked = c->weak_from_this().lock()) alive.push_back(std::move(locked));
    }
  }
  for (const auto& connection : alive) connection->close_if_idle();
}

}  // namespace mailhook::http
