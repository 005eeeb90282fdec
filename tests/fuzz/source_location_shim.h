// Build shim for the fuzz targets only: clang 14 (the libFuzzer compiler installed here)
// lacks __builtin_source_location, so libstdc++ 12's <source_location> is empty and
// common/check.h does not compile. Force-included (-include) before anything else, it
// supplies a minimal std::source_location from clang's older builtins. Unused with
// GCC or clang >= 15, where the real one exists.
#pragma once

#include <version>

#if !defined(__cpp_lib_source_location) && defined(__clang__)
#include <source_location>  // empty here, but must not define the type later

namespace std {  // NOLINT: stands in for the missing standard type
struct source_location {
  static constexpr source_location current(const char* file = __builtin_FILE(),
                                           const char* function = __builtin_FUNCTION(),
                                           unsigned line = __builtin_LINE()) noexcept {
    source_location s;
    s.file_ = file;
    s.function_ = function;
    s.line_ = line;
    return s;
  }
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr const char* function_name() const noexcept { return function_; }
  constexpr unsigned line() const noexcept { return line_; }
  constexpr unsigned column() const noexcept { return 0; }

 private:
  const char* file_ = "";
  const char* function_ = "";
  unsigned line_ = 0;
};
}  // namespace std
#endif
