// Typed reading of the merged config tree (see table_reader.h).
#include "config/table_reader.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace mailhook::config {
namespace {

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string in_quotes(std::string_view text) {
  return "'" + std::string(text) + "'";
}

std::string trimmed(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return std::string(text);
}

// Shortest text that reads back as `value` in most cases: 0.5, 10, 1e+06, inf.
std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

std::string one_of_list(std::span<const std::string_view> names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace

void read_context::report(errc code, const key_path& path, const toml::node* node,
                          std::string message, const toml::source_region* region) const {
  origin where;
  if (const env_setting* set = env_.covering(path)) {
    where.env_name = set->name;
  } else if (const toml::source_region* at = region != nullptr ? region
                                             : node != nullptr ? &node->source()
                                                               : nullptr;
             at != nullptr && at->begin.line > 0) {
    where.line = at->begin.line;
    where.column = at->begin.column;
  } else if (const env_setting* inside = env_.below(path)) {
    // A table that only exists because a variable set a key inside it.
    where.env_name = inside->name;
  }
  errors_.add(code, std::move(where), display(path), std::move(message));
}

table_reader::table_reader(const read_context& context, key_path path, const toml::table* table)
    : context_(context), path_(std::move(path)), table_(table) {}

key_path table_reader::child(std::string_view key) const {
  key_path out = path_;
  out.emplace_back(key);
  return out;
}

const toml::node* table_reader::take(std::string_view key) {
  known_.push_back(key);
  return table_ == nullptr ? nullptr : table_->get(key);
}

void table_reader::wrong_type(std::string_view key, const toml::node& node,
                              std::string_view expected) const {
  context_.report(errc::wrong_type, child(key), &node,
                  "expected " + std::string(expected) + ", got " + std::string(type_name(node)));
}

bool table_reader::read(std::string_view key, std::string& out) {
  const toml::node* node = take(key);
  if (node == nullptr) return false;
  if (const auto* text = node->as_string()) {
    out = text->get();
    return true;
  }
  // A variable holds text: MAILHOOK_KAFKA__CLIENT_ID=42 means the string "42" here even
  // though the text also spells a TOML integer.
  if (const env_setting* set = context_.env().exact(child(key))) {
    out = set->text;
    return true;
  }
  wrong_type(key, *node, "a string");
  return false;
}

bool table_reader::read(std::string_view key, bool& out) {
  const toml::node* node = take(key);
  if (node == nullptr) return false;
  if (const auto* flag = node->as_boolean()) {
    out = flag->get();
    return true;
  }
  wrong_type(key, *node, "a boolean (true or false)");
  return false;
}

bool table_reader::read(std::string_view key, int& out, std::int64_t min, std::int64_t max) {
  const toml::node* node = take(key);
  if (node == nullptr) return false;
  const auto* number = node->as_integer();
  if (number == nullptr) {
    wrong_type(key, *node, "an integer");
    return false;
  }
  std::int64_t value = number->get();
  min = std::max<std::int64_t>(min, std::numeric_limits<int>::min());
  max = std::min<std::int64_t>(max, std::numeric_limits<int>::max());
  if (value < min || value > max) {
    context_.report(errc::bad_value, child(key), node,
                    "must be from " + std::to_string(min) + " to " + std::to_string(max) +
                        ", got " + std::to_string(value));
    return false;
  }
  out = static_cast<int>(value);
  return true;
}

bool table_reader::read(std::string_view key, double& out, double min, double max) {
  const toml::node* node = take(key);
  if (node == nullptr) return false;
  double value = 0;
  if (const auto* number = node->as_floating_point()) {
    value = number->get();
  } else if (const auto* integer = node->as_integer()) {
    value = static_cast<double>(integer->get());
  } else {
    wrong_type(key, *node, "a number");
    return false;
  }
  if (!std::isfinite(value) || value < min || value > max) {
    std::string range = std::isfinite(max) ? "from " + number_text(min) + " to " + number_text(max)
                                           : "a finite number of at least " + number_text(min);
    context_.report(errc::bad_value, child(key), node,
                    "must be " + range + ", got " + number_text(value));
    return false;
  }
  out = value;
  return true;
}

bool table_reader::read(std::string_view key, std::vector<std::string>& out) {
  const toml::node* node = take(key);
  if (node == nullptr) return false;
  if (const auto* text = node->as_string();
      text != nullptr && context_.env().exact(child(key)) != nullptr) {
    std::vector<std::string> items;
    std::string_view rest = text->get();
    while (!rest.empty()) {
      auto comma = rest.find(',');
      if (auto item = trimmed(rest.substr(0, comma)); !item.empty())
        items.push_back(std::move(item));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    out = std::move(items);
    return true;
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    wrong_type(key, *node, "an array of strings");
    return false;
  }
  std::vector<std::string> items;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const auto* text = element.as_string();
    if (text == nullptr) {
      context_.report(errc::wrong_type, child(key), &element,
                      "expected an array of strings, element " + std::to_string(i) + " is " +
                          std::string(type_name(element)));
      return false;
    }
    items.push_back(text->get());
  }
  out = std::move(items);
  return true;
}

bool table_reader::read(std::string_view key, listen_address& out) {
  const toml::node* node = take(key);
  if (node == nullptr) return false;
  const auto* text = node->as_string();
  if (text == nullptr) {
    wrong_type(key, *node, "a string \"HOST:PORT\"");
    return false;
  }
  auto parsed = parse_listen_address(text->get());
  if (!parsed) {
    context_.report(errc::bad_value, child(key), node, parsed.error().message);
    return false;
  }
  out = std::move(*parsed);
  return true;
}

bool table_reader::read_duration(std::string_view key, std::chrono::milliseconds& out,
                                 std::chrono::milliseconds min) {
  const toml::node* node = take(key);
  if (node == nullptr) return false;
  std::chrono::milliseconds value{0};
  if (const auto* number = node->as_integer()) {
    if (number->get() != 0) {
      context_.report(errc::bad_value, child(key), node,
                      "a duration needs a unit, like \"" + std::to_string(number->get()) +
                          "ms\" or \"" + std::to_string(number->get()) + "s\"; got " +
                          std::to_string(number->get()));
      return false;
    }
  } else if (const auto* text = node->as_string()) {
    auto parsed = parse_duration(text->get());
    if (!parsed) {
      context_.report(errc::bad_value, child(key), node, parsed.error().message);
      return false;
    }
    value = *parsed;
  } else {
    wrong_type(key, *node, "a duration string like \"2s\"");
    return false;
  }
  if (value < min) {
    context_.report(errc::bad_value, child(key), node,
                    "must be at least " + std::to_string(min.count()) + "ms, got " +
                        std::to_string(value.count()) + "ms");
    return false;
  }
  out = value;
  return true;
}

bool table_reader::read_byte_size(std::string_view key, std::uint64_t& out) {
  const toml::node* node = take(key);
  if (node == nullptr) return false;
  if (const auto* number = node->as_integer()) {
    if (number->get() < 0) {
      context_.report(errc::bad_value, child(key), node,
                      "a size cannot be negative, got " + std::to_string(number->get()));
      return false;
    }
    out = static_cast<std::uint64_t>(number->get());
    return true;
  }
  const auto* text = node->as_string();
  if (text == nullptr) {
    wrong_type(key, *node, "a size like \"8MiB\" or a number of bytes");
    return false;
  }
  auto parsed = parse_byte_size(text->get());
  if (!parsed) {
    context_.report(errc::bad_value, child(key), node, parsed.error().message);
    return false;
  }
  out = *parsed;
  return true;
}

std::optional<std::size_t> table_reader::read_one_of(std::string_view key,
                                                     std::span<const std::string_view> names) {
  std::string text;
  if (!read(key, text)) return std::nullopt;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == text) return i;
  }
  context_.report(errc::bad_value, child(key), table_->get(key),
                  "expected " + one_of_list(names) + ", got " + in_quotes(text));
  return std::nullopt;
}

