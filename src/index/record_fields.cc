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

// Enum values as the code that reads protobuf's messages sees them: protobuf keeps the
// low 32 bits of the varint, and a value this build does not know reads as unspecified,
// and as a global scope (suppression::key_of), so that both agree on every record's key.
suppression_scope scope_of(std::uint64_t v) {
  switch (static_cast<std::int32_t>(static_cast<std::uint32_t>(v))) {
    case static_cast<std::int32_t>(suppression_scope::group):
      return suppression_scope::group;
    case static_cast<std::int32_t>(suppression_scope::tenant):
      return suppression_scope::tenant;
    default:
      return suppression_scope::global;
  }
}

template <typename E>
E known_or_zero(std::uint64_t v, E last) {
  const auto value = static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return value >= 0 && value <= static_cast<std::int32_t>(last) ? static_cast<E>(value) : E{};
}

// Groups (wire types 3 and 4) are never written by proto3, but protobuf still parses one
// as an unknown field; so does the reader, so that both accept the same bytes. Protobuf
// refuses groups nested more than 100 deep; past that, so does the reader.
constexpr int max_group_depth = 100;

// Skips the fields of the group `number` has opened, its end tag included.
bool skip_group(const char*& p, const char* end, std::uint64_t number, int depth) {
  if (depth > max_group_depth) return false;
  while (p < end) {
    std::uint64_t tag = 0;
    if (!read_varint(p, end, tag)) return false;
    std::uint64_t v = 0;
    switch (tag & 7) {
      case 0:
        if (!read_varint(p, end, v)) return false;
        break;
      case 1:
        if (end - p < 8) return false;
        p += 8;
        break;
      case 2:
        if (!read_varint(p, end, v) || v > static_cast<std::uint64_t>(end - p)) return false;
        p += v;
        break;
      case 3:
        if (!skip_group(p, end, tag >> 3, depth + 1)) return false;
        break;
      case 4:
        return (tag >> 3) == number;
      case 5:
        if (end - p < 4) return false;
        p += 4;
        break;
      default:
        return false;
    }
  }
  return false;  // never closed
}

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
            out.scope = scope_of(v);
            break;
          case asm_group_id_field:
            out.asm_group_id = s;
            break;
          case suppressed_field:
            out.suppressed = v != 0;
            break;
          case reason_field:
            out.reason = known_or_zero<suppression_reason>(v, suppression_reason::manual);
            break;
          case event_time_ms_field:
            out.event_time_ms = s;
            break;
          case origin_field:
            out.origin = known_or_zero<suppression_origin>(v, suppression_origin::import);
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
      case 3:  // a group, whatever its number: no field of this message is one
        if (!skip_group(p, end, number, 1)) return false;
        break;
      default:
        return false;  // an end of group that none opened, or no wire type at all
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
