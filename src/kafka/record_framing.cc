#include "kafka/record_framing.h"

namespace mailhook::kafka {
namespace {

constexpr char magic_byte = 0;
constexpr std::size_t header_bytes = 5;  // the magic byte and the schema id
// Paths in a .proto file are short (a message, maybe nested a few levels): a longer one
// is a malformed value, not a deeper schema.
constexpr std::uint64_t max_path_length = 64;

void put_zigzag_varint(std::string& out, std::int64_t n) {
  auto v = (static_cast<std::uint64_t>(n) << 1) ^ static_cast<std::uint64_t>(n >> 63);
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// A zigzag varint at `pos` of at most 5 bytes (a 32-bit number); nullopt when cut short
// or longer.
std::optional<std::int64_t> read_zigzag_varint(std::string_view in, std::size_t& pos) noexcept {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (pos >= in.size()) return std::nullopt;
    const auto byte = static_cast<unsigned char>(in[pos++]);
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
    }
  }
  return std::nullopt;
}

}  // namespace

std::string confluent_prefix(std::uint32_t schema_id, std::span<const std::int32_t> message_path) {
  std::string out;
  out.push_back(magic_byte);
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((schema_id >> shift) & 0xff));
  }
  if (message_path.empty()) return out;
  if (message_path.size() == 1 && message_path[0] == 0) {
    out.push_back(0);  // Confluent's short form of the path [0]
    return out;
  }
  put_zigzag_varint(out, static_cast<std::int64_t>(message_path.size()));
  for (auto index : message_path) put_zigzag_varint(out, index);
  return out;
}

std::optional<record_value> read_record_value(std::string_view value) noexcept {
  if (value.empty() || value[0] != magic_byte) return record_value{value};
  if (value.size() < header_bytes) return std::nullopt;
  record_value out;
  out.framed = true;
  for (std::size_t i = 1; i < header_bytes; ++i) {
    out.schema_id = out.schema_id << 8 | static_cast<unsigned char>(value[i]);
  }
  std::size_t pos = header_bytes;
  if (pos < value.size() && value[pos] == '{') {
    out.json = true;
    out.payload = value.substr(pos);
    return out;
  }
  const auto count = read_zigzag_varint(value, pos);
  // The short form: one 0 byte is the path [0], read as a count of 0.
  if (!count || *count < 0 || static_cast<std::uint64_t>(*count) > max_path_length) {
    return std::nullopt;
  }
  for (std::int64_t i = 0; i < *count; ++i) {
    const auto index = read_zigzag_varint(value, pos);
    if (!index || *index < 0) return std::nullopt;
  }
  out.payload = value.substr(pos);
  return out;
}

}  // namespace mailhook::kafka
