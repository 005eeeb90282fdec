// The batch context the webhook tests encode with: a fixed tenant, source and clock.
#pragma once

#include "webhook/event_encoder.h"

namespace mailhook::webhook::testing {

inline batch_context test_context(output_encoding encoding = output_encoding::protobuf) {
  batch_context ctx;
  ctx.tenant = "acme";
  ctx.source = "main";
  ctx.received_at_ms = 1700000000123;
  ctx.encoding = encoding;
  return ctx;
}

}  // namespace mailhook::webhook::testing
