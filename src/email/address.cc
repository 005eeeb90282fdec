// Address normalization (see address.h). The ASCII path does everything in one pass over
// the bytes; only addresses with non-ASCII bytes reach libunistring and libidn2.
#include "email/address.h"

#include <idn2.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/c_ptr.h"
#include "common/text.h"

namespace mailhook::email {
namespace {

// Bytes that never stand in one bare address, whatever the encoding around them: the
// brackets of "Name <a@b>", list separators, and a space inside (a display name, or two
// addresses). RFC 5321 allows some of them inside a quoted local part, which no mailbox
// this daemon sees uses.
constexpr bool separates_addresses(char c) noexcept {
  return c == ' ' || c == '<' || c == '>' || c == ',' || c == ';';
}

// What one pass over an address's bytes found, for the ASCII path.
struct byte_scan {
  bool non_ascii = false;
  bool control = false;
  bool separator = false;
  std::size_t ats = 0;  // how many '@'
  std::size_t last_at = std::string_view::npos;
};

void scan_byte(byte_scan& found, char c, std::size_t i) noexcept {
  found.non_ascii |= static_cast<unsigned char>(c) >= 0x80;
  found.control |= is_ascii_control(c);
  found.separator |= separates_addresses(c);
  if (c == '@') {
    ++found.ats;
    found.last_at = i;
  }
}

#if defined(__SSE2__)
// The 16 bytes at text[base], of which only those whose bit is in `valid` count.
void scan_block(byte_scan& found, std::string_view text, std::size_t base,
                unsigned valid) noexcept {
  const auto mask = [valid](__m128i m) {
    return static_cast<unsigned>(_mm_movemask_epi8(m)) & valid;
  };
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + base));
  const __m128i space = _mm_set1_epi8(' ');
  const __m128i high = _mm_cmplt_epi8(v, _mm_setzero_si128());  // bytes of UTF-8 sequences
  found.non_ascii |= mask(high) != 0;
  // A signed compare below ' ' finds the C0 controls and the high bytes; the latter are
  // taken out again.
  const __m128i below_space = _mm_andnot_si128(high, _mm_cmplt_epi8(v, space));
  found.control |= mask(_mm_or_si128(below_space, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)))) != 0;
  const __m128i separators =
      _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, space), _mm_cmpeq_epi8(v, _mm_set1_epi8('<'))),
                   _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('>')),
                                             _mm_cmpeq_epi8(v, _mm_set1_epi8(','))),
                                _mm_cmpeq_epi8(v, _mm_set1_epi8(';'))));
  found.separator |= mask(separators) != 0;
  if (const unsigned ats = mask(_mm_cmpeq_epi8(v, _mm_set1_epi8('@'))); ats != 0) {
    found.ats += static_cast<std::size_t>(__builtin_popcount(ats));
    found.last_at = base + 31 - static_cast<std::size_t>(__builtin_clz(ats));
  }
}
#endif

// Sixteen bytes at a time where SSE2 is there: this runs for every event ingest
// publishes. Nothing is read outside `text`: the last block overlaps the one before it,
// and the bytes seen twice are masked out.
byte_scan scan_bytes(std::string_view text) noexcept {
  byte_scan found;
#if defined(__SSE2__)
  if (text.size() >= 16) {
    std::size_t i = 0;
    for (; i + 16 <= text.size(); i += 16) scan_block(found, text, i, 0xffff);
    if (i < text.size()) {
      const std::size_t base = text.size() - 16;
      scan_block(found, text, base, 0xffffu & ~((1u << (i - base)) - 1));
    }
    return found;
  }
#endif
  for (std::size_t i = 0; i < text.size(); ++i) scan_byte(found, text[i], i);
  return found;
}

// Characters that do not show, or show as a space, and so let two spellings of an
// address look alike: controls, format characters (zero-width, bidi marks, soft hyphen,
// BOM), every Unicode space and line separator, private use, and whatever else Unicode
// lists as ignorable by default (Hangul fillers, variation selectors, ...).
bool is_invisible(ucs4_t c) noexcept {
  constexpr std::uint32_t categories =
      UC_CATEGORY_MASK_Cc | UC_CATEGORY_MASK_Cf | UC_CATEGORY_MASK_Cs | UC_CATEGORY_MASK_Co |
      UC_CATEGORY_MASK_Zs | UC_CATEGORY_MASK_Zl | UC_CATEGORY_MASK_Zp;
  return uc_is_general_category_withtable(c, categories) ||
         uc_is_property_default_ignorable_code_point(c) || c == 0x2800 /* braille blank */;
}

// The domain without one trailing dot (the DNS root), or nullopt when it is not a valid
// ASCII domain: labels of 1 to 63 bytes, at most 255 bytes in all, no brackets; or an
// address literal in brackets ("[192.0.2.1]"), kept as it is. The bytes are ASCII.
std::optional<std::string_view> checked_domain(std::string_view domain) noexcept {
  if (domain.size() >= 2 && domain.front() == '[' && domain.back() == ']') return domain;
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty() || domain.size() > 255 || domain.front() == '.' || domain.back() == '.')
    return std::nullopt;
  // Without early exits, the branches stay predictable on the bytes of every event;
  // labels can only be too long in a domain of more than 63 bytes.
  bool bad = false;
  char previous = 0;
  for (char c : domain) {
    bad |= (c == '.' && previous == '.') | (c == '[') | (c == ']');
    previous = c;
  }
  if (domain.size() > 63) {
    std::size_t label = 0;
    for (char c : domain) {
      label = c == '.' ? 0 : label + 1;
      bad |= label > 63;
    }
  }
  if (bad) return std::nullopt;
  return domain;
}

