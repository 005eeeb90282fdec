// Writes a small index replica with the daemon's own store, as the `index` role would,
// for the install test's consumer to read through the installed library:
//   acme/global/bounced@example.com   suppressed, bounce, detail "550 5.1.1 unknown user"
//   acme/global/cleared@example.com   suppressed once, then cleared
//   acme/group:42/grouped@example.com suppressed in group 42
//   make_replica DIR
#include <cstdio>
#include <string>
#include <vector>

#include "index/store.h"

namespace {

mailhook::suppression::record change(std::string email, bool suppressed, std::int64_t time_ms) {
  mailhook::suppression::record r;
  r.set_tenant("acme");
  r.set_scope(mailhook::v1::SUPPRESSION_SCOPE_GLOBAL);
  r.set_email_normalized(email);
  r.set_email(std::move(email));
  r.set_suppressed(suppressed);
  r.set_reason(mailhook::v1::SUPPRESSION_REASON_BOUNCE);
  r.set_detail("550 5.1.1 unknown user");
  r.set_origin(mailhook::v1::SUPPRESSION_ORIGIN_EVENT);
  r.set_event_time_ms(time_ms);
  r.set_event_id("event-" + std::to_string(time_ms));
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_replica DIR\n");
    return 2;
  }
  mailhook::index::store_options options;
  options.dir = argv[1];
  options.topic = "mailhook.suppressions";
  options.expected_keys = 16;
  auto store = mailhook::index::store::open(options);
  if (!store) {
    std::fprintf(stderr, "make_replica: %s\n", store.error().describe().c_str());
    return 1;
  }
  auto grouped = change("grouped@example.com", true, 1'700'000'000'003);
  grouped.set_scope(mailhook::v1::SUPPRESSION_SCOPE_GROUP);
  grouped.set_asm_group_id(42);
  grouped.set_reason(mailhook::v1::SUPPRESSION_REASON_GROUP_UNSUBSCRIBE);
  const std::vector<mailhook::suppression::record> records = {
      change("bounced@example.com", true, 1'700'000'000'000),
      change("cleared@example.com", true, 1'700'000'000'001),
      change("cleared@example.com", false, 1'700'000'000'002), grouped};
  std::vector<std::string> keys, values;
  for (const auto& r : records) {
    keys.push_back(mailhook::suppression::key_of(r));
    values.push_back(r.SerializeAsString());
  }
  std::vector<mailhook::index::changelog_message> messages;
  for (std::size_t i = 0; i < records.size(); ++i) {
    messages.push_back({keys[i], values[i], 0, static_cast<std::int64_t>(i)});
  }
  if (auto applied = (*store)->apply(messages); !applied) {
    std::fprintf(stderr, "make_replica: %s\n", applied.error().describe().c_str());
    return 1;
  }
  return 0;  // the store flushes as it closes, as the role does when it stops
}
