// The fields of a mailhook.v1.SuppressionRecord that a replica needs to apply it, read
// straight from the protobuf wire format: no allocation, views into the bytes. A replica
// applies hundreds of thousands of records a second while it bootstraps, and a full
// parse (one heap string per text field, then freeing them) was a third of that work.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "index/verdict_table.h"
#include "mailhook/suppression.h"

namespace mailhook::index {

struct record_fields {
  std::string_view tenant;
  std::string_view email_normalized;
  std::string_view event_id;
  std::int64_t asm_group_id = 0;
  std::int64_t event_time_ms = 0;
  std::int64_t received_at_ms = 0;
  suppression_scope scope = suppression_scope::global;  // unspecified or unknown: global
  suppression_reason reason = suppression_reason::unspecified;
  suppression_origin origin = suppression_origin::unspecified;
  bool suppressed = false;

  [[nodiscard]] packed_verdict verdict() const {
    return {suppressed, scope, reason, origin, event_time_ms};
  }
};

// Reads `bytes`; false when they are not a well-formed message. Unknown fields (groups
// too) are skipped, as protobuf does: whatever protobuf parses is read, with the same
// values (tests/fuzz/record_fields_fuzz.cc checks it). The views point into `bytes`.
[[nodiscard]] bool read_fields(std::string_view bytes, record_fields& out);

// Writes the record's key (suppression/record.h) into `out`.
void write_key(std::string& out, const record_fields& fields);

// Last writer wins: a later event time, or the same time and a greater event id.
[[nodiscard]] inline bool wins_over(const record_fields& candidate, const record_fields& current) {
  if (candidate.event_time_ms != current.event_time_ms)
    return candidate.event_time_ms > current.event_time_ms;
  return candidate.event_id > current.event_id;
}

}  // namespace mailhook::index
