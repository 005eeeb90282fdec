#include "sender/delivery.h"

#include <algorithm>
#include <random>
#include <thread>

#include "common/clock.h"
#include "email/address.h"

namespace mailhook::sender {
namespace {

using namespace std::chrono_literals;
using mailhook::v1::RecipientStatus;
using mailhook::v1::SendStatus;

std::string scope_text(const suppression_info& info) {
  if (info.scope == suppression_scope::group) return "group:" + std::to_string(info.asm_group_id);
  return std::string(to_string(info.scope));
}

// Sleeps up to `duration` in short steps; false when `stopping` was set meanwhile.
bool sleep_unless_stopping(std::chrono::steady_clock::duration duration,
                           const std::atomic<bool>& stopping) {
  auto until = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < until) {
    if (stopping.load()) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        50ms, until - std::chrono::steady_clock::now()));
  }
  return !stopping.load();
}

// Full jitter over a doubling backoff: uniform in [base/2, base * 2^(attempt-1)], capped.
std::chrono::milliseconds backoff(const config::sender_config& settings, int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  auto ceiling = settings.retry_backoff.count() << std::min(attempt - 1, 20);
  ceiling = std::min<std::int64_t>(ceiling, settings.max_retry_backoff.count());
  auto floor = std::min<std::int64_t>(std::max<std::int64_t>(settings.retry_backoff.count() / 2, 1),
                                      ceiling);
  std::uniform_int_distribution<std::int64_t> pick(floor, ceiling);
  return std::chrono::milliseconds(pick(random));
}

std::chrono::milliseconds rate_limit_wait(const api_answer& answer,
                                          const config::sender_config& settings) {
  std::chrono::milliseconds wait = 1s;  // no X-RateLimit-Reset: a second, as its resolution
  if (answer.rate_limit_reset) {
    wait = std::chrono::milliseconds(*answer.rate_limit_reset * 1000 - unix_ms());
  }
  return std::clamp<std::chrono::milliseconds>(wait, 100ms, settings.max_rate_limit_wait);
}

void mark_allowed(mailhook::v1::SendResult& result, RecipientStatus status) {
  for (auto& recipient : *result.mutable_recipients()) {
    if (recipient.status() == mailhook::v1::RECIPIENT_STATUS_UNSPECIFIED)
      recipient.set_status(status);
  }
}

void take_errors(mailhook::v1::SendResult& result, const api_answer& answer) {
  result.clear_errors();
  for (const auto& error : answer.errors) *result.add_errors() = error;
}

}  // namespace

integration_choice choose_integration(const std::vector<config::integration_config>& integrations,
                                      const mailhook::v1::SendRequest& request) {
  const auto refuse = [](std::string_view reason, std::string detail) {
    return integration_choice{nullptr, reason, "refused: " + std::move(detail) + "; nothing sent"};
  };
  const std::string tenant = "tenant \"" + request.tenant() + "\"";
  if (!request.integration().empty()) {
    for (const auto& integration : integrations) {
      if (integration.name != request.integration()) continue;
      if (integration.tenant == request.tenant()) return {&integration, {}, {}};
      // The other tenant is not named: results are read by the platform's services.
      return refuse("other_tenant", "integration \"" + request.integration() +
                                        "\" is not configured for " + tenant);
    }
    return refuse("unknown_integration",
                  "no integration \"" + request.integration() + "\" is configured");
  }
  const config::integration_config* only = nullptr;
  int of_tenant = 0;
  for (const auto& integration : integrations) {
    if (integration.tenant != request.tenant()) continue;
    if (integration.is_default) return {&integration, {}, {}};
    only = &integration;
    ++of_tenant;
  }
  if (of_tenant == 1) return {only, {}, {}};
  if (of_tenant == 0) return refuse("no_integration", "no integration is configured for " + tenant);
  return refuse("no_default", tenant + " has several integrations and none is_default");
}

delivery_plan plan_delivery(const mailhook::v1::SendRequest& request,
                            const config::integration_config* integration,
                            const suppression_lookup& index) {
  integration_choice choice{integration, {}, {}};
  if (integration == nullptr) {
    choice.refusal = "no_integration";
    choice.detail = "refused: no integration is configured for tenant \"" + request.tenant() +
                    "\"; nothing sent";
  } else if (integration->tenant != request.tenant()) {
    choice = {nullptr, "other_tenant",
              "refused: integration \"" + integration->name + "\" is not configured for tenant \"" +
                  request.tenant() + "\"; nothing sent"};
  }
  return plan_delivery(request, choice, index);
}

