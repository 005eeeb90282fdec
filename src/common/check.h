// Always-on invariant checks for "cannot happen" conditions (bugs). They abort with a
// message and are never used on paths that untrusted input can reach.
#pragma once

#include <source_location>
#include <string_view>

namespace mailhook {

[[noreturn]] void check_failed(std::string_view condition, std::string_view detail,
                               std::source_location where = std::source_location::current());

}  // namespace mailhook

#define MAILHOOK_CHECK(cond, detail)             \
  do {                                           \
    if (!(cond)) [[unlikely]]                    \
      ::mailhook::check_failed(#cond, (detail)); \
  } while (false)
