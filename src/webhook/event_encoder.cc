// Hand-written encoders for mailhook.v1.EmailEvent and DeadLetter (see event_encoder.h).
//
// Every record is written in two passes over the same template: a counting pass that
// only adds up sizes, then a writing pass into space claimed once from the arena. Both
// passes see the same fields in the same order, so the sizes cannot disagree, and the
// writing pass needs no bounds checks. Fields go out in field-number order and proto3
// defaults are skipped, which is exactly what protobuf's own serializer produces, so the
// bytes equal EmailEvent::SerializeAsString() of the same message.
// Over 600 lines: both encoders walk the same fields with the same templates, so that
// the protobuf and JSON forms cannot drift apart.
#include "webhook/event_encoder.h"

#include <array>
#include <charconv>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/check.h"
#include "mailhook/v1/email_event.pb.h"

// Both passes inline every field helper: otherwise each field costs a call per pass.
#define MAILHOOK_ENCODER_INLINE [[gnu::always_inline]] inline

namespace mailhook::webhook {
namespace {

// event_type mirrors mailhook.v1.EventType value for value.
static_assert(static_cast<int>(event_type::unknown) == v1::EVENT_TYPE_UNKNOWN);
static_assert(static_cast<int>(event_type::processed) == v1::EVENT_TYPE_PROCESSED);
static_assert(static_cast<int>(event_type::dropped) == v1::EVENT_TYPE_DROPPED);
static_assert(static_cast<int>(event_type::delivered) == v1::EVENT_TYPE_DELIVERED);
static_assert(static_cast<int>(event_type::deferred) == v1::EVENT_TYPE_DEFERRED);
static_assert(static_cast<int>(event_type::bounce) == v1::EVENT_TYPE_BOUNCE);
static_assert(static_cast<int>(event_type::open) == v1::EVENT_TYPE_OPEN);
static_assert(static_cast<int>(event_type::click) == v1::EVENT_TYPE_CLICK);
static_assert(static_cast<int>(event_type::spamreport) == v1::EVENT_TYPE_SPAMREPORT);
static_assert(static_cast<int>(event_type::unsubscribe) == v1::EVENT_TYPE_UNSUBSCRIBE);
static_assert(static_cast<int>(event_type::group_unsubscribe) == v1::EVENT_TYPE_GROUP_UNSUBSCRIBE);
static_assert(static_cast<int>(event_type::group_resubscribe) == v1::EVENT_TYPE_GROUP_RESUBSCRIBE);
static_assert(static_cast<int>(event_type::account_status_change) ==
              v1::EVENT_TYPE_ACCOUNT_STATUS_CHANGE);
static_assert(v1::EventType_MAX == v1::EVENT_TYPE_ACCOUNT_STATUS_CHANGE);

// --- JSON string escaping -------------------------------------------------------------

// Escaped length of each byte inside a JSON string: 1 means as is. Bytes >= 0x80 are
// UTF-8 that simdjson has validated (or our own ASCII text), kept as they are.
constexpr std::array<std::uint8_t, 256> escaped_length = [] {
  std::array<std::uint8_t, 256> t{};
  for (auto& x : t) x = 1;
  for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = 6;  // \u00XX
  for (char c : {'\b', '\f', '\n', '\r', '\t', '"', '\\'}) t[static_cast<unsigned char>(c)] = 2;
  return t;
}();

// Whether none of the 16 bytes at p needs escaping: long texts (raw_json, custom args,
// dead-letter details) are mostly such chunks, which then cost one compare, not sixteen.
// Reads exactly [p, p + 16).
inline bool plain_chunk(const char* p) noexcept {
#if defined(__SSE2__)
  const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i control =
      _mm_cmpeq_epi8(_mm_max_epu8(chunk, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
  const __m128i quote = _mm_cmpeq_epi8(chunk, _mm_set1_epi8('"'));
  const __m128i backslash = _mm_cmpeq_epi8(chunk, _mm_set1_epi8('\\'));
  return _mm_movemask_epi8(_mm_or_si128(control, _mm_or_si128(quote, backslash))) == 0;
#else
  for (int i = 0; i < 16; ++i) {
    if (escaped_length[static_cast<unsigned char>(p[i])] != 1) return false;
  }
  return true;
#endif
}

char* write_escaped_byte(char* p, unsigned char c) noexcept {
  constexpr char hex[] = "0123456789abcdef";
  *p++ = '\\';
  switch (c) {
    case '\b':
      *p++ = 'b';
      break;
    case '\f':
      *p++ = 'f';
      break;
    case '\n':
      *p++ = 'n';
      break;
    case '\r':
      *p++ = 'r';
      break;
    case '\t':
      *p++ = 't';
      break;
    case '"':
      *p++ = '"';
      break;
    case '\\':
      *p++ = '\\';
      break;
    default:
      *p++ = 'u';
      *p++ = '0';
      *p++ = '0';
      *p++ = hex[c >> 4];
      *p++ = hex[c & 0xf];
  }
  return p;
}

// --- the two passes ---------------------------------------------------------------------

constexpr std::size_t varint_size(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Counting pass.
struct size_counter {
  std::size_t n = 0;

  MAILHOOK_ENCODER_INLINE void put(char) noexcept { ++n; }
  MAILHOOK_ENCODER_INLINE void put(std::string_view s) noexcept { n += s.size(); }
  MAILHOOK_ENCODER_INLINE void varint(std::uint64_t v) noexcept { n += varint_size(v); }
  void decimal(std::int64_t v) noexcept {
    auto magnitude = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    std::size_t digits = 1;
    for (std::uint64_t bound = 10; digits < 20 && magnitude >= bound; bound *= 10) ++digits;
    n += digits + (v < 0 ? 1 : 0);
  }
  void put_escaped(std::string_view s) noexcept {
    std::size_t i = 0;
    std::size_t extra = 0;
    for (; i + 16 <= s.size(); i += 16) {
      if (plain_chunk(s.data() + i)) continue;
      for (std::size_t k = i; k < i + 16; ++k)
        extra += escaped_length[static_cast<unsigned char>(s[k])] - 1u;
    }
    for (; i < s.size(); ++i) extra += escaped_length[static_cast<unsigned char>(s[i])] - 1u;
    n += s.size() + extra;
  }
  void mark() noexcept {}
};

// Writing pass, into space the counting pass sized.
struct byte_writer {
  char* begin;
  char* p;

  MAILHOOK_ENCODER_INLINE void put(char c) noexcept { *p++ = c; }
  MAILHOOK_ENCODER_INLINE void put(std::string_view s) noexcept {
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
  // The loops use a local copy of p: stores through char* may alias p itself, which
  // would otherwise make the compiler reload and store it for every byte.
  MAILHOOK_ENCODER_INLINE void varint(std::uint64_t v) noexcept {
    char* q = p;
    while (v >= 0x80) {
      *q++ = static_cast<char>(static_cast<std::uint8_t>(v) | 0x80);
      v >>= 7;
    }
    *q++ = static_cast<char>(v);
    p = q;
  }
  void decimal(std::int64_t v) noexcept { p = std::to_chars(p, p + 20, v).ptr; }
  // Chunks of 16 bytes that need no escaping are copied whole; the others, and short
  // texts, byte by byte (JSON text has a quote every few bytes, and a call to copy each
  // run between them would cost more than the bytes).
  void put_escaped(std::string_view s) noexcept {
    char* q = p;
    std::size_t i = 0;
    for (; i + 16 <= s.size(); i += 16) {
      if (plain_chunk(s.data() + i)) {
        std::memcpy(q, s.data() + i, 16);
        q += 16;
      } else {
        q = escape_bytes(q, s.substr(i, 16));
      }
    }
    p = escape_bytes(q, s.substr(i));
  }
  static char* escape_bytes(char* q, std::string_view s) noexcept {
    for (char c : s) {
      auto u = static_cast<unsigned char>(c);
      if (escaped_length[u] == 1) [[likely]] {
        *q++ = c;
      } else {
        q = write_escaped_byte(q, u);
      }
    }
    return q;
  }
  // Remembers where the next bytes go (the sg_event_id inside the value).
  void mark() noexcept { marked = p; }
  char* marked = nullptr;
};

// --- protobuf wire format ---------------------------------------------------------------

enum wire : std::uint32_t { varint_wire = 0, length_wire = 2 };

template <class Out>
MAILHOOK_ENCODER_INLINE void tag(Out& o, std::uint32_t number, wire w) {
  o.varint((number << 3) | w);
}

template <class Out>
MAILHOOK_ENCODER_INLINE void pb_string(Out& o, std::uint32_t number, std::string_view s) {
  if (s.empty()) return;
  tag(o, number, length_wire);
  o.varint(s.size());
  o.put(s);
}

// int64 and int32 alike: negative values are sign-extended to ten bytes.
template <class Out>
MAILHOOK_ENCODER_INLINE void pb_int(Out& o, std::uint32_t number, std::int64_t v) {
  tag(o, number, varint_wire);
  o.varint(static_cast<std::uint64_t>(v));
}

template <class Out>
MAILHOOK_ENCODER_INLINE void pb_int_nonzero(Out& o, std::uint32_t number, std::int64_t v) {
  if (v != 0) pb_int(o, number, v);
}

template <class Out>
MAILHOOK_ENCODER_INLINE void pb_optional_int(Out& o, std::uint32_t number,
                                             const std::optional<std::int64_t>& v) {
  if (v) pb_int(o, number, *v);  // proto3 optional: written when present, even if 0
}

template <class Out>
MAILHOOK_ENCODER_INLINE void pb_optional_bool(Out& o, std::uint32_t number,
                                              const std::optional<bool>& v) {
  if (v) pb_int(o, number, *v ? 1 : 0);
}

// The custom args object's JSON text, either as is (protobuf) or escaped into a JSON
// string (JSON output). Escaping piece by piece equals escaping the whole text.
template <bool escape, class Out>
void custom_args_text(Out& o, std::span<const raw_member> members) {
  auto piece = [&o](std::string_view s) {
    if constexpr (escape) {
      o.put_escaped(s);
    } else {
      o.put(s);
    }
  };
  piece("{\"");
  bool first = true;
  for (const auto& m : members) {
    if (!first) piece(",\"");
    first = false;
    piece(m.key);
    piece("\":");
    piece(m.value);
  }
  piece("}");
}

std::size_t custom_args_size(std::span<const raw_member> members) noexcept {
  // {"k":v,"k":v}: 2 braces, per member 3 bytes of quotes and colon, commas between.
  std::size_t n = 2 + (members.size() - 1);
  for (const auto& m : members) n += m.key.size() + m.value.size() + 3;
  return n;
}

template <class Out>
void pb_email_event(Out& o, const batch_context& ctx, event_type type, const parsed_event& e,
                    std::string_view normalized, bool keep_raw) {
  pb_string(o, 1, ctx.tenant);
  pb_string(o, 2, ctx.source);
  pb_int_nonzero(o, 3, ctx.received_at_ms);
  pb_int_nonzero(o, 4, static_cast<std::int64_t>(type));
  pb_string(o, 5, e.event.text);
  pb_int_nonzero(o, 6, e.timestamp);
  if (!e.sg_event_id.empty()) {
    tag(o, 7, length_wire);
    o.varint(e.sg_event_id.text.size());
    o.mark();
    o.put(e.sg_event_id.text);
  }
  pb_string(o, 8, e.sg_message_id.text);
  pb_string(o, 9, e.smtp_id.text);
  pb_string(o, 10, e.email.text);
  if (!normalized.empty()) {
    tag(o, 11, length_wire);
    o.varint(normalized.size());
    o.put(normalized);
  }
  for (const auto& c : e.category) {  // repeated: every element, empty ones too
    tag(o, 12, length_wire);
    o.varint(c.text.size());
    o.put(c.text);
  }
  pb_string(o, 13, e.reason.text);
  pb_string(o, 14, e.status.text);
  pb_string(o, 15, e.response.text);
  pb_optional_int(o, 16, e.attempt);
  pb_string(o, 17, e.bounce_type.text);
  pb_string(o, 18, e.bounce_classification.text);
  pb_optional_int(o, 19, e.asm_group_id);
  pb_optional_bool(o, 20, e.tls);
  pb_string(o, 21, e.ip.text);
  pb_string(o, 22, e.useragent.text);
  pb_string(o, 23, e.url.text);
  if (e.has_url_offset) {
    size_counter sub;
    pb_int_nonzero(sub, 1, e.url_offset_index);
    pb_string(sub, 2, e.url_offset_type.text);
    tag(o, 24, length_wire);
    o.varint(sub.n);
    pb_int_nonzero(o, 1, e.url_offset_index);
    pb_string(o, 2, e.url_offset_type.text);
  }
  pb_optional_bool(o, 25, e.sg_machine_open);
  if (e.has_pool) {
    size_counter sub;
    pb_string(sub, 1, e.pool_name.text);
    pb_int_nonzero(sub, 2, e.pool_id);
    tag(o, 26, length_wire);
    o.varint(sub.n);
    pb_string(o, 1, e.pool_name.text);
    pb_int_nonzero(o, 2, e.pool_id);
  }
  pb_optional_int(o, 27, e.send_at);
  pb_string(o, 28, e.marketing_campaign_id.text);
  pb_string(o, 29, e.marketing_campaign_name.text);
  if (!e.custom_args.empty()) {
    tag(o, 30, length_wire);
    o.varint(custom_args_size(e.custom_args));
    custom_args_text<false>(o, e.custom_args);
  }
  if (keep_raw) pb_string(o, 31, e.raw_json);
}

// --- proto3 JSON ------------------------------------------------------------------------
//
// Field names as declared in the .proto (JsonStringToMessage accepts them as well as the
// lowerCamelCase ones), enum values by name, int64 as JSON numbers (accepted exactly by
// the parser; the printer would quote them), bytes as base64, defaults left out as the
// printer does. custom_args_json stays what the schema says, a string holding JSON: an
// embedded object under another name would not survive JsonStringToMessage.

template <class Out>
class json_object {
 public:
  explicit json_object(Out& o) : o_(o) { o_.put('{'); }
  void close() { o_.put('}'); }

  // `name` is the field name with its quotes and colon: "\"tenant\":".
  void key(std::string_view quoted_name) {
    if (!first_) o_.put(',');
    first_ = false;
    o_.put(quoted_name);
  }
  void escaped_string(std::string_view quoted_name, std::string_view s) {
    if (s.empty()) return;
    key(quoted_name);
    o_.put('"');
    o_.put_escaped(s);
    o_.put('"');
  }
  void string(std::string_view quoted_name, const json_string& s) {
    if (s.empty()) return;
    key(quoted_name);
    o_.put('"');
    o_.put(s.json);
    o_.put('"');
  }
  void integer(std::string_view quoted_name, std::int64_t v) {
    key(quoted_name);
    o_.decimal(v);
  }
  void nonzero(std::string_view quoted_name, std::int64_t v) {
    if (v != 0) integer(quoted_name, v);
  }
  void optional_int(std::string_view quoted_name, const std::optional<std::int64_t>& v) {
    if (v) integer(quoted_name, *v);
  }
  void optional_bool(std::string_view quoted_name, const std::optional<bool>& v) {
    if (!v) return;
    key(quoted_name);
    o_.put(*v ? std::string_view("true") : std::string_view("false"));
  }
  Out& out() { return o_; }

 private:
  Out& o_;
  bool first_ = true;
};

template <class Out>
void json_email_event(Out& o, const batch_context& ctx, event_type type, const parsed_event& e,
                      std::string_view normalized, bool keep_raw) {
  json_object<Out> j(o);
  j.escaped_string("\"tenant\":", ctx.tenant);
  j.escaped_string("\"source\":", ctx.source);
  j.nonzero("\"received_at_ms\":", ctx.received_at_ms);
  if (type != event_type::unknown) {
    j.key("\"type\":");
    o.put('"');
    o.put(proto_enum_name(type));
    o.put('"');
  }
  j.string("\"event\":", e.event);
  j.nonzero("\"timestamp\":", e.timestamp);
  if (!e.sg_event_id.empty()) {
    j.key("\"sg_event_id\":");
    o.put('"');
    o.mark();
    o.put(e.sg_event_id.json);
    o.put('"');
  }
  j.string("\"sg_message_id\":", e.sg_message_id);
  j.string("\"smtp_id\":", e.smtp_id);
  j.string("\"email\":", e.email);
  if (!normalized.empty()) {
    j.key("\"email_normalized\":");
    o.put('"');
    o.put_escaped(normalized);
    o.put('"');
  }
  if (!e.category.empty()) {
    j.key("\"category\":");
    o.put('[');
    bool first = true;
    for (const auto& c : e.category) {
      if (!first) o.put(',');
      first = false;
      o.put('"');
      o.put(c.json);
      o.put('"');
    }
    o.put(']');
  }
  j.string("\"reason\":", e.reason);
  j.string("\"status\":", e.status);
  j.string("\"response\":", e.response);
  j.optional_int("\"attempt\":", e.attempt);
  j.string("\"bounce_type\":", e.bounce_type);
  j.string("\"bounce_classification\":", e.bounce_classification);
  j.optional_int("\"asm_group_id\":", e.asm_group_id);
  j.optional_bool("\"tls\":", e.tls);
  j.string("\"ip\":", e.ip);
  j.string("\"useragent\":", e.useragent);
  j.string("\"url\":", e.url);
  if (e.has_url_offset) {
    j.key("\"url_offset\":");
    json_object<Out> sub(o);
    sub.nonzero("\"index\":", e.url_offset_index);
    sub.string("\"type\":", e.url_offset_type);
    sub.close();
  }
  j.optional_bool("\"sg_machine_open\":", e.sg_machine_open);
  if (e.has_pool) {
    j.key("\"pool\":");
    json_object<Out> sub(o);
    sub.string("\"name\":", e.pool_name);
    sub.nonzero("\"id\":", e.pool_id);
    sub.close();
  }
  j.optional_int("\"send_at\":", e.send_at);
  j.string("\"marketing_campaign_id\":", e.marketing_campaign_id);
  j.string("\"marketing_campaign_name\":", e.marketing_campaign_name);
  if (!e.custom_args.empty()) {
    j.key("\"custom_args_json\":");
    o.put('"');
    custom_args_text<true>(o, e.custom_args);
    o.put('"');
  }
  if (keep_raw) j.escaped_string("\"raw_json\":", e.raw_json);
  j.close();
}

template <class Out>
void record_key(Out& o, const batch_context& ctx, std::string_view normalized) {
  o.put(ctx.tenant);
  o.put('/');
  o.put(normalized);
}

// --- dead letters -----------------------------------------------------------------------

constexpr char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

template <class Out>
void base64(Out& o, std::string_view in) {
  auto byte = [&in](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(in[i]));
  };
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    o.put(base64_alphabet[(v >> 18) & 63]);
    o.put(base64_alphabet[(v >> 12) & 63]);
    o.put(base64_alphabet[(v >> 6) & 63]);
    o.put(base64_alphabet[v & 63]);
  }
  if (std::size_t rest = in.size() - i; rest != 0) {
    std::uint32_t v = byte(i) << 16;
    if (rest == 2) v |= byte(i + 1) << 8;
    o.put(base64_alphabet[(v >> 18) & 63]);
    o.put(base64_alphabet[(v >> 12) & 63]);
    o.put(rest == 2 ? base64_alphabet[(v >> 6) & 63] : '=');
    o.put('=');
  }
}

template <class Out>
void dead_letter_value(Out& o, const batch_context& ctx, std::string_view reason,
                       std::string_view detail, std::string_view payload, std::int32_t index,
                       const payload_part& part) {
  if (ctx.encoding == output_encoding::protobuf) {
    pb_string(o, 1, ctx.tenant);
    pb_string(o, 2, ctx.source);
    pb_int_nonzero(o, 3, ctx.received_at_ms);
    pb_string(o, 4, reason);
    pb_string(o, 5, detail);
    pb_string(o, 6, payload);
    pb_int_nonzero(o, 7, index);
    pb_int_nonzero(o, 8, part.part);
    pb_int_nonzero(o, 9, part.parts);
    pb_int_nonzero(o, 10, part.payload_size);
    pb_string(o, 11, part.payload_sha256);
    return;
  }
  json_object<Out> j(o);
  j.escaped_string("\"tenant\":", ctx.tenant);
  j.escaped_string("\"source\":", ctx.source);
  j.nonzero("\"received_at_ms\":", ctx.received_at_ms);
  j.escaped_string("\"reason\":", reason);
  j.escaped_string("\"detail\":", detail);
  if (!payload.empty()) {
    j.key("\"payload\":");
    o.put('"');
    base64(o, payload);
    o.put('"');
  }
  j.nonzero("\"event_index\":", index);
  j.nonzero("\"part\":", part.part);
  j.nonzero("\"parts\":", part.parts);
  j.nonzero("\"payload_size\":", part.payload_size);
  if (!part.payload_sha256.empty()) {
    j.key("\"payload_sha256\":");
    o.put('"');
    base64(o, part.payload_sha256);
    o.put('"');
  }
  j.close();
}

template <class Emit>
void assign_encoded(std::string& out, Emit&& emit) {
  size_counter n;
  emit(n);
  out.resize(n.n);
  byte_writer w{out.data(), out.data()};
  emit(w);
  MAILHOOK_CHECK(w.p == out.data() + n.n, "dead letter size pass and write pass disagree");
}

}  // namespace

bool record_writer::append(const batch_context& ctx, event_type type, const parsed_event& event,
                           encoded_record& out) {
  const bool json = ctx.encoding == output_encoding::json;
  const bool keep_raw = ctx.keep_raw_event;
  const std::string_view normalized = event.email_normalized;

  size_counter key;
  record_key(key, ctx, normalized);
  size_counter value;
  if (json) {
    json_email_event(value, ctx, type, event, normalized, keep_raw);
  } else {
    pb_email_event(value, ctx, type, event, normalized, keep_raw);
  }
  // In JSON the value holds sg_event_id as received; if that had escapes, the decoded id
  // for the header is written after the value.
  const bool id_inline = !json || event.sg_event_id.verbatim();
  const std::size_t id_extra = id_inline ? 0 : event.sg_event_id.text.size();
  const std::string_view prefix = ctx.event_value_prefix;
  value.n += prefix.size();
  const std::size_t total = key.n + value.n + id_extra;
  const std::size_t used = arena_.size();
  if (used + total > std::numeric_limits<std::uint32_t>::max()) return false;

  // Every claimed byte is written below: the arena does not fill them first.
  char* base = arena_.grow_unwritten(total);
  byte_writer w{base, base};
  record_key(w, ctx, normalized);
  char* value_begin = w.p;
  w.put(prefix);
  if (json) {
    json_email_event(w, ctx, type, event, normalized, keep_raw);
  } else {
    pb_email_event(w, ctx, type, event, normalized, keep_raw);
  }
  char* value_end = w.p;
  MAILHOOK_CHECK(value_end == base + key.n + value.n, "record size pass and write pass disagree");
  char* id = w.marked;
  if (!id_inline) {
    id = w.p;
    w.put(event.sg_event_id.text);
  }

  auto offset = [used, base](const char* p) {
    return static_cast<std::uint32_t>(used + static_cast<std::size_t>(p - base));
  };
  out.key_offset = offset(base);
  out.key_size = static_cast<std::uint32_t>(key.n);
  out.value_offset = offset(value_begin);
  out.value_size = static_cast<std::uint32_t>(value.n);
  out.event_id_offset = id != nullptr ? offset(id) : out.value_offset;
  out.event_id_size = id != nullptr ? static_cast<std::uint32_t>(event.sg_event_id.text.size()) : 0;
  out.type = type;
  return true;
}

void encode_dead_letter(const batch_context& ctx, std::string_view reason, std::string_view detail,
                        std::string_view payload, std::int32_t index, std::string& out_key,
                        std::string& out_value, const payload_part& part) {
  out_key.clear();
  out_key.reserve(ctx.tenant.size() + 1 + ctx.source.size());
  out_key.append(ctx.tenant).append("/").append(ctx.source);
  assign_encoded(out_value, [&](auto& o) {
    o.put(ctx.dead_letter_value_prefix);
    dead_letter_value(o, ctx, reason, detail, payload, index, part);
  });
}

}  // namespace mailhook::webhook

#undef MAILHOOK_ENCODER_INLINE