delivery_plan plan_delivery(const mailhook::v1::SendRequest& request,
                            const integration_choice& choice, const suppression_lookup& index) {
  delivery_plan plan;
  auto& result = plan.result;
  result.set_request_id(request.request_id());
  result.set_tenant(request.tenant());
  result.set_started_at_ms(unix_ms());
  for (const auto& to : request.to()) result.add_recipients()->set_email(to.email());

  auto fail = [&](std::string detail) {
    result.set_status(mailhook::v1::SEND_STATUS_FAILED);
    result.set_detail(std::move(detail));
    result.add_errors()->set_message(result.detail());
    mark_allowed(result, mailhook::v1::RECIPIENT_STATUS_FAILED);
    plan.final = true;
    return plan;
  };
  if (auto why = invalid_request(request)) return fail("invalid request: " + *why);
  const config::integration_config* integration = choice.integration;
  // Checked here again, whoever chose: another tenant's key must never send this request.
  if (integration == nullptr || integration->tenant != request.tenant()) {
    plan.refusal = choice.refusal;
    std::string detail = choice.detail;
    if (plan.refusal.empty()) {
      plan.refusal = integration == nullptr ? "no_integration" : "other_tenant";
      detail = "refused: no integration configured for tenant \"" + request.tenant() +
               "\" was chosen; nothing sent";
    }
    return fail(std::move(detail));
  }
  result.set_integration(integration->name);

  std::optional<std::int64_t> group;
  if (request.asm_group_id() > 0) {
    group = request.asm_group_id();
  } else if (integration->default_asm_group > 0) {
    group = integration->default_asm_group;
  }
  int suppressed = 0;
  for (int i = 0; i < request.to_size(); ++i) {
    auto& recipient = *result.mutable_recipients(i);
    // The suppression check's own normalization decides: a display-name form ("Name
    // <a@b>"), invisible characters or a bad domain are never sent, nor looked up.
    std::string normalized;
    if (!email::normalize_address(request.to(i).email(), normalized)) {
      recipient.set_status(mailhook::v1::RECIPIENT_STATUS_INVALID);
      continue;
    }
    auto verdict = index.check(request.tenant(), request.to(i).email(), group);
    if (verdict.suppressed) {
      recipient.set_status(mailhook::v1::RECIPIENT_STATUS_SUPPRESSED);
      recipient.set_suppression_scope(scope_text(*verdict.suppressed));
      recipient.set_suppression_reason(std::string(to_string(verdict.suppressed->reason)));
      ++suppressed;
      continue;
    }
    plan.allowed.push_back(request.to(i));
  }
  if (plan.allowed.empty()) {
    plan.final = true;
    result.set_finished_at_ms(unix_ms());
    if (suppressed > 0) {
      result.set_status(mailhook::v1::SEND_STATUS_SKIPPED);
      const auto& first = result.recipients(0);
      result.set_detail(request.to_size() == 1 ? "suppressed: " + first.suppression_reason() +
                                                     " (" + first.suppression_scope() + ")"
                                               : "every recipient is suppressed or invalid");
    } else {
      result.set_status(mailhook::v1::SEND_STATUS_FAILED);
      result.set_detail("no valid recipient address");
      result.add_errors()->set_message(result.detail());
    }
  }
  return plan;
}

bool rate_limiter::acquire(const std::atomic<bool>& stopping) {
  for (;;) {
    std::chrono::steady_clock::duration wait{};
    {
      std::lock_guard lock(mutex_);
      auto now = std::chrono::steady_clock::now();
      if (now < paused_until_) {
        wait = paused_until_ - now;
      } else if (rate_ <= 0) {
        return true;
      } else {
        if (tokens_ < 0) {
          tokens_ = rate_;
          refilled_ = now;
        }
        tokens_ = std::min(
            rate_, tokens_ + rate_ * std::chrono::duration<double>(now - refilled_).count());
        refilled_ = now;
        if (tokens_ >= 1) {
          tokens_ -= 1;
          return true;
        }
        wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>((1 - tokens_) / rate_));
      }
    }
    if (!sleep_unless_stopping(wait, stopping)) return false;
  }
}

