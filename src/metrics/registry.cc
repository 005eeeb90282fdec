// Registration, name validation and the text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/). See registry.h for the
// thread-safety contract.
#include "metrics/registry.h"

#include <charconv>
#include <cstdio>
#include <limits>
#include <system_error>
#include <utility>

#include "common/text.h"

namespace mailhook::metrics {
namespace {

bool is_alpha_or_underscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name) {
  if (name.empty() || !(is_alpha_or_underscore(name[0]) || name[0] == ':')) return false;
  return std::ranges::all_of(
      name, [](char c) { return is_alpha_or_underscore(c) || is_digit(c) || c == ':'; });
}

// [a-zA-Z_][a-zA-Z0-9_]*, and "__" is reserved for Prometheus' internal labels.
bool valid_label_name(std::string_view name) {
  if (name.empty() || !is_alpha_or_underscore(name[0]) || name.starts_with("__")) return false;
  return std::ranges::all_of(name, [](char c) { return is_alpha_or_underscore(c) || is_digit(c); });
}

const char* type_name(metric_type type) {
  switch (type) {
    case metric_type::counter:
      return "counter";
    case metric_type::gauge:
      return "gauge";
    case metric_type::histogram:
      return "histogram";
  }
  return "untyped";
}

void check_family(std::string_view name, metric_type type,
                  const std::vector<std::string>& label_names) {
  const std::string quoted = "metric \"" + std::string(name) + "\"";
  MAILHOOK_CHECK(valid_metric_name(name), quoted + ": invalid metric name");
  // promtool (and every Prometheus client) expects "_total" on counters and only there.
  if (type == metric_type::counter) {
    MAILHOOK_CHECK(name.ends_with("_total"), quoted + ": counter names must end in _total");
  } else {
    MAILHOOK_CHECK(!name.ends_with("_total"), quoted + ": only counter names end in _total");
  }
  for (std::size_t i = 0; i < label_names.size(); ++i) {
    MAILHOOK_CHECK(valid_label_name(label_names[i]),
                   quoted + ": invalid label name \"" + label_names[i] + "\"");
    for (std::size_t j = 0; j < i; ++j) {
      MAILHOOK_CHECK(label_names[i] != label_names[j],
                     quoted + ": duplicate label name \"" + label_names[i] + "\"");
    }
  }
}

// Length of the valid UTF-8 sequence at the start of `s`, or 0 if it is not valid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

// Escapes `\` and newline (and `"` inside label values). The format must be UTF-8 and a
// Prometheus server rejects the whole scrape otherwise, so invalid bytes, which label
// values taken from input may carry, become U+FFFD.
void append_escaped(std::string& out, std::string_view s, bool quote) {
  while (!s.empty()) {
    const char c = s[0];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      const std::size_t length = utf8_sequence_length(s);
      if (length == 0) {
        out += "\xEF\xBF\xBD";
        s.remove_prefix(1);
      } else {
        out.append(s.substr(0, length));
        s.remove_prefix(length);
      }
      continue;
    }
    s.remove_prefix(1);
  }
}

// Integers without exponent (counts and byte sizes read naturally and exactly); other
// values in the shortest form that parses back to the same double, with an exponent only
// below 1e-4 or from 1e21 up. That is where Go's strconv 'g' switches on the small side,
// so bucket bounds like le="0.0005" match what the official clients print.
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[400];  // Enough for any double in fixed notation (at most ~330 characters).
  std::to_chars_result r{};
  if (v == std::trunc(v) && std::fabs(v) < 0x1p63) {
    r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
  } else {
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    MAILHOOK_CHECK(r.ec == std::errc(), "number does not fit the formatting buffer");
    const char* e = std::find(buf, r.ptr, 'e');
    int exponent = 0;
    std::from_chars(e + 1 + (e[1] == '+' ? 1 : 0), r.ptr, exponent);
    if (exponent >= -4 && exponent < 21) {
      r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    }
  }
  MAILHOOK_CHECK(r.ec == std::errc(), "number does not fit the formatting buffer");
  out.append(buf, r.ptr);
}

