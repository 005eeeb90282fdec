#include "load/daemon_monitor.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace mailhook::load {
namespace {

std::optional<std::string> read_proc(int pid, const char* file) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

std::optional<std::chrono::microseconds> process_cpu_time(int pid) {
  auto stat = read_proc(pid, "stat");
  if (!stat) return std::nullopt;
  // The command name (field 2) is in parentheses and may hold spaces or ')': the fields
  // we want are counted from the last ')'. Field 3 (state) is token 0; utime (field 14)
  // is token 11 and stime (field 15) token 12, both in clock ticks.
  const auto close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat->substr(close + 1));
  std::vector<std::string> tokens{std::istream_iterator<std::string>(fields),
                                  std::istream_iterator<std::string>()};
  if (tokens.size() < 13) return std::nullopt;
  std::uint64_t utime = 0;
  std::uint64_t stime = 0;
  for (auto [token, out] : {std::pair{&tokens[11], &utime}, std::pair{&tokens[12], &stime}}) {
    auto [end, ec] = std::from_chars(token->data(), token->data() + token->size(), *out);
    if (ec != std::errc() || end != token->data() + token->size()) return std::nullopt;
  }
  const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  if (ticks_per_second <= 0) return std::nullopt;
  return std::chrono::microseconds(static_cast<std::int64_t>(
      (utime + stime) * 1'000'000 / static_cast<std::uint64_t>(ticks_per_second)));
}

std::optional<std::uint64_t> process_status_bytes(int pid, std::string_view field) {
  auto status = read_proc(pid, "status");
  if (!status) return std::nullopt;
  std::istringstream lines(*status);
  for (std::string line; std::getline(lines, line);) {
    // "VmRSS:\t   12345 kB"
    if (line.size() <= field.size() || line.compare(0, field.size(), field) != 0 ||
        line[field.size()] != ':') {
      continue;
    }
    std::istringstream value(line.substr(field.size() + 1));
    std::uint64_t kib = 0;
    if (!(value >> kib)) return std::nullopt;
    return kib * 1024;
  }
  return std::nullopt;
}

daemon_monitor::daemon_monitor(int pid, std::chrono::steady_clock::time_point measure_from)
    : pid_(pid) {
  cpu_start_ = process_cpu_time(pid_);
  sample_rss();
  thread_ = std::thread([this, measure_from] { sample_loop(measure_from); });
}

daemon_monitor::~daemon_monitor() {
  stop();
}

void daemon_monitor::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void daemon_monitor::sample_rss() {
  auto rss = process_status_bytes(pid_, "VmRSS");
  std::lock_guard lock(mutex_);
  if (rss) {
    max_rss_ = std::max(max_rss_, *rss);
  } else {
    complete_ = false;
  }
}

void daemon_monitor::sample_loop(std::chrono::steady_clock::time_point measure_from) {
  using std::chrono::steady_clock;
  bool baseline_taken = false;
  auto next_rss = steady_clock::now() + std::chrono::seconds(1);
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto wake_at = baseline_taken ? next_rss : std::min(next_rss, measure_from);
    if (wake_.wait_until(lock, wake_at, [this] { return stopping_; })) break;
    lock.unlock();
    const auto now = steady_clock::now();
    if (!baseline_taken && now >= measure_from) {
      // The warmup's CPU is not part of the measured window.
      auto cpu = process_cpu_time(pid_);
      baseline_taken = true;
      lock.lock();
      if (cpu) cpu_start_ = cpu;
      lock.unlock();
    }
    if (now >= next_rss) {
      sample_rss();
      next_rss += std::chrono::seconds(1);
    }
    lock.lock();
  }
}

daemon_usage daemon_monitor::finish() {
  stop();
  const auto cpu_end = process_cpu_time(pid_);
  sample_rss();
  daemon_usage usage;
  std::lock_guard lock(mutex_);
  usage.complete = complete_ && cpu_start_ && cpu_end;
  if (cpu_start_ && cpu_end) usage.cpu = *cpu_end - *cpu_start_;
  usage.max_sampled_rss = max_rss_;
  usage.peak_rss_bytes = process_status_bytes(pid_, "VmHWM").value_or(0);
  if (usage.peak_rss_bytes == 0) usage.complete = false;
  return usage;
}

}  // namespace mailhook::load