void rate_limiter::pause_until(std::chrono::steady_clock::time_point until) {
  std::lock_guard lock(mutex_);
  paused_until_ = std::max(paused_until_, until);
}

mailhook::v1::SendResult deliver(delivery_plan plan, const mailhook::v1::SendRequest& request,
                                 const config::integration_config& integration,
                                 const config::sender_config& settings, mail_send_client& client,
                                 rate_limiter& limiter, const std::atomic<bool>& stopping,
                                 const std::function<void(const call_report&)>& observe) {
  auto& result = plan.result;
  const std::string body = mail_send_body(request, plan.allowed, integration);
  std::string last_problem;
  for (int attempt = 1; attempt <= settings.max_attempts; ++attempt) {
    if (!limiter.acquire(stopping)) break;
    call_report report{client.send(body), answer_kind::retryable};
    report.kind = classify(report.answer);
    const auto& answer = report.answer;
    result.set_attempts(attempt);
    result.set_http_status(answer.status);
    take_errors(result, answer);
    if (report.kind == answer_kind::accepted || report.kind == answer_kind::rejected) {
      if (observe) observe(report);
      bool accepted = report.kind == answer_kind::accepted;
      result.set_status(accepted ? mailhook::v1::SEND_STATUS_SENT
                                 : mailhook::v1::SEND_STATUS_FAILED);
      result.set_message_id(answer.message_id);
      result.set_detail(explain(answer));
      mark_allowed(result, accepted ? mailhook::v1::RECIPIENT_STATUS_SENT
                                    : mailhook::v1::RECIPIENT_STATUS_FAILED);
      result.set_finished_at_ms(unix_ms());
      return std::move(result);
    }
    if (report.kind == answer_kind::indeterminate) {
      // The request may be with SendGrid: calling again could send the email twice.
      if (observe) observe(report);
      result.set_status(mailhook::v1::SEND_STATUS_INDETERMINATE);
      result.set_detail(explain(answer) +
                        "; SendGrid may have accepted it, so it is not sent again (look for "
                        "mailhook_request_id in the webhook events)");
      mark_allowed(result, mailhook::v1::RECIPIENT_STATUS_INDETERMINATE);
      result.set_finished_at_ms(unix_ms());
      return std::move(result);
    }
    last_problem = explain(answer);
    if (attempt == settings.max_attempts) {
      if (observe) observe(report);
      break;
    }
    if (report.kind == answer_kind::rate_limited) {
      report.waited = rate_limit_wait(answer, settings);
      report.rate_limit_wait = true;
      // Every call of this integration waits, not only this one: the limit is the account's.
      limiter.pause_until(std::chrono::steady_clock::now() + report.waited);
    } else {
      report.waited = backoff(settings, attempt);
      if (!sleep_unless_stopping(report.waited, stopping)) {
        if (observe) observe(report);
        break;
      }
    }
    if (observe) observe(report);
  }
  result.set_status(mailhook::v1::SEND_STATUS_FAILED);
  if (stopping.load() && result.attempts() < settings.max_attempts) {
    result.set_detail("stopped before SendGrid accepted it: " + last_problem);
  } else if (result.attempts() > 1) {
    result.set_detail("gave up after " + std::to_string(result.attempts()) +
                      " attempts: " + last_problem);
  } else {
    result.set_detail(last_problem);
  }
  mark_allowed(result, mailhook::v1::RECIPIENT_STATUS_FAILED);
  result.set_finished_at_ms(unix_ms());
  return std::move(result);
}

std::string_view to_string(mailhook::v1::SendStatus status) noexcept {
  switch (status) {
    case mailhook::v1::SEND_STATUS_SENT:
      return "sent";
    case mailhook::v1::SEND_STATUS_SKIPPED:
      return "skipped";
    case mailhook::v1::SEND_STATUS_FAILED:
      return "failed";
    case mailhook::v1::SEND_STATUS_INDETERMINATE:
      return "indeterminate";
    case mailhook::v1::SEND_STATUS_DUPLICATE:
      return "duplicate";
    default:
      return "unspecified";
  }
}

}  // namespace mailhook::sender
