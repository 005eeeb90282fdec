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

}  // namespace mailhook::config

MAILHOOK_DEFINE_ERRC(mailhook::config, errc, "config", describe)
