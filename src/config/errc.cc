// Descriptions of the config module's error codes.
#include "config/errc.h"

namespace mailhook::config {

const char* describe(errc e) noexcept {
  switch (e) {
    case errc::io:
      return "configuration file could not be read";
    case errc::syntax:
      return "configuration is not valid TOML";
    case errc::unknown_key:
      return "unknown configuration key";
    case errc::wrong_type:
      return "configuration value has the wrong type";
    case errc::bad_value:
      return "configuration value is not usable";
  }
  return "unknown config error";
}

error_class classify(errc e) noexcept {
  switch (e) {
    case errc::io:
      return {error_kind::bad_input, "config_io"};
    case errc::syntax:
      return {error_kind::bad_input, "config_syntax"};
    case errc::unknown_key:
      return {error_kind::bad_input, "config_unknown_key"};
    case errc::wrong_type:
      return {error_kind::bad_input, "config_wrong_type"};
    case errc::bad_value:
      return {error_kind::bad_input, "config_bad_value"};
  }
  return {};
}

}  // namespace mailhook::config

MAILHOOK_DEFINE_ERRC(mailhook::config, errc, "config", describe, classify)
