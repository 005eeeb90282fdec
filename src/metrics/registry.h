// The daemon's own Prometheus metrics registry: counters, gauges and histograms grouped
// in labelled families, plus collectors that compute values at scrape time, rendered in
// the text exposition format 0.0.4 by registry::expose().
//
// Thread-safety: everything may be used from any thread. Updating a child
// (counter::inc, gauge::set, histogram::observe) is lock-free (relaxed atomics).
// Registering a family and looking up a child (with()) take a mutex, so hot paths look a
// child up once and keep the reference. The registry owns every family and child;
// references to them stay valid until the registry is destroyed.
// Metric and label names come from code, so an invalid name or a conflicting
// re-registration is a bug and aborts (MAILHOOK_CHECK). Label values may come from input:
// they are escaped, and invalid UTF-8 is replaced, so they cannot break a scrape.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/check.h"

namespace mailhook::metrics {

// The Content-Type of registry::expose() output.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

// Children are aligned to this so that two hot children never share a cache line. Not
// std::hardware_destructive_interference_size: its value can change with -mtune, which
// would make this header's layout differ between translation units (g++ warns).
inline constexpr std::size_t cache_line_size = 64;

enum class metric_type { counter, gauge, histogram };

class alignas(cache_line_size) counter {
 public:
  counter() = default;
  counter(const counter&) = delete;
  counter& operator=(const counter&) = delete;

  void inc() noexcept { whole_.fetch_add(1, std::memory_order_relaxed); }
  // A counter only goes up: a negative or NaN amount is a bug.
  void inc(double amount) {
    MAILHOOK_CHECK(amount >= 0.0, "counter increment must be non-negative");
    if (amount < 0x1p53 && amount == std::trunc(amount)) {
      whole_.fetch_add(static_cast<std::uint64_t>(amount), std::memory_order_relaxed);
    } else {
      fraction_.fetch_add(amount, std::memory_order_relaxed);
    }
  }
  [[nodiscard]] double value() const noexcept {
    return static_cast<double>(whole_.load(std::memory_order_relaxed)) +
           fraction_.load(std::memory_order_relaxed);
  }

 private:
  // Whole-number increments (requests, events, bytes) are one integer fetch_add; only
  // fractional amounts pay for the compare-and-swap loop of a floating-point add.
  std::atomic<std::uint64_t> whole_{0};
  std::atomic<double> fraction_{0.0};
};

class alignas(cache_line_size) gauge {
 public:
  gauge() = default;
  gauge(const gauge&) = delete;
  gauge& operator=(const gauge&) = delete;

  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void inc() noexcept { add(1.0); }
  void dec() noexcept { add(-1.0); }
  void add(double delta) noexcept { value_.fetch_add(delta, std::memory_order_relaxed); }
  [[nodiscard]] double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class alignas(cache_line_size) histogram {
 public:
  // `upper_bounds` is sorted, finite and must outlive the histogram (the family owns it).
  explicit histogram(std::span<const double> upper_bounds);
  histogram(const histogram&) = delete;
  histogram& operator=(const histogram&) = delete;

  void observe(double v) noexcept {
    // Buckets are "less than or equal": the first bound >= v. NaN compares false with
    // every bound, so it is sent to +Inf explicitly, as the Go client does.
    const auto index = std::isnan(v)
                           ? upper_bounds_.size()
                           : static_cast<std::size_t>(
                                 std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), v) -
                                 upper_bounds_.begin());
    counts_[index].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
  }

  struct snapshot {
    std::vector<std::uint64_t> cumulative_counts;  // One per upper bound, then +Inf.
    double sum = 0;
    std::uint64_t count = 0;  // Equals cumulative_counts.back().
  };
  // Not atomic across buckets: concurrent observations may land in some buckets and not
  // others, but the +Inf bucket and count always agree because count is derived.
  [[nodiscard]] snapshot collect() const;
  [[nodiscard]] std::span<const double> upper_bounds() const { return upper_bounds_; }

 private:
  std::span<const double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // Per bucket, not cumulative.
  std::atomic<double> sum_{0.0};
};

