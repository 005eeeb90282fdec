// Checks on raw JSON tokens (RFC 8259), for a parser that reads values from their bytes
// rather than trusting a library's conversions: the number grammar, string escapes
// (with unpaired surrogates told apart), a fast backslash test, and the bracket that
// closes a body. The batch parser calls these for every value, so they are inline here,
// in the parser's own translation unit. Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/text.h"

namespace mailhook::webhook::json_tokens {

constexpr bool is_json_space(char c) noexcept {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

inline std::string_view trim_json_space_right(std::string_view s) noexcept {
  while (!s.empty() && is_json_space(s.back())) s.remove_suffix(1);
  return s;
}

// Whether a string's content (inside the body) has a backslash, i.e. escapes to decode.
// This runs for every string value, so it looks at 16 bytes at a time; it may read up to
// 15 bytes past the end, which the body's padding (SIMDJSON_PADDING) makes safe.
inline bool has_backslash(std::string_view s) noexcept {
#if defined(__SSE2__)
  const __m128i backslash = _mm_set1_epi8('\\');
  for (std::size_t i = 0; i < s.size(); i += 16) {
    __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, backslash)));
    if (std::size_t left = s.size() - i; left < 16) mask &= (1u << left) - 1;
    if (mask != 0) return true;
  }
  return false;
#else
  return !s.empty() && std::memchr(s.data(), '\\', s.size()) != nullptr;
#endif
}

enum class number_kind : std::uint8_t { invalid, integer, decimal };

// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
inline number_kind check_number(std::string_view s) noexcept {
  std::size_t i = 0;
  const std::size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return number_kind::invalid;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && is_digit(s[i])) ++i;
  } else {
    return number_kind::invalid;
  }
  number_kind kind = number_kind::integer;
  if (i < n && s[i] == '.') {
    ++i;
    if (i >= n || !is_digit(s[i])) return number_kind::invalid;
    while (i < n && is_digit(s[i])) ++i;
    kind = number_kind::decimal;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= n || !is_digit(s[i])) return number_kind::invalid;
    while (i < n && is_digit(s[i])) ++i;
    kind = number_kind::decimal;
  }
  return i == n ? kind : number_kind::invalid;
}

enum class escapes : std::uint8_t { valid, invalid, lone_surrogate };

// Reads \uXXXX at s[i] (s[i] == '\\'); -1 if it is not one.
inline long read_u_escape(std::string_view s, std::size_t i) noexcept {
  if (i + 6 > s.size() || s[i] != '\\' || s[i + 1] != 'u') return -1;
  long v = 0;
  for (std::size_t k = i + 2; k < i + 6; ++k) {
    int h = hex_value(s[k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// Checks the escapes of a string's content (between the quotes). JSON's grammar allows
// unpaired UTF-16 surrogates (\ud800 alone), but they decode to no valid UTF-8, so they
// are told apart: fine verbatim in custom args, unusable in a protobuf string field.
inline escapes check_escapes(std::string_view s) noexcept {
  escapes result = escapes::valid;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') continue;
    if (i + 1 >= s.size()) return escapes::invalid;
    switch (s[i + 1]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        ++i;
        break;
      case 'u': {
        long cp = read_u_escape(s, i);
        if (cp < 0) return escapes::invalid;
        i += 5;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          long low = read_u_escape(s, i + 1);
          if (low >= 0xdc00 && low <= 0xdfff) {
            i += 6;
          } else {
            if (low < 0 && i + 2 < s.size() && s[i + 1] == '\\' && s[i + 2] == 'u') {
              return escapes::invalid;  // a \u with bad hex digits
            }
            result = escapes::lone_surrogate;
          }
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
          result = escapes::lone_surrogate;
        }
        break;
      }
      default:
        return escapes::invalid;
    }
  }
  return result;
}

// Position just past the bracket that closes the body's first one, or npos. Only used to
// tell trailing content from a truncated body once simdjson has refused the array.
inline std::size_t find_closing_bracket(std::string_view body) noexcept {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (depth == 0) return std::string_view::npos;
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace mailhook::webhook::json_tokens
