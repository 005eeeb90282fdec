// The soft-bounce counter: what it counts, and that the history it hands the policy role
// to keep on Kafka restores to the same counts (a restart or a rebalance changes nothing).
#include "suppression/soft_bounce_counter.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace mailhook::suppression {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds hour = 3600s;
constexpr std::int64_t h = 3'600'000;

TEST(soft_bounce_counter, counts_distinct_bounces_within_the_window_either_side) {
  soft_bounce_counter c;
  EXPECT_EQ(c.add("k", 10 * h, "a", hour), 1u);
  EXPECT_EQ(c.add("k", 10 * h, "a", hour), 1u);  // redelivered: counts once
  EXPECT_EQ(c.add("k", 10 * h + 1, "b", hour), 2u);
  // Late, but within the window of both.
  EXPECT_EQ(c.add("k", 10 * h - h / 2, "c", hour), 3u);
  // Outside the window of the others.
  EXPECT_EQ(c.add("k", 12 * h, "d", hour), 1u);
  EXPECT_EQ(c.add("other", 10 * h, "a", hour), 1u);
}

TEST(soft_bounce_counter, reports_each_changed_address_once_and_not_a_redelivery) {
  soft_bounce_counter c;
  c.add("k1", 10 * h, "a", hour);
  c.add("k1", 10 * h + 1, "b", hour);
  c.add("k2", 10 * h, "a", hour);
  auto keys = c.take_changed_keys();
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_TRUE(c.take_changed_keys().empty());
  c.add("k1", 10 * h, "a", hour);  // the same event again changes nothing
  EXPECT_TRUE(c.take_changed_keys().empty());
}

TEST(soft_bounce_counter, a_restored_history_counts_as_the_original) {
  soft_bounce_counter before;
  before.add("k", 10 * h + 2, "c", hour);
  before.add("k", 10 * h, "a", hour);
  before.add("k", 10 * h + 1, "b", hour);
  auto kept = before.history("k");
  ASSERT_EQ(kept.bounces_size(), 3);
  EXPECT_EQ(kept.bounces(0).sg_event_id(), "a");  // oldest first
  EXPECT_EQ(kept.bounces(2).sg_event_id(), "c");

  // Through the bytes the topic carries.
  mailhook::v1::SoftBounceHistory read;
  ASSERT_TRUE(read.ParseFromString(kept.SerializeAsString()));
  soft_bounce_counter after;
  after.restore("k", read);
  EXPECT_TRUE(after.take_changed_keys().empty());  // restoring is not a change to keep
  EXPECT_EQ(after.add("k", 10 * h + 1, "b", hour), 3u);
  EXPECT_EQ(after.add("k", 10 * h + 3, "d", hour), 4u);
  EXPECT_EQ(after.history("k").bounces_size(), 4);

  after.restore("k", {});
  EXPECT_EQ(after.tracked_addresses(), 0u);
  EXPECT_TRUE(after.history("k").bounces().empty());
}

TEST(soft_bounce_counter, drops_bounces_older_than_twice_the_window_and_caps_each_address) {
  soft_bounce_counter c;
  c.add("k", 1 * h, "old", hour);
  c.add("k", 3 * h + 1, "new", hour);
  auto kept = c.history("k");
  ASSERT_EQ(kept.bounces_size(), 1);
  EXPECT_EQ(kept.bounces(0).sg_event_id(), "new");

  for (std::size_t i = 0; i < soft_bounce_counter::max_bounces_per_address + 10; ++i)
    c.add("many", 10 * h + static_cast<std::int64_t>(i), "e" + std::to_string(i), hour);
  auto many = c.history("many");
  ASSERT_EQ(static_cast<std::size_t>(many.bounces_size()),
            soft_bounce_counter::max_bounces_per_address);
  EXPECT_EQ(many.bounces(0).sg_event_id(), "e10");  // the newest are kept
}

TEST(soft_bounce_counter, stays_within_its_address_limit) {
  soft_bounce_counter c(3);
  c.add("a", 1 * h, "1", hour);
  c.add("b", 1 * h, "1", hour);
  c.add("c", 5 * h, "1", hour);
  // Full: a and b are stale next to this one and go first.
  c.add("d", 5 * h, "1", hour);
  EXPECT_EQ(c.tracked_addresses(), 2u);
  EXPECT_TRUE(c.history("a").bounces().empty());
  EXPECT_EQ(c.history("c").bounces_size(), 1);
}

}  // namespace
}  // namespace mailhook::suppression
