// Measures another process (the daemon under load) from /proc: its CPU time (user + system
// ticks of /proc/PID/stat) over the measured window, also by thread pool (the threads'
// names, /proc/PID/task/*/stat and comm), its peak RSS (VmHWM of
// /proc/PID/status) and the largest VmRSS seen by sampling once a second. Optionally also
// its allocations over the same window (the counts bench/load/malloc_count.c keeps in a
// shared file when preloaded into it) and the CPU time of other processes (the broker, the
// load generator itself) over that window.
//
// Threads: one sampling thread of its own, started by the constructor and joined by
// finish() or the destructor; finish() is called from one thread only.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/result.h"

namespace mailhook::load {

// User + system CPU time of `pid` so far; nullopt if it cannot be read (gone, no access).
[[nodiscard]] std::optional<std::chrono::microseconds> process_cpu_time(int pid);
// The machine's CPU time so far, all CPUs summed, from /proc/stat's "cpu" line: with
// `steal` false, busy time (user, nice, system, irq, softirq); with true, the time the
// hypervisor gave to others. nullopt if unreadable.
[[nodiscard]] std::optional<std::chrono::microseconds> machine_cpu_time(bool steal);
// The CPU time so far of each thread of `pid` that is alive, by thread id, with the
// thread's name (both from /proc/PID/task/TID/stat); empty if the process cannot be read.
struct thread_cpu {
  std::string name;
  std::chrono::microseconds cpu{0};
};
[[nodiscard]] std::map<int, thread_cpu> threads_cpu_time(int pid);
// The pool a thread's name stands for: mailhook's "ingest-io-1" -> "ingest-io". The
// names of librdkafka's and RocksDB's threads ("rdk:broker1", the thread of broker 1;
// "rdk:broker-1", its internal one; "rocksdb:low") and names without a number stay.
[[nodiscard]] std::string thread_pool_name(std::string_view thread_name);
// A "kB" field of /proc/PID/status ("VmRSS", "VmHWM") in bytes; nullopt if absent.
[[nodiscard]] std::optional<std::uint64_t> process_status_bytes(int pid, std::string_view field);

// Calls of malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign (file order
// of malloc_count.h).
using allocation_counts = std::array<std::uint64_t, 6>;
inline constexpr std::array<const char*, 6> allocation_function_names = {
    "malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign"};

// A read-only view of the counts file a preloaded malloc_count.c writes. Threads: read()
// from any thread; the counters are atomics in a shared mapping.
class malloc_count_file {
 public:
  // Fails unless `path` holds the counts of process `pid` (magic and pid checked).
  [[nodiscard]] static result<malloc_count_file> open(const std::string& path, int pid);
  malloc_count_file(malloc_count_file&& other) noexcept;
  malloc_count_file& operator=(malloc_count_file&&) = delete;
  malloc_count_file(const malloc_count_file&) = delete;
  malloc_count_file& operator=(const malloc_count_file&) = delete;
  ~malloc_count_file();

  [[nodiscard]] allocation_counts read() const;

 private:
  explicit malloc_count_file(void* mapping) : mapping_(mapping) {}
  void* mapping_;
};

// Another process whose CPU time is taken over the same window. Pid 0 stands for the
// whole machine's busy time, -1 for its steal time (machine_cpu_time).
struct watched_process {
  std::string name;
  int pid = 0;
};

struct daemon_usage {
  std::chrono::microseconds cpu{0};   // user + system over the measured window
  std::uint64_t peak_rss_bytes = 0;   // VmHWM at the end: the peak since the daemon started
  std::uint64_t max_sampled_rss = 0;  // largest VmRSS sampled during the run
  bool complete = true;               // false if /proc stopped answering (the daemon died)
  // Allocations over the window, by function; only with a counts file.
  std::optional<allocation_counts> allocations;
  // The watched processes' CPU over the window, in their order; nullopt if unreadable.
  std::vector<std::optional<std::chrono::microseconds>> others_cpu;
  // The daemon's CPU over the window by thread pool (thread_pool_name), most first. The
  // CPU of a thread that ended within the window is in `cpu` but not here.
  std::vector<std::pair<std::string, std::chrono::microseconds>> cpu_by_thread;
};

class daemon_monitor {
 public:
  // Samples VmRSS now and every second; takes the CPU baseline at `measure_from` (and, in
  // case the run ends before that, once now).
  // With `counts`, reads the allocation counts at the same two moments as the CPU time;
  // likewise the CPU time of `others`.
  daemon_monitor(int pid, std::chrono::steady_clock::time_point measure_from,
                 std::optional<malloc_count_file> counts = std::nullopt,
                 std::vector<watched_process> others = {});
  ~daemon_monitor();
  daemon_monitor(const daemon_monitor&) = delete;
  daemon_monitor& operator=(const daemon_monitor&) = delete;

  // Stops sampling and reads the end of the window.
  [[nodiscard]] daemon_usage finish();

 private:
  void sample_loop(std::chrono::steady_clock::time_point measure_from);
  void sample_rss();
  void stop();

  void take_baseline();

  const int pid_;
  const std::optional<malloc_count_file> counts_;
  const std::vector<watched_process> others_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;                                               // guarded by mutex_
  std::optional<std::chrono::microseconds> cpu_start_;                  // guarded by mutex_
  allocation_counts allocations_start_{};                               // guarded by mutex_
  std::vector<std::optional<std::chrono::microseconds>> others_start_;  // guarded by mutex_
  std::map<int, thread_cpu> threads_start_;                             // guarded by mutex_
  std::uint64_t max_rss_ = 0;                                           // guarded by mutex_
  bool complete_ = true;                                                // guarded by mutex_
  std::thread thread_;
};

}  // namespace mailhook::load
