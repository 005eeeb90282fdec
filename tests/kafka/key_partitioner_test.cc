#include "kafka/key_partitioner.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <random>
#include <string>

namespace mailhook::kafka {
namespace {

// Kafka's own vectors (clients/src/test/.../utils/UtilsTest.java, testMurmur2).
TEST(key_partitioner, murmur2_gives_kafkas_published_values) {
  EXPECT_EQ(murmur2("21"), -973932308);
  EXPECT_EQ(murmur2("foobar"), -790332482);
  EXPECT_EQ(murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(murmur2("abc"), 479470107);
}

TEST(key_partitioner, a_negative_hash_is_made_positive_before_the_modulo) {
  // toPositive(-790332482) = 1357151166, and 1357151166 % 50 = 16.
  EXPECT_EQ(partition_for_key("foobar", 50), 16);
  static_assert(partition_for_key("foobar", 1) == 0);
}

TEST(key_partitioner, agrees_with_librdkafkas_murmur2_partitioner_on_every_length_and_byte) {
  std::mt19937_64 random(20261207);
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t length = 0; length <= 96; ++length) {
    for (int round = 0; round < 20; ++round) {
      std::string key(length, '\0');
      for (auto& c : key) c = static_cast<char>(byte(random));
      for (std::int32_t partitions : {1, 3, 12, 50, 64, 1000}) {
        ASSERT_EQ(partition_for_key(key, partitions),
                  rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partitions,
                                                   nullptr, nullptr))
            << "length " << length << ", " << partitions << " partitions";
      }
    }
  }
}

}  // namespace
}  // namespace mailhook::kafka
