#include "load/daemon_monitor.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "load/malloc_count.h"

namespace mailhook::load {
namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::optional<std::string> read_proc(int pid, const char* file) {
  return read_file("/proc/" + std::to_string(pid) + "/" + file);
}

// User + system time in a /proc/PID/stat or /proc/PID/task/TID/stat line.
std::optional<std::chrono::microseconds> stat_cpu_time(const std::string& stat) {
  // The command name (field 2) is in parentheses and may hold spaces or ')': the fields
  // we want are counted from the last ')'. Field 3 (state) is token 0; utime (field 14)
  // is token 11 and stime (field 15) token 12, both in clock ticks.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
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

std::optional<std::chrono::microseconds> watched_cpu_time(int pid);

}  // namespace

std::optional<std::chrono::microseconds> process_cpu_time(int pid) {
  auto stat = read_proc(pid, "stat");
  if (!stat) return std::nullopt;
  return stat_cpu_time(*stat);
}

std::map<int, thread_cpu> threads_cpu_time(int pid) {
  std::map<int, thread_cpu> threads;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    const std::string id = task.path().filename().string();
    int tid = 0;
    if (std::from_chars(id.data(), id.data() + id.size(), tid).ec != std::errc()) continue;
    auto stat = read_file(task.path() / "stat");
    if (!stat) continue;  // ended while we looked
    auto cpu = stat_cpu_time(*stat);
    // The name is field 2, between the first '(' and the last ')'.
    const auto open = stat->find('(');
    const auto close = stat->rfind(')');
    if (!cpu || open == std::string::npos || close == std::string::npos || close < open) continue;
    threads.emplace(tid, thread_cpu{stat->substr(open + 1, close - open - 1), *cpu});
  }
  return threads;
}

std::string thread_pool_name(std::string_view thread_name) {
  if (thread_name.find(':') != std::string_view::npos) return std::string(thread_name);
  std::size_t end = thread_name.size();
  while (end > 0 && thread_name[end - 1] >= '0' && thread_name[end - 1] <= '9') --end;
  if (end == thread_name.size() || end < 2 || thread_name[end - 1] != '-') {
    return std::string(thread_name);
  }
  return std::string(thread_name.substr(0, end - 1));
}

std::optional<std::chrono::microseconds> machine_cpu_time(bool steal) {
  std::ifstream in("/proc/stat");
  std::string label;
  // cpu  user nice system idle iowait irq softirq steal ..., in clock ticks
  std::array<std::uint64_t, 8> ticks{};
  if (!(in >> label) || label != "cpu") return std::nullopt;
  for (auto& t : ticks) {
    if (!(in >> t)) return std::nullopt;
  }
  const std::uint64_t sum = steal ? ticks[7] : ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6];
  const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  if (ticks_per_second <= 0) return std::nullopt;
  return std::chrono::microseconds(
      static_cast<std::int64_t>(sum * 1'000'000 / static_cast<std::uint64_t>(ticks_per_second)));
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

