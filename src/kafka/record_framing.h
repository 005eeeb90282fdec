// Record values in the Confluent Schema Registry wire format, the form Kafka's ecosystem
// (Confluent's serializers, Kafka Connect, ksqlDB, most stream processors) reads without
// record headers: a magic byte 0, the schema id as a big-endian 32-bit number, for a
// protobuf value the path of its message in the .proto file (zigzag varints: the count,
// then each index; a single 0 byte stands for the path [0]), then the value's bytes.
// A JSON value (Confluent's JSON Schema form) has no path. docs/events.md describes the
// forms a mailhook record can take. Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mailhook::kafka {

// The bytes before a framed value of `schema_id`: the magic byte, the id and, for a
// protobuf value, its message path (`message_path` empty for a JSON value). Computed
// once per configuration and copied in front of each value.
[[nodiscard]] std::string confluent_prefix(std::uint32_t schema_id,
                                           std::span<const std::int32_t> message_path);

// What a reader finds in a record value.
struct record_value {
  std::string_view payload;     // the protobuf or JSON bytes
  bool framed = false;          // it came in the Confluent wire format
  std::uint32_t schema_id = 0;  // when framed
  bool json = false;            // framed JSON (no message path before it)
};

// Reads `value`: framed when its first byte is the magic byte, since a protobuf message
// never starts with a 0 byte (there is no field number 0) and JSON starts with '{'; else
// the bare value. nullopt for a framed value cut short or with a malformed message path.
[[nodiscard]] std::optional<record_value> read_record_value(std::string_view value) noexcept;

}  // namespace mailhook::kafka
