// The environment layer of the config loader (see env_overlay.h).
#include "config/env_overlay.h"

#include <algorithm>

#include "common/text.h"

namespace mailhook::config {
namespace {

constexpr std::string_view prefix = "MAILHOOK_";

std::string joined(const key_path& path, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) out.push_back('.');
    out += path[i];
  }
  return out;
}

}  // namespace

bool env_origins::add(key_path path, env_setting setting) {
  return by_path_.emplace(std::move(path), std::move(setting)).second;
}

const env_setting* env_origins::exact(const key_path& path) const {
  auto it = by_path_.find(path);
  return it == by_path_.end() ? nullptr : &it->second;
}

const env_setting* env_origins::covering(const key_path& path) const {
  for (std::size_t n = path.size(); n > 0; --n) {
    if (const auto* found =
            exact(key_path(path.begin(), path.begin() + static_cast<std::ptrdiff_t>(n)))) {
      return found;
    }
  }
  return nullptr;
}

const env_setting* env_origins::below(const key_path& path) const {
  auto it = by_path_.lower_bound(path);
  if (it == by_path_.end() || it->first.size() < path.size()) return nullptr;
  if (!std::equal(path.begin(), path.end(), it->first.begin())) return nullptr;
  return &it->second;
}

std::optional<result<key_path>> env_key_path(std::string_view name, const env_rules& rules) {
  if (!name.starts_with(prefix)) return std::nullopt;
  std::string_view rest = name.substr(prefix.size());
  if (rest.find("__") == std::string_view::npos) {
    std::string key = to_ascii_lower(rest);
    bool top_level = std::find(rules.top_level_keys.begin(), rules.top_level_keys.end(), key) !=
                     rules.top_level_keys.end();
    if (!top_level) return std::nullopt;
    return result<key_path>(key_path{std::move(key)});
  }
  key_path path;
  while (true) {
    auto separator = rest.find("__");
    path.push_back(to_ascii_lower(rest.substr(0, separator)));
    if (path.back().empty()) {
      return result<key_path>(errc::unknown_key,
                              "names no configuration key: empty segment between '__' separators");
    }
    if (separator == std::string_view::npos) break;
    rest.remove_prefix(separator + 2);
  }
  for (std::string_view table : rules.dotted_key_tables) {
    auto depth = static_cast<std::size_t>(std::count(table.begin(), table.end(), '.')) + 1;
    if (path.size() <= depth || joined(path, depth) != table) continue;
    std::string key =
        joined(key_path(path.begin() + static_cast<std::ptrdiff_t>(depth), path.end()),
               path.size() - depth);
    std::replace(key.begin(), key.end(), '_', '.');
    path.resize(depth);
    path.push_back(std::move(key));
    break;
  }
  return result<key_path>(std::move(path));
}

void apply_environment(toml::table& root, const environment& env, const env_rules& rules,
                       env_origins& origins, diagnostics& errors) {
  for (const auto& [name, text] : env) {
    auto mapped = env_key_path(name, rules);
    if (!mapped) continue;
    if (!*mapped) {
      errors.add(errc::unknown_key, origin{name}, "", mapped->error().message);
      continue;
    }
    key_path path = std::move(**mapped);
    if (const env_setting* other = origins.exact(path)) {
      errors.add(errc::bad_value, origin{name}, display(path), "also set by " + other->name);
      continue;
    }

    // Walk to the parent table, creating the tables the file did not have.
    toml::table* parent = &root;
    bool blocked = false;
    for (std::size_t i = 0; i + 1 < path.size(); ++i) {
      toml::node* child = parent->get(path[i]);
      if (child == nullptr) child = &parent->insert_or_assign(path[i], toml::table{}).first->second;
      if (!child->is_table()) {
        key_path above(path.begin(), path.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        errors.add(errc::wrong_type, origin{name}, display(path),
                   "cannot be set: " + display(above) + " is not a table");
        blocked = true;
        break;
      }
      parent = child->as_table();
    }
    if (blocked) continue;

    bool set = false;
    try {
      // Parsed as the right-hand side of a TOML key so that numbers, booleans and arrays
      // keep their types; exactly one key guards against text with newlines adding more.
      toml::table parsed = toml::parse("v = " + text);
      if (toml::node* value = parsed.get("v"); value != nullptr && parsed.size() == 1) {
        parent->insert_or_assign(path.back(), std::move(*value));
        set = true;
      }
    } catch (const toml::parse_error&) {
      // Not TOML: the text is a plain string, the common case (hosts, durations, names).
    }
    if (!set) parent->insert_or_assign(path.back(), text);
    origins.add(std::move(path), env_setting{name, text});
  }
}

}  // namespace mailhook::config
