#include "support/sendgrid_events.h"

#include <array>
#include <string_view>

#include "support/daemon.h"

namespace mailhook::testing {
namespace {

constexpr std::array<std::string_view, 11> types = {
    "processed", "delivered", "open",       "click",       "delivered",        "bounce",
    "dropped",   "deferred",  "spamreport", "unsubscribe", "group_unsubscribe"};

std::string json_string(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

}  // namespace

generated_event make_event(std::uint64_t seed, std::uint64_t index) {
  generated_event e;
  e.event = std::string(types[index % types.size()]);
  // Some addresses arrive in mixed case: normalization must lower-case them.
  e.email = (index % 5 == 0 ? "User." : "user.") + std::to_string(index % 50000) + "@Example" +
            std::to_string(index % 7) + ".com";
  e.sg_event_id = "ev-" + std::to_string(seed) + "-" + std::to_string(index) +
                  "-ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRr";
  e.timestamp = 1700000000 + static_cast<std::int64_t>(index % 86400);
  const std::string message_id = "qNwBLgPQQjW6DJvKQwSAbw" + std::to_string(index / 3) +
                                 ".filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0";
  std::string j = "{";
  j += "\"email\":" + json_string(e.email);
  j += ",\"event\":" + json_string(e.event);
  j += ",\"sg_event_id\":" + json_string(e.sg_event_id);
  j += ",\"sg_message_id\":" + json_string(message_id);
  j += ",\"smtp-id\":\"<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>\"";
  j += ",\"timestamp\":" + std::to_string(e.timestamp);
  j += ",\"category\":[\"newsletter\",\"weekly\"]";
  if (e.event == "processed")
    j += ",\"send_at\":0,\"pool\":{\"name\":\"transactional\",\"id\":210}";
  if (e.event == "delivered") j += ",\"ip\":\"167.89.101.76\",\"response\":\"250 OK\",\"tls\":1";
  if (e.event == "open") {
    j += ",\"ip\":\"66.102.6.218\",\"sg_machine_open\":false,"
         "\"useragent\":\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36\"";
  }
  if (e.event == "click") {
    j +=
        ",\"ip\":\"66.102.6.218\",\"url\":\"https://example.com/offer?id=" + std::to_string(index) +
        "\",\"url_offset\":{\"index\":0,\"type\":\"html\"},\"useragent\":\"Mozilla/5.0\"";
  }
  if (e.event == "bounce") {
    j += ",\"bounce_classification\":\"Invalid Address\",\"reason\":\"550 5.1.1 The email account "
         "that you "
         "tried to reach does not exist.\",\"status\":\"5.1.1\",\"tls\":1";
    j += index % 2 == 0 ? ",\"type\":\"bounce\"" : ",\"type\":\"blocked\"";
  }
  if (e.event == "dropped") j += ",\"reason\":\"Bounced Address\",\"status\":\"5.0.0\"";
  if (e.event == "deferred") j += ",\"attempt\":\"3\",\"response\":\"400 try again later\"";
  if (e.event == "unsubscribe" || e.event == "group_unsubscribe" || e.event == "spamreport") {
    j += ",\"asm_group_id\":" + std::to_string(10 + index % 3);
  }
  // Custom args arrive flattened at the top level.
  std::string custom =
      "\"tenant_user_id\":\"" + std::to_string(index % 1000) + "\",\"campaign\":\"spring-sale\"";
  j += "," + custom + "}";
  e.custom_args_json = "{" + custom + "}";
  e.json = std::move(j);
  return e;
}

std::vector<generated_event> make_events(std::uint64_t seed, std::uint64_t first,
                                         std::size_t count) {
  std::vector<generated_event> events;
  events.reserve(count);
  for (std::size_t i = 0; i < count; ++i) events.push_back(make_event(seed, first + i));
  return events;
}

std::string batch_body(const std::vector<generated_event>& events) {
  std::string body = "[";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) body += ",\r\n";
    body += events[i].json;
  }
  body += "]\r\n";
  return body;
}

const signed_request& sendgrid_genuine_request() {
  static const signed_request request{
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/"
      "7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==",
      read_file(source_dir() / "tests/data/sendgrid/signed-dropped.body"),
      {{"X-Twilio-Email-Event-Webhook-Signature",
        "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+"
        "luQAbPIqHh89M15TluLtEZtM="},
       {"X-Twilio-Email-Event-Webhook-Timestamp", "1600112502"}}};
  return request;
}

}  // namespace mailhook::testing
