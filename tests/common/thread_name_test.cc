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

TEST(name_current_thread, names_the_calling_thread_as_the_kernel_shows_it) {
  std::string seen;
  std::thread([&] {
    name_current_thread("ingest-io-0");
    seen = kernel_name_of_current_thread();
  }).join();
  EXPECT_EQ(seen, "ingest-io-0");
}

TEST(name_current_thread, cuts_a_long_name_at_the_kernels_fifteen_bytes) {
  std::string seen;
  std::thread([&] {
    name_current_thread("a-name-longer-than-fifteen-bytes");
    seen = kernel_name_of_current_thread();
  }).join();
  EXPECT_EQ(seen, "a-name-longer-t");
}

TEST(name_current_thread, leaves_the_other_threads_alone) {
  const std::string before = kernel_name_of_current_thread();
  std::thread([] { name_current_thread("other"); }).join();
  EXPECT_EQ(kernel_name_of_current_thread(), before);
}

}  // namespace
}  // namespace mailhook
