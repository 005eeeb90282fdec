#include "kafka/partition_reader.h"

#include <algorithm>
#include <thread>

#include "kafka/client.h"

namespace mailhook::kafka {

result<std::map<std::int32_t, std::int64_t>> read_partitions(
    const config::kafka_config& kafka, const std::string& topic,
    const std::map<std::int32_t, std::optional<std::int64_t>>& from,
    std::chrono::milliseconds timeout, const std::function<void(const rd_kafka_message_t&)>& each,
    std::int64_t last) {
  auto conf = make_conf(kafka, {
                                   // Assigned, never subscribed or committed.
                                   {"group.id", "mailhook-partition-reader"},
                                   {"enable.auto.commit", "false"},
                                   {"enable.auto.offset.store", "false"},
                                   {"enable.partition.eof", "true"},
                                   {"isolation.level", "read_committed"},
                               });
  if (!conf) return conf.error();
  auto handle = make_handle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!handle) return handle.error();
  auto* consumer = handle->get();

  // Per partition still to read: the next offset expected and the end to reach.
  struct span {
    std::int64_t next = 0;
    std::int64_t end = 0;
  };
  std::map<std::int32_t, span> unread;
  std::map<std::int32_t, std::int64_t> ends;
  partition_list_ptr assignment(rd_kafka_topic_partition_list_new(static_cast<int>(from.size())));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& [partition, offset] : from) {
    std::int64_t low = 0;
    std::int64_t high = 0;
    for (;;) {
      auto err = rd_kafka_query_watermark_offsets(consumer, topic.c_str(), partition, &low, &high,
                                                  static_cast<int>(timeout.count()));
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      // A topic created a moment ago has no leader yet; a leader moving answers so too.
      bool leader_coming = err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                           err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
      if (!leader_coming || std::chrono::steady_clock::now() > deadline) {
        return kafka_failure(errc::consume_failed, err,
                             topic + " [" + std::to_string(partition) + "]: its end");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ends[partition] = high;
    std::int64_t start = std::max(offset.value_or(low), low);
    if (last > 0) start = std::max(start, high - last);
    if (start >= high) continue;
    unread[partition] = {start, high};
    rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), partition)->offset = start;
  }
  if (unread.empty()) return ends;
  if (auto err = rd_kafka_assign(consumer, assignment.get())) {
    return kafka_failure(errc::consume_failed, err, "assign partitions of " + topic);
  }

  result<std::map<std::int32_t, std::int64_t>> outcome = std::move(ends);
  while (!unread.empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      const auto& [partition, left] = *unread.begin();
      outcome = failure(errc::timed_out, "reading " + topic + " [" + std::to_string(partition) +
                                             "]: at " + std::to_string(left.next) + " of " +
                                             std::to_string(left.end) +
                                             " (a transaction left open holds the rest)");
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
    if (m == nullptr) continue;
    auto at = unread.find(m->partition);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (at != unread.end()) at->second.next = m->offset + 1;
      each(*m);
    } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (at != unread.end()) at->second.next = std::max(at->second.next, m->offset);
    } else {
      outcome = kafka_failure(errc::consume_failed, m->err,
                              "reading " + topic + ": " + rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      break;
    }
    if (at != unread.end() && at->second.next >= at->second.end) unread.erase(at);
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(consumer);
  return outcome;
}

}  // namespace mailhook::kafka
