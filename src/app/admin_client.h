// The CLI's calls to the admin API (/v1/suppressions) over the shared HTTP client
// (http/client.h): http:// or https:// (the certificate and host verified against a CA
// file), a bearer token when one is given, one keep-alive connection, one deadline per
// call. Reads, and changes that end in the same state when repeated, may be written again
// on a new connection when a kept-alive one turned out closed; adding a suppression is not
// (a second copy would be a second changelog record). Failures are values that name the
// URL and the step that failed.
//
// Threading: one object per thread.
#pragma once

#include <simdjson.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "config/daemon_config.h"
#include "http/client.h"

namespace mailhook::app {

// Where the CLI reaches the admin API, and what it trusts there.
struct admin_endpoint {
  http::url url;
  std::string ca_file;  // for https: the CAs to trust; empty: the system's
};

// "http[s]://HOST[:PORT]" (http:// when the scheme is left out); a trailing '/' is
// accepted, any other path is not. `ca_file` is kept for https.
[[nodiscard]] result<admin_endpoint> parse_admin_url(std::string_view text,
                                                     std::string ca_file = {});

// Where a daemon configured with `admin` answers, for a client on the same host: a
// wildcard listen address becomes loopback; port 0 (any free port) cannot be known and is
// refused, naming `config_file`. With [admin.tls] it is https://, trusting `ca_file`, or
// when that is empty the daemon's own certificate file (enough for a self-signed one).
[[nodiscard]] result<admin_endpoint> admin_url_of(const config::admin_config& admin,
                                                  std::string_view config_file,
                                                  std::string ca_file = {});

// The string member `key` of a JSON object the admin API answered; empty when it is
// absent or not a string.
[[nodiscard]] std::string_view string_member(simdjson::dom::element object, std::string_view key);

class admin_client {
 public:
  // A non-empty `bearer_token` is sent as "Authorization: Bearer <token>" with every
  // request. Fails on a CA file that cannot be read.
  [[nodiscard]] static result<admin_client> create(admin_endpoint endpoint,
                                                   std::chrono::milliseconds timeout,
                                                   std::string bearer_token = {});

  // Sends one request (`target` is the path and query) and reads the whole answer, whatever
  // its status. A failure means no whole answer: cannot resolve, connect, shake hands,
  // send or read. A non-empty `body` is sent as application/json.
  [[nodiscard]] result<http::answer> request(http::verb method, const std::string& target,
                                             const std::string& body = "");

  [[nodiscard]] const http::url& url() const { return client_->where(); }
  [[nodiscard]] bool has_bearer_token() const { return !bearer_token_.empty(); }

 private:
  admin_client(std::unique_ptr<http::client> client, std::string bearer_token)
      : client_(std::move(client)), bearer_token_(std::move(bearer_token)) {}

  std::unique_ptr<http::client> client_;
  std::string bearer_token_;
};

}  // namespace mailhook::app
