// The sender's write-ahead log on Kafka (topic mailhook.send.ledger), which is what makes
// "never sent twice" hold across crashes and across hosts.
//
// Before the sender calls SendGrid for a request, an "attempting" entry for it is in
// Kafka (acks=all); after the call, a "done" entry carries the result. Entries go to the
// ledger partition with the same number as the request's partition, and the offsets
// the sender commits for a request partition carry, as their metadata, the ledger
// position at that moment. So whoever owns the partition next reads the ledger from that
// position to its end and learns, for every request after the committed offset, whether
// it was already sent (its result is re-published, SendGrid is not called) or was being
// sent when the owner died (published as indeterminate, not called again).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"
#include "config/daemon_config.h"
#include "mailhook/v1/send.pb.h"

namespace mailhook::sender {

// The metadata of a committed request offset: "ledger:<position>".
[[nodiscard]] std::string ledger_metadata(std::int64_t position);
[[nodiscard]] std::optional<std::int64_t> parse_ledger_metadata(std::string_view metadata);

// What the ledger holds after a position, for one partition.
struct ledger_tail {
  // By request offset: the last entry of each request (a "done" wins over "attempting").
  std::unordered_map<std::int64_t, mailhook::v1::SendLedgerEntry> by_request_offset;
  std::int64_t end = 0;  // the ledger partition's end when it was read
};

// Reads the ledger partitions of `topic` named in `from`, each from its position there
// (nullopt: from the partition's start) to its current end, with one consumer.
[[nodiscard]] result<std::map<std::int32_t, ledger_tail>> read_ledger(
    const config::kafka_config& kafka, const std::string& topic,
    const std::map<std::int32_t, std::optional<std::int64_t>>& from,
    std::chrono::milliseconds timeout);

}  // namespace mailhook::sender
