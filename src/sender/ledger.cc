#include "sender/ledger.h"

#include <charconv>

#include "kafka/partition_reader.h"

namespace mailhook::sender {

std::string ledger_metadata(std::int64_t position) {
  return "ledger:" + std::to_string(position);
}

std::optional<std::int64_t> parse_ledger_metadata(std::string_view metadata) {
  constexpr std::string_view prefix = "ledger:";
  if (!metadata.starts_with(prefix)) return std::nullopt;
  metadata.remove_prefix(prefix.size());
  std::int64_t position = 0;
  auto [end, error] = std::from_chars(metadata.data(), metadata.data() + metadata.size(), position);
  if (error != std::errc() || end != metadata.data() + metadata.size() || position < 0)
    return std::nullopt;
  return position;
}

result<std::map<std::int32_t, ledger_tail>> read_ledger(
    const config::kafka_config& kafka, const std::string& topic,
    const std::map<std::int32_t, std::optional<std::int64_t>>& from,
    std::chrono::milliseconds timeout) {
  std::map<std::int32_t, ledger_tail> tails;
  mailhook::v1::SendLedgerEntry entry;
  auto ends = kafka::read_partitions(kafka, topic, from, timeout, [&](const rd_kafka_message_t& m) {
    if (m.payload == nullptr || !entry.ParseFromArray(m.payload, static_cast<int>(m.len))) return;
    auto& kept = tails[m.partition].by_request_offset[entry.request_offset()];
    if (!kept.done()) kept = entry;
  });
  if (!ends) return ends.error();
  for (const auto& [partition, end] : *ends) tails[partition].end = end;
  return tails;
}

}  // namespace mailhook::sender
