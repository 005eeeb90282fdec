// libFuzzer target for the batch parser and encoders: any body must be encoded or refused
// without crashing, and what comes out must hold together: offsets inside the arena,
// protobuf values that protobuf parses and would serialize to the same bytes, JSON values
// that JsonStringToMessage accepts and that equal the protobuf ones, rejected events that
// are views of the body, and dead letters that decode; every value in the Confluent
// framing (kafka/record_framing.h) reads back to exactly the value, and the input itself,
// read as a record value, is read or refused within its bytes. Runs single-threaded.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "kafka/record_framing.h"
#include "mailhook/v1/email_event.pb.h"
#include "webhook/batch_parser.h"

namespace {

using mailhook::byte_buffer;
using mailhook::webhook::batch_context;
using mailhook::webhook::batch_encoder;
using mailhook::webhook::encoded_batch;
using mailhook::webhook::output_encoding;

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

std::string_view slice(const byte_buffer& arena, std::uint32_t offset, std::uint32_t size) {
  require(std::size_t{offset} + size <= arena.size(), "record bytes lie inside the arena");
  return {arena.data() + offset, size};
}

// The value inside the framing `prefix` (written before every value), read back as any
// consumer reads it.
std::string_view unframed(const batch_context& ctx, std::string_view prefix,
                          std::string_view value) {
  require(value.substr(0, prefix.size()) == prefix, "the value starts with its framing");
  const auto read = mailhook::kafka::read_record_value(value);
  require(read.has_value() && read->framed, "a framed value reads back");
  require(read->payload == value.substr(prefix.size()), "the framing is read to its end");
  require(read->json == (ctx.encoding == output_encoding::json), "framed JSON is told apart");
  return read->payload;
}

void check_dead_letter(const batch_context& ctx, std::string_view reason, std::string_view detail,
                       std::string_view payload, std::int32_t index) {
  std::string key, framed_value;
  mailhook::webhook::encode_dead_letter(ctx, reason, detail, payload, index, key, framed_value);
  const std::string value(unframed(ctx, ctx.dead_letter_value_prefix, framed_value));
  mailhook::v1::DeadLetter m;
  if (ctx.encoding == output_encoding::protobuf) {
    require(m.ParseFromString(value), "dead letter parses");
  } else {
    require(google::protobuf::util::JsonStringToMessage(value, &m).ok(), "JSON dead letter parses");
  }
  require(m.payload() == payload, "dead letter keeps the payload");
  require(m.event_index() == index, "dead letter keeps the index");
  require(m.reason() == reason, "dead letter keeps the reason");
}

// Encodes the body in one encoding and checks the result; returns it for comparison.
bool encode_and_check(batch_encoder& encoder, std::string_view body, std::size_t capacity,
                      const batch_context& ctx, encoded_batch& out) {
  auto r = encoder.encode(body, capacity, ctx, out);
  if (!r) {
    require(mailhook::webhook::reason_word(r.error().code) != "unknown",
            "a whole-body failure has a reason word");
    check_dead_letter(ctx, mailhook::webhook::reason_word(r.error().code), r.error().describe(),
                      body, -1);
    return false;
  }
  std::int32_t last_index = -1;
  for (const auto& rejected : out.rejected) {
    require(rejected.index > last_index, "rejected events are in order");
    last_index = rejected.index;
    require(rejected.raw.data() >= body.data() &&
                rejected.raw.data() + rejected.raw.size() <= body.data() + body.size(),
            "a rejected event is a view of the body");
    require(!rejected.reason.empty() && !rejected.detail.empty(), "a rejected event says why");
    check_dead_letter(ctx, rejected.reason, rejected.detail, rejected.raw, rejected.index);
  }
  const std::string prefix = std::string(ctx.tenant) + "/";
  for (const auto& record : out.records) {
    std::string_view key = slice(out.arena, record.key_offset, record.key_size);
    std::string_view value = unframed(ctx, ctx.event_value_prefix,
                                      slice(out.arena, record.value_offset, record.value_size));
    std::string_view id = slice(out.arena, record.event_id_offset, record.event_id_size);
    require(key.substr(0, prefix.size()) == prefix, "the key starts with the tenant");
    require(!id.empty(), "every record has an event id");
    mailhook::v1::EmailEvent m;
    if (ctx.encoding == output_encoding::protobuf) {
      require(m.ParseFromArray(value.data(), static_cast<int>(value.size())), "value parses");
      require(m.SerializeAsString() == value, "value is protobuf's own serialization");
    } else {
      auto status = google::protobuf::util::JsonStringToMessage(std::string(value), &m);
      if (!status.ok())
        std::fprintf(stderr, "%s\n%.*s\n", status.ToString().c_str(),
                     static_cast<int>(value.size()), value.data());
      require(status.ok(), "JSON value parses");
    }
    require(m.sg_event_id() == id, "the event id matches the value");
    require(key.substr(prefix.size()) == m.email_normalized(),
            "the key holds the normalized email");
    require(!m.event().empty(), "required fields are set");
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static batch_encoder encoder;  // reused, as each ingest thread does
  static encoded_batch pb_out;
  static encoded_batch json_out;

  // The parser reads past the end; give it exactly the padding it asks for, so ASan
  // catches anything beyond.
  const std::size_t capacity = size + batch_encoder::padding();
  std::unique_ptr<char[]> buffer(new char[capacity]);
  if (size != 0) std::memcpy(buffer.get(), data, size);
  std::memset(buffer.get() + size, 0, capacity - size);
  std::string_view body(buffer.get(), size);

  // The same bytes as a record value another producer wrote: read or refused, and what
  // is read lies inside them.
  if (const auto read = mailhook::kafka::read_record_value(body)) {
    require(read->payload.data() >= body.data() &&
                read->payload.data() + read->payload.size() == body.data() + body.size(),
            "a value's payload is its tail");
    require(!read->framed || size >= 5, "a framed value has its header");
  }

  batch_context ctx;
  ctx.tenant = "t\"1";  // needs escaping in JSON
  ctx.source = "main";
  ctx.received_at_ms = 1700000000123;
  ctx.keep_raw_event = (size & 1) != 0;

  // Framed as record_format = "confluent" frames them, under an id that varies with the input.
  const auto schema_id = static_cast<std::uint32_t>(size * 2654435761U);
  const std::int32_t event_path[] = {2};
  const std::int32_t dead_letter_path[] = {3};
  const std::string pb_event_prefix = mailhook::kafka::confluent_prefix(schema_id, event_path);
  const std::string pb_dead_letter_prefix =
      mailhook::kafka::confluent_prefix(schema_id + 1, dead_letter_path);
  const std::string json_prefix = mailhook::kafka::confluent_prefix(schema_id, {});

  ctx.encoding = output_encoding::protobuf;
  ctx.event_value_prefix = pb_event_prefix;
  ctx.dead_letter_value_prefix = pb_dead_letter_prefix;
  bool pb_ok = encode_and_check(encoder, body, capacity, ctx, pb_out);
  ctx.encoding = output_encoding::json;
  ctx.event_value_prefix = json_prefix;
  ctx.dead_letter_value_prefix = json_prefix;
  bool json_ok = encode_and_check(encoder, body, capacity, ctx, json_out);
  require(pb_ok == json_ok, "both encodings accept the same bodies");
  if (!pb_ok) return 0;

  // Both encodings describe the same events.
  require(pb_out.records.size() == json_out.records.size(), "same records in both encodings");
  require(pb_out.rejected.size() == json_out.rejected.size(), "same rejections in both encodings");
  for (std::size_t i = 0; i < pb_out.records.size(); ++i) {
    const auto& a = pb_out.records[i];
    const auto& b = json_out.records[i];
    mailhook::v1::EmailEvent from_pb, from_json;
    const auto pb_value =
        slice(pb_out.arena, a.value_offset, a.value_size).substr(pb_event_prefix.size());
    const auto json_value =
        slice(json_out.arena, b.value_offset, b.value_size).substr(json_prefix.size());
    require(from_pb.ParseFromArray(pb_value.data(), static_cast<int>(pb_value.size())),
            "value parses");
    require(google::protobuf::util::JsonStringToMessage(std::string(json_value), &from_json).ok(),
            "JSON value parses");
    require(google::protobuf::util::MessageDifferencer::Equals(from_pb, from_json),
            "JSON and protobuf values are the same message");
    require(a.type == b.type, "same event type");
  }
  return 0;
}
