// The kinds of SendGrid events and how an event name maps to one. Pure functions; safe
// from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mailhook::email {

// mailhook.v1.EventType, with the same values (event_encoder.cc checks that they agree),
// so that code which only classifies events need not include the generated protobuf
// header.
enum class event_type : std::uint8_t {
  unknown = 0,
  processed = 1,
  dropped = 2,
  delivered = 3,
  deferred = 4,
  bounce = 5,
  open = 6,
  click = 7,
  spamreport = 8,
  unsubscribe = 9,
  group_unsubscribe = 10,
  group_resubscribe = 11,
  account_status_change = 12,
};

// How many values event_type has: arrays indexed by it have this size.
inline constexpr std::size_t event_type_count =
    static_cast<std::size_t>(event_type::account_status_change) + 1;

// The event type of SendGrid's event name ("bounce", "group_unsubscribe", ...); names are
// case-sensitive, as SendGrid sends them. Anything else is event_type::unknown (the
// event is still published, with its original name).
[[nodiscard]] event_type classify_event(std::string_view name) noexcept;

// The snake_case name used in metrics and logs ("unknown", "bounce", ...).
[[nodiscard]] std::string_view to_string(event_type type) noexcept;

// How lasting a bounce is, from SendGrid's bounce "type": "bounce" is a hard bounce (the
// mailbox or domain does not exist, SendGrid suppresses the address); "blocked" and the
// rarer "expired" are soft (refused for now, or given up on after retries), and SendGrid
// never suppresses them. Any other text counts as hard, as SendGrid's own default type is
// "bounce". The one classification: the policy and the bounce report both use it.
enum class bounce_kind : std::uint8_t { hard, soft };
[[nodiscard]] bounce_kind classify_bounce(std::string_view bounce_type) noexcept;

// The protobuf enum value name ("EVENT_TYPE_BOUNCE"), as proto3 JSON writes it.
[[nodiscard]] std::string_view proto_enum_name(event_type type) noexcept;

}  // namespace mailhook::email
