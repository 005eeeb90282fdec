// Realistic SendGrid Event Webhook events and batches for tests and the load generator:
// the field sets of each event type as SendGrid sends them (docs/sendgrid-event-webhook.md),
// and the wire format of a batch: compact JSON, events joined by ",\r\n", a final "\r\n".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mailhook::testing {

struct generated_event {
  std::string json;         // the event object, compact
  std::string event;        // its type name
  std::string email;        // as sent (may have upper case and spaces)
  std::string sg_event_id;  // unique per (seed, index)
  std::int64_t timestamp = 0;
  std::string custom_args_json;  // the custom args it carries, as one JSON object
};

// Event number `index` of a deterministic mix of types (processed, delivered, open,
// click, bounce, dropped, deferred, spamreport, unsubscribe, group_unsubscribe,
// group_resubscribe), with custom args. `seed` makes ids unique across runs.
generated_event make_event(std::uint64_t seed, std::uint64_t index);

// `count` consecutive events starting at `first`.
std::vector<generated_event> make_events(std::uint64_t seed, std::uint64_t first,
                                         std::size_t count);

// The body SendGrid would post for these events.
std::string batch_body(const std::vector<generated_event>& events);

// SendGrid's own signed test request (tests/data/sendgrid/signed-dropped.body, and
// docs/sendgrid-event-webhook.md): one dropped event for hello@world.com, signed by
// SendGrid in 2020, so the source that takes it has replay_window = "0".
struct signed_request {
  std::string public_key;  // the verification key to configure for the source
  std::string body;
  std::map<std::string, std::string> headers;  // the signature and timestamp headers
};
const signed_request& sendgrid_genuine_request();

}  // namespace mailhook::testing
