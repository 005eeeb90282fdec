// Internal to the config module: typed reading of one table of the merged (file +
// environment) TOML tree. Each section of daemon_config has a function that asks a
// table_reader for its keys; the reader converts and checks each value, reports problems
// with their origin, and afterwards reports every key nobody asked for, so the schema is
// written once, in the section functions. Used by one thread during one load.
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostics.h"
#include "config/env_overlay.h"
#include "config/values.h"

namespace mailhook::config {

// What every reader of one load shares: where values came from, where errors go.
class read_context {
 public:
  read_context(const env_origins& env, diagnostics& errors) : env_(env), errors_(errors) {}

  [[nodiscard]] const env_origins& env() const { return env_; }

  // Reports a problem with the value at `path`. `node` (and, for unknown keys, the key's
  // own `region`) give the file position unless an environment variable set the value.
  void report(errc code, const key_path& path, const toml::node* node, std::string message,
              const toml::source_region* region = nullptr) const;

 private:
  const env_origins& env_;
  diagnostics& errors_;
};

class table_reader {
 public:
  // `table` is null when the file has no such table: every key then keeps its default.
  table_reader(const read_context& context, key_path path, const toml::table* table);

  // Each read marks `key` (a string literal) as part of the schema. An absent key leaves
  // `out` as it is (the default) and answers false; a present one is converted and checked
  // and answers true, or is reported and leaves `out` as it is and answers false.
  bool read(std::string_view key, std::string& out);
  bool read(std::string_view key, bool& out);
  bool read(std::string_view key, int& out, std::int64_t min, std::int64_t max);
  // A finite number from min to max; an integer is taken too (10 means 10.0).
  bool read(std::string_view key, double& out, double min,
            double max = std::numeric_limits<double>::infinity());
  // An array of strings; from the environment also a comma-separated string.
  bool read(std::string_view key, std::vector<std::string>& out);
  bool read(std::string_view key, listen_address& out);
  bool read_duration(std::string_view key, std::chrono::milliseconds& out,
                     std::chrono::milliseconds min = std::chrono::milliseconds{0});
  bool read_byte_size(std::string_view key, std::uint64_t& out);
  // A string that must be one of `names`; answers its index.
  std::optional<std::size_t> read_one_of(std::string_view key,
                                         std::span<const std::string_view> names);
  template <typename T, std::size_t N>
  bool read_choice(std::string_view key, T& out,
                   const std::pair<std::string_view, T> (&choices)[N]) {
    std::string_view names[N];
    for (std::size_t i = 0; i < N; ++i) names[i] = choices[i].first;
    auto index = read_one_of(key, names);
    if (index) out = choices[*index].second;
    return index.has_value();
  }
  // A table of free-form names to scalars (strings, integers, booleans) kept as text, for
  // settings passed through to a library. Dotted TOML keys (security.protocol = "SSL")
  // make nested tables; they are flattened back to dotted names. `reserved` names map to
  // the key that must be used instead (bootstrap.servers → kafka.bootstrap_servers).
  bool read_text_map(std::string_view key, std::map<std::string, std::string>& out,
                     std::span<const std::pair<std::string_view, std::string_view>> reserved = {});

  // Reads the sub-table `key` with fn(table_reader&), then reports its unknown keys.
  template <typename F>
  void section(std::string_view key, F&& fn) {
    table_reader sub = sub_table(key);
    fn(sub);
    sub.finish();
  }

  // Reads each table of the array `key` ([[KEY]] tables in the file, or an array of inline
  // tables) with fn(table_reader&), then reports its unknown keys. An element's path ends
  // in its index, shown as admin.tokens[0].name. Elements that are not tables are reported.
  template <typename F>
  void array_section(std::string_view key, F&& fn) {
    for (table_reader& element : array_elements(key)) {
      fn(element);
      element.finish();
    }
  }

  // The keys of this table, in file order as toml++ keeps them (sorted): for maps of named
  // sections such as [sources.NAME]. The views point into the tree and live as long as
  // the load.
  [[nodiscard]] std::vector<std::string_view> keys() const;

  // Reports a problem with the value at `relative` below this table (it may be absent,
  // e.g. when the problem involves a default).
  void report(errc code, const key_path& relative, std::string message) const;

  // Whether the merged tree has a value at `relative` below this table.
  [[nodiscard]] bool contains(const key_path& relative) const;

  // Reports each key of the table that no read asked for, suggesting a close known one.
  void finish() const;

  [[nodiscard]] const key_path& path() const { return path_; }

 private:
  table_reader sub_table(std::string_view key);
  std::vector<table_reader> array_elements(std::string_view key);
  // Marks `key` known and answers its node, or null when absent.
  const toml::node* take(std::string_view key);
  [[nodiscard]] key_path child(std::string_view key) const;
  [[nodiscard]] const toml::node* find(const key_path& relative) const;
  void wrong_type(std::string_view key, const toml::node& node, std::string_view expected) const;
  void flatten(const toml::table& table, const key_path& at, const std::string& prefix,
               std::span<const std::pair<std::string_view, std::string_view>> reserved,
               std::map<std::string, std::string>& out, bool& ok) const;

  const read_context& context_;
  key_path path_;
  const toml::table* table_;
  std::vector<std::string_view> known_;
};

}  // namespace mailhook::config
