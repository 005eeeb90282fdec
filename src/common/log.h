// Process-wide logging setup on top of spdlog. Call configure_logging() once at start,
// before any thread logs; afterwards spdlog's default logger is thread-safe.
#pragma once

#include <string_view>

#include "common/result.h"

namespace mailhook {

enum class log_format { text, json };

// level: trace, debug, info, warn, error, critical, off.
[[nodiscard]] result<void> configure_logging(std::string_view level, log_format format);

}  // namespace mailhook
