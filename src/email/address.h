// The one normalization of email addresses: every place where an address becomes a
// suppression key (ingest, policy, import, manual changes, lookups, the sender) calls
// normalize_address(), so that two spellings of one mailbox always meet on one key and no
// spelling slips past a suppression.
//
// The normalized form: ASCII whitespace trimmed; Unicode lower case and NFC (libunistring);
// the domain in its ASCII form (IDNA 2008 with UTS #46 mapping, libidn2) with one trailing
// dot dropped. Refused, with a reason: anything that is not a single bare address (a
// display-name form "Name <a@b>", a list, inner whitespace), invisible or control
// characters (NBSP, zero-width and bidi marks, soft hyphen, ...), invalid UTF-8, a domain
// IDNA refuses, and more than 320 bytes. Pure ASCII input, nearly every address, takes a
// path without libraries or allocation. Pure functions; safe from any thread.
#pragma once

#include <compare>
#include <cstddef>
#include <string>
#include <string_view>

#include "common/error_category.h"
#include "common/result.h"

namespace mailhook::email {

enum class address_errc {
  empty = 1,            // nothing but whitespace
  too_long,             // longer than max_address_bytes
  not_one_address,      // no '@', nothing before or after it, a display-name form, a list
  invisible_character,  // control, format or space characters other than trimmed ASCII
  invalid_utf8,
  invalid_domain,  // an empty label, or a domain IDNA 2008 refuses
};

[[nodiscard]] const char* describe(address_errc e) noexcept;
// The stable word for metrics and API errors ("not_one_address", ...).
[[nodiscard]] std::string_view reason_word(address_errc e) noexcept;
// Always bad input, named by reason_word().
[[nodiscard]] error_class classify(address_errc e) noexcept;

// Longer input is refused: 64 bytes of local part and 255 of domain are the limits of RFC
// 5321, and this leaves room for the forms that normalize shorter.
inline constexpr std::size_t max_address_bytes = 320;

// An address in the normalized form. It views text owned elsewhere: the storage string
// normalize_address() wrote, or a stored record's email_normalized, which was normalized
// when the record was made.
class normalized_email {
 public:
  // Text that is already in normalized form (read back from a record).
  [[nodiscard]] static constexpr normalized_email from_normalized(std::string_view text) noexcept {
    return normalized_email(text);
  }

  [[nodiscard]] constexpr std::string_view str() const noexcept { return text_; }
  [[nodiscard]] constexpr bool empty() const noexcept { return text_.empty(); }

  friend constexpr bool operator==(normalized_email, normalized_email) noexcept = default;
  friend constexpr auto operator<=>(normalized_email, normalized_email) noexcept = default;

 private:
  constexpr explicit normalized_email(std::string_view text) noexcept : text_(text) {}
  std::string_view text_;
};

// Normalizes `address` into `storage` (replacing what it held; keep one per thread on hot
// paths and it stops allocating) and returns a view of it, or why it is not an address.
[[nodiscard]] result<normalized_email> normalize_address(std::string_view address,
                                                         std::string& storage);

// The same, returning its own string: for paths that keep the result.
[[nodiscard]] result<std::string> normalized_address(std::string_view address);

}  // namespace mailhook::email

MAILHOOK_DECLARE_ERRC(mailhook::email, address_errc)