// Exponential bucket bounds: start, start*factor, ... (count of them). start > 0, factor > 1.
[[nodiscard]] std::vector<double> exponential_buckets(double start, double factor,
                                                      std::size_t count);
// Linear bucket bounds: start, start+width, ... (count of them). width > 0.
[[nodiscard]] std::vector<double> linear_buckets(double start, double width, std::size_t count);
// Request latencies in seconds, 0.5 ms to 10 s: the Prometheus defaults plus sub-millisecond
// buckets, because parsing and queueing a webhook batch usually takes well under 5 ms.
[[nodiscard]] std::vector<double> default_latency_buckets();

namespace detail {

// Orders label-value tuples lexicographically and lets std::map look up a stored
// std::vector<std::string> with a span of string_views without allocating.
struct label_values_less {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

// What every family, registered or written by a collector, is: its name, help, type and
// label names, checked once when it is made (valid names, no reserved labels).
struct family_header {
  family_header(std::string family_name, std::string help_text, metric_type kind,
                std::vector<std::string> labels);
  // MAILHOOK_CHECK that `count` label values were given, one per label name.
  void check_label_count(std::size_t count) const;

  std::string name;
  std::string help;
  metric_type type;
  std::vector<std::string> label_names;
};

class family_base {
 public:
  family_base(std::string name, std::string help, metric_type type,
              std::vector<std::string> label_names)
      : header_(std::move(name), std::move(help), type, std::move(label_names)) {}
  virtual ~family_base() = default;
  family_base(const family_base&) = delete;
  family_base& operator=(const family_base&) = delete;

  [[nodiscard]] const std::string& name() const { return header_.name; }
  [[nodiscard]] const std::string& help() const { return header_.help; }
  [[nodiscard]] metric_type type() const { return header_.type; }
  [[nodiscard]] const std::vector<std::string>& label_names() const { return header_.label_names; }

  // Appends HELP, TYPE and every child's samples; nothing if there are no children yet.
  virtual void write(std::string& out) const = 0;

 protected:
  void check_label_count(std::size_t count) const { header_.check_label_count(count); }

 private:
  family_header header_;
};

template <typename Child>
class family : public family_base {
 public:
  using family_base::family_base;

  // The child for these label values (in label_names() order), created on first use.
  Child& with(std::initializer_list<std::string_view> label_values) {
    return find_or_add(
        std::span<const std::string_view>(label_values.begin(), label_values.size()));
  }
  Child& with(std::span<const std::string_view> label_values) { return find_or_add(label_values); }
  Child& with(std::span<const std::string> label_values) { return find_or_add(label_values); }
  // The only child of a family without labels.
  Child& get() { return with({}); }

 protected:
  using child_list = std::vector<std::pair<const std::vector<std::string>*, const Child*>>;

  virtual std::unique_ptr<Child> make_child() const = 0;

  // Map nodes never move, so writers can format from this list without holding the lock
  // and with() never waits for a scrape to finish formatting.
  child_list children() const {
    std::lock_guard lock(mu_);
    child_list list;
    list.reserve(children_.size());
    for (const auto& [values, child] : children_) list.emplace_back(&values, child.get());
    return list;
  }

 private:
  template <typename Range>
  Child& find_or_add(const Range& label_values) {
    check_label_count(label_values.size());
    std::lock_guard lock(mu_);
    auto it = children_.find(label_values);
    if (it == children_.end()) {
      it = children_
               .emplace(std::vector<std::string>(label_values.begin(), label_values.end()),
                        make_child())
               .first;
    }
    return *it->second;
  }

  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Child>, label_values_less> children_;
};

}  // namespace detail

class counter_family final : public detail::family<counter> {
 public:
  counter_family(std::string name, std::string help, std::vector<std::string> label_names);
  void write(std::string& out) const override;

 private:
  std::unique_ptr<counter> make_child() const override;
};

class gauge_family final : public detail::family<gauge> {
 public:
  gauge_family(std::string name, std::string help, std::vector<std::string> label_names);
  void write(std::string& out) const override;

