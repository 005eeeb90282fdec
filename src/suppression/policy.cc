#include "suppression/policy.h"

#include <algorithm>

#include "email/address.h"
#include "email/event_type.h"

namespace mailhook::suppression {
namespace {

using mailhook::v1::EmailEvent;

record base_record(const EmailEvent& event, std::int64_t now_ms) {
  record r;
  r.set_tenant(event.tenant());
  r.set_event_time_ms(event.timestamp() * 1000);
  r.set_event_id(event.sg_event_id());
  r.set_origin(mailhook::v1::SUPPRESSION_ORIGIN_EVENT);
  r.set_source(event.source());
  r.set_received_at_ms(event.received_at_ms());
  r.set_recorded_at_ms(now_ms);
  return r;
}

// A change for the event's address, or nullopt when the event has none.
std::optional<record> address_record(const EmailEvent& event, std::int64_t now_ms) {
  // Events that ingest published carry the normalized address; normalizing again covers
  // events other producers wrote, and refuses what ingest would have dead-lettered.
  auto normalized = email::normalized_address(
      event.email_normalized().empty() ? event.email() : event.email_normalized());
  if (!normalized) return std::nullopt;
  record r = base_record(event, now_ms);
  r.set_email(event.email());
  r.set_email_normalized(std::move(*normalized));
  r.set_scope(mailhook::v1::SUPPRESSION_SCOPE_GLOBAL);
  return r;
}

std::string join_detail(std::string_view a, std::string_view b) {
  std::string out(a);
  if (!a.empty() && !b.empty()) out += ' ';
  out += b;
  return out;
}

decision suppress_global(const EmailEvent& event, mailhook::v1::SuppressionReason reason,
                         std::string detail, std::int64_t now_ms) {
  auto r = address_record(event, now_ms);
  if (!r) return {std::nullopt, no_change::missing_field};
  r->set_suppressed(true);
  r->set_reason(reason);
  r->set_detail(std::move(detail));
  return {std::move(r), {}};
}

decision from_bounce(const EmailEvent& event, const config::policy_config& rules,
                     soft_bounce_counter& soft_bounces, std::int64_t now_ms) {
  // Hard bounces suppress at once; soft ones only past the threshold (SendGrid itself
  // never suppresses them).
  if (email::classify_bounce(event.bounce_type()) == email::bounce_kind::hard) {
    if (!rules.suppress_hard_bounces) return {std::nullopt, no_change::rule_disabled};
    return suppress_global(event, mailhook::v1::SUPPRESSION_REASON_BOUNCE,
                           join_detail(event.bounce_classification(), event.status()), now_ms);
  }
  if (rules.soft_bounce_threshold == 0) return {std::nullopt, no_change::rule_disabled};
  auto r = address_record(event, now_ms);
  if (!r) return {std::nullopt, no_change::missing_field};
  auto seen =
      soft_bounces.add(global_key(email::tenant_id(r->tenant()),
                                  email::normalized_email::from_normalized(r->email_normalized())),
                       r->event_time_ms(), event.sg_event_id(), rules.soft_bounce_window);
  if (seen < static_cast<std::size_t>(rules.soft_bounce_threshold)) {
    return {std::nullopt, no_change::below_threshold};
  }
  return suppress_global(event, mailhook::v1::SUPPRESSION_REASON_SOFT_BOUNCE,
                         join_detail(event.status(), std::to_string(seen) + " soft bounces"),
                         now_ms);
}

decision from_dropped(const EmailEvent& event, const config::policy_config& rules,
                      std::int64_t now_ms) {
  using enum mailhook::v1::SuppressionReason;
  const std::string& why = event.reason();
  mailhook::v1::SuppressionReason reason;
  if (why == "Bounced Address") {
    reason = SUPPRESSION_REASON_BOUNCE;
  } else if (why == "Invalid" || why == "Invalid Address") {
    reason = SUPPRESSION_REASON_INVALID;
  } else if (why == "Spam Reporting Address") {
    reason = SUPPRESSION_REASON_SPAM_REPORT;
  } else if (why == "Unsubscribed Address") {
    reason = SUPPRESSION_REASON_UNSUBSCRIBE;
  } else {
    // "Invalid SMTPAPI header", "Spam Content", quota: about the message, not the address.
    return {std::nullopt, no_change::not_a_suppression};
  }
  if (!rules.suppress_dropped) return {std::nullopt, no_change::rule_disabled};
  return suppress_global(event, reason, "dropped: " + why, now_ms);
}

decision from_group_event(const EmailEvent& event, bool suppress,
                          const config::policy_config& rules, std::int64_t now_ms) {
  if (!rules.honor_group_unsubscribes) return {std::nullopt, no_change::rule_disabled};
  if (!event.has_asm_group_id()) return {std::nullopt, no_change::missing_field};
  auto r = address_record(event, now_ms);
  if (!r) return {std::nullopt, no_change::missing_field};
  r->set_scope(mailhook::v1::SUPPRESSION_SCOPE_GROUP);
  r->set_asm_group_id(event.asm_group_id());
  r->set_suppressed(suppress);
  r->set_reason(mailhook::v1::SUPPRESSION_REASON_GROUP_UNSUBSCRIBE);
  r->set_detail(event.event());
  return {std::move(r), {}};
}

decision from_account_status(const EmailEvent& event, const config::policy_config& rules,
                             std::int64_t now_ms) {
  if (!rules.honor_account_status) return {std::nullopt, no_change::rule_disabled};
  const std::string& type = event.bounce_type();  // account_status_change's "type"
  bool suspend =
      type == "compliance_suspend" || type == "compliance_deactivate" || type == "compliance_ban";
  if (!suspend && type != "reactivate") return {std::nullopt, no_change::missing_field};
  if (event.tenant().empty()) return {std::nullopt, no_change::missing_field};
  record r = base_record(event, now_ms);
  r.set_scope(mailhook::v1::SUPPRESSION_SCOPE_TENANT);
  r.set_suppressed(suspend);
  r.set_reason(mailhook::v1::SUPPRESSION_REASON_ACCOUNT_SUSPENDED);
  r.set_detail(type);
  return {std::move(r), {}};
}

}  // namespace

std::string_view to_string(no_change why) noexcept {
  switch (why) {
    case no_change::not_a_suppression:
      return "not_a_suppression";
    case no_change::rule_disabled:
      return "rule_disabled";
    case no_change::missing_field:
      return "missing_field";
    case no_change::bad_timestamp:
      return "bad_timestamp";
    case no_change::below_threshold:
      return "below_threshold";
  }
  return "not_a_suppression";
}

decision decide(const EmailEvent& event, const config::policy_config& rules,
                soft_bounce_counter& soft_bounces, std::int64_t now_ms) {
  using enum mailhook::v1::EventType;
  using enum mailhook::v1::SuppressionReason;
  constexpr std::int64_t last_second_of_9999 = 253'402'300'799;
  if (event.timestamp() < 0 || event.timestamp() > last_second_of_9999)
    return {std::nullopt, no_change::bad_timestamp};
  switch (event.type()) {
    case EVENT_TYPE_BOUNCE:
      return from_bounce(event, rules, soft_bounces, now_ms);
    case EVENT_TYPE_DROPPED:
      return from_dropped(event, rules, now_ms);
    case EVENT_TYPE_SPAMREPORT:
      if (!rules.suppress_spam_reports) return {std::nullopt, no_change::rule_disabled};
      return suppress_global(event, SUPPRESSION_REASON_SPAM_REPORT, "spamreport", now_ms);
    case EVENT_TYPE_UNSUBSCRIBE:
      if (!rules.suppress_unsubscribes) return {std::nullopt, no_change::rule_disabled};
      return suppress_global(event, SUPPRESSION_REASON_UNSUBSCRIBE, "unsubscribe", now_ms);
    case EVENT_TYPE_GROUP_UNSUBSCRIBE:
      return from_group_event(event, true, rules, now_ms);
    case EVENT_TYPE_GROUP_RESUBSCRIBE:
      return from_group_event(event, false, rules, now_ms);
    case EVENT_TYPE_ACCOUNT_STATUS_CHANGE:
      return from_account_status(event, rules, now_ms);
    default:
      return {std::nullopt, no_change::not_a_suppression};
  }
}

}  // namespace mailhook::suppression
