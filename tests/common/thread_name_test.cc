#include "common/thread_name.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

namespace mailhook {
namespace {

// What ps, top and perf read: the kernel's name of the thread.
std::string kernel_name_of_current_thread() {
  std::ifstream comm("/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}

// The name the kernel shows for a new thread that named itself `name`.
std::string name_seen_after_naming(const char* name) {
  std::string seen;
  std::thread([&] {
    name_current_thread(name);
    seen = kernel_name_of_current_thread();
  }).join();
  return seen;
}

TEST(name_current_thread, names_the_calling_thread_as_the_kernel_shows_it) {
  EXPECT_EQ(name_seen_after_naming("ingest-io-0"), "ingest-io-0");
}

TEST(name_current_thread, cuts_a_long_name_at_the_kernels_fifteen_bytes) {
  EXPECT_EQ(name_seen_after_naming("a-name-longer-than-fifteen-bytes"), "a-name-longer-t");
}

TEST(name_current_thread, leaves_the_other_threads_alone) {
  const std::string before = kernel_name_of_current_thread();
  std::thread([] { name_current_thread("other"); }).join();
  EXPECT_EQ(kernel_name_of_current_thread(), before);
}

}  // namespace
}  // namespace mailhook
