#include "common/cpu.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <cstddef>
#include <thread>

namespace mailhook {
namespace {

TEST(usable_cores, counts_the_affinity_mask_not_the_machine) {
  // Checked on a thread of its own, so that narrowing its mask leaves the test runner alone.
  unsigned all = 0;
  unsigned confined = 0;
  std::thread([&] {
    all = usable_cores();
    cpu_set_t set;
    ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
    std::size_t first = 0;
    while (!CPU_ISSET(first, &set)) ++first;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
    confined = usable_cores();
  }).join();
  EXPECT_EQ(confined, 1u);
  EXPECT_GE(all, confined);
  EXPECT_LE(all, std::thread::hardware_concurrency());
}

}  // namespace
}  // namespace mailhook
