// Internal to the config module: the environment layer. MAILHOOK_* variables are written
// onto the table parsed from the file before the typed reader walks it, so the reader sees
// one merged tree; env_origins remembers which variable set which path so that errors
// can name the variable instead of a file line. One load owns these; no sharing.
#pragma once

#include <toml++/toml.h>

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "config/diagnostics.h"
#include "config/environment.h"

namespace mailhook::config {

// The parts of the schema the name mapping must know.
struct env_rules {
  // Top-level keys that are not tables. Their variables have no "__" (MAILHOOK_ROLES) and
  // are recognised by name, so that MAILHOOK_SOURCE_DIR and the like stay out of config.
  std::span<const std::string_view> top_level_keys;
  // Tables of free-form dotted names, such as "kafka.properties" (librdkafka property
  // names). Below such a table the rest of the variable name is one key, lower-cased, with
  // every '_' read as '.': ..._KAFKA__PROPERTIES__SECURITY_PROTOCOL sets "security.protocol".
  std::span<const std::string_view> dotted_key_tables;
};

// A variable that set a path, with its text as given.
struct env_setting {
  std::string name;
  std::string text;
};

class env_origins {
 public:
  // False (and nothing recorded) if another variable already set `path`.
  bool add(key_path path, env_setting setting);
  // The variable that set exactly `path`, or nullptr.
  [[nodiscard]] const env_setting* exact(const key_path& path) const;
  // The variable that set `path` or a table above it, or nullptr.
  [[nodiscard]] const env_setting* covering(const key_path& path) const;
  // The first variable that set something below `path` (and so created the table), or
  // nullptr.
  [[nodiscard]] const env_setting* below(const key_path& path) const;

 private:
  std::map<key_path, env_setting> by_path_;
};

// The config path variable `name` sets: MAILHOOK_ then the path's segments upper-cased and
// joined by "__". nullopt if the variable is not configuration (no MAILHOOK_ prefix, or no
// "__" and not a top-level key); a failure if it is but cannot name a path (empty segment).
[[nodiscard]] std::optional<result<key_path>> env_key_path(std::string_view name,
                                                           const env_rules& rules);

// Sets each configuration variable's value at its path in `root`. The text becomes the
// TOML value it spells if it is one (42, true, ["a", "b"], "quoted"), else a string.
void apply_environment(toml::table& root, const environment& env, const env_rules& rules,
                       env_origins& origins, diagnostics& errors);

}  // namespace mailhook::config
