// The suppression policy: which SendGrid events change whether an address may be sent
// to (docs/ARCHITECTURE.md, "Suppression policy"). A pure function of the event, the
// configured rules and the soft-bounce history, so that every row of the table is
// tested without Kafka.
//
//   bounce type=bounce                  suppress global, reason bounce
//   bounce type=blocked|expired         count; suppress global as soft_bounce once
//                                       soft_bounce_threshold are seen within the window
//                                       (threshold 0, the default: never, as SendGrid)
//   dropped "Bounced Address"           suppress global, bounce
//   dropped "Invalid"/"Invalid Address" suppress global, invalid
//   dropped "Spam Reporting Address"    suppress global, spam_report
//   dropped "Unsubscribed Address"      suppress global, unsubscribe
//   spamreport / unsubscribe            suppress global, spam_report / unsubscribe
//   group_unsubscribe / resubscribe     suppress / clear group:<asm_group_id>
//   account_status_change               compliance_suspend|deactivate|ban: suspend the
//                                       tenant; reactivate: clear the suspension
// Everything else (delivered, open, other drop reasons, ...) changes nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/daemon_config.h"
#include "mailhook/v1/email_event.pb.h"
#include "suppression/record.h"
#include "suppression/soft_bounce_counter.h"

namespace mailhook::suppression {

// Why an event changed nothing, for the metrics ("not_a_suppression" for the usual
// delivered/open/click traffic).
enum class no_change : std::uint8_t {
  not_a_suppression,  // the event type never changes suppressions
  rule_disabled,      // the row is switched off in [policy]
  missing_field,      // no address, no asm_group_id, unknown account status type
  below_threshold,    // a soft bounce that has not reached the threshold
  bad_timestamp,      // before 1970 or after 9999: no event time to order changes by
};
[[nodiscard]] std::string_view to_string(no_change why) noexcept;

struct decision {
  std::optional<record> change;  // the record to write, when the event changes something
  no_change why_not = no_change::not_a_suppression;
};

// The change `event` makes under `rules`. `now_ms` is stamped as recorded_at_ms.
// Timestamps are SendGrid's Unix seconds, refused outside 1970-9999 (in milliseconds
// they would overflow, and a far-future time would win every later change).
[[nodiscard]] decision decide(const mailhook::v1::EmailEvent& event,
                              const config::policy_config& rules, soft_bounce_counter& soft_bounces,
                              std::int64_t now_ms);

}  // namespace mailhook::suppression
