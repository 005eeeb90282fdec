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

result<std::map<std::int32_t, ledger_tail>> read_ledger(
    const config::kafka_config& kafka, const std::string& topic,
    const std::map<std::int32_t, std::optional<std::int64_t>>& from,
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

  // Per partition still to read: the next offset expected and the end to reach.
  struct span {
    std::int64_t next = 0;
    std::int64_t end = 0;
  };
  std::map<std::int32_t, span> unread;
  std::map<std::int32_t, ledger_tail> tails;
  kafka::partition_list_ptr assignment(
      rd_kafka_topic_partition_list_new(static_cast<int>(from.size())));
  for (const auto& [partition, position] : from) {
    std::int64_t low = 0;
    std::int64_t high = 0;
    if (auto err = rd_kafka_query_watermark_offsets(consumer, topic.c_str(), partition, &low, &high,
                                                    static_cast<int>(timeout.count()))) {
      return kafka::kafka_failure(kafka::errc::consume_failed, err,
                                  "ledger " + topic + " [" + std::to_string(partition) + "] end");
    }
    tails[partition].end = high;
    std::int64_t start = std::max(position.value_or(low), low);
    if (start >= high) continue;
    unread[partition] = {start, high};
    rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), partition)->offset = start;
  }
  if (unread.empty()) return tails;
  if (auto err = rd_kafka_assign(consumer, assignment.get())) {
    return kafka::kafka_failure(kafka::errc::consume_failed, err, "assign ledger partitions");
  }

  auto deadline = std::chrono::steady_clock::now() + timeout;
  mailhook::v1::SendLedgerEntry entry;
  result<std::map<std::int32_t, ledger_tail>> outcome = std::move(tails);
  while (!unread.empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      const auto& [partition, left] = *unread.begin();
      outcome = failure(kafka::errc::timed_out,
                        "reading ledger " + topic + " [" + std::to_string(partition) + "] at " +
                            std::to_string(left.next) + " of " + std::to_string(left.end));
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
    if (m == nullptr) continue;
    auto at = unread.find(m->partition);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (at != unread.end()) at->second.next = m->offset + 1;
      if (m->payload != nullptr && entry.ParseFromArray(m->payload, static_cast<int>(m->len))) {
        auto& kept = (*outcome)[m->partition].by_request_offset[entry.request_offset()];
        if (!kept.done()) kept = entry;
      }
    } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (at != unread.end()) at->second.next = std::max(at->second.next, m->offset);
    } else {
      outcome = kafka::kafka_failure(kafka::errc::consume_failed, m->err,
                                     std::string("reading ledger: ") + rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      break;
    }
    if (at != unread.end() && at->second.next >= at->second.end) unread.erase(at);
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(consumer);
  return outcome;
}

}  // namespace mailhook::sender
