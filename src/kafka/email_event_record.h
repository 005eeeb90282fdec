// An events-topic record read back as the mailhook.v1.EmailEvent ingest wrote, in any of
// ingest.record_format's forms: Confluent-framed, bare with the mailhook-* headers, or
// bare alone; protobuf, or proto3 JSON (ingest.encoding = "json"). The one reader of every
// form, for every consumer of the events topic (the policy role, the bounce report). Pure
// function; safe from any thread.
#pragma once

#include <librdkafka/rdkafka.h>

#include "mailhook/v1/email_event.pb.h"

namespace mailhook::kafka {

// Fills `event` from `record`; false when the record has no value or it does not parse.
[[nodiscard]] bool decode_email_event(const rd_kafka_message_t* record,
                                      mailhook::v1::EmailEvent& event);

}  // namespace mailhook::kafka
