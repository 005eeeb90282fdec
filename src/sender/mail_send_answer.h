// What a Mail Send call came back with, and what it means: the sender's next step
// (classify) and one line for people (explain). Pure functions; safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mailhook/v1/send.pb.h"

namespace mailhook::sender {

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

}  // namespace mailhook::sender
