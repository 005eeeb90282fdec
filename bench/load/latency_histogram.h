// A log-bucketed latency histogram (the HDR histogram idea, cut down): exact below 128 ns,
// then 64 buckets per power of two, so any recorded value is reported within 1.6 %.
// Fixed size (about 30 KiB) whatever the run length, which storing every latency is not.
//
// Not thread-safe: each connection records into its own and main() merges them after the
// I/O threads have joined.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mailhook::load {

class latency_histogram {
 public:
  latency_histogram() : counts_(bucket_count, 0) {}

  void record(std::uint64_t nanos) {
    ++counts_[index_of(nanos)];
    ++total_;
    sum_ += nanos;
    max_ = std::max(max_, nanos);
  }

  void merge(const latency_histogram& other) {
    for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
  }

  [[nodiscard]] std::uint64_t count() const { return total_; }
  [[nodiscard]] std::uint64_t max() const { return max_; }
  [[nodiscard]] double mean() const {
    return total_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(total_);
  }

  // The smallest recorded value v such that a fraction `q` of the values are <= v, rounded
  // up to its bucket's upper edge (never above the exact max), so percentiles err high.
  [[nodiscard]] std::uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    const auto wanted = static_cast<std::uint64_t>(
        std::max(1.0, std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(total_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
      seen += counts_[i];
      if (seen >= wanted) return std::min(upper_edge(i), max_);
    }
    return max_;
  }

 private:
  static constexpr unsigned half_bits = 6;                       // 64 buckets per octave
  static constexpr std::uint64_t exact_below = 2u << half_bits;  // 128
  static constexpr std::size_t half = std::size_t{1} << half_bits;
  // Octaves above the exact range: shift 1 (values 128..255) up to shift 57 (2^63..).
  static constexpr std::size_t bucket_count = exact_below + (64 - half_bits - 1) * half;

  static std::size_t index_of(std::uint64_t v) {
    if (v < exact_below) return static_cast<std::size_t>(v);
    const auto shift = static_cast<unsigned>(std::bit_width(v)) - half_bits - 1;  // >= 1
    const auto top = static_cast<std::size_t>(v >> shift);                        // [64, 128)
    return exact_below + (shift - 1) * half + (top - half);
  }

  static std::uint64_t upper_edge(std::size_t i) {
    if (i < exact_below) return i;
    const auto shift = static_cast<unsigned>((i - exact_below) / half + 1);
    const auto top = static_cast<std::uint64_t>((i - exact_below) % half + half);
    return ((top + 1) << shift) - 1;
  }

  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t sum_ = 0;  // ns; overflows only after ~584 years of summed latency
  std::uint64_t max_ = 0;
};

}  // namespace mailhook::load
