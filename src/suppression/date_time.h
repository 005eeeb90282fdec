// Times as SendGrid's suppression exports write them, read into Unix seconds: a
// date-time text ("2023-01-10 15:04:05", "2023-01-10T15:04:05Z", with an optional
// fraction and UTC offset), a bare date, or Unix seconds written as text.
// Pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mailhook::suppression {

// "YYYY-MM-DD", then optionally 'T' or ' ' and "HH:MM[:SS[.fraction]]", then optionally a
// zone ("Z", "UTC", "GMT", "+HH", "+HHMM", "+HH:MM" or '-', after an optional space), as
// Unix seconds; nullopt for any other text or an impossible date. Without a zone the time
// is UTC: SendGrid's exports and v3 API use Unix times, and the UI's CSV date-times carry
// no zone. A fraction of a second is dropped; second 60 (a leap second) is accepted.
[[nodiscard]] std::optional<std::int64_t> parse_date_time(std::string_view text) noexcept;

// Unix seconds written as text: ASCII digits with an optional fraction that is dropped
// ("1673363045", "1673363045.25"); nullopt for anything else or an overflow.
[[nodiscard]] std::optional<std::int64_t> parse_unix_seconds_text(std::string_view text) noexcept;

}  // namespace mailhook::suppression
