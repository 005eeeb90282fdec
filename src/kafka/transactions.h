// The consume → produce → commit pattern of Kafka transactions, as the policy and sender
// roles both use it: a transactional producer whose transaction carries the consumed
// offsets, a consumer group member with static membership, and the small pieces around
// them (librdkafka's error objects, copies of records, the commit with its abort).
//
// Threading: as librdkafka's; a transaction is driven from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "kafka/client.h"

namespace mailhook::kafka {

// "mailhook-<role>-<hostname>": an identity stable across restarts of one host, for
// transactional.id and group.instance.id.
[[nodiscard]] std::string host_identity(std::string_view role);

// Takes ownership of a librdkafka error and turns it into a failure naming `what`.
[[nodiscard]] failure take_error(rd_kafka_error_t* error, std::string_view what);

// A producer with `transactional_id` (idempotent, acks=all, lz4) whose transactions are
// initialized: any earlier instance with the same id is fenced and what it left open is
// aborted.
[[nodiscard]] result<handle_ptr> make_transactional_producer(const config::kafka_config& kafka,
                                                             const std::string& transactional_id,
                                                             std::chrono::milliseconds timeout);

// A consumer group member subscribed to `topic`: static membership under `instance_id` (a
// restarted instance takes its partitions back at once instead of waiting for its previous
// session to time out), offsets committed only through transactions, read_committed.
// `rebalance` and `opaque`, when given, are the librdkafka rebalance callback and its
// opaque pointer.
[[nodiscard]] result<handle_ptr> make_transactional_consumer(
    const config::kafka_config& kafka, const std::string& group_id, const std::string& instance_id,
    const std::string& topic,
    void (*rebalance)(rd_kafka_t*, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t*,
                      void*) = nullptr,
    void* opaque = nullptr);

// Produces a copy of `value` under `key` to `partition` of `topic` (RD_KAFKA_PARTITION_UA:
// the partitioner's choice), waiting while the local queue is full. `opaque` reaches the
// delivery report.
[[nodiscard]] rd_kafka_resp_err_t produce_copy(rd_kafka_t* producer, rd_kafka_topic_t* topic,
                                               std::int32_t partition, std::string_view key,
                                               std::string_view value, void* opaque = nullptr);

// Adds `offsets` (the next offsets to consume) of `consumer`'s group to the open
// transaction and commits it; on failure the transaction is aborted and the failure
// returned.
[[nodiscard]] result<void> commit_transaction(rd_kafka_t* producer, rd_kafka_t* consumer,
                                              const rd_kafka_topic_partition_list_t* offsets,
                                              std::chrono::milliseconds timeout);

// Aborts the open transaction, ignoring errors (the caller already has one to report).
void abort_transaction(rd_kafka_t* producer, std::chrono::milliseconds timeout);

}  // namespace mailhook::kafka
