#include "suppression/date_time.h"

#include <chrono>

#include "common/text.h"

namespace mailhook::suppression {
namespace {

// Reads fixed-width fields of a date-time text left to right.
class text_cursor {
 public:
  explicit text_cursor(std::string_view text) noexcept : text_(text) {}

  [[nodiscard]] bool done() const noexcept { return i_ == text_.size(); }
  [[nodiscard]] char peek() const noexcept { return done() ? '\0' : text_[i_]; }

  bool eat(char c) noexcept {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  bool eat_word(std::string_view word) noexcept {
    if (text_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  // Exactly `count` digits.
  bool digits(std::size_t count, int& out) noexcept {
    if (text_.size() - i_ < count) return false;
    int v = 0;
    for (std::size_t k = 0; k < count; ++k) {
      char c = text_[i_ + k];
      if (!is_digit(c)) return false;
      v = v * 10 + (c - '0');
    }
    i_ += count;
    out = v;
    return true;
  }
  // One or more digits, whose value is not needed (a fraction of a second).
  bool skip_digits() noexcept {
    std::size_t start = i_;
    while (is_digit(peek())) ++i_;
    return i_ > start;
  }

 private:
  std::string_view text_;
  std::size_t i_ = 0;
};

// "Z", "UTC", "GMT", "+HH", "+HHMM" or "+HH:MM" (or '-'), as seconds east of UTC.
bool parse_zone(text_cursor& in, std::int64_t& offset_s) noexcept {
  offset_s = 0;
  if (in.eat('Z') || in.eat('z') || in.eat_word("UTC") || in.eat_word("GMT")) return true;
  std::int64_t sign = 1;
  if (in.eat('-')) {
    sign = -1;
  } else if (!in.eat('+')) {
    return false;
  }
  int hours = 0;
  int minutes = 0;
  if (!in.digits(2, hours) || hours > 23) return false;
  if (!in.done()) {
    in.eat(':');
    if (!in.digits(2, minutes) || minutes > 59) return false;
  }
  offset_s = sign * (std::int64_t{hours} * 3600 + std::int64_t{minutes} * 60);
  return true;
}

}  // namespace

std::optional<std::int64_t> parse_date_time(std::string_view text) noexcept {
  text_cursor in(text);
  int y = 0;
  int mo = 0;
  int d = 0;
  if (!in.digits(4, y) || !in.eat('-') || !in.digits(2, mo) || !in.eat('-') || !in.digits(2, d))
    return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  const std::int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  std::int64_t seconds = days * 86'400;
  if (in.done()) return seconds;
  if (!in.eat('T') && !in.eat('t') && !in.eat(' ')) return std::nullopt;
  int h = 0;
  int mi = 0;
  int s = 0;
  if (!in.digits(2, h) || h > 23 || !in.eat(':') || !in.digits(2, mi) || mi > 59)
    return std::nullopt;
  if (in.eat(':')) {
    if (!in.digits(2, s) || s > 60) return std::nullopt;  // 60: a leap second
    if ((in.eat('.') || in.eat(',')) && !in.skip_digits()) return std::nullopt;
  }
  seconds += std::int64_t{h} * 3600 + std::int64_t{mi} * 60 + s;
  std::int64_t offset_s = 0;
  if (!in.done()) {
    in.eat(' ');
    if (!parse_zone(in, offset_s) || !in.done()) return std::nullopt;
  }
  return seconds - offset_s;
}

std::optional<std::int64_t> parse_unix_seconds_text(std::string_view text) noexcept {
  std::string_view whole = text;
  if (auto dot = text.find('.'); dot != std::string_view::npos) {
    whole = text.substr(0, dot);
    std::string_view fraction = text.substr(dot + 1);
    if (fraction.empty() || fraction.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
  }
  std::int64_t seconds = 0;
  if (!parse_decimal_digits(whole, seconds)) return std::nullopt;
  return seconds;
}

}  // namespace mailhook::suppression
