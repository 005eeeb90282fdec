// A child process for tests: the real mailhook binary or a script, with its stdout and
// stderr captured line by line so a test can wait for what it prints. The child is
// killed (SIGKILL) if still running when the object goes away.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace mailhook::testing {

class process {
 public:
  // Starts `argv[0]` with `argv`, the current environment plus `extra_env`.
  process(std::vector<std::string> argv, std::map<std::string, std::string> extra_env = {});
  ~process();
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  // Waits until a line of output matches `pattern`; returns the whole match and its
  // groups, or nullopt after `timeout` or once the output closed without such a line.
  std::optional<std::vector<std::string>> wait_for_line(const std::regex& pattern,
                                                        std::chrono::milliseconds timeout);
  // Everything printed so far (stdout and stderr interleaved by line).
  [[nodiscard]] std::string output() const;

  void signal(int signal_number) const;
  // Waits for the exit; returns the exit status (128+N for signal N), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  [[nodiscard]] pid_t pid() const { return pid_; }

 private:
  void read_output(int fd);

  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  bool output_closed_ = false;
  std::thread reader_;
};

// Runs a command to completion; returns its exit status and output.
struct run_result {
  int status = -1;
  std::string output;
};
run_result run(std::vector<std::string> argv, std::map<std::string, std::string> extra_env = {},
               std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace mailhook::testing
