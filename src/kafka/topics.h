// The one place that creates mailhook's topics: partitions, replication, and compaction
// for the suppressions changelog. Used by `mailhook serve` at start (kafka.create_topics)
// and by `mailhook topics ensure`.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <vector>

#include "common/result.h"
#include "config/daemon_config.h"

namespace mailhook::kafka {

// Every topic of `topics`, in a fixed order.
[[nodiscard]] std::vector<config::topic_spec> all_topics(const config::topics_config& topics);

// Creates the topics that do not exist. An existing topic is accepted as it is, except
// that a topic meant to be compacted must have cleanup.policy=compact: a changelog that
// deletes old records would silently lose suppressions.
[[nodiscard]] result<void> ensure_topics(rd_kafka_t* handle,
                                         const std::vector<config::topic_spec>& topics,
                                         std::chrono::milliseconds timeout);

}  // namespace mailhook::kafka
