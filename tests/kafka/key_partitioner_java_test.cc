// key_partitioner against Kafka's Java producer itself: the same keys go through
// BuiltInPartitioner.partitionForKey (kafka-clients, from the broker's jars, which
// scripts/setup caches) and through partition_for_key, for several partition counts.
// Needs a JDK; MAILHOOK_KAFKA_JARS_DIR names the jars (tests/kafka/CMakeLists.txt).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kafka/key_partitioner.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace mailhook::kafka {
namespace {

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

// The java on PATH, as a full path (the test's process runner does not search PATH).
std::string java_binary() {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const std::filesystem::path candidate =
        std::filesystem::path(std::string(dirs.substr(0, colon))) / "java";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return "";
}

TEST(key_partitioner_java, every_key_gets_the_partition_the_java_producer_gives_it) {
  const char* jars = std::getenv("MAILHOOK_KAFKA_JARS_DIR");
  const char* source_dir = std::getenv("MAILHOOK_SOURCE_DIR");
  ASSERT_NE(jars, nullptr) << "MAILHOOK_KAFKA_JARS_DIR is not set";
  ASSERT_NE(source_dir, nullptr);

  // Keys as ingest writes them (tenant/normalized address, non-ASCII included), and
  // random bytes of every length up to 40 (each tail length of the 4-byte loop, and bytes
  // over 0x7f, which Java reads as negative before masking).
  std::vector<std::string> keys = {
      "acme/hello@world.com", "acme/user@example.com", "t1/\xc3\xa9lodie@exempl\xc3\xa9.fr",
      "load/user42@example.com", "tenant-with-a-long-name/someone.with.a.long.address@example.org"};
  std::mt19937_64 random(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t length = 0; length <= 40; ++length) {
    for (int round = 0; round < 5; ++round) {
      std::string key(length, '\0');
      for (auto& c : key) c = static_cast<char>(byte(random));
      keys.push_back(key);
    }
  }
  std::string lines;
  for (const auto& key : keys) lines += hex(key) + "\n";
  testing::temp_dir dir;
  const auto key_file = dir.write("keys.txt", lines);

  const std::vector<std::int32_t> counts = {1, 3, 12, 50, 64, 1000};
  const std::string java_path = java_binary();
  ASSERT_FALSE(java_path.empty()) << "no java on PATH: the test needs a JDK (scripts/setup)";
  std::vector<std::string> argv = {java_path, "-cp", std::string(jars) + "/*",
                                   std::string(source_dir) + "/tests/kafka/JavaPartitions.java",
                                   key_file.string()};
  for (auto n : counts) argv.push_back(std::to_string(n));
  auto java = testing::run(argv, {}, std::chrono::seconds(120));
  ASSERT_EQ(java.status, 0) << java.output;

  std::istringstream out(java.output);
  std::size_t checked = 0;
  for (const auto& key : keys) {
    std::string key_hex;
    ASSERT_TRUE(out >> key_hex) << "the Java program stopped after " << checked << " keys";
    ASSERT_EQ(key_hex, "key=" + hex(key));
    for (auto n : counts) {
      std::int32_t java_partition = -1;
      ASSERT_TRUE(out >> java_partition);
      EXPECT_EQ(partition_for_key(key, n), java_partition)
          << "key " << key_hex << ", " << n << " partitions";
    }
    ++checked;
  }
  EXPECT_EQ(checked, keys.size());
}

}  // namespace
}  // namespace mailhook::kafka
