// One send request from decision to outcome, apart from Kafka: which recipients the
// suppression index allows, and the Mail Send call for them with its retries. The sender
// role runs this for every request it reads; `mailhook send-test` runs it for one.
//
// Threading: plan_delivery() is pure apart from lookups; deliver() blocks its caller for
// the calls and the waits between them, and returns early once `stopping` is set.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/daemon_config.h"
#include "mailhook/suppression.h"
#include "mailhook/v1/send.pb.h"
#include "sender/mail_send.h"

namespace mailhook::sender {

// What the index says about each recipient, and who is left to send to.
struct delivery_plan {
  mailhook::v1::SendResult result;  // request fields and a status per recipient, so far
  std::vector<mailhook::v1::Recipient> allowed;
  // Set when nothing will be called: the result is final (skipped, or failed when the
  // request is unusable or refused).
  bool final = false;
  // When the request was refused because no integration of its tenant may send it: the
  // reason's word (integration_choice::refusal), for metrics.
  std::string_view refusal;
};

// The integration a request goes through, or why none may. A request is sent only with
// an integration configured for its own tenant: the one it names, else the tenant's only
// or default one. A name of another tenant's integration is refused, never a fallback:
// that integration's API key and From belong to the other tenant.
struct integration_choice {
  const config::integration_config* integration = nullptr;  // null when refused
  // When refused, a fixed word for metrics: "no_integration" (the tenant has none),
  // "unknown_integration" (the name is configured nowhere), "other_tenant" (the name is
  // another tenant's integration) or "no_default" (several, none is_default); and one
  // line for the result.
  std::string_view refusal;
  std::string detail;
};

[[nodiscard]] integration_choice choose_integration(
    const std::vector<config::integration_config>& integrations,
    const mailhook::v1::SendRequest& request);

// Checks every recipient of `request` against `index` (the tenant's suspension first),
// within the request's ASM group or the integration's default one. An address that is
// not one (no '@') is marked invalid. A refused choice makes the plan a final failure
// with its detail, without a lookup.
[[nodiscard]] delivery_plan plan_delivery(const mailhook::v1::SendRequest& request,
                                          const integration_choice& choice,
                                          const suppression_lookup& index);

// The same with an integration chosen by the caller: null, or one of another tenant than
// the request's, makes the plan a final refusal.
[[nodiscard]] delivery_plan plan_delivery(const mailhook::v1::SendRequest& request,
                                          const config::integration_config* integration,
                                          const suppression_lookup& index);

// At most `rate` calls per second with bursts of up to one second's worth; 0 = no limit.
class rate_limiter {
 public:
  explicit rate_limiter(double rate) : rate_(rate) {}
  // Waits for a call's turn; false when `stopping` was set while waiting.
  bool acquire(const std::atomic<bool>& stopping);
  // Holds every call back until `until` (a 429's X-RateLimit-Reset).
  void pause_until(std::chrono::steady_clock::time_point until);

 private:
  const double rate_;
  std::mutex mutex_;
  double tokens_ = -1;  // < 0: not started
  std::chrono::steady_clock::time_point refilled_{};
  std::chrono::steady_clock::time_point paused_until_{};
};

// What deliver() tells its observer about each call, for metrics.
struct call_report {
  api_answer answer;
  answer_kind kind;
  std::chrono::milliseconds waited{0};  // the wait after this call before the next one
  bool rate_limit_wait = false;         // that wait was a 429's
};

// Calls Mail Send for the plan's allowed recipients until SendGrid accepts or refuses
// them, or the attempts run out: 429 waits until X-RateLimit-Reset (at most
// max_rate_limit_wait), 5xx and a connection that could not be opened wait a jittered,
// doubling backoff. A call left without an answer after its request began to go out
// (answer_kind::indeterminate) ends the delivery at once as indeterminate: it is never
// made again. Fills status, message id, errors, attempts and the recipients' statuses of
// plan.result. When `stopping` is set between attempts, the result is failed with "stopped".
mailhook::v1::SendResult deliver(delivery_plan plan, const mailhook::v1::SendRequest& request,
                                 const config::integration_config& integration,
                                 const config::sender_config& settings, mail_send_client& client,
                                 rate_limiter& limiter, const std::atomic<bool>& stopping,
                                 const std::function<void(const call_report&)>& observe = {});

[[nodiscard]] std::string_view to_string(mailhook::v1::SendStatus status) noexcept;

}  // namespace mailhook::sender
