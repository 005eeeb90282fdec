// Wall-clock time as the changelog records it: Unix milliseconds.
#pragma once

#include <chrono>
#include <cstdint>

namespace mailhook {

[[nodiscard]] inline std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace mailhook
