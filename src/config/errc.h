// Error codes of the config module. A failed load carries the code of its first error;
// the message lists every error, one per line. Safe to use from any thread.
#pragma once

#include "common/error_category.h"

namespace mailhook::config {

enum class errc {
  io = 1,       // the file could not be read
  syntax,       // not valid TOML
  unknown_key,  // a key (or MAILHOOK_* variable) the schema does not have
  wrong_type,   // e.g. a string where an integer belongs
  bad_value,    // right type, unusable value: out of range, malformed address, unknown enum
};

[[nodiscard]] const char* describe(errc e) noexcept;
// Every configuration error is bad input; its word names the errc value.
[[nodiscard]] error_class classify(errc e) noexcept;

}  // namespace mailhook::config

MAILHOOK_DECLARE_ERRC(mailhook::config, errc)
