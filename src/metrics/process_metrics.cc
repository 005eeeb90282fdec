// Reads /proc/self/stat, /proc/self/fd and /proc/stat; field positions are from proc(5).
#include "metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace mailhook::metrics {
namespace {

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(contents).str();
}

template <typename T>
std::optional<T> parse_integer(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> split_whitespace(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (true) {
    pos = text.find_first_not_of(" \t\n", pos);
    if (pos == std::string_view::npos) break;
    const std::size_t end = std::min(text.find_first_of(" \t\n", pos), text.size());
    words.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return words;
}

// Fields of /proc/self/stat from field 3 (state) on. The command name before them is in
// parentheses and may itself contain spaces and ')', so the split starts after the last ')'.
std::vector<std::string_view> stat_fields_after_comm(std::string_view stat) {
  const std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return {};
  return split_whitespace(stat.substr(close + 1));
}

// proc(5) numbers fields from 1; the vector starts at field 3.
std::optional<std::uint64_t> stat_field(const std::vector<std::string_view>& fields,
                                        std::size_t number) {
  if (number < 3 || number - 3 >= fields.size()) return std::nullopt;
  return parse_integer<std::uint64_t>(fields[number - 3]);
}

std::optional<std::uint64_t> boot_time_seconds(const std::filesystem::path& proc_root) {
  const auto stat = read_file(proc_root / "stat");
  if (!stat) return std::nullopt;
  std::istringstream lines(*stat);
  for (std::string line; std::getline(lines, line);) {
    const auto words = split_whitespace(line);
    if (words.size() == 2 && words[0] == "btime") return parse_integer<std::uint64_t>(words[1]);
  }
  return std::nullopt;
}

// Like the Go client, the count includes the descriptor used to read the directory.
std::optional<double> open_fds(const std::filesystem::path& proc_root) {
  std::error_code ec;
  std::filesystem::directory_iterator it(proc_root / "self" / "fd", ec);
  if (ec) return std::nullopt;
  std::uint64_t count = 0;
  for (const std::filesystem::directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return std::nullopt;
    ++count;
  }
  if (ec) return std::nullopt;
  return static_cast<double>(count);
}

void collect(const std::filesystem::path& proc_root, collector_sink& sink) {
  const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  const long page_size = ::sysconf(_SC_PAGESIZE);

  if (const auto stat = read_file(proc_root / "self" / "stat")) {
    const auto fields = stat_fields_after_comm(*stat);
    const auto user_ticks = stat_field(fields, 14);
    const auto system_ticks = stat_field(fields, 15);
    const auto start_ticks = stat_field(fields, 22);
    const auto virtual_bytes = stat_field(fields, 23);
    const auto resident_pages = stat_field(fields, 24);

    if (user_ticks && system_ticks && ticks_per_second > 0) {
      sink.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.")
          .set(static_cast<double>(*user_ticks + *system_ticks) /
               static_cast<double>(ticks_per_second));
    }
    if (resident_pages && page_size > 0) {
      sink.gauge("process_resident_memory_bytes", "Resident memory size in bytes.")
          .set(static_cast<double>(*resident_pages) * static_cast<double>(page_size));
    }
    if (virtual_bytes) {
      sink.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.")
          .set(static_cast<double>(*virtual_bytes));
    }
    if (start_ticks && ticks_per_second > 0) {
      if (const auto boot = boot_time_seconds(proc_root)) {
        sink.gauge("process_start_time_seconds",
                   "Start time of the process since unix epoch in seconds.")
            .set(static_cast<double>(*boot) +
                 static_cast<double>(*start_ticks) / static_cast<double>(ticks_per_second));
      }
    }
  }

  if (const auto fds = open_fds(proc_root)) {
    sink.gauge("process_open_fds", "Number of open file descriptors.").set(*fds);
  }

  ::rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    sink.gauge("process_max_fds", "Maximum number of open file descriptors.")
        .set(limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<double>::infinity()
                                             : static_cast<double>(limit.rlim_cur));
  }
}

}  // namespace

void register_process_metrics(registry& r) {
  register_process_metrics(r, "/proc");
}

void register_process_metrics(registry& r, std::filesystem::path proc_root) {
  r.add_collector([root = std::move(proc_root)](collector_sink& sink) { collect(root, sink); });
}

}  // namespace mailhook::metrics
