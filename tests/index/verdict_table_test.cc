#include "index/verdict_table.h"

#include <gtest/gtest.h>

#include <string>

namespace mailhook::index {
namespace {

sip_key fresh_key() {
  auto key = random_sip_key();
  EXPECT_TRUE(key) << key.error().describe();
  return key ? *key : sip_key{};
}

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
  verdict_table table(1000, fresh_key());
  for (int i = 0; i < 1000; ++i) table.put(table.hash("k" + std::to_string(i)), bounce_since(i));
  for (int i = 0; i < 1000; ++i) {
    auto found = table.find(table.hash("k" + std::to_string(i)));
    ASSERT_TRUE(found) << i;
    EXPECT_EQ(found->verdict.since_ms, i);
  }
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(table.find(table.hash("other" + std::to_string(i))));
  EXPECT_EQ(table.size(), 1000u);
}

// Keys "k0" .. "k<count-1>", each a bounce since its own number.
void expect_keys_since_their_number(const verdict_table& table, int count) {
  for (int i = 0; i < count; ++i) {
    auto found = table.find(table.hash("k" + std::to_string(i)));
    ASSERT_TRUE(found) << i;
    EXPECT_EQ(found->verdict.since_ms, i);
  }
}

TEST(VerdictTable, GrowsPastItsFirstSizeKeepingEveryKey) {
  verdict_table table(1000, fresh_key());
  auto first_bytes = table.memory_bytes();
  for (int i = 0; i < 100'000; ++i) table.put(table.hash("k" + std::to_string(i)), bounce_since(i));
  EXPECT_GT(table.memory_bytes(), first_bytes);
  expect_keys_since_their_number(table, 100'000);
  EXPECT_EQ(table.size(), 100'000u);
}

TEST(VerdictTable, ReservedRoomTakesTheKeysWithoutGrowingAgain) {
  verdict_table table(1000, fresh_key());
  for (int i = 0; i < 500; ++i) table.put(table.hash("k" + std::to_string(i)), bounce_since(i));
  table.reserve(100'000);
  auto reserved_bytes = table.memory_bytes();
  for (int i = 500; i < 100'000; ++i)
    table.put(table.hash("k" + std::to_string(i)), bounce_since(i));
  EXPECT_EQ(table.memory_bytes(), reserved_bytes);
  expect_keys_since_their_number(table, 100'000);
  table.reserve(10);  // never shrinks
  EXPECT_EQ(table.memory_bytes(), reserved_bytes);
}
TEST(VerdictTable, UpdatesInPlaceAndErases) {
  verdict_table table(10, fresh_key());
  auto h = table.hash("acme/global/a@x.com");
  table.put(h, bounce_since(1));
  auto cleared = bounce_since(2);
  cleared.suppressed = false;
  table.put(h, cleared);
  ASSERT_TRUE(table.find(h));
  EXPECT_FALSE(table.find(h)->verdict.suppressed);
  EXPECT_EQ(table.size(), 1u);
  table.erase(h);
  EXPECT_FALSE(table.find(h));
  table.put(h, bounce_since(3));
  EXPECT_EQ(table.find(h)->verdict.since_ms, 3);
  EXPECT_EQ(table.size(), 1u);  // the slot was kept
}

TEST(VerdictTable, ASharedSlotStaysSharedThroughPutsAndErases) {
  verdict_table table(10, fresh_key());
  auto h = table.hash("acme/global/a@x.com");
  EXPECT_TRUE(table.put_new(h, bounce_since(1)));
  EXPECT_FALSE(table.put_new(h, bounce_since(2)));  // present: left alone
  EXPECT_EQ(table.find(h)->verdict.since_ms, 1);
  EXPECT_FALSE(table.find(h)->shared);

  table.share(h);
  ASSERT_TRUE(table.find(h));
  EXPECT_TRUE(table.find(h)->shared);
  auto cleared = bounce_since(3);
  cleared.suppressed = false;
  table.put(h, cleared);  // one key's change cannot speak for the others
  EXPECT_TRUE(table.find(h)->shared);
  table.erase(h);
  ASSERT_TRUE(table.find(h));
  EXPECT_TRUE(table.find(h)->shared);
  EXPECT_EQ(table.size(), 1u);
}

TEST(VerdictTable, ASharedSlotSurvivesGrowth) {
  verdict_table table(1000, fresh_key());
  auto h = table.hash("shared");
  table.put(h, bounce_since(1));
  table.share(h);
  for (int i = 0; i < 10'000; ++i) table.put(table.hash("k" + std::to_string(i)), bounce_since(i));
  ASSERT_TRUE(table.find(h));
  EXPECT_TRUE(table.find(h)->shared);
  expect_keys_since_their_number(table, 10'000);
}

TEST(VerdictTable, PackedVerdictsNeverLookShared) {
  for (int scope = 0; scope < 4; ++scope) {
    for (int reason = 0; reason < 16; ++reason) {
      packed_verdict v{true, static_cast<suppression_scope>(scope),
                       static_cast<suppression_reason>(reason), suppression_origin::manual,
                       (std::int64_t{1} << 53) - 1};
      verdict_table table(10, fresh_key());
      table.put(1, v);
      ASSERT_TRUE(table.find(1));
      EXPECT_FALSE(table.find(1)->shared);
      EXPECT_EQ(table.find(1)->verdict.since_ms, v.since_ms);
    }
  }
}

TEST(KeyHash, EachTableHasItsOwnKey) {
  verdict_table a(10, fresh_key());
  verdict_table b(10, fresh_key());
  // Equal by chance once in 2^64.
  EXPECT_NE(a.hash("acme/global/someone@example.com"), b.hash("acme/global/someone@example.com"));
  auto key = fresh_key();
  verdict_table c(10, key);
  EXPECT_EQ(c.hash("acme/global/someone@example.com"),
            siphash24("acme/global/someone@example.com", key));
  EXPECT_NE(fresh_key().k0, fresh_key().k0);
}

TEST(KeyHash, IsSipHash24) {
  // The reference vectors of the SipHash paper: key 00 01 .. 0f, message 00 01 .. (n-1).
  const sip_key key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  std::string message;
  EXPECT_EQ(siphash24(message, key), 0x726fdb47dd0e0e31ULL);
  for (int i = 0; i < 15; ++i) message.push_back(static_cast<char>(i));
  EXPECT_EQ(siphash24(message, key), 0xa129ca6149be45e5ULL);
  message.push_back(15);
  EXPECT_EQ(siphash24(message.substr(0, 8), key), 0x93f5f5799a932462ULL);
}

TEST(KeyHash, DependsOnEveryByte) {
  verdict_table table(10, fresh_key());
  std::string key = "acme/global/someone@example.com";
  auto base = table.hash(key);
  for (std::size_t i = 0; i < key.size(); ++i) {
    std::string changed = key;
    changed[i] = static_cast<char>(changed[i] ^ 1);
    EXPECT_NE(table.hash(changed), base) << i;
  }
  EXPECT_NE(table.hash("a"), table.hash("b"));
  EXPECT_NE(table.hash(""), table.hash(std::string_view("\0", 1)));
}

}  // namespace
}  // namespace mailhook::index
