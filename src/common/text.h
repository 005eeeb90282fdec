// Small byte-level text helpers shared by every module: ASCII classes, trimming, ASCII
// lower-casing, hexadecimal digits, and text made safe for one log or table line. Pure
// functions on bytes (UTF-8 passes through untouched); safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mailhook {

[[nodiscard]] constexpr bool is_ascii_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

[[nodiscard]] constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

[[nodiscard]] constexpr bool is_ascii_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// A C0 control character or DEL.
[[nodiscard]] constexpr bool is_ascii_control(char c) noexcept {
  return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

// `c` with ASCII letters lower-cased; every other byte (UTF-8 included) as it is.
[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// The value of a hexadecimal digit (either case), or -1.
[[nodiscard]] constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `text` read as a non-negative decimal number: one or more ASCII digits and nothing else
// (no sign, no space); false for anything else or a value past int64.
[[nodiscard]] bool parse_decimal_digits(std::string_view text, std::int64_t& out) noexcept;

// The text without leading and trailing ASCII whitespace.
[[nodiscard]] std::string_view trim(std::string_view text) noexcept;

// Writes `text` with ASCII letters lower-cased to `out` (room for text.size() bytes) and
// returns the end of what was written. Eight bytes at a time: it runs on every event.
char* write_ascii_lower(char* out, std::string_view text) noexcept;

// `text` with ASCII letters lower-cased, as a new string.
[[nodiscard]] std::string to_ascii_lower(std::string_view text);

// One line for people: trimmed, every control character (line breaks, tabs, escapes
// from bounce texts) a space, and at most `max_bytes` bytes followed by "..." when cut.
[[nodiscard]] std::string one_line(std::string_view text,
                                   std::size_t max_bytes = std::string::npos);

}  // namespace mailhook
