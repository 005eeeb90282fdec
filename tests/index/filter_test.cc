#include "index/filter.h"

#include <gtest/gtest.h>

#include <string>

namespace mailhook::index {
namespace {

TEST(KeyFilter, NeverForgetsAnAddedKey) {
  key_filter filter(10'000);
  for (int i = 0; i < 10'000; ++i) filter.add("acme/global/user" + std::to_string(i) + "@x.com");
  for (int i = 0; i < 10'000; ++i) {
    EXPECT_TRUE(filter.may_contain("acme/global/user" + std::to_string(i) + "@x.com")) << i;
  }
}

TEST(KeyFilter, FalsePositivesStayRareAtCapacity) {
  key_filter filter(100'000);
  for (int i = 0; i < 100'000; ++i) filter.add("t/global/in" + std::to_string(i));
  int false_positives = 0;
  for (int i = 0; i < 100'000; ++i) {
    false_positives += filter.may_contain("t/global/out" + std::to_string(i)) ? 1 : 0;
  }
  // 16 bits per key, 7 probes in one cache line: about 0.1%; allow twice that.
  EXPECT_LT(false_positives, 200);
}

TEST(KeyHash, DependsOnEveryByte) {
  std::string key = "acme/global/someone@example.com";
  auto base = hash_key(key);
  for (std::size_t i = 0; i < key.size(); ++i) {
    std::string changed = key;
    changed[i] ^= 1;
    EXPECT_NE(hash_key(changed), base) << i;
  }
  EXPECT_NE(hash_key("a"), hash_key("b"));
  EXPECT_NE(hash_key(""), hash_key(std::string_view("\0", 1)));
}

}  // namespace
}  // namespace mailhook::index
