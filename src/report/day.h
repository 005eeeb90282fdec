// Days as the bounce report counts them: UTC calendar days, numbered from 1970-01-01
// (day 0), written "YYYY-MM-DD". An event belongs to the day of its own timestamp (when
// SendGrid says it happened), not of its arrival. Pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailhook::report {

using day_number = std::int32_t;

// The day of Unix time `seconds`; nullopt before 1970 or after 9999 (such a timestamp is
// no event time: the policy refuses it too).
[[nodiscard]] std::optional<day_number> day_of_unix_seconds(std::int64_t seconds) noexcept;

// "YYYY-MM-DD" (exactly that: four-digit year, two-digit month and day) of a real date
// from 1970 to 9999; nullopt for any other text.
[[nodiscard]] std::optional<day_number> parse_day(std::string_view text) noexcept;

// "YYYY-MM-DD" of `day`, which must be within 1970-9999.
[[nodiscard]] std::string format_day(day_number day);

// Today, UTC, by the system clock.
[[nodiscard]] day_number today_utc() noexcept;

}  // namespace mailhook::report