result<malloc_count_file> malloc_count_file::open(const std::string& path, int pid) {
  auto fail = [&path](const std::string& why) {
    return failure(std::make_error_code(std::errc::invalid_argument),
                   "allocation counts " + path + ": " + why);
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("cannot open it (was malloc_count preloaded into the daemon?)");
  void* mapping = ::mmap(nullptr, MAILHOOK_MALLOC_COUNT_FILE_BYTES, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (mapping == MAP_FAILED) return fail("cannot map it");
  malloc_count_file file(mapping);
  auto* slots = static_cast<std::uint64_t*>(mapping);
  if (__atomic_load_n(&slots[0], __ATOMIC_ACQUIRE) != MAILHOOK_MALLOC_COUNT_MAGIC) {
    return fail("no counts in it (the preloaded library did not map it)");
  }
  const auto writer = __atomic_load_n(&slots[1], __ATOMIC_RELAXED);
  if (writer != static_cast<std::uint64_t>(pid)) {
    return fail("it holds the counts of pid " + std::to_string(writer) + ", not of " +
                std::to_string(pid));
  }
  return file;
}

malloc_count_file::malloc_count_file(malloc_count_file&& other) noexcept
    : mapping_(other.mapping_) {
  other.mapping_ = nullptr;
}

malloc_count_file::~malloc_count_file() {
  if (mapping_ != nullptr) ::munmap(mapping_, MAILHOOK_MALLOC_COUNT_FILE_BYTES);
}

allocation_counts malloc_count_file::read() const {
  allocation_counts counts{};
  auto* slots = static_cast<std::uint64_t*>(mapping_);
  for (std::size_t k = 0; k < counts.size(); ++k) {
    counts[k] =
        __atomic_load_n(mailhook_malloc_count_slot(slots, static_cast<int>(k)), __ATOMIC_RELAXED);
  }
  return counts;
}

daemon_monitor::daemon_monitor(int pid, std::chrono::steady_clock::time_point measure_from,
                               std::optional<malloc_count_file> counts,
                               std::vector<watched_process> others)
    : pid_(pid), counts_(std::move(counts)), others_(std::move(others)) {
  take_baseline();
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

namespace {
std::optional<std::chrono::microseconds> watched_cpu_time(int pid) {
  if (pid == 0) return machine_cpu_time(false);
  if (pid == -1) return machine_cpu_time(true);
  return process_cpu_time(pid);
}
}  // namespace

// The start of the window for every figure, read as close together as possible.
void daemon_monitor::take_baseline() {
  auto cpu = process_cpu_time(pid_);
  const auto allocations = counts_ ? counts_->read() : allocation_counts{};
  std::vector<std::optional<std::chrono::microseconds>> others;
  for (const auto& p : others_) others.push_back(watched_cpu_time(p.pid));
  auto threads = threads_cpu_time(pid_);
  std::lock_guard lock(mutex_);
  if (cpu) cpu_start_ = cpu;
  threads_start_ = std::move(threads);
  allocations_start_ = allocations;
  others_start_ = std::move(others);
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
      take_baseline();
      baseline_taken = true;
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
  const auto allocations_end = counts_ ? counts_->read() : allocation_counts{};
  std::vector<std::optional<std::chrono::microseconds>> others_end;
  for (const auto& p : others_) others_end.push_back(watched_cpu_time(p.pid));
  const auto threads_end = threads_cpu_time(pid_);
  sample_rss();
  daemon_usage usage;
  std::lock_guard lock(mutex_);
  if (counts_) {
    usage.allocations.emplace();
    for (std::size_t k = 0; k < allocations_end.size(); ++k) {
      (*usage.allocations)[k] = allocations_end[k] - allocations_start_[k];
    }
  }
  for (std::size_t i = 0; i < others_.size(); ++i) {
    const auto& start = others_start_[i];
    const auto& end = others_end[i];
    usage.others_cpu.push_back(start && end ? std::optional(*end - *start) : std::nullopt);
  }
  // A thread that started within the window counts from zero.
  std::map<std::string, std::chrono::microseconds> by_pool;
  for (const auto& [tid, end] : threads_end) {
    const auto start = threads_start_.find(tid);
    const auto before =
        start != threads_start_.end() ? start->second.cpu : std::chrono::microseconds{0};
    by_pool[thread_pool_name(end.name)] += end.cpu - before;
  }
  usage.cpu_by_thread.assign(by_pool.begin(), by_pool.end());
  std::stable_sort(usage.cpu_by_thread.begin(), usage.cpu_by_thread.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  usage.complete = complete_ && cpu_start_ && cpu_end;
  if (cpu_start_ && cpu_end) usage.cpu = *cpu_end - *cpu_start_;
  usage.max_sampled_rss = max_rss_;
  usage.peak_rss_bytes = process_status_bytes(pid_, "VmHWM").value_or(0);
  if (usage.peak_rss_bytes == 0) usage.complete = false;
  return usage;
}

}  // namespace mailhook::load
