// Encodes parsed SendGrid events as Kafka records (key + value) into one arena, and
// rejected events or bodies as dead letters. Values are mailhook.v1.EmailEvent /
// mailhook.v1.DeadLetter, either in protobuf wire format, written by hand (no message
// objects, no per-event allocation), or in proto3 JSON that
// google::protobuf::util::JsonStringToMessage reads back into the same message.
// Stateless functions and a writer object used by one thread at a time; every view
// passed in must stay valid for the call.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/byte_buffer.h"
#include "email/event_type.h"

namespace mailhook::webhook {

using email::event_type;

enum class output_encoding : std::uint8_t { protobuf, json };

// What one request contributes to every record of its batch.
struct batch_context {
  std::string_view tenant;
  std::string_view source;
  std::int64_t received_at_ms = 0;
  output_encoding encoding = output_encoding::protobuf;
  bool keep_raw_event = false;  // also copy each event's bytes into EmailEvent.raw_json
  // Written verbatim before each EmailEvent value and each DeadLetter value, as part of
  // it: the Confluent framing (kafka/record_framing.h), or nothing.
  std::string_view event_value_prefix;
  std::string_view dead_letter_value_prefix;
};

// Where one event's record lies in encoded_batch::arena. The key is
// "<tenant>/<normalized email>"; event_id is the decoded sg_event_id (for the
// mailhook-event-id header).
struct encoded_record {
  std::uint32_t key_offset = 0;
  std::uint32_t key_size = 0;
  std::uint32_t value_offset = 0;
  std::uint32_t value_size = 0;
  std::uint32_t event_id_offset = 0;
  std::uint32_t event_id_size = 0;
  event_type type = event_type::unknown;
};

// A string value of the event. `text` is decoded (escapes resolved) and goes into
// protobuf; `json` is the content between the quotes exactly as received (valid JSON
// string content) and goes into JSON output unchanged, so JSON output never re-escapes
// what SendGrid sent. When the value had no escapes both are the same view.
struct json_string {
  std::string_view text;
  std::string_view json;

  [[nodiscard]] bool empty() const noexcept { return text.empty(); }
  // True when `json` needs no decoding: it is `text` itself.
  [[nodiscard]] bool verbatim() const noexcept {
    return text.data() == json.data() && text.size() == json.size();
  }
  static json_string plain(std::string_view s) noexcept { return {s, s}; }
};

// A top-level key the schema does not know (a custom arg or a newer SendGrid field): the
// key as written between its quotes (escapes kept) and the value's JSON text verbatim.
struct raw_member {
  std::string_view key;
  std::string_view value;
};

// One event after parsing: views into the request body (or the parser's string buffer
// for values that had escapes). Empty strings and unset optionals are absent fields.
struct parsed_event {
  json_string event;
  json_string sg_event_id;
  json_string sg_message_id;
  json_string smtp_id;
  json_string email;
  json_string reason;
  json_string status;
  json_string response;
  json_string bounce_type;  // "type"
  json_string bounce_classification;
  json_string ip;
  json_string useragent;
  json_string url;
  json_string marketing_campaign_id;  // a number keeps its JSON text
  json_string marketing_campaign_name;
  std::int64_t timestamp = 0;
  std::optional<std::int64_t> attempt;
  std::optional<std::int64_t> asm_group_id;
  std::optional<std::int64_t> send_at;
  std::optional<bool> tls;
  std::optional<bool> sg_machine_open;
  std::span<const json_string> category;
  bool has_url_offset = false;
  std::int64_t url_offset_index = 0;
  json_string url_offset_type;
  bool has_pool = false;
  json_string pool_name;
  std::int64_t pool_id = 0;
  std::span<const raw_member> custom_args;  // in the order received, duplicates kept
  std::string_view raw_json;                // the event object's bytes; written if keep_raw_event
  // email::normalize_address() of `email`: the record key and EmailEvent.email_normalized.
  // Empty only for an account_status_change without a usable address.
  std::string_view email_normalized;
};

// Appends records to an arena, which holds exactly the records written so far.
// Offsets stay valid when it grows; pointers into it do not.
class record_writer {
 public:
  explicit record_writer(byte_buffer& arena) noexcept : arena_(arena) {}
  record_writer(const record_writer&) = delete;
  record_writer& operator=(const record_writer&) = delete;

  // Encodes one event (key, value, and the decoded sg_event_id when the value does not
  // hold it verbatim). Fails only when the arena would pass 4 GiB (offsets are 32-bit).
  [[nodiscard]] bool append(const batch_context& ctx, event_type type, const parsed_event& event,
                            encoded_record& out);

 private:
  byte_buffer& arena_;
};

// Encodes a mailhook.v1.DeadLetter (in ctx.encoding): key "<tenant>/<source>", value with
// the reason word, a detail for people, the payload bytes (an event's bytes, or the whole
// body when index is -1) and the event's index in the batch. In JSON the payload is
// base64, as proto3 JSON writes bytes. Replaces the content of out_key and out_value.
// A payload split over several dead letters (DeadLetter.part and what goes with it).
struct payload_part {
  std::int32_t part = 0;
  std::int32_t parts = 0;
  std::int64_t payload_size = 0;    // of the whole payload
  std::string_view payload_sha256;  // 32 bytes, of the whole payload
};
void encode_dead_letter(const batch_context& ctx, std::string_view reason, std::string_view detail,
                        std::string_view payload, std::int32_t index, std::string& out_key,
                        std::string& out_value, const payload_part& part = {});

}  // namespace mailhook::webhook
