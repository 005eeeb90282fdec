#include "index/record_fields.h"

#include "suppression/record.h"

namespace mailhook::index {
namespace {

bool read_varint(const char*& p, const char* end, std::uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    auto byte = static_cast<unsigned char>(*p++);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// Field numbers of mailhook.v1.SuppressionRecord (proto/mailhook/v1/suppression_record.proto).
enum field : std::uint32_t {
  tenant_field = 1,
  scope_field = 2,
  asm_group_id_field = 3,
  email_normalized_field = 4,
  suppressed_field = 6,
  reason_field = 7,
  event_time_ms_field = 9,
  event_id_field = 10,
  origin_field = 11,
  received_at_ms_field = 13,
};

}  // namespace

bool read_fields(std::string_view bytes, record_fields& out) {
  out = {};
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  while (p < end) {
    std::uint64_t tag = 0;
    if (!read_varint(p, end, tag)) return false;
    const auto number = static_cast<std::uint32_t>(tag >> 3);
    switch (tag & 7) {
      case 0: {  // varint
        std::uint64_t v = 0;
        if (!read_varint(p, end, v)) return false;
        const auto s = static_cast<std::int64_t>(v);
        switch (number) {
          case scope_field:
            out.scope = v == 0 ? suppression_scope::global : static_cast<suppression_scope>(v & 3);
            break;
          case asm_group_id_field:
            out.asm_group_id = s;
            break;
          case suppressed_field:
            out.suppressed = v != 0;
            break;
          case reason_field:
            out.reason = static_cast<suppression_reason>(v & 15);
            break;
          case event_time_ms_field:
            out.event_time_ms = s;
            break;
          case origin_field:
            out.origin = static_cast<suppression_origin>(v & 3);
            break;
          case received_at_ms_field:
            out.received_at_ms = s;
            break;
          default:
            break;
        }
        break;
      }
      case 1:  // 64-bit
        if (end - p < 8) return false;
        p += 8;
        break;
      case 2: {  // length-delimited
        std::uint64_t length = 0;
        if (!read_varint(p, end, length) || length > static_cast<std::uint64_t>(end - p))
          return false;
        std::string_view text(p, static_cast<std::size_t>(length));
        p += length;
        if (number == tenant_field) out.tenant = text;
        if (number == email_normalized_field) out.email_normalized = text;
        if (number == event_id_field) out.event_id = text;
        break;
      }
      case 5:  // 32-bit
        if (end - p < 4) return false;
        p += 4;
        break;
      default:
        return false;  // groups (3, 4) are not used by proto3; anything else is corrupt
    }
  }
  return true;
}

void write_key(std::string& out, const record_fields& fields) {
  switch (fields.scope) {
    case suppression_scope::group:
      suppression::write_group_key(
          out, email::tenant_id(fields.tenant), fields.asm_group_id,
          email::normalized_email::from_normalized(fields.email_normalized));
      return;
    case suppression_scope::tenant:
      out.assign(fields.tenant);
      out += "/tenant/";
      return;
    default:
      suppression::write_global_key(
          out, email::tenant_id(fields.tenant),
          email::normalized_email::from_normalized(fields.email_normalized));
  }
}

}  // namespace mailhook::index
