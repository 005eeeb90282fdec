#include "support/process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

extern char** environ;

namespace mailhook::testing {

process::process(std::vector<std::string> argv, std::map<std::string, std::string> extra_env) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    if (!extra_env.contains(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
  }
  for (const auto& [name, value] : extra_env) env_strings.push_back(name + "=" + value);
  std::vector<char*> env_ptrs;
  for (auto& s : env_strings) env_ptrs.push_back(s.data());
  env_ptrs.push_back(nullptr);
  std::vector<char*> arg_ptrs;
  for (auto& a : argv) arg_ptrs.push_back(a.data());
  arg_ptrs.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::execve(arg_ptrs[0], arg_ptrs.data(), env_ptrs.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  reader_ = std::thread([this, fd = pipe_fds[0]] { read_output(fd); });
}

process::~process() {
  if (!exit_status_) {
    signal(SIGKILL);
    (void)wait(std::chrono::seconds(10));
  }
  if (reader_.joinable()) reader_.join();
}

void process::read_output(int fd) {
  std::string pending;
  char buffer[4096];
  for (;;) {
    auto n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buffer, static_cast<std::size_t>(n));
    std::size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::lock_guard lock(mutex_);
      lines_.push_back(pending.substr(0, newline));
      pending.erase(0, newline + 1);
      changed_.notify_all();
    }
  }
  ::close(fd);
  std::lock_guard lock(mutex_);
  if (!pending.empty()) lines_.push_back(pending);
  output_closed_ = true;
  changed_.notify_all();
}

std::optional<std::vector<std::string>> process::wait_for_line(const std::regex& pattern,
                                                               std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  std::size_t checked = 0;
  for (;;) {
    for (; checked < lines_.size(); ++checked) {
      std::smatch match;
      if (std::regex_search(lines_[checked], match, pattern)) {
        return std::vector<std::string>(match.begin(), match.end());
      }
    }
    if (output_closed_) return std::nullopt;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout &&
        checked == lines_.size()) {
      return std::nullopt;
    }
  }
}

std::string process::output() const {
  std::lock_guard lock(mutex_);
  std::string all;
  for (const auto& l : lines_) all += l + "\n";
  return all;
}

void process::signal(int signal_number) const {
  if (pid_ > 0 && !exit_status_) ::kill(pid_, signal_number);
}

std::optional<int> process::wait(std::chrono::milliseconds timeout) {
  if (exit_status_) return exit_status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

run_result run(std::vector<std::string> argv, std::map<std::string, std::string> extra_env,
               std::chrono::milliseconds timeout) {
  process p(std::move(argv), std::move(extra_env));
  auto status = p.wait(timeout);
  if (!status) p.signal(SIGKILL);
  run_result r;
  r.status = status.value_or(-1);
  // Let the reader drain what the child wrote before it exited.
  p.wait_for_line(std::regex("$^"), std::chrono::seconds(5));
  r.output = p.output();
  return r;
}

}  // namespace mailhook::testing
