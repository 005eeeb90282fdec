// Address normalization (see address.h). The ASCII path does everything in one pass over
// the bytes; only addresses with non-ASCII bytes reach libunistring and libidn2.
#include "email/address.h"

#include <idn2.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include <cstdint>
#include <cstdlib>

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

// A domain of ASCII letters, digits, '-' and '_' in non-empty labels, or an address
// literal in brackets. One trailing dot (the root) has already been dropped.
bool valid_ascii_domain(std::string_view domain) noexcept {
  if (domain.size() >= 2 && domain.front() == '[' && domain.back() == ']') return true;
  if (domain.empty() || domain.size() > 255) return false;
  std::size_t label = 0;
  for (char c : domain) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80 || c == '[' || c == ']' || c == '@') return false;
    if (++label > 63) return false;
  }
  return label != 0;
}

std::string_view without_root_dot(std::string_view domain) noexcept {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  return domain;
}

result<normalized_email> finish(std::string_view local, std::string_view domain,
                                std::string& storage) {
  domain = without_root_dot(domain);
  if (!valid_ascii_domain(domain)) return address_errc::invalid_domain;
  if (local.size() + 1 + domain.size() > max_address_bytes) return address_errc::too_long;
  storage.resize(local.size() + 1 + domain.size());
  char* out = write_ascii_lower(storage.data(), local);
  *out++ = '@';
  write_ascii_lower(out, domain);
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

result<normalized_email> normalize_address(std::string_view address, std::string& storage) {
  const std::string_view text = trim(address);
  if (text.empty()) return address_errc::empty;
  if (text.size() > max_address_bytes) return address_errc::too_long;

  bool ascii = true;
  std::size_t at = std::string_view::npos;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
    } else if (is_ascii_control(c)) {
      return address_errc::invisible_character;
    } else if (separates_addresses(c)) {
      return address_errc::not_one_address;
    } else if (c == '@') {
      at = i;
    }
  }
  if (at == std::string_view::npos || at == 0 || at + 1 == text.size())
    return address_errc::not_one_address;
  // An '@' in the local part stands only inside a quoted local part ("a@b"@x.com).
  if (text.find('@') != at && !(text.front() == '"' && text[at - 1] == '"'))
    return address_errc::not_one_address;
  if (!ascii) return normalize_unicode(text, storage);
  return finish(text.substr(0, at), text.substr(at + 1), storage);
}

result<std::string> normalized_address(std::string_view address) {
  std::string storage;
  auto normalized = normalize_address(address, storage);
  if (!normalized) return normalized.error();
  return storage;
}

}  // namespace mailhook::email

MAILHOOK_DEFINE_ERRC(mailhook::email, address_errc, "email.address", describe)
