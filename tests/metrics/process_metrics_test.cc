// Tests for the process_* collector, against the real /proc and against a fake one.
#include "metrics/process_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "support/temp_dir.h"

namespace mailhook::metrics {
namespace {

// The value of the unlabelled sample `name`, if the exposition has it.
std::optional<double> sample(const std::string& exposition, std::string_view name) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ' ') {
      return std::strtod(line.c_str() + name.size() + 1, nullptr);
    }
  }
  return std::nullopt;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST(process_metrics, exports_standard_metrics_with_plausible_values) {
  registry r;
  register_process_metrics(r);
  const auto text = r.expose();

  const auto cpu = sample(text, "process_cpu_seconds_total");
  const auto rss = sample(text, "process_resident_memory_bytes");
  const auto vsize = sample(text, "process_virtual_memory_bytes");
  const auto open_fds = sample(text, "process_open_fds");
  const auto max_fds = sample(text, "process_max_fds");
  const auto start = sample(text, "process_start_time_seconds");
  ASSERT_TRUE(cpu && rss && vsize && open_fds && max_fds && start) << text;

  EXPECT_GE(*cpu, 0);
  EXPECT_GT(*rss, 0);
  EXPECT_GE(*vsize, *rss);
  EXPECT_GE(*open_fds, 3) << "stdin, stdout and stderr at least";
  EXPECT_GE(*max_fds, *open_fds);
  // The test process started moments ago; allow for slow sanitizer runs.
  EXPECT_LE(*start, now_seconds() + 2);
  EXPECT_GE(*start, now_seconds() - 600);

  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE process_resident_memory_bytes gauge\n"), std::string::npos);
}

TEST(process_metrics, reads_values_from_proc_stat_fields_after_a_command_name_with_parens) {
  testing::temp_dir proc;
  // Fields 3..24 of proc(5): utime (14) = 250, stime (15) = 150, starttime (22) = 500,
  // vsize (23) = 1048576, rss (24) = 100 pages. The name contains ") " on purpose.
  proc.write("self/stat",
             "4242 (my) (odd proc) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 150 0 0 20 0 1 0 "
             "500 1048576 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");
  proc.write("stat", "cpu  1 2 3 4\nbtime 1700000000\nprocesses 42\n");
  proc.write("self/fd/0", "");
  proc.write("self/fd/1", "");
  proc.write("self/fd/2", "");

  registry r;
  register_process_metrics(r, proc.path());
  const auto text = r.expose();

  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  EXPECT_EQ(sample(text, "process_cpu_seconds_total"), 400 / ticks) << text;
  EXPECT_EQ(sample(text, "process_virtual_memory_bytes"), 1048576) << text;
  EXPECT_EQ(sample(text, "process_resident_memory_bytes"), 100 * page) << text;
  EXPECT_EQ(sample(text, "process_start_time_seconds"), 1700000000 + 500 / ticks) << text;
  EXPECT_EQ(sample(text, "process_open_fds"), 3) << text;
}

TEST(process_metrics, skips_values_it_cannot_read_without_failing_the_scrape) {
  testing::temp_dir proc;  // Empty: no stat, no fd directory.
  registry r;
  register_process_metrics(r, proc.path());
  const auto text = r.expose();

  EXPECT_EQ(text.find("process_cpu_seconds_total"), std::string::npos) << text;
  EXPECT_EQ(text.find("process_resident_memory_bytes"), std::string::npos) << text;
  EXPECT_EQ(text.find("process_open_fds"), std::string::npos) << text;
  EXPECT_EQ(text.find("process_start_time_seconds"), std::string::npos) << text;
  EXPECT_TRUE(sample(text, "process_max_fds").has_value()) << "getrlimit needs no /proc";
}

TEST(process_metrics, skips_malformed_stat_fields) {
  testing::temp_dir proc;
  proc.write("self/stat", "4242 (truncated) S 1 2 3 x y\n");
  proc.write("stat", "btime not-a-number\n");
  registry r;
  register_process_metrics(r, proc.path());
  const auto text = r.expose();

  EXPECT_EQ(text.find("process_cpu_seconds_total"), std::string::npos) << text;
  EXPECT_EQ(text.find("process_virtual_memory_bytes"), std::string::npos) << text;
  EXPECT_EQ(text.find("process_start_time_seconds"), std::string::npos) << text;
}

TEST(process_metrics, start_time_is_skipped_when_boot_time_is_missing) {
  testing::temp_dir proc;
  proc.write("self/stat", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 4096 1 0\n");
  proc.write("stat", "cpu 1 2 3\n");
  registry r;
  register_process_metrics(r, proc.path());
  const auto text = r.expose();

  EXPECT_TRUE(sample(text, "process_cpu_seconds_total").has_value()) << text;
  EXPECT_EQ(text.find("process_start_time_seconds"), std::string::npos) << text;
}

}  // namespace
}  // namespace mailhook::metrics