bool table_reader::read_text_map(
    std::string_view key, std::map<std::string, std::string>& out,
    std::span<const std::pair<std::string_view, std::string_view>> reserved) {
  const toml::node* node = take(key);
  if (node == nullptr) return false;
  const auto* table = node->as_table();
  if (table == nullptr) {
    wrong_type(key, *node, "a table");
    return false;
  }
  std::map<std::string, std::string> entries;
  bool ok = true;
  flatten(*table, child(key), "", reserved, entries, ok);
  if (!ok) return false;
  out = std::move(entries);
  return true;
}

void table_reader::flatten(const toml::table& table, const key_path& at, const std::string& prefix,
                           std::span<const std::pair<std::string_view, std::string_view>> reserved,
                           std::map<std::string, std::string>& out, bool& ok) const {
  for (const auto& [name, node] : table) {
    key_path path = at;
    path.emplace_back(name.str());
    std::string full =
        prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
    std::string text;
    if (const auto* sub = node.as_table()) {
      flatten(*sub, path, full, reserved, out, ok);
      continue;
    }
    auto taken = std::find_if(reserved.begin(), reserved.end(),
                              [&](const auto& r) { return r.first == full; });
    if (taken != reserved.end()) {
      context_.report(errc::bad_value, path, &node,
                      "is set by mailhook; use " + std::string(taken->second) + " instead");
      ok = false;
      continue;
    }
    if (const env_setting* set = context_.env().exact(path)) {
      // Passed through verbatim, so the variable's own text is the value, even when it
      // reads as TOML: a password "x" keeps its quotes, as docs/configuration.md says.
      text = set->text;
    } else if (const auto* str = node.as_string()) {
      text = str->get();
    } else if (const auto* number = node.as_integer()) {
      text = std::to_string(number->get());
    } else if (const auto* flag = node.as_boolean()) {
      text = flag->get() ? "true" : "false";
    } else {
      context_.report(errc::wrong_type, path, &node,
                      "expected a string, integer or boolean, got " + std::string(type_name(node)));
      ok = false;
      continue;
    }
    if (!out.emplace(full, std::move(text)).second) {
      context_.report(errc::bad_value, path, &node, in_quotes(full) + " is set twice");
      ok = false;
    }
  }
}

