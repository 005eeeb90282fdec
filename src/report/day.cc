#include "report/day.h"

#include <chrono>
#include <cstdio>

#include "common/text.h"

namespace mailhook::report {
namespace {

using std::chrono::sys_days;

constexpr std::int64_t seconds_per_day = 86'400;
constexpr std::int64_t last_second_of_9999 = 253'402'300'799;

// A fixed-width field of the date: digits only (common/text.h).
std::optional<int> decimal_digits(std::string_view text) {
  std::int64_t value = 0;
  if (!parse_decimal_digits(text, value)) return std::nullopt;
  return static_cast<int>(value);
}

}  // namespace

std::optional<day_number> day_of_unix_seconds(std::int64_t seconds) noexcept {
  if (seconds < 0 || seconds > last_second_of_9999) return std::nullopt;
  return static_cast<day_number>(seconds / seconds_per_day);
}

std::optional<day_number> parse_day(std::string_view text) noexcept {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto y = decimal_digits(text.substr(0, 4));
  auto m = decimal_digits(text.substr(5, 2));
  auto d = decimal_digits(text.substr(8, 2));
  if (!y || !m || !d || *y < 1970) return std::nullopt;
  std::chrono::year_month_day date{std::chrono::year(*y),
                                   std::chrono::month(static_cast<unsigned>(*m)),
                                   std::chrono::day(static_cast<unsigned>(*d))};
  if (!date.ok()) return std::nullopt;
  return static_cast<day_number>(sys_days(date).time_since_epoch().count());
}

std::string format_day(day_number day) {
  std::chrono::year_month_day date{sys_days(std::chrono::days(day))};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

day_number today_utc() noexcept {
  return static_cast<day_number>(
      std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())
          .time_since_epoch()
          .count());
}

}  // namespace mailhook::report