result<normalized_email> finish(std::string_view local, std::string_view domain,
                                std::string& storage) {
  const std::optional<std::string_view> checked = checked_domain(domain);
  if (!checked) return address_errc::invalid_domain;
  if (local.size() + 1 + checked->size() > max_address_bytes) return address_errc::too_long;
  storage.resize(local.size() + 1 + checked->size());
  char* out = write_ascii_lower(storage.data(), local);
  *out++ = '@';
  write_ascii_lower(out, *checked);
  return normalized_email::from_normalized(storage);
}

const std::uint8_t* bytes(std::string_view text) noexcept {
  return reinterpret_cast<const std::uint8_t*>(text.data());
}

result<normalized_email> normalize_unicode(std::string_view text, std::string& storage) {
  if (u8_check(bytes(text), text.size()) != nullptr) return address_errc::invalid_utf8;
  for (std::size_t i = 0; i < text.size();) {
    ucs4_t c = 0;
    i += static_cast<std::size_t>(u8_mbtouc(&c, bytes(text) + i, text.size() - i));
    if (is_invisible(c)) return address_errc::invisible_character;
  }

  std::size_t lowered_size = 0;
  c_ptr<std::uint8_t, std::free> lowered(
      u8_tolower(bytes(text), text.size(), nullptr, UNINORM_NFC, nullptr, &lowered_size));
  if (!lowered) return address_errc::invalid_utf8;
  std::string_view folded(reinterpret_cast<const char*>(lowered.get()), lowered_size);
  const std::size_t at = folded.rfind('@');
  std::string_view local = folded.substr(0, at);
  std::string_view domain = folded.substr(at + 1);  // the scan made sure there is an '@'

  bool ascii_domain = true;
  for (char c : domain) ascii_domain = ascii_domain && static_cast<unsigned char>(c) < 0x80;
  if (ascii_domain) return finish(local, domain, storage);

  // IDNA 2008 with UTS #46 non-transitional mapping, as browsers and mail clients resolve
  // names: "bücher.de" and "xn--bcher-kva.de" are one domain.
  std::string unicode_domain(domain);
  char* ascii = nullptr;
  if (idn2_to_ascii_8z(unicode_domain.c_str(), &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) !=
      IDN2_OK) {
    return address_errc::invalid_domain;
  }
  c_ptr<char, idn2_free> owned(ascii);
  // UTS #46 maps compatibility forms to their ASCII ones ("\uFF20" to '@', "\uFF0C" to
  // ','): what comes back must be a domain the ASCII path would take as it is, or the
  // result would not be one bare address, nor normalize to itself again.
  const byte_scan mapped = scan_bytes(owned.get());
  if (mapped.ats != 0 || mapped.separator || mapped.control || mapped.non_ascii)
    return address_errc::invalid_domain;
  return finish(local, owned.get(), storage);
}

}  // namespace

const char* describe(address_errc e) noexcept {
  switch (e) {
    case address_errc::empty:
      return "the address is empty";
    case address_errc::too_long:
      return "the address is longer than 320 bytes";
    case address_errc::not_one_address:
      return "not one bare address (expected local@domain, without a display name)";
    case address_errc::invisible_character:
      return "the address holds an invisible, control or space character";
    case address_errc::invalid_utf8:
      return "the address is not valid UTF-8";
    case address_errc::invalid_domain:
      return "the address's domain is not a valid domain name";
  }
  return "unknown address error";
}

std::string_view reason_word(address_errc e) noexcept {
  switch (e) {
    case address_errc::empty:
      return "empty";
    case address_errc::too_long:
      return "too_long";
    case address_errc::not_one_address:
      return "not_one_address";
    case address_errc::invisible_character:
      return "invisible_character";
    case address_errc::invalid_utf8:
      return "invalid_utf8";
    case address_errc::invalid_domain:
      return "invalid_domain";
  }
  return "unknown";
}

error_class classify(address_errc e) noexcept {
  return {error_kind::bad_input, reason_word(e)};
}

result<normalized_email> normalize_address(std::string_view address, std::string& storage) {
  const std::string_view text = trim(address);
  if (text.empty()) return address_errc::empty;
  if (text.size() > max_address_bytes) return address_errc::too_long;

  const byte_scan found = scan_bytes(text);
  if (found.control) return address_errc::invisible_character;
  if (found.separator) return address_errc::not_one_address;
  // A '@' from a byte below 0x80 is always '@' in UTF-8: the Unicode path can rely on it.
  const std::size_t at = found.last_at;
  if (at == std::string_view::npos || at == 0 || at + 1 == text.size())
    return address_errc::not_one_address;
  // An '@' in the local part stands only inside a quoted local part ("a@b"@x.com).
  if (found.ats > 1 && !(text.front() == '"' && text[at - 1] == '"'))
    return address_errc::not_one_address;
  if (found.non_ascii) return normalize_unicode(text, storage);
  return finish(text.substr(0, at), text.substr(at + 1), storage);
}

result<std::string> normalized_address(std::string_view address) {
  std::string storage;
  auto normalized = normalize_address(address, storage);
  if (!normalized) return normalized.error();
  return storage;
}

}  // namespace mailhook::email

MAILHOOK_DEFINE_ERRC(mailhook::email, address_errc, "email.address", describe, classify)
