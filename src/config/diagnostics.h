// Internal to the config module: the errors of one load, collected rather than stopping
// at the first, so that an operator fixes a config in one round. Each says where the
// value came from (file position or environment variable), which key, and what is wrong.
// One loader owns one diagnostics; not shared between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/errc.h"

namespace mailhook::config {

// A key's path from the root: {"kafka", "properties", "security.protocol"}.
using key_path = std::vector<std::string>;

// The path as an operator would type it in TOML: kafka.properties."security.protocol".
// A segment "[N]" is an array index and follows its array without a dot: admin.tokens[0].
[[nodiscard]] std::string display(const key_path& path);

// Where a value came from: an environment variable if env_name is set, else the file
// (line 0 when the position is unknown, e.g. a problem with a default).
struct origin {
  std::string env_name;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

struct diagnostic {
  errc code;
  origin where;
  std::string key;  // displayed path; empty for errors that concern no key (TOML syntax)
  std::string message;
};

class diagnostics {
 public:
  explicit diagnostics(std::string source_name) : source_name_(std::move(source_name)) {}

  void add(errc code, origin where, std::string key, std::string message);
  [[nodiscard]] bool empty() const { return list_.empty(); }
  [[nodiscard]] const std::vector<diagnostic>& list() const { return list_; }

  // Every error, file ones in position order then environment ones by name, one per line:
  //   FILE:LINE:COL: KEY: MESSAGE
  //   environment NAME: KEY: MESSAGE
  // The code is the first error's.
  [[nodiscard]] failure to_failure() const;

 private:
  std::string source_name_;
  std::vector<diagnostic> list_;
};

// The closest of `candidates` to `key` by edit distance, or empty when none is close
// enough to be the likely intent.
[[nodiscard]] std::string_view closest(std::string_view key,
                                       const std::vector<std::string_view>& candidates);

}  // namespace mailhook::config
