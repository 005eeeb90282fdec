// Small, allocation-free helpers for event values: trimming, the normalized form of an
// address (what suppressions compare) and the event type of an event name. Pure
// functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mailhook::webhook {

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

// The text without leading and trailing ASCII whitespace (space, \t, \n, \v, \f, \r).
[[nodiscard]] std::string_view trim(std::string_view text) noexcept;

// Appends the address trimmed and with ASCII letters lower-cased; every other byte is
// kept as it is. We chose ASCII-only folding: full Unicode case folding would need ICU
// and could map two distinct mailboxes to one, while SendGrid itself lower-cases only
// ASCII in its suppression lists, so this matches the addresses it reports.
void append_normalized_email(std::string& out, std::string_view email);

// Number of bytes append_normalized_email appends (the trimmed length).
[[nodiscard]] inline std::size_t normalized_email_size(std::string_view email) noexcept {
  return trim(email).size();
}

// Writes the normalized address to `out`, which has room for normalized_email_size(email)
// bytes, and returns the end of what was written.
char* write_normalized_email(char* out, std::string_view email) noexcept;

// `c` with ASCII letters lower-cased; every other byte (UTF-8 included) as it is.
[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Writes `text` with ASCII letters lower-cased (no trimming) and returns the end.
char* write_ascii_lower(char* out, std::string_view text) noexcept;

// The event type of SendGrid's event name ("bounce", "group_unsubscribe", ...); names are
// case-sensitive, as SendGrid sends them. Anything else is event_type::unknown (the
// event is still published, with its original name).
[[nodiscard]] event_type classify_event(std::string_view name) noexcept;

// The snake_case name used in metrics and logs ("unknown", "bounce", ...).
[[nodiscard]] std::string_view to_string(event_type type) noexcept;

// The protobuf enum value name ("EVENT_TYPE_BOUNCE"), as proto3 JSON writes it.
[[nodiscard]] std::string_view proto_enum_name(event_type type) noexcept;

}  // namespace mailhook::webhook
