// SendGrid's v3 Mail Send API as the sender uses it: the API key and a blocking keep-alive
// client for POST /v3/mail/send (docs/sending.md, ../spec section 6); the body it sends is
// built by mail_send_request.h, its answers read by mail_send_answer.h.
//
// Threading: load_api_key is pure; a mail_send_client belongs to one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/daemon_config.h"
#include "mailhook/v1/send.pb.h"
#include "sender/mail_send_answer.h"
#include "sender/mail_send_request.h"

namespace mailhook::sender {

// The API key of `integration`: the first line of api_key_file, or the value of the
// environment variable api_key_env (read with getenv, so call it at start, before other
// threads could setenv), trimmed, not empty. Errors name the file or variable, never a key.
[[nodiscard]] result<std::string> load_api_key(const config::integration_config& integration);

// A client for one integration's api_url: one keep-alive connection (HTTPS with the
// certificate and host name verified; http:// only for loopback test servers), the
// integration's timeout on every call. The key goes only into the Authorization header.
//
// integration.timeout is one deadline per send(), covering resolve, connect, TLS handshake,
// sending and the whole answer. send() writes the request at most once, by the rules of
// the shared client (http/client.h): a kept-alive connection the server has closed is
// replaced before the first byte goes out, and once writing has begun no failure makes it
// write the request again (the answer says request_started); calling again is the
// caller's decision, by classify().
class mail_send_client {
 public:
  // Fails (naming the integration) on an api_url it cannot use (http:// to a host that is
  // not loopback included), an unreadable ca_file, or
  // a key that is empty or has characters a header cannot carry (without showing it).
  [[nodiscard]] static result<std::unique_ptr<mail_send_client>> create(
      const config::integration_config& integration, std::string api_key);
  virtual ~mail_send_client() = default;

  // POST <api_url path>/v3/mail/send with `body`; never throws, every failure is in the
  // answer, and no error text contains the key.
  [[nodiscard]] virtual api_answer send(const std::string& body) = 0;
};

}  // namespace mailhook::sender
