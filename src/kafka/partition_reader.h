// Reads chosen partitions of one topic from a given offset to their end, once, for a role
// that rebuilds what a partition's previous owner left: the sender's ledger, the policy's
// soft-bounce history, the deduplicator's window of seen ids. A consumer of its own,
// assigned and never subscribed or committed, read committed.
//
// "Their end" is the high watermark when the read starts. A transaction left open on a
// partition (its producer died) holds the read before it until the transaction is
// aborted or committed, so the read never ends on a state that is about to change; the
// timeout bounds that wait.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "common/result.h"
#include "config/daemon_config.h"

namespace mailhook::kafka {

// Calls `each` with every record (in offset order per partition) of the partitions of
// `topic` named in `from`, each from its offset there (nullopt, or one below the
// partition's start: from its start) to its end; with `last` > 0, from no earlier than
// `last` offsets before the end. Returns each partition's end.
[[nodiscard]] result<std::map<std::int32_t, std::int64_t>> read_partitions(
    const config::kafka_config& kafka, const std::string& topic,
    const std::map<std::int32_t, std::optional<std::int64_t>>& from,
    std::chrono::milliseconds timeout, const std::function<void(const rd_kafka_message_t&)>& each,
    std::int64_t last = 0);

}  // namespace mailhook::kafka
