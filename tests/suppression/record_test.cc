#include "suppression/record.h"

#include <gtest/gtest.h>

namespace mailhook::suppression {
namespace {

record at(std::int64_t time_ms, std::string id) {
  record r;
  r.set_event_time_ms(time_ms);
  r.set_event_id(std::move(id));
  return r;
}

TEST(SuppressionKey, SpellsEveryScope) {
  const email::tenant_id acme("acme");
  const auto address = email::normalized_email::from_normalized("a@b.com");
  EXPECT_EQ(global_key(acme, address), "acme/global/a@b.com");
  EXPECT_EQ(group_key(acme, 42, address), "acme/group:42/a@b.com");
  EXPECT_EQ(tenant_key(acme), "acme/tenant/");
  record r;
  r.set_tenant("acme");
  r.set_email_normalized("a@b.com");
  r.set_scope(mailhook::v1::SUPPRESSION_SCOPE_GROUP);
  r.set_asm_group_id(-7);
  EXPECT_EQ(key_of(r), "acme/group:-7/a@b.com");
  r.set_scope(mailhook::v1::SUPPRESSION_SCOPE_TENANT);
  EXPECT_EQ(key_of(r), "acme/tenant/");
}

TEST(SuppressionOrder, LaterTimeWinsThenGreaterId) {
  EXPECT_TRUE(wins_over(at(2000, "a"), at(1000, "z")));
  EXPECT_FALSE(wins_over(at(1000, "z"), at(2000, "a")));
  EXPECT_TRUE(wins_over(at(1000, "b"), at(1000, "a")));
  EXPECT_FALSE(wins_over(at(1000, "a"), at(1000, "b")));
  // The same event again is a duplicate: it changes nothing.
  EXPECT_FALSE(wins_over(at(1000, "a"), at(1000, "a")));
}

TEST(SuppressionWords, RoundTrip) {
  for (int i = 0; i <= 8; ++i) {
    auto reason = static_cast<suppression_reason>(i);
    EXPECT_EQ(parse_reason(to_string(reason)), reason);
  }
  EXPECT_EQ(parse_reason("nope"), std::nullopt);
  EXPECT_EQ(parse_scope("group"), suppression_scope::group);
  EXPECT_FALSE(email::tenant_id::valid("a/b"));
  EXPECT_FALSE(email::tenant_id::valid(""));
  EXPECT_TRUE(email::tenant_id::valid("acme"));
}

TEST(manual_record, carries_who_made_the_change_and_why) {
  manual_change c;
  c.tenant = "acme";
  c.email = "Bob@Example.com";
  c.suppressed = false;
  c.source = "api";
  c.actor = "ops-oncall";
  c.note = "ticket 4711: the customer asked to be mailed again";
  record r = make_record(c, 1'700'000'000'000).value();
  EXPECT_EQ(r.actor(), "ops-oncall");
  EXPECT_EQ(r.note(), "ticket 4711: the customer asked to be mailed again");
  EXPECT_EQ(r.origin(), mailhook::v1::SUPPRESSION_ORIGIN_MANUAL);
  EXPECT_EQ(r.email_normalized(), "bob@example.com");
  EXPECT_FALSE(r.suppressed());
  // Both survive the wire, as every replica reads them from the changelog.
  record back;
  ASSERT_TRUE(back.ParseFromString(r.SerializeAsString()));
  EXPECT_EQ(back.actor(), "ops-oncall");
  EXPECT_EQ(back.note(), r.note());
}

}  // namespace
}  // namespace mailhook::suppression
