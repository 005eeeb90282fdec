// Byte-level text helpers (see text.h).
#include "common/text.h"

#include <charconv>
#include <cstdint>
#include <cstring>

namespace mailhook {

std::string_view trim(std::string_view text) noexcept {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && is_ascii_space(text[begin])) ++begin;
  while (end > begin && is_ascii_space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

char* write_ascii_lower(char* out, std::string_view text) noexcept {
  // A byte is upper case when it is ASCII and 'A' <= byte <= 'Z'; adding 0x20 lowers it.
  constexpr std::uint64_t ones = 0x0101010101010101u;
  constexpr std::uint64_t highs = 0x8080808080808080u;
  const char* in = text.data();
  std::size_t n = text.size();
  for (; n >= 8; in += 8, out += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, in, 8);
    const std::uint64_t low7 = word & ~highs;
    const std::uint64_t at_least_a = low7 + ones * (0x80 - 'A');   // high bit: >= 'A'
    const std::uint64_t above_z = low7 + ones * (0x80 - 'Z' - 1);  // high bit: > 'Z'
    const std::uint64_t upper = (at_least_a & ~above_z) & ~word & highs;
    word |= upper >> 2;  // 0x80 >> 2 == 0x20
    std::memcpy(out, &word, 8);
  }
  for (; n != 0; --n) *out++ = ascii_lower(*in++);
  return out;
}

bool parse_decimal_digits(std::string_view text, std::int64_t& out) noexcept {
  if (text.empty()) return false;
  for (char c : text) {
    if (!is_digit(c)) return false;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string to_ascii_lower(std::string_view text) {
  std::string out(text.size(), '\0');
  write_ascii_lower(out.data(), text);
  return out;
}

std::string one_line(std::string_view text, std::size_t max_bytes) {
  std::string out;
  for (char c : trim(text)) {
    if (out.size() >= max_bytes) {
      out += "...";
      break;
    }
    out += is_ascii_control(c) ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();  // a control character was last
  return out;
}

}  // namespace mailhook
