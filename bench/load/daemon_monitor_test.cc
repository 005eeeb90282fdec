#include "load/daemon_monitor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "common/thread_name.h"

namespace mailhook::load {
namespace {

using namespace std::chrono_literals;

TEST(thread_pool_name, drops_the_number_of_a_thread_in_a_pool) {
  EXPECT_EQ(thread_pool_name("ingest-io-0"), "ingest-io");
  EXPECT_EQ(thread_pool_name("app-io-12"), "app-io");
  EXPECT_EQ(thread_pool_name("kafka-reports"), "kafka-reports");
  EXPECT_EQ(thread_pool_name("mailhook"), "mailhook");
  EXPECT_EQ(thread_pool_name("-7"), "-7");
}

TEST(thread_pool_name, keeps_the_names_of_other_libraries_threads) {
  EXPECT_EQ(thread_pool_name("rdk:broker1"), "rdk:broker1");
  EXPECT_EQ(thread_pool_name("rdk:broker-1"), "rdk:broker-1");
  EXPECT_EQ(thread_pool_name("rocksdb:low"), "rocksdb:low");
}

// A named thread that keeps a core busy until told to stop.
class busy_thread {
 public:
  explicit busy_thread(const char* name)
      : thread_([this, name] {
          name_current_thread(name);
          started_.store(true);
          while (!stop_.load()) {
          }
        }) {
    while (!started_.load()) std::this_thread::yield();
  }
  ~busy_thread() {
    stop_.store(true);
    thread_.join();
  }

 private:
  std::atomic<bool> started_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(daemon_monitor, splits_the_cpu_of_the_window_by_thread_pool) {
  const auto measure_from = std::chrono::steady_clock::now() + 100ms;
  daemon_monitor monitor(::getpid(), measure_from);
  std::this_thread::sleep_until(measure_from + 50ms);  // the baseline is taken
  daemon_usage usage;
  {
    busy_thread first("burner-0");
    busy_thread second("burner-1");
    std::this_thread::sleep_for(400ms);
    usage = monitor.finish();  // while both still run: their CPU is in the window
  }
  const auto burner = std::find_if(usage.cpu_by_thread.begin(), usage.cpu_by_thread.end(),
                                   [](const auto& pool) { return pool.first == "burner"; });
  ASSERT_NE(burner, usage.cpu_by_thread.end());
  // Two threads spinning for 400 ms; the clock ticks are 10 ms, and the machine may be
  // shared, so only a clear part of it is required.
  EXPECT_GE(burner->second, 200ms);
  EXPECT_LE(burner->second, usage.cpu);
  EXPECT_EQ(usage.cpu_by_thread.front().first, "burner") << "the busiest pool comes first";
}

}  // namespace
}  // namespace mailhook::load
