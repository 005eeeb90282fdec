// Measures another process (the daemon under load) from /proc: its CPU time (user + system
// ticks of /proc/PID/stat) over the measured window, its peak RSS (VmHWM of
// /proc/PID/status) and the largest VmRSS seen by sampling once a second.
//
// Threads: one sampling thread of its own, started by the constructor and joined by
// finish() or the destructor; finish() is called from one thread only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

namespace mailhook::load {

// User + system CPU time of `pid` so far; nullopt if it cannot be read (gone, no access).
[[nodiscard]] std::optional<std::chrono::microseconds> process_cpu_time(int pid);
// A "kB" field of /proc/PID/status ("VmRSS", "VmHWM") in bytes; nullopt if absent.
[[nodiscard]] std::optional<std::uint64_t> process_status_bytes(int pid, std::string_view field);

struct daemon_usage {
  std::chrono::microseconds cpu{0};   // user + system over the measured window
  std::uint64_t peak_rss_bytes = 0;   // VmHWM at the end: the peak since the daemon started
  std::uint64_t max_sampled_rss = 0;  // largest VmRSS sampled during the run
  bool complete = true;               // false if /proc stopped answering (the daemon died)
};

class daemon_monitor {
 public:
  // Samples VmRSS now and every second; takes the CPU baseline at `measure_from` (and, in
  // case the run ends before that, once now).
  daemon_monitor(int pid, std::chrono::steady_clock::time_point measure_from);
  ~daemon_monitor();
  daemon_monitor(const daemon_monitor&) = delete;
  daemon_monitor& operator=(const daemon_monitor&) = delete;

  // Stops sampling and reads the end of the window.
  [[nodiscard]] daemon_usage finish();

 private:
  void sample_loop(std::chrono::steady_clock::time_point measure_from);
  void sample_rss();
  void stop();

  const int pid_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;                               // guarded by mutex_
  std::optional<std::chrono::microseconds> cpu_start_;  // guarded by mutex_
  std::uint64_t max_rss_ = 0;                           // guarded by mutex_
  bool complete_ = true;                                // guarded by mutex_
  std::thread thread_;
};

}  // namespace mailhook::load
