#include "index/verdict_table.h"

#include <gtest/gtest.h>

#include <string>

namespace mailhook::index {
namespace {

packed_verdict bounce_since(std::int64_t since_ms) {
  return {true, suppression_scope::global, suppression_reason::bounce, suppression_origin::event,
          since_ms};
}

TEST(VerdictTable, PacksEveryFieldLosslessly) {
  packed_verdict v{true, suppression_scope::group, suppression_reason::group_unsubscribe,
                   suppression_origin::import, 1'795'768'319'298};
  auto back = packed_verdict::unpack(v.pack());
  EXPECT_TRUE(back.suppressed);
  EXPECT_EQ(back.scope, suppression_scope::group);
  EXPECT_EQ(back.reason, suppression_reason::group_unsubscribe);
  EXPECT_EQ(back.origin, suppression_origin::import);
  EXPECT_EQ(back.since_ms, 1'795'768'319'298);
  packed_verdict cleared{false, suppression_scope::tenant, suppression_reason::account_suspended,
                         suppression_origin::manual, 0};
  EXPECT_NE(cleared.pack(), 0u);  // present, even with every field at its lowest
  EXPECT_FALSE(packed_verdict::unpack(cleared.pack()).suppressed);
}

TEST(VerdictTable, FindsWhatWasPutAndNothingElse) {
  verdict_table table(1000);
  for (int i = 0; i < 1000; ++i) table.put(hash_key("k" + std::to_string(i)), bounce_since(i));
  for (int i = 0; i < 1000; ++i) {
    auto found = table.find(hash_key("k" + std::to_string(i)));
    ASSERT_TRUE(found) << i;
    EXPECT_EQ(found->since_ms, i);
  }
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(table.find(hash_key("other" + std::to_string(i))));
  EXPECT_EQ(table.size(), 1000u);
}

// Keys "k0" .. "k<count-1>", each a bounce since its own number.
void expect_keys_since_their_number(const verdict_table& table, int count) {
  for (int i = 0; i < count; ++i) {
    auto found = table.find(hash_key("k" + std::to_string(i)));
    ASSERT_TRUE(found) << i;
    EXPECT_EQ(found->since_ms, i);
  }
}

TEST(VerdictTable, GrowsPastItsFirstSizeKeepingEveryKey) {
  verdict_table table(1000);
  auto first_bytes = table.memory_bytes();
  for (int i = 0; i < 100'000; ++i) table.put(hash_key("k" + std::to_string(i)), bounce_since(i));
  EXPECT_GT(table.memory_bytes(), first_bytes);
  expect_keys_since_their_number(table, 100'000);
  EXPECT_EQ(table.size(), 100'000u);
}

TEST(VerdictTable, ReservedRoomTakesTheKeysWithoutGrowingAgain) {
  verdict_table table(1000);
  for (int i = 0; i < 500; ++i) table.put(hash_key("k" + std::to_string(i)), bounce_since(i));
  table.reserve(100'000);
  auto reserved_bytes = table.memory_bytes();
  for (int i = 500; i < 100'000; ++i) table.put(hash_key("k" + std::to_string(i)), bounce_since(i));
  EXPECT_EQ(table.memory_bytes(), reserved_bytes);
  expect_keys_since_their_number(table, 100'000);
  table.reserve(10);  // never shrinks
  EXPECT_EQ(table.memory_bytes(), reserved_bytes);
}
TEST(VerdictTable, UpdatesInPlaceAndErases) {
  verdict_table table(10);
  auto h = hash_key("acme/global/a@x.com");
  table.put(h, bounce_since(1));
  auto cleared = bounce_since(2);
  cleared.suppressed = false;
  table.put(h, cleared);
  ASSERT_TRUE(table.find(h));
  EXPECT_FALSE(table.find(h)->suppressed);
  EXPECT_EQ(table.size(), 1u);
  table.erase(h);
  EXPECT_FALSE(table.find(h));
  table.put(h, bounce_since(3));
  EXPECT_EQ(table.find(h)->since_ms, 3);
  EXPECT_EQ(table.size(), 1u);  // the slot was kept
}

TEST(KeyHash, DependsOnEveryByte) {
  std::string key = "acme/global/someone@example.com";
  auto base = hash_key(key);
  for (std::size_t i = 0; i < key.size(); ++i) {
    std::string changed = key;
    changed[i] = static_cast<char>(changed[i] ^ 1);
    EXPECT_NE(hash_key(changed), base) << i;
  }
  EXPECT_NE(hash_key("a"), hash_key("b"));
  EXPECT_NE(hash_key(""), hash_key(std::string_view("\0", 1)));
}

}  // namespace
}  // namespace mailhook::index
