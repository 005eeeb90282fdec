// SendGrid's v3 Mail Send API as the sender uses it: the JSON body built from a
// SendRequest and an integration, a blocking keep-alive client for POST /v3/mail/send,
// and what its answers mean (docs/sending.md, ../spec section 6).
//
// Threading: the free functions are pure; a mail_send_client belongs to one thread.
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

namespace mailhook::sender {

// Mail Send's own limits, checked before a call so that a request SendGrid would refuse
// fails with a clear reason without using the account's rate limit.
inline constexpr std::size_t max_recipients = 1000;
inline constexpr std::size_t max_categories = 10;
inline constexpr std::size_t max_category_bytes = 255;
inline constexpr std::size_t max_custom_args_bytes = 10'000;

// Why `request` cannot be sent at all (missing request_id, tenant, recipients, subject,
// content or template_id; too many recipients or categories; dynamic template data that
// is not a JSON object; ...), or nullopt when it can.
[[nodiscard]] std::optional<std::string> invalid_request(const mailhook::v1::SendRequest& request);

// The body of POST /v3/mail/send: one personalization per recipient in `to` (each gets
// its own copy), From and Reply-To of the integration, the request's ASM group (or the
// integration's default), categories and custom args plus "mailhook_request_id" and
// "mailhook_tenant", so that webhook events name the request they come from. Compact JSON;
// content is ordered text/plain, text/html, then the rest (SendGrid refuses other orders);
// dynamic template data goes into every personalization, compacted with its tokens as
// written. Meant for a request invalid_request() accepted: template data that is not a
// JSON object is left out, and request custom args named like mailhook's own are ignored.
[[nodiscard]] std::string mail_send_body(const mailhook::v1::SendRequest& request,
                                         const std::vector<mailhook::v1::Recipient>& to,
                                         const config::integration_config& integration);

// The API key of `integration`: the first line of api_key_file, or the value of the
// environment variable api_key_env (read with getenv, so call it at start, before other
// threads could setenv), trimmed, not empty. Errors name the file or variable, never a key.
[[nodiscard]] result<std::string> load_api_key(const config::integration_config& integration);

// What one API call came back with.
struct api_answer {
  int status = 0;  // HTTP status; 0 when there was no answer
  // Why there was no answer: resolve, connect, TLS, send, timeout. Also set, with the
  // status kept, when the status line arrived but the body did not (a 202 stays a 202).
  std::string transport_error;
  // Whether the client had begun writing the request when the call ended. Before that
  // (resolve, connect, TLS handshake) SendGrid provably has nothing; after it, a call
  // without an answer may or may not have reached SendGrid.
  bool request_started = false;
  std::string message_id;                        // X-Message-Id of a 202
  std::vector<mailhook::v1::ApiError> errors;    // the body's "errors", when it has them
  std::optional<std::int64_t> rate_limit_reset;  // X-RateLimit-Reset, Unix seconds
  std::chrono::microseconds latency{0};          // from sending the request to the answer
};

// What the sender may do after a call. The rule (docs/sending.md, "When a call is made
// again"): a request is sent again only when it provably did not reach SendGrid, or
// SendGrid said that it did not take it.
enum class answer_kind {
  accepted,      // 2xx: SendGrid took the email
  rate_limited,  // 429: not taken; wait for rate_limit_reset, then call again
  retryable,     // 5xx, or no connection (resolve, connect, TLS handshake): call again
  rejected,      // any other status: calling again would not help
  // No answer after the request began to go out (write error, connection closed, read
  // timeout, malformed answer): SendGrid may have it, so it is never sent again.
  indeterminate,
};

[[nodiscard]] answer_kind classify(const api_answer& answer);

// One line for people, as `mailhook send-test` prints it: "API key rejected (401: ...)",
// "From address is not a verified sender (403: ...)", "unreachable: ..." (nothing was
// sent), "no answer after the request was sent: ..." (indeterminate), and so on.
[[nodiscard]] std::string explain(const api_answer& answer);

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
