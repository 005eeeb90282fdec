// Tests for the replay guard: claims, releases, expiry and the bound on memory.
#include "webhook/replay_guard.h"

#include <gtest/gtest.h>

namespace mailhook::webhook {
namespace {

using outcome = replay_guard::claim_outcome;

signature_id id(unsigned char n) {
  signature_id r{};
  r[0] = n;
  r[31] = static_cast<unsigned char>(255 - n);
  return r;
}

TEST(replay_guard, a_signature_is_first_once_and_a_replay_after) {
  replay_guard guard(10);
  EXPECT_EQ(guard.claim(id(1), 1000, 100), outcome::first);
  EXPECT_EQ(guard.claim(id(1), 1000, 101), outcome::replayed);
  EXPECT_EQ(guard.claim(id(2), 1000, 101), outcome::first);
  EXPECT_EQ(guard.size(), 2u);
}

TEST(replay_guard, a_released_signature_can_be_claimed_again) {
  // A request refused with 503 is retried by SendGrid, possibly with its signature.
  replay_guard guard(10);
  ASSERT_EQ(guard.claim(id(1), 1000, 100), outcome::first);
  guard.release(id(1));
  EXPECT_EQ(guard.claim(id(1), 1000, 101), outcome::first);
  EXPECT_EQ(guard.claim(id(1), 1000, 102), outcome::replayed);
}

TEST(replay_guard, a_claim_is_forgotten_when_its_window_ends) {
  replay_guard guard(10);
  ASSERT_EQ(guard.claim(id(1), 1000, 100), outcome::first);
  EXPECT_EQ(guard.claim(id(1), 1000, 1000), outcome::replayed);  // the last second counts
  EXPECT_EQ(guard.claim(id(2), 5000, 1001), outcome::first);
  EXPECT_EQ(guard.size(), 1u);  // id(1) expired
  EXPECT_EQ(guard.claim(id(1), 5000, 1001), outcome::first);
}

TEST(replay_guard, memory_is_bounded_and_the_oldest_claim_goes_first) {
  replay_guard guard(3);
  for (unsigned char n = 1; n <= 5; ++n) ASSERT_EQ(guard.claim(id(n), 1000, 100), outcome::first);
  EXPECT_EQ(guard.size(), 3u);
  EXPECT_EQ(guard.evicted(), 2u);
  EXPECT_EQ(guard.claim(id(5), 1000, 100), outcome::replayed);
  EXPECT_EQ(guard.claim(id(3), 1000, 100), outcome::replayed);
  EXPECT_EQ(guard.claim(id(1), 1000, 100), outcome::first);  // forgotten: room ran out
}

TEST(replay_guard, forgetting_an_old_claim_keeps_a_newer_claim_of_the_same_signature) {
  replay_guard guard(3);
  ASSERT_EQ(guard.claim(id(1), 1000, 100), outcome::first);
  guard.release(id(1));
  ASSERT_EQ(guard.claim(id(1), 1000, 100), outcome::first);  // claimed again, queued again
  ASSERT_EQ(guard.claim(id(2), 1000, 100), outcome::first);
  // The first, released claim of id(1) leaves the queue here; the live one must stay.
  ASSERT_EQ(guard.claim(id(3), 1000, 100), outcome::first);
  EXPECT_EQ(guard.claim(id(1), 1000, 100), outcome::replayed);
  EXPECT_EQ(guard.evicted(), 0u);
}

}  // namespace
}  // namespace mailhook::webhook