table_reader table_reader::sub_table(std::string_view key) {
  const toml::node* node = take(key);
  if (node == nullptr) return {context_, child(key), nullptr};
  const auto* table = node->as_table();
  if (table == nullptr) {
    wrong_type(key, *node, "a table");
    return {context_, child(key), nullptr};
  }
  return {context_, child(key), table};
}

std::vector<table_reader> table_reader::array_elements(std::string_view key) {
  std::vector<table_reader> elements;
  const toml::node* node = take(key);
  if (node == nullptr) return elements;
  const auto* array = node->as_array();
  if (array == nullptr) {
    wrong_type(key, *node, "an array of tables ([[" + display(child(key)) + "]])");
    return elements;
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    key_path path = child(key);
    path.push_back("[" + std::to_string(i) + "]");
    const toml::node& element = *array->get(i);
    if (const auto* table = element.as_table()) {
      elements.emplace_back(context_, std::move(path), table);
    } else {
      context_.report(errc::wrong_type, path, &element,
                      "expected a table, got " + std::string(type_name(element)));
    }
  }
  return elements;
}

const toml::node* table_reader::find(const key_path& relative) const {
  const toml::node* node = nullptr;
  const toml::table* table = table_;
  for (const auto& key : relative) {
    node = table == nullptr ? nullptr : table->get(key);
    table = node == nullptr ? nullptr : node->as_table();
  }
  return node;
}

std::vector<std::string_view> table_reader::keys() const {
  std::vector<std::string_view> names;
  if (table_ == nullptr) return names;
  for (const auto& [key, node] : *table_) names.push_back(key.str());
  return names;
}

bool table_reader::contains(const key_path& relative) const {
  return find(relative) != nullptr;
}

void table_reader::report(errc code, const key_path& relative, std::string message) const {
  key_path path = path_;
  path.insert(path.end(), relative.begin(), relative.end());
  context_.report(code, path, find(relative), std::move(message));
}

void table_reader::finish() const {
  if (table_ == nullptr) return;
  for (const auto& [name, node] : *table_) {
    if (std::find(known_.begin(), known_.end(), name.str()) != known_.end()) continue;
    std::string message = "unknown key";
    if (auto suggestion = closest(name.str(), known_); !suggestion.empty()) {
      message += " (did you mean " + in_quotes(display(child(suggestion))) + "?)";
    }
    context_.report(errc::unknown_key, child(name.str()), &node, std::move(message),
                    &name.source());
  }
}

}  // namespace mailhook::config
