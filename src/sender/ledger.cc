#include "sender/ledger.h"

#include <charconv>

#include "kafka/client.h"

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

result<ledger_tail> read_ledger(const config::kafka_config& kafka, const std::string& topic,
                                std::int32_t partition, std::optional<std::int64_t> from,
                                std::chrono::milliseconds timeout) {
  auto conf = kafka::make_conf(kafka, {
                                          // Assigned, never subscribed or committed.
                                          {"group.id", "mailhook-sender-ledger-reader"},
                                          {"enable.auto.commit", "false"},
                                          {"enable.auto.offset.store", "false"},
                                          {"enable.partition.eof", "true"},
                                      });
  if (!conf) return conf.error();
  auto handle = kafka::make_handle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!handle) return handle.error();
  auto* consumer = handle->get();

  ledger_tail tail;
  std::int64_t low = 0;
  std::int64_t high = 0;
  if (auto err = rd_kafka_query_watermark_offsets(consumer, topic.c_str(), partition, &low, &high,
                                                  static_cast<int>(timeout.count()))) {
    return kafka::kafka_failure(kafka::errc::consume_failed, err,
                                "ledger " + topic + " [" + std::to_string(partition) + "] end");
  }
  tail.end = high;
  std::int64_t start = std::max(from.value_or(low), low);
  if (start >= high) return tail;

  kafka::partition_list_ptr assignment(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), partition)->offset = start;
  if (auto err = rd_kafka_assign(consumer, assignment.get())) {
    return kafka::kafka_failure(kafka::errc::consume_failed, err, "assign ledger partition");
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::int64_t next = start;
  mailhook::v1::SendLedgerEntry entry;
  while (next < high) {
    if (std::chrono::steady_clock::now() > deadline) {
      rd_kafka_consumer_close(consumer);
      return failure(kafka::errc::timed_out,
                     "reading ledger " + topic + " [" + std::to_string(partition) + "] at " +
                         std::to_string(next) + " of " + std::to_string(high));
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      next = m->offset + 1;
      if (m->payload != nullptr && entry.ParseFromArray(m->payload, static_cast<int>(m->len))) {
        auto& kept = tail.by_request_offset[entry.request_offset()];
        if (!kept.done()) kept = entry;
      }
    } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      next = std::max(next, m->offset);
      if (next >= high) {
        rd_kafka_message_destroy(m);
        break;
      }
    } else {
      auto err = m->err;
      std::string what = rd_kafka_message_errstr(m);
      rd_kafka_message_destroy(m);
      rd_kafka_consumer_close(consumer);
      return kafka::kafka_failure(kafka::errc::consume_failed, err, "reading ledger: " + what);
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(consumer);
  return tail;
}

}  // namespace mailhook::sender
