#include "app/admin_client.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <charconv>

namespace mailhook::app {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = boost::asio::ip::tcp;

// Export pages reach 100 000 records of a few hundred bytes each.
constexpr std::uint64_t max_reply_body = 1024ULL * 1024 * 1024;

failure url_error(std::string_view text, std::string_view why) {
  return failure(std::make_error_code(std::errc::invalid_argument),
                 "admin URL '" + std::string(text) + "': " + std::string(why));
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The error a network step ended with, converted to std::error_code with a message for
// people: "cannot connect to http://h:p: Connection refused".
failure network_error(const admin_url& url, std::string_view step, const beast::error_code& ec,
                      std::chrono::seconds timeout) {
  if (ec == beast::error::timeout) {
    return failure(std::make_error_code(std::errc::timed_out),
                   std::string(step) + " " + url.to_string() + ": no answer within " +
                       std::to_string(timeout.count()) + " s");
  }
  return failure(static_cast<std::error_code>(ec),
                 std::string(step) + " " + url.to_string() + ": " + ec.message());
}

// Errors that mean the server closed a kept-alive connection before reading our request:
// worth one retry on a fresh connection.
bool stale_connection(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == boost::asio::error::eof ||
         ec == boost::asio::error::connection_reset || ec == boost::asio::error::broken_pipe ||
         ec == boost::asio::error::connection_aborted;
}

}  // namespace

std::string admin_url::to_string() const {
  bool ipv6 = host.find(':') != std::string::npos;
  return "http://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

result<admin_url> parse_admin_url(std::string_view text) {
  std::string_view rest = text;
  auto scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    auto scheme = lower(rest.substr(0, scheme_end));
    if (scheme == "https") {
      return url_error(text,
                       "https is not supported: this command speaks plain HTTP to the admin "
                       "port; use http://HOST:PORT");
    }
    if (scheme != "http") return url_error(text, "expected http://HOST:PORT");
    rest.remove_prefix(scheme_end + 3);
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) {
    return url_error(text, "expected http://HOST:PORT without a path");
  }
  admin_url url;
  std::string_view port_text;
  if (rest.starts_with('[')) {
    auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return url_error(text, "expected http://[IPV6]:PORT");
    }
    url.host = rest.substr(1, close - 1);
    port_text = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return url_error(text, "expected http://HOST:PORT");
    url.host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
    if (url.host.find(':') != std::string::npos) {
      return url_error(text, "an IPv6 host needs brackets: http://[IPV6]:PORT");
    }
  }
  if (url.host.empty()) return url_error(text, "the host is missing");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port == 0 || port > 65535) {
    return url_error(text, "the port must be a number from 1 to 65535");
  }
  url.port = static_cast<std::uint16_t>(port);
  return url;
}

result<admin_url> admin_url_of(const config::admin_config& admin, std::string_view config_file) {
  admin_url url{admin.listen.host, admin.listen.port};
  if (url.host == "0.0.0.0") url.host = "127.0.0.1";
  if (url.host == "::") url.host = "::1";
  if (!admin.tls.certificate.empty()) {
    return failure(std::make_error_code(std::errc::protocol_not_supported),
                   std::string(config_file) +
                       ": the admin port speaks HTTPS ([admin.tls]), which this command does not "
                       "yet; reach it through a plain HTTP listener with --admin");
  }
  if (url.port == 0) {
    return failure(
        std::make_error_code(std::errc::invalid_argument),
        std::string(config_file) + ": admin.listen has port 0 (any free port): give --admin");
  }
  return url;
}

std::string admin_reply::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

admin_client::admin_client(admin_url url, std::chrono::seconds timeout, std::string bearer_token)
    : url_(std::move(url)),
      bearer_token_(std::move(bearer_token)),
      timeout_(timeout),
      stream_(io_) {}

admin_client::~admin_client() {
  close();
}

void admin_client::close() {
  if (!connected_) return;
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
  connected_ = false;
}

// Beast's stream times out asynchronous operations only: each step is started
// asynchronously and the io_context is run until it completes, within the timeout.
template <typename Start>
beast::error_code admin_client::finish(Start&& start) {
  beast::error_code result = boost::asio::error::would_block;
  stream_.expires_after(timeout_);
  std::forward<Start>(start)([&result](const beast::error_code& ec, auto&&...) { result = ec; });
  io_.restart();
  io_.run();
  return result;
}

result<void> admin_client::connect() {
  tcp::resolver resolver(io_);
  beast::error_code ec = beast::error::timeout;  // unless the resolver answers in time
  tcp::resolver::results_type endpoints;
  resolver.async_resolve(url_.host, std::to_string(url_.port),
                         [&](const beast::error_code& e, tcp::resolver::results_type r) {
                           ec = e;
                           endpoints = std::move(r);
                         });
  io_.restart();
  io_.run_for(timeout_);
  if (!io_.stopped()) {
    // Still resolving: cancel, and let the cancelled handler run before `ec` goes away.
    resolver.cancel();
    io_.run();
    ec = beast::error::timeout;
  }
  if (ec) return network_error(url_, "cannot resolve the host of", ec, timeout_);
  ec = finish([&](auto handler) { stream_.async_connect(endpoints, handler); });
  if (ec) return network_error(url_, "cannot connect to", ec, timeout_);
  connected_ = true;
  return {};
}

result<admin_reply> admin_client::request(bhttp::verb method, const std::string& target,
                                          const std::string& body) {
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, url_.host + ":" + std::to_string(url_.port));
  req.set(bhttp::field::user_agent, "mailhook-cli");
  req.set(bhttp::field::accept, "application/json, application/x-ndjson");
  if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
  if (!bearer_token_.empty()) req.set(bhttp::field::authorization, "Bearer " + bearer_token_);
  req.body() = body;
  req.keep_alive(true);
  req.prepare_payload();

  // A kept-alive connection may have been closed by the server (idle timeout) since the
  // last request: then the request is sent once more on a new connection.
  for (int attempt = 0;; ++attempt) {
    bool reused = connected_;
    if (!connected_) {
      if (auto ok = connect(); !ok) return ok.error();
    }
    auto ec = finish([&](auto handler) { bhttp::async_write(stream_, req, handler); });
    if (ec) {
      close();
      if (reused && attempt == 0 && stale_connection(ec)) continue;
      return network_error(url_, "cannot send the request to", ec, timeout_);
    }
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(max_reply_body);
    ec = finish([&](auto handler) { bhttp::async_read(stream_, buffer, parser, handler); });
    if (ec) {
      close();
      if (reused && attempt == 0 && stale_connection(ec) && !parser.got_some()) continue;
      return network_error(url_, "cannot read the answer of", ec, timeout_);
    }
    auto res = parser.release();
    admin_reply reply;
    reply.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      auto name = f.name_string();
      reply.headers[lower(std::string_view(name.data(), name.size()))] = std::string(f.value());
    }
    reply.body = std::move(res.body());
    if (!res.keep_alive()) close();
    return reply;
  }
}

std::string_view string_member(simdjson::dom::element object, std::string_view key) {
  std::string_view value;
  return object[key].get(value) == simdjson::SUCCESS ? value : std::string_view();
}

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xf];
    }
  }
  return out;
}

}  // namespace mailhook::app
