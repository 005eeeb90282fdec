// A small blocking HTTP/1.1 client for the CLI's calls to the admin API (/v1/suppressions):
// plain TCP only (an admin port with [admin.tls] cannot be reached with it yet), a bearer
// token when one is given, one keep-alive connection reused across
// requests and reopened once when the server closed it in between, a timeout on every
// step. Failures are values that name the URL and the step that failed.
//
// Threading: one object per thread; it owns its io_context and socket.
#pragma once

#include <simdjson.h>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"
#include "config/daemon_config.h"

namespace mailhook::app {

// "http://HOST:PORT" taken apart. HOST may be a name, an IPv4 address or a bracketed
// IPv6 address; a trailing '/' is accepted, any other path is not.
struct admin_url {
  std::string host;  // without brackets
  std::uint16_t port = 0;

  // "http://host:port", bracketing IPv6 hosts.
  [[nodiscard]] std::string to_string() const;
};

// Refuses https:// with a message that says why (this client speaks plain HTTP).
[[nodiscard]] result<admin_url> parse_admin_url(std::string_view text);

// Where a daemon configured with `admin` answers, for a client on the same host: a
// wildcard listen address becomes loopback; port 0 (any free port) cannot be known and
// is refused, naming `config_file`, as is an admin port that speaks HTTPS.
[[nodiscard]] result<admin_url> admin_url_of(const config::admin_config& admin,
                                             std::string_view config_file);

// Percent-encoding of a query component: everything but RFC 3986's unreserved characters.
[[nodiscard]] std::string url_encode(std::string_view text);

// The string member `key` of a JSON object the admin API answered; empty when it is
// absent or not a string.
[[nodiscard]] std::string_view string_member(simdjson::dom::element object, std::string_view key);

struct admin_reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased

  // The value of header `name` (lower-case), or "" when absent.
  [[nodiscard]] std::string header(const std::string& name) const;
};

class admin_client {
 public:
  // A non-empty `bearer_token` is sent as "Authorization: Bearer <token>" with every request.
  explicit admin_client(admin_url url, std::chrono::seconds timeout = std::chrono::seconds(30),
                        std::string bearer_token = {});
  ~admin_client();
  admin_client(const admin_client&) = delete;
  admin_client& operator=(const admin_client&) = delete;

  // Sends one request (`target` is the path and query) and reads the whole answer, whatever
  // its status. A failure means no answer: cannot resolve, connect, send or read.
  // A non-empty `body` is sent as application/json.
  [[nodiscard]] result<admin_reply> request(boost::beast::http::verb method,
                                            const std::string& target,
                                            const std::string& body = "");

  [[nodiscard]] const admin_url& url() const { return url_; }
  [[nodiscard]] bool has_bearer_token() const { return !bearer_token_.empty(); }

 private:
  [[nodiscard]] result<void> connect();
  void close();
  // Starts one asynchronous step with a completion handler and runs it to its end.
  template <typename Start>
  boost::system::error_code finish(Start&& start);

  admin_url url_;
  std::string bearer_token_;
  std::chrono::seconds timeout_;
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  bool connected_ = false;
};

}  // namespace mailhook::app