void append_header(std::string& out, std::string_view name, std::string_view help,
                   metric_type type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  append_escaped(out, help, false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type_name(type);
  out += '\n';
}

// name{a="x",b="y"} value, plus an optional extra label (the histogram "le").
void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const std::vector<std::string>& label_names,
                   const std::vector<std::string>& label_values, double value,
                   std::string_view extra_label = {}, std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  if (!label_names.empty() || !extra_label.empty()) {
    out += '{';
    const char* separator = "";
    for (std::size_t i = 0; i < label_names.size(); ++i) {
      out += separator;
      out += label_names[i];
      out += "=\"";
      append_escaped(out, label_values[i], true);
      out += '"';
      separator = ",";
    }
    if (!extra_label.empty()) {
      out += separator;
      out += extra_label;
      out += "=\"";
      out += extra_value;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  append_number(out, value);
  out += '\n';
}

}  // namespace

histogram::histogram(std::span<const double> upper_bounds)
    : upper_bounds_(upper_bounds),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds.size() + 1)) {}

histogram::snapshot histogram::collect() const {
  snapshot s;
  s.cumulative_counts.reserve(upper_bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative_counts.push_back(running);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  s.count = running;
  return s;
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
  MAILHOOK_CHECK(start > 0.0, "exponential_buckets needs start > 0");
  MAILHOOK_CHECK(factor > 1.0, "exponential_buckets needs factor > 1");
  std::vector<double> bounds;
  bounds.reserve(count);
  for (double bound = start; bounds.size() < count; bound *= factor) bounds.push_back(bound);
  return bounds;
}

std::vector<double> linear_buckets(double start, double width, std::size_t count) {
  MAILHOOK_CHECK(width > 0.0, "linear_buckets needs width > 0");
  std::vector<double> bounds;
  bounds.reserve(count);
  for (std::size_t i = 0; i < count; ++i) bounds.push_back(start + static_cast<double>(i) * width);
  return bounds;
}

std::vector<double> default_latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

namespace detail {

family_header::family_header(std::string family_name, std::string help_text, metric_type kind,
                             std::vector<std::string> labels)
    : name(std::move(family_name)),
      help(std::move(help_text)),
      type(kind),
      label_names(std::move(labels)) {
  check_family(name, type, label_names);
}

void family_header::check_label_count(std::size_t count) const {
  MAILHOOK_CHECK(count == label_names.size(), "metric \"" + name + "\": expected " +
                                                  std::to_string(label_names.size()) +
                                                  " label values, got " + std::to_string(count));
}

}  // namespace detail

counter_family::counter_family(std::string name, std::string help,
                               std::vector<std::string> label_names)
    : family(std::move(name), std::move(help), metric_type::counter, std::move(label_names)) {}

std::unique_ptr<counter> counter_family::make_child() const {
  return std::make_unique<counter>();
}

// Counters and gauges expose one sample per child, its value.
template <typename Family>
void write_single_value_family(const Family& family, const auto& children, std::string& out) {
  if (children.empty()) return;
  append_header(out, family.name(), family.help(), family.type());
  for (const auto& [values, child] : children) {
    append_sample(out, family.name(), "", family.label_names(), *values, child->value());
  }
}

void counter_family::write(std::string& out) const {
  write_single_value_family(*this, children(), out);
}

gauge_family::gauge_family(std::string name, std::string help, std::vector<std::string> label_names)
    : family(std::move(name), std::move(help), metric_type::gauge, std::move(label_names)) {}

std::unique_ptr<gauge> gauge_family::make_child() const {
  return std::make_unique<gauge>();
}

void gauge_family::write(std::string& out) const {
  write_single_value_family(*this, children(), out);
}

histogram_family::histogram_family(std::string name, std::string help,
                                   std::vector<double> upper_bounds,
                                   std::vector<std::string> label_names)
    : family(std::move(name), std::move(help), metric_type::histogram, std::move(label_names)),
      upper_bounds_(std::move(upper_bounds)) {
  const std::string quoted = "histogram \"" + this->name() + "\"";
  for (const auto& label : this->label_names()) {
    MAILHOOK_CHECK(label != "le", quoted + ": \"le\" is reserved for bucket bounds");
  }
  if (!upper_bounds_.empty() && upper_bounds_.back() == std::numeric_limits<double>::infinity()) {
    upper_bounds_.pop_back();
  }
  for (std::size_t i = 0; i < upper_bounds_.size(); ++i) {
    MAILHOOK_CHECK(!std::isnan(upper_bounds_[i]), quoted + ": NaN bucket bound");
    MAILHOOK_CHECK(i == 0 || upper_bounds_[i - 1] < upper_bounds_[i],
                   quoted + ": bucket bounds must be strictly increasing");
  }
}

std::unique_ptr<histogram> histogram_family::make_child() const {
  return std::make_unique<histogram>(upper_bounds_);
}

void histogram_family::write(std::string& out) const {
  const auto list = children();
  if (list.empty()) return;
  append_header(out, name(), help(), type());
  std::vector<std::string> le_values;
  le_values.reserve(upper_bounds_.size() + 1);
  for (double bound : upper_bounds_) {
    std::string text;
    append_number(text, bound);
    le_values.push_back(std::move(text));
  }
  le_values.emplace_back("+Inf");
  for (const auto& [values, child] : list) {
    const auto snap = child->collect();
    for (std::size_t i = 0; i < le_values.size(); ++i) {
      append_sample(out, name(), "_bucket", label_names(), *values,
                    static_cast<double>(snap.cumulative_counts[i]), "le", le_values[i]);
    }
    append_sample(out, name(), "_sum", label_names(), *values, snap.sum);
    append_sample(out, name(), "_count", label_names(), *values, static_cast<double>(snap.count));
  }
}

template <typename Range>
collector_sink::family_writer& collector_sink::family_writer::set_range(const Range& label_values,
                                                                        double value) {
  header_.check_label_count(label_values.size());
  auto it = samples_.find(label_values);
  if (it == samples_.end()) {
    samples_.emplace(std::vector<std::string>(label_values.begin(), label_values.end()), value);
  } else {
    it->second = value;
  }
  return *this;
}

collector_sink::family_writer& collector_sink::family_writer::set(
    std::initializer_list<std::string_view> label_values, double value) {
  return set_range(std::span<const std::string_view>(label_values.begin(), label_values.size()),
                   value);
}

collector_sink::family_writer& collector_sink::family_writer::set(
    std::span<const std::string_view> label_values, double value) {
  return set_range(label_values, value);
}

collector_sink::family_writer& collector_sink::family_writer::set(
    std::span<const std::string> label_values, double value) {
  return set_range(label_values, value);
}

void collector_sink::family_writer::write(std::string& out) const {
  // A family whose every read failed is left out rather than shown without samples.
  if (samples_.empty()) return;
  append_header(out, header_.name, header_.help, header_.type);
  for (const auto& [values, value] : samples_) {
    append_sample(out, header_.name, "", header_.label_names, values, value);
  }
}

collector_sink::family_writer& collector_sink::counter(std::string name, std::string help,
                                                       std::vector<std::string> label_names) {
  return declare(std::move(name), std::move(help), metric_type::counter, std::move(label_names));
}

collector_sink::family_writer& collector_sink::gauge(std::string name, std::string help,
                                                     std::vector<std::string> label_names) {
  return declare(std::move(name), std::move(help), metric_type::gauge, std::move(label_names));
}

collector_sink::family_writer& collector_sink::declare(std::string name, std::string help,
                                                       metric_type type,
                                                       std::vector<std::string> label_names) {
  if (auto it = families_.find(name); it != families_.end()) {
    MAILHOOK_CHECK(
        it->second.type() == type && it->second.label_names() == label_names,
        "collected metric \"" + name + "\" declared twice with different type or labels");
    return it->second;
  }
  std::string key = name;
  return families_
      .try_emplace(std::move(key), std::move(name), std::move(help), type, std::move(label_names))
      .first->second;
}

registry::registry() = default;
registry::~registry() = default;

template <typename Family, typename... Args>
Family& registry::find_or_add(std::string name, metric_type type, Args&&... args) {
  std::lock_guard lock(mu_);
  if (auto it = families_.find(name); it != families_.end()) {
    MAILHOOK_CHECK(it->second->type() == type, "metric \"" + name + "\" registered again as " +
                                                   type_name(type) + ", was " +
                                                   type_name(it->second->type()));
    return static_cast<Family&>(*it->second);
  }
  std::string key = name;
  auto family = std::make_unique<Family>(std::move(name), std::forward<Args>(args)...);
  auto& ref = *family;
  families_.emplace(std::move(key), std::move(family));
  // Unlabelled series exist from the start, so dashboards see 0 rather than no data.
  if (ref.label_names().empty()) (void)ref.get();
  return ref;
}

counter_family& registry::counter(std::string name, std::string help,
                                  std::vector<std::string> label_names) {
  auto& family = find_or_add<counter_family>(std::move(name), metric_type::counter, std::move(help),
                                             label_names);
  MAILHOOK_CHECK(family.label_names() == label_names,
                 "metric \"" + family.name() + "\" registered again with different labels");
  return family;
}

gauge_family& registry::gauge(std::string name, std::string help,
                              std::vector<std::string> label_names) {
  auto& family =
      find_or_add<gauge_family>(std::move(name), metric_type::gauge, std::move(help), label_names);
  MAILHOOK_CHECK(family.label_names() == label_names,
                 "metric \"" + family.name() + "\" registered again with different labels");
  return family;
}

histogram_family& registry::histogram(std::string name, std::string help,
                                      std::vector<double> bucket_upper_bounds,
                                      std::vector<std::string> label_names) {
  // Normalized the same way as a new family would, so a re-registration that repeats the
  // explicit +Inf bound still matches.
  if (!bucket_upper_bounds.empty() &&
      bucket_upper_bounds.back() == std::numeric_limits<double>::infinity()) {
    bucket_upper_bounds.pop_back();
  }
  auto& family = find_or_add<histogram_family>(std::move(name), metric_type::histogram,
                                               std::move(help), bucket_upper_bounds, label_names);
  MAILHOOK_CHECK(family.label_names() == label_names,
                 "metric \"" + family.name() + "\" registered again with different labels");
  MAILHOOK_CHECK(family.upper_bounds() == bucket_upper_bounds,
                 "histogram \"" + family.name() + "\" registered again with different buckets");
  return family;
}

void registry::add_collector(std::function<void(collector_sink&)> collect) {
  MAILHOOK_CHECK(static_cast<bool>(collect), "empty collector");
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collect));
}

std::string registry::expose() const {
  std::lock_guard scrape_lock(scrape_mu_);

  // Snapshot under the lock, then collect and format without it: collectors may take
  // their own locks or even register metrics, and registration must not wait on a scrape.
  std::vector<const detail::family_base*> families;
  std::vector<std::function<void(collector_sink&)>> collectors;
  {
    std::lock_guard lock(mu_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) families.push_back(family.get());
    collectors = collectors_;
  }

  collector_sink sink;
  for (const auto& collect : collectors) collect(sink);

  // Both lists are sorted by name: merge them so the output is sorted as a whole.
  std::string out;
  auto registered = families.begin();
  auto collected = sink.families().begin();
  while (registered != families.end() || collected != sink.families().end()) {
    if (collected == sink.families().end() ||
        (registered != families.end() && (*registered)->name() < collected->first)) {
      (*registered++)->write(out);
    } else {
      MAILHOOK_CHECK(
          registered == families.end() || (*registered)->name() != collected->first,
          "collected metric \"" + collected->first + "\" has the name of a registered metric");
      (collected++)->second.write(out);
    }
  }
  return out;
}

}  // namespace mailhook::metrics
