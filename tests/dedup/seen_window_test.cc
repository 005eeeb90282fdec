// The deduplicator's window of seen ids: per partition, the newest `size`, the oldest
// evicted first; reset forgets one partition; a store opened again starts empty.
#include "dedup/seen_window.h"

#include <gtest/gtest.h>

#include <vector>

#include "support/temp_dir.h"

namespace mailhook::dedup {
namespace {

std::vector<std::string> ids(int first, int count) {
  std::vector<std::string> out;
  for (int i = first; i < first + count; ++i) out.push_back("id" + std::to_string(i));
  return out;
}

bool holds(const seen_window& w, std::int32_t partition, const std::string& id) {
  auto held = w.contains(partition, id);
  EXPECT_TRUE(held) << held.error().describe();
  return held && *held;
}

TEST(seen_window, holds_the_newest_ids_of_each_partition_up_to_its_size) {
  testing::temp_dir dir;
  auto w = seen_window::open(dir.path() / "w", 1000);
  ASSERT_TRUE(w) << w.error().describe();
  auto& window = **w;
  ASSERT_TRUE(window.add(0, ids(0, 600)));
  ASSERT_TRUE(window.add(1, ids(0, 10)));
  EXPECT_TRUE(holds(window, 0, "id0"));
  EXPECT_FALSE(holds(window, 0, "id600"));
  EXPECT_TRUE(holds(window, 1, "id9"));
  EXPECT_FALSE(holds(window, 1, "id10"));  // partitions are separate
  EXPECT_EQ(window.ids(), 610);

  ASSERT_TRUE(window.add(0, ids(600, 700)));  // 1300 in all: the oldest 300 go
  EXPECT_FALSE(holds(window, 0, "id0"));
  EXPECT_FALSE(holds(window, 0, "id299"));
  EXPECT_TRUE(holds(window, 0, "id300"));
  EXPECT_TRUE(holds(window, 0, "id1299"));
  EXPECT_EQ(window.ids(), 1010);

  // More than the window at once: only the newest `size` are kept.
  ASSERT_TRUE(window.add(1, ids(100, 2500)));
  EXPECT_FALSE(holds(window, 1, "id9"));
  EXPECT_FALSE(holds(window, 1, "id1599"));
  EXPECT_TRUE(holds(window, 1, "id1600"));
  EXPECT_TRUE(holds(window, 1, "id2599"));
  EXPECT_EQ(window.ids(), 2000);
}

TEST(seen_window, reset_forgets_one_partition_and_a_reopened_store_is_empty) {
  testing::temp_dir dir;
  {
    auto w = seen_window::open(dir.path() / "w", 1000);
    ASSERT_TRUE(w) << w.error().describe();
    ASSERT_TRUE((*w)->add(0, ids(0, 5)));
    ASSERT_TRUE((*w)->add(7, ids(0, 5)));
    ASSERT_TRUE((*w)->reset(0));
    EXPECT_FALSE(holds(**w, 0, "id1"));
    EXPECT_TRUE(holds(**w, 7, "id1"));
    EXPECT_EQ((*w)->ids(), 5);
    // A partition filled again after a reset evicts by its new order.
    ASSERT_TRUE((*w)->add(0, ids(10, 1000)));
    ASSERT_TRUE((*w)->add(0, ids(1010, 1)));
    EXPECT_FALSE(holds(**w, 0, "id10"));
    EXPECT_TRUE(holds(**w, 0, "id11"));
  }
  auto again = seen_window::open(dir.path() / "w", 1000);
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_FALSE(holds(**again, 7, "id1"));
  EXPECT_EQ((*again)->ids(), 0);
}

}  // namespace
}  // namespace mailhook::dedup
