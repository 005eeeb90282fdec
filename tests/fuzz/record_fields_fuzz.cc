// libFuzzer target for the index's hand-written reader of SuppressionRecord bytes
// (index/record_fields.h), checked against protobuf's own parser: bytes protobuf accepts
// must be read, with the same field values and the same key as suppression::key_of
// computes from protobuf's message (a replica refuses a record whose key differs);
// whatever the reader accepts, its views lie inside the bytes. Single-threaded.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "index/record_fields.h"
#include "suppression/record.h"

namespace {

using mailhook::suppression_origin;
using mailhook::suppression_reason;
using mailhook::suppression_scope;

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

bool inside(std::string_view view, std::string_view bytes) {
  return view.empty() ||
         (view.data() >= bytes.data() && view.data() + view.size() <= bytes.data() + bytes.size());
}

// What the reader must make of protobuf's enum values: the known ones as they are, any
// other as the code that reads protobuf messages treats it (key_of: a global key).
suppression_scope expected_scope(int scope) {
  if (scope == mailhook::v1::SUPPRESSION_SCOPE_GROUP) return suppression_scope::group;
  if (scope == mailhook::v1::SUPPRESSION_SCOPE_TENANT) return suppression_scope::tenant;
  return suppression_scope::global;
}
suppression_reason expected_reason(int reason) {
  return reason >= 0 && reason <= static_cast<int>(suppression_reason::manual)
             ? static_cast<suppression_reason>(reason)
             : suppression_reason::unspecified;
}
suppression_origin expected_origin(int origin) {
  return origin >= 0 && origin <= static_cast<int>(suppression_origin::import)
             ? static_cast<suppression_origin>(origin)
             : suppression_origin::unspecified;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A copy of exactly `size` bytes, so that ASan sees a read past the end.
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  mailhook::index::record_fields fields;
  const bool read = mailhook::index::read_fields(bytes, fields);
  if (read) {
    require(inside(fields.tenant, bytes) && inside(fields.email_normalized, bytes) &&
                inside(fields.event_id, bytes),
            "the fields are views into the bytes");
    // The table keeps the verdict in one word; what it gives back must be what went in.
    const auto v = fields.verdict();
    const auto back = mailhook::index::packed_verdict::unpack(v.pack());
    require(back.suppressed == v.suppressed && back.scope == v.scope && back.reason == v.reason &&
                back.origin == v.origin,
            "the verdict packs losslessly");
  }

  mailhook::suppression::record r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return 0;
  require(read, "what protobuf parses, the reader reads");
  require(fields.tenant == r.tenant(), "same tenant");
  require(fields.email_normalized == r.email_normalized(), "same email_normalized");
  require(fields.event_id == r.event_id(), "same event_id");
  require(fields.asm_group_id == r.asm_group_id(), "same asm_group_id");
  require(fields.event_time_ms == r.event_time_ms(), "same event_time_ms");
  require(fields.received_at_ms == r.received_at_ms(), "same received_at_ms");
  require(fields.suppressed == r.suppressed(), "same suppressed");
  require(fields.scope == expected_scope(r.scope()), "same scope");
  require(fields.reason == expected_reason(r.reason()), "same reason");
  require(fields.origin == expected_origin(r.origin()), "same origin");
  std::string key;
  mailhook::index::write_key(key, fields);
  require(key == mailhook::suppression::key_of(r), "same key as key_of");
  return 0;
}
