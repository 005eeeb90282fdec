#include "kafka/email_event_record.h"

#include <google/protobuf/util/json_util.h>

#include <string>
#include <string_view>

namespace mailhook::kafka {

bool decode_email_event(const rd_kafka_message_t* record, mailhook::v1::EmailEvent& event) {
  rd_kafka_headers_t* headers = nullptr;
  bool json = false;
  if (rd_kafka_message_headers(record, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const void* value = nullptr;
    std::size_t size = 0;
    if (rd_kafka_header_get_last(headers, "mailhook-schema", &value, &size) ==
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      json = std::string_view(static_cast<const char*>(value), size).ends_with("+json");
    }
  }
  if (record->payload == nullptr) return false;
  if (!json) return event.ParseFromArray(record->payload, static_cast<int>(record->len));
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(
             std::string(static_cast<const char*>(record->payload), record->len), &event, options)
      .ok();
}

}  // namespace mailhook::kafka
