#include "kafka/email_event_record.h"

#include <google/protobuf/util/json_util.h>

#include <string>
#include <string_view>

#include "kafka/record_framing.h"

namespace mailhook::kafka {
namespace {

// The bare form's encoding, from the mailhook-schema header of the headers form, or from
// the value itself in the plain form (a JSON object starts with '{', which no EmailEvent
// in protobuf does: it would be field 15 as a group, a wire type proto3 never writes).
bool bare_value_is_json(const rd_kafka_message_t* record, std::string_view value) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(record, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const void* schema = nullptr;
    std::size_t size = 0;
    if (rd_kafka_header_get_last(headers, "mailhook-schema", &schema, &size) ==
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return std::string_view(static_cast<const char*>(schema), size).ends_with("+json");
    }
  }
  return value.starts_with('{');
}

}  // namespace

bool decode_email_event(const rd_kafka_message_t* record, mailhook::v1::EmailEvent& event) {
  if (record->payload == nullptr) return false;
  const auto value = read_record_value({static_cast<const char*>(record->payload), record->len});
  if (!value) return false;
  const bool json = value->framed ? value->json : bare_value_is_json(record, value->payload);
  if (!json)
    return event.ParseFromArray(value->payload.data(), static_cast<int>(value->payload.size()));
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(std::string(value->payload), &event, options)
      .ok();
}

}  // namespace mailhook::kafka
