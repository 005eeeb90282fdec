// Every path where an address becomes a suppression key (ingest, policy, import, manual
// change, lookup) must arrive at the same key for every spelling of one mailbox, and a
// suppression written through one path must stop every spelling at the lookup. Each
// spelling here was a bypass before addresses had one normalization.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/daemon_config.h"
#include "index/store.h"
#include "mailhook/v1/email_event.pb.h"
#include "support/temp_dir.h"
#include "suppression/import.h"
#include "suppression/policy.h"
#include "suppression/record.h"
#include "webhook/batch_parser.h"
#include "webhook/test_context.h"

namespace mailhook {
namespace {

struct mailbox {
  std::string normalized;
  std::vector<std::string> spellings;
};

const std::vector<mailbox> mailboxes = {
    {"alex@example.com",
     {"alex@example.com", "  ALEX@Example.COM\t", "alex@example.com.", "Alex@EXAMPLE.com."}},
    {"j\xc3\xbcrgen@xn--bcher-kva.de",
     {"J\xc3\x9cRGEN@B\xc3\x9c"
      "CHER.DE",
      "j\xc3\xbcrgen@b\xc3\xbc"
      "cher.de.",
      "ju\xcc\x88rgen@bu\xcc\x88"
      "cher.de",
      "J\xc3\x9cRGEN@XN--BCHER-KVA.DE", "j\xc3\xbcrgen@xn--bcher-kva.de"}},
    {"\xc3\xa9lise@exemple.fr",
     {"\xc3\x89lise@exemple.fr", "E\xcc\x81lise@Exemple.FR", "\xc3\xa9lise@exemple.fr."}},
};

// What a spelling becomes on the ingest path: the parser's email_normalized.
std::string through_ingest(const std::string& spelling) {
  std::string escaped;
  for (char c : spelling) {
    if (c == '\t') {
      escaped += "\\t";
    } else {
      escaped += c;
    }
  }
  std::string body =
      R"([{"email":")" + escaped +
      R"(","event":"bounce","type":"bounce","sg_event_id":"e1","timestamp":1600000000}])";
  webhook::batch_encoder encoder;
  webhook::encoded_batch batch;
  auto status = encoder.encode(body, webhook::testing::test_context(), batch);
  EXPECT_TRUE(status) << status.error().describe();
  EXPECT_EQ(batch.records.size(), 1u) << spelling;
  if (batch.records.size() != 1) return "<rejected>";
  v1::EmailEvent event;
  const auto& r = batch.records[0];
  EXPECT_TRUE(
      event.ParseFromArray(batch.arena.data() + r.value_offset, static_cast<int>(r.value_size)));
  return event.email_normalized();
}

// The policy, for an event another producer wrote without email_normalized.
std::string through_policy(const std::string& spelling) {
  v1::EmailEvent event;
  event.set_tenant("acme");
  event.set_type(v1::EVENT_TYPE_BOUNCE);
  event.set_event("bounce");
  event.set_bounce_type("bounce");
  event.set_email(spelling);
  event.set_sg_event_id("e1");
  event.set_timestamp(1600000000);
  suppression::soft_bounce_counter soft_bounces;
  auto d = suppression::decide(event, config::policy_config{}, soft_bounces, 1);
  EXPECT_TRUE(d.change.has_value()) << spelling;
  return d.change ? d.change->email_normalized() : "<no change>";
}

std::string through_import(const std::string& spelling) {
  std::string csv = "email,created\n\"" + spelling + "\",1600000000\n";
  auto rows = suppression::parse_export(csv, {.kind = suppression::export_kind::bounces});
  EXPECT_TRUE(rows) << spelling << ": " << rows.error().describe();
  if (!rows || rows->size() != 1) return "<refused>";
  return suppression::to_record(rows->front(), suppression::export_kind::bounces, "acme", "f", 1)
      .email_normalized();
}

std::string through_manual_change(const std::string& spelling) {
  suppression::manual_change change;
  change.tenant = "acme";
  change.email = spelling;
  auto r = suppression::make_record(change, 1);
  EXPECT_TRUE(r) << spelling;
  return r ? r->email_normalized() : "<refused>";
}

result<std::unique_ptr<index::store>> open_store(const testing::temp_dir& dir) {
  index::store_options options;
  options.dir = dir.path() / "index";
  options.topic = "mailhook.suppressions";
  options.expected_keys = 100;
  return index::store::open(options);
}

TEST(one_key, every_path_normalizes_every_spelling_alike) {
  for (const auto& box : mailboxes) {
    for (const auto& spelling : box.spellings) {
      EXPECT_EQ(through_ingest(spelling), box.normalized) << spelling;
      EXPECT_EQ(through_policy(spelling), box.normalized) << spelling;
      EXPECT_EQ(through_import(spelling), box.normalized) << spelling;
      EXPECT_EQ(through_manual_change(spelling), box.normalized) << spelling;
    }
  }
}

TEST(one_key, a_suppression_made_from_one_spelling_stops_every_spelling_at_the_lookup) {
  testing::temp_dir dir;
  auto db = open_store(dir);
  ASSERT_TRUE(db) << db.error().describe();
  std::int64_t offset = 0;
  for (const auto& box : mailboxes) {
    suppression::manual_change change;
    change.tenant = "acme";
    change.email = box.spellings.front();
    auto r = suppression::make_record(change, 1000);
    ASSERT_TRUE(r);
    std::string key = suppression::key_of(*r);
    std::string value = r->SerializeAsString();
    std::vector<index::changelog_message> messages{{key, value, 0, offset++}};
    ASSERT_TRUE((*db)->apply(messages));
  }
  for (const auto& box : mailboxes) {
    for (const auto& spelling : box.spellings) {
      EXPECT_FALSE((*db)->check("acme", spelling).allowed()) << spelling;
    }
  }
  EXPECT_TRUE((*db)->check("acme", "someone.else@example.com").allowed());
}

TEST(one_key, text_that_is_not_one_address_is_never_allowed_by_the_lookup) {
  testing::temp_dir dir;
  auto db = open_store(dir);
  ASSERT_TRUE(db) << db.error().describe();
  for (const char* text : {"Alex <alex@example.com>", "alex\xe2\x80\x8b@example.com",
                           "alex\xc2\xa0@example.com", "alex@exa\xc3mple.com", "alex"}) {
    auto v = (*db)->check("acme", text);
    ASSERT_FALSE(v.allowed()) << text;
    EXPECT_EQ(v.suppressed->reason, suppression_reason::invalid) << text;
    EXPECT_FALSE(v.suppressed->detail.empty()) << text;
  }
}

}  // namespace
}  // namespace mailhook
