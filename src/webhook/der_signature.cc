#include "webhook/der_signature.h"

#include <algorithm>

namespace mailhook::webhook {
namespace {

constexpr unsigned char sequence_tag = 0x30;  // universal, constructed, 16
constexpr unsigned char integer_tag = 0x02;   // universal, primitive, 2

// Reads one INTEGER at the front of `in` into `out` and drops it from `in`.
bool read_integer(std::span<const unsigned char>& in, std::array<unsigned char, 32>& out) {
  if (in.size() < 2 || in[0] != integer_tag) return false;
  const std::size_t length = in[1];
  // A long-form length (high bit set) would have to encode 128 or more: no P-256 integer.
  if (length == 0 || length >= 0x80 || length > in.size() - 2) return false;
  std::span<const unsigned char> content = in.subspan(2, length);
  in = in.subspan(2 + length);
  if (content[0] >= 0x80) return false;  // negative
  if (content[0] == 0x00 && content.size() > 1) {
    if (content[1] < 0x80) return false;  // a zero byte the value does not need
    content = content.subspan(1);
  }
  if (content.size() > out.size()) return false;  // 2^256 or more
  out.fill(0);
  std::copy(content.begin(), content.end(),
            out.end() - static_cast<std::ptrdiff_t>(content.size()));
  return true;
}

}  // namespace

std::optional<ecdsa_signature> parse_der_signature(std::span<const unsigned char> der) noexcept {
  if (der.size() < 2 || der[0] != sequence_tag) return std::nullopt;
  const std::size_t length = der[1];
  if (length >= 0x80 || length != der.size() - 2) return std::nullopt;
  std::span<const unsigned char> content = der.subspan(2);
  ecdsa_signature signature;
  if (!read_integer(content, signature.r) || !read_integer(content, signature.s) ||
      !content.empty()) {
    return std::nullopt;
  }
  return signature;
}

}  // namespace mailhook::webhook
