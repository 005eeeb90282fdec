// Reads a topic of a test broker from the beginning, for tests that check what mailhook
// published. Every partition is assigned directly (no consumer group), so a
// read sees everything already written.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mailhook::testing {

struct kafka_record {
  std::string key;
  // The value as a consumer's deserializer gives it: without the Confluent framing of
  // ingest.record_format = "confluent" (kafka/record_framing.h), which raw_value keeps.
  std::string value;
  std::string raw_value;
  std::optional<std::uint32_t> schema_id;  // set when the value was framed
  std::map<std::string, std::string> headers;
  int partition = -1;
  std::int64_t timestamp_ms = -1;  // the record's timestamp; -1 when it has none
};

// librdkafka properties of the reading consumer beyond its bootstrap, for a broker that
// wants them (security.protocol, sasl.*, ssl.*).
using client_properties = std::map<std::string, std::string>;

// Reads `topic` until `expected` records arrived or `timeout` passed (then returns what it
// has). With expected = 0 it reads for the whole timeout: to prove that nothing came.
std::vector<kafka_record> read_topic(const std::string& bootstrap, const std::string& topic,
                                     std::size_t expected, std::chrono::milliseconds timeout,
                                     const client_properties& properties = {});

// Reads `topic` from the beginning until `done(records so far)` says so or `timeout`.
std::vector<kafka_record> read_topic_until(
    const std::string& bootstrap, const std::string& topic,
    const std::function<bool(const std::vector<kafka_record>&)>& done,
    std::chrono::milliseconds timeout, const client_properties& properties = {});

// Assigns every one of the `partitions` of `topic` to `consumer` (no consumer group), each
// from its first offset, so that a read sees everything already written.
void assign_from_beginning(rd_kafka_t* consumer, const std::string& topic, int partitions);

// A topic name no other test uses.
std::string unique_topic(const std::string& stem);

}  // namespace mailhook::testing
