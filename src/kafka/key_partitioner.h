// The partition Kafka's Java producer gives a keyed record: murmur2 of the key bytes,
// made positive, modulo the partition count (BuiltInPartitioner.partitionForKey, and
// librdkafka's "murmur2" partitioners). The ingest role partitions its records with it
// before handing each partition's records to librdkafka at once, so an event lands where
// any other producer of the Kafka ecosystem would put its key. Pure functions; safe from
// any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace mailhook::kafka {

// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): MurmurHash2 with seed
// 0x9747b28c, the key read as little-endian 32-bit words. Returned as Java's signed int.
[[nodiscard]] constexpr std::int32_t murmur2(std::string_view key) noexcept {
  constexpr std::uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  const auto length = static_cast<std::uint32_t>(key.size());
  std::uint32_t h = 0x9747b28c ^ length;
  const std::size_t whole = key.size() / 4 * 4;
  auto byte = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(key[i]));
  };
  for (std::size_t i = 0; i < whole; i += 4) {
    std::uint32_t k = byte(i) | byte(i + 1) << 8 | byte(i + 2) << 16 | byte(i + 3) << 24;
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  switch (key.size() % 4) {
    case 3:
      h ^= byte(whole + 2) << 16;
      [[fallthrough]];
    case 2:
      h ^= byte(whole + 1) << 8;
      [[fallthrough]];
    case 1:
      h ^= byte(whole);
      h *= m;
      break;
    default:
      break;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<std::int32_t>(h);
}

// The partition of a non-empty `key` among `partitions` (> 0), as the Java client
// computes it: Utils.toPositive(murmur2(key)) % partitions.
[[nodiscard]] constexpr std::int32_t partition_for_key(std::string_view key,
                                                       std::int32_t partitions) noexcept {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(murmur2(key)) & 0x7fffffffU) %
         partitions;
}

}  // namespace mailhook::kafka