 private:
  std::unique_ptr<gauge> make_child() const override;
};

class histogram_family final : public detail::family<histogram> {
 public:
  // `upper_bounds` must be strictly increasing and not NaN; a trailing +Inf is dropped
  // because the +Inf bucket is always there.
  histogram_family(std::string name, std::string help, std::vector<double> upper_bounds,
                   std::vector<std::string> label_names);
  void write(std::string& out) const override;
  [[nodiscard]] const std::vector<double>& upper_bounds() const { return upper_bounds_; }

 private:
  std::unique_ptr<histogram> make_child() const override;

  std::vector<double> upper_bounds_;
};

// What a collector writes into at scrape time. Each call to counter()/gauge() with the
// same name returns the same family_writer, so several collectors (or loops) can add to
// one family and the exposition still has one HELP/TYPE per family.
// Used only by the scraping thread, during registry::expose().
class collector_sink {
 public:
  class family_writer {
   public:
    family_writer(std::string name, std::string help, metric_type type,
                  std::vector<std::string> label_names)
        : header_(std::move(name), std::move(help), type, std::move(label_names)) {}

    // Sets the sample for these label values (label_names() order); a later set for the
    // same values replaces it, so the exposition never has duplicate series.
    family_writer& set(std::initializer_list<std::string_view> label_values, double value);
    family_writer& set(std::span<const std::string_view> label_values, double value);
    family_writer& set(std::span<const std::string> label_values, double value);
    // The sample of a family without labels.
    family_writer& set(double value) { return set({}, value); }

    [[nodiscard]] const std::string& name() const { return header_.name; }
    [[nodiscard]] metric_type type() const { return header_.type; }
    [[nodiscard]] const std::vector<std::string>& label_names() const {
      return header_.label_names;
    }
    void write(std::string& out) const;

   private:
    template <typename Range>
    family_writer& set_range(const Range& label_values, double value);

    detail::family_header header_;
    std::map<std::vector<std::string>, double, detail::label_values_less> samples_;
  };

  family_writer& counter(std::string name, std::string help,
                         std::vector<std::string> label_names = {});
  family_writer& gauge(std::string name, std::string help,
                       std::vector<std::string> label_names = {});

  [[nodiscard]] const std::map<std::string, family_writer, std::less<>>& families() const {
    return families_;
  }

 private:
  family_writer& declare(std::string name, std::string help, metric_type type,
                         std::vector<std::string> label_names);

  std::map<std::string, family_writer, std::less<>> families_;
};

class registry {
 public:
  registry();
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  // Registers a family, or returns the existing one if `name` is already registered with
  // the same type and label names (the first help text wins). Anything else is a bug.
  // Counter names end in "_total"; other names do not (Prometheus naming convention).
  // A family without labels starts with its child at 0, so it is exported before first use.
  counter_family& counter(std::string name, std::string help,
                          std::vector<std::string> label_names = {});
  gauge_family& gauge(std::string name, std::string help,
                      std::vector<std::string> label_names = {});
  // Re-registration must also repeat the same bucket bounds.
  histogram_family& histogram(std::string name, std::string help,
                              std::vector<double> bucket_upper_bounds,
                              std::vector<std::string> label_names = {});

  // `collect` runs on the scraping thread during every expose(), never concurrently with
  // itself (scrapes are serialized), and must not throw. It should skip values it cannot
  // read rather than fail. Its family names must not clash with registered families.
  void add_collector(std::function<void(collector_sink&)> collect);

  // The whole registry plus collector output in text format 0.0.4, families sorted by
  // name and children by label values.
  [[nodiscard]] std::string expose() const;

 private:
  template <typename Family, typename... Args>
  Family& find_or_add(std::string name, metric_type type, Args&&... args);

  mutable std::mutex mu_;  // Guards families_ and collectors_.
  std::map<std::string, std::unique_ptr<detail::family_base>, std::less<>> families_;
  std::vector<std::function<void(collector_sink&)>> collectors_;
  mutable std::mutex scrape_mu_;  // Serializes expose() so collectors never overlap.
};

}  // namespace mailhook::metrics
