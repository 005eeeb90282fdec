#include "suppression/policy.h"

#include <gtest/gtest.h>

#include <limits>

namespace mailhook::suppression {
namespace {

using mailhook::v1::EmailEvent;
using namespace std::chrono_literals;

EmailEvent event(mailhook::v1::EventType type, std::string name, std::int64_t timestamp = 1000,
                 std::string id = "ev1") {
  EmailEvent e;
  e.set_tenant("acme");
  e.set_source("main");
  e.set_type(type);
  e.set_event(std::move(name));
  e.set_timestamp(timestamp);
  e.set_sg_event_id(std::move(id));
  e.set_email(" Alice@Example.COM ");
  e.set_email_normalized("alice@example.com");
  e.set_received_at_ms(1'000'500);
  return e;
}

class PolicyTest : public ::testing::Test {
 protected:
  decision run(const EmailEvent& e) { return decide(e, rules, soft, 5'000'000); }

  config::policy_config rules;
  soft_bounce_counter soft;
};

TEST_F(PolicyTest, a_timestamp_outside_1970_to_9999_changes_nothing) {
  // timestamp * 1000 overflowed int64 for these, and a far-future time would win forever.
  for (std::int64_t t : {std::int64_t{-1}, std::int64_t{253'402'300'800},
                         std::numeric_limits<std::int64_t>::max()}) {
    auto e = event(mailhook::v1::EVENT_TYPE_SPAMREPORT, "spamreport", t);
    auto d = run(e);
    EXPECT_FALSE(d.change) << t;
    EXPECT_EQ(d.why_not, no_change::bad_timestamp) << t;
  }
  EXPECT_TRUE(
      run(event(mailhook::v1::EVENT_TYPE_SPAMREPORT, "spamreport", 253'402'300'799)).change);
}

TEST_F(PolicyTest, HardBounceSuppressesGlobally) {
  auto e = event(mailhook::v1::EVENT_TYPE_BOUNCE, "bounce");
  e.set_bounce_type("bounce");
  e.set_bounce_classification("Invalid Address");
  e.set_status("5.1.1");
  auto d = run(e);
  ASSERT_TRUE(d.change);
  const auto& r = *d.change;
  EXPECT_EQ(key_of(r), "acme/global/alice@example.com");
  EXPECT_TRUE(r.suppressed());
  EXPECT_EQ(r.reason(), mailhook::v1::SUPPRESSION_REASON_BOUNCE);
  EXPECT_EQ(r.detail(), "Invalid Address 5.1.1");
  EXPECT_EQ(r.email(), " Alice@Example.COM ");
  EXPECT_EQ(r.event_time_ms(), 1'000'000);
  EXPECT_EQ(r.event_id(), "ev1");
  EXPECT_EQ(r.origin(), mailhook::v1::SUPPRESSION_ORIGIN_EVENT);
  EXPECT_EQ(r.source(), "main");
  EXPECT_EQ(r.received_at_ms(), 1'000'500);
  EXPECT_EQ(r.recorded_at_ms(), 5'000'000);
}

TEST_F(PolicyTest, BounceWithoutTypeCountsAsHard) {
  auto d = run(event(mailhook::v1::EVENT_TYPE_BOUNCE, "bounce"));
  ASSERT_TRUE(d.change);
  EXPECT_EQ(d.change->reason(), mailhook::v1::SUPPRESSION_REASON_BOUNCE);
}

TEST_F(PolicyTest, BlockedNeverSuppressesByDefault) {
  auto e = event(mailhook::v1::EVENT_TYPE_BOUNCE, "bounce");
  e.set_bounce_type("blocked");
  for (int i = 0; i < 10; ++i) {
    e.set_sg_event_id("b" + std::to_string(i));
    auto d = run(e);
    EXPECT_FALSE(d.change);
    EXPECT_EQ(d.why_not, no_change::rule_disabled);
  }
}

TEST_F(PolicyTest, SoftBounceThresholdWithinWindow) {
  rules.soft_bounce_threshold = 3;
  rules.soft_bounce_window = 3600s;
  auto blocked = [&](std::int64_t ts, std::string id) {
    auto e = event(mailhook::v1::EVENT_TYPE_BOUNCE, "bounce", ts, std::move(id));
    e.set_bounce_type("blocked");
    return run(e);
  };
  EXPECT_EQ(blocked(1000, "a").why_not, no_change::below_threshold);
  // The same event delivered again counts once.
  EXPECT_EQ(blocked(1000, "a").why_not, no_change::below_threshold);
  // Outside the window of the next one: does not count towards it.
  EXPECT_EQ(blocked(1000 + 7200, "b").why_not, no_change::below_threshold);
  EXPECT_EQ(blocked(1000 + 7300, "c").why_not, no_change::below_threshold);
  auto d = blocked(1000 + 7400, "d");
  ASSERT_TRUE(d.change);
  EXPECT_EQ(d.change->reason(), mailhook::v1::SUPPRESSION_REASON_SOFT_BOUNCE);
  EXPECT_TRUE(d.change->suppressed());
  EXPECT_EQ(d.change->event_id(), "d");
}

TEST_F(PolicyTest, DroppedReasons) {
  using enum mailhook::v1::SuppressionReason;
  const std::pair<std::string, mailhook::v1::SuppressionReason> rows[] = {
      {"Bounced Address", SUPPRESSION_REASON_BOUNCE},
      {"Invalid", SUPPRESSION_REASON_INVALID},
      {"Invalid Address", SUPPRESSION_REASON_INVALID},
      {"Spam Reporting Address", SUPPRESSION_REASON_SPAM_REPORT},
      {"Unsubscribed Address", SUPPRESSION_REASON_UNSUBSCRIBE},
  };
  for (const auto& [why, reason] : rows) {
    auto e = event(mailhook::v1::EVENT_TYPE_DROPPED, "dropped");
    e.set_reason(why);
    auto d = run(e);
    ASSERT_TRUE(d.change) << why;
    EXPECT_EQ(d.change->reason(), reason) << why;
    EXPECT_EQ(d.change->detail(), "dropped: " + why);
  }
  auto e = event(mailhook::v1::EVENT_TYPE_DROPPED, "dropped");
  e.set_reason("Spam Content (if spam checker app enabled)");
  EXPECT_FALSE(run(e).change);
}

TEST_F(PolicyTest, SpamReportAndUnsubscribe) {
  auto spam = run(event(mailhook::v1::EVENT_TYPE_SPAMREPORT, "spamreport"));
  ASSERT_TRUE(spam.change);
  EXPECT_EQ(spam.change->reason(), mailhook::v1::SUPPRESSION_REASON_SPAM_REPORT);
  auto unsub = run(event(mailhook::v1::EVENT_TYPE_UNSUBSCRIBE, "unsubscribe"));
  ASSERT_TRUE(unsub.change);
  EXPECT_EQ(unsub.change->reason(), mailhook::v1::SUPPRESSION_REASON_UNSUBSCRIBE);
  EXPECT_EQ(key_of(*unsub.change), "acme/global/alice@example.com");
}

TEST_F(PolicyTest, GroupUnsubscribeAndResubscribeTouchOnlyTheGroup) {
  auto e = event(mailhook::v1::EVENT_TYPE_GROUP_UNSUBSCRIBE, "group_unsubscribe");
  e.set_asm_group_id(42);
  auto d = run(e);
  ASSERT_TRUE(d.change);
  EXPECT_EQ(key_of(*d.change), "acme/group:42/alice@example.com");
  EXPECT_TRUE(d.change->suppressed());
  EXPECT_EQ(d.change->reason(), mailhook::v1::SUPPRESSION_REASON_GROUP_UNSUBSCRIBE);

  auto back = event(mailhook::v1::EVENT_TYPE_GROUP_RESUBSCRIBE, "group_resubscribe", 2000, "ev2");
  back.set_asm_group_id(42);
  auto cleared = run(back);
  ASSERT_TRUE(cleared.change);
  EXPECT_EQ(key_of(*cleared.change), "acme/group:42/alice@example.com");
  EXPECT_FALSE(cleared.change->suppressed());

  auto no_group = event(mailhook::v1::EVENT_TYPE_GROUP_UNSUBSCRIBE, "group_unsubscribe");
  EXPECT_EQ(run(no_group).why_not, no_change::missing_field);
}

TEST_F(PolicyTest, AccountStatusSuspendsAndReactivatesTheTenant) {
  for (std::string type : {"compliance_suspend", "compliance_deactivate", "compliance_ban"}) {
    auto e = event(mailhook::v1::EVENT_TYPE_ACCOUNT_STATUS_CHANGE, "account_status_change");
    e.clear_email();
    e.clear_email_normalized();
    e.set_bounce_type(type);
    auto d = run(e);
    ASSERT_TRUE(d.change) << type;
    EXPECT_EQ(key_of(*d.change), "acme/tenant/");
    EXPECT_TRUE(d.change->suppressed());
    EXPECT_EQ(d.change->reason(), mailhook::v1::SUPPRESSION_REASON_ACCOUNT_SUSPENDED);
    EXPECT_EQ(d.change->detail(), type);
  }
  auto e = event(mailhook::v1::EVENT_TYPE_ACCOUNT_STATUS_CHANGE, "account_status_change");
  e.set_bounce_type("reactivate");
  auto d = run(e);
  ASSERT_TRUE(d.change);
  EXPECT_FALSE(d.change->suppressed());
  e.set_bounce_type("something_new");
  EXPECT_EQ(run(e).why_not, no_change::missing_field);
}

TEST_F(PolicyTest, OrdinaryEventsChangeNothing) {
  for (auto type : {mailhook::v1::EVENT_TYPE_DELIVERED, mailhook::v1::EVENT_TYPE_OPEN,
                    mailhook::v1::EVENT_TYPE_CLICK, mailhook::v1::EVENT_TYPE_PROCESSED,
                    mailhook::v1::EVENT_TYPE_DEFERRED, mailhook::v1::EVENT_TYPE_UNKNOWN}) {
    auto d = run(event(type, "x"));
    EXPECT_FALSE(d.change);
    EXPECT_EQ(d.why_not, no_change::not_a_suppression);
  }
}

TEST_F(PolicyTest, EveryRowCanBeSwitchedOff) {
  rules.suppress_hard_bounces = false;
  rules.suppress_dropped = false;
  rules.suppress_spam_reports = false;
  rules.suppress_unsubscribes = false;
  rules.honor_group_unsubscribes = false;
  rules.honor_account_status = false;
  auto dropped = event(mailhook::v1::EVENT_TYPE_DROPPED, "dropped");
  dropped.set_reason("Bounced Address");
  auto group = event(mailhook::v1::EVENT_TYPE_GROUP_UNSUBSCRIBE, "group_unsubscribe");
  group.set_asm_group_id(1);
  auto account = event(mailhook::v1::EVENT_TYPE_ACCOUNT_STATUS_CHANGE, "account_status_change");
  account.set_bounce_type("compliance_ban");
  for (const auto& e :
       {event(mailhook::v1::EVENT_TYPE_BOUNCE, "bounce"), dropped,
        event(mailhook::v1::EVENT_TYPE_SPAMREPORT, "spamreport"),
        event(mailhook::v1::EVENT_TYPE_UNSUBSCRIBE, "unsubscribe"), group, account}) {
    auto d = run(e);
    EXPECT_FALSE(d.change) << e.event();
    EXPECT_EQ(d.why_not, no_change::rule_disabled) << e.event();
  }
}

TEST_F(PolicyTest, AddressIsNormalizedWhenTheEventLacksIt) {
  auto e = event(mailhook::v1::EVENT_TYPE_SPAMREPORT, "spamreport");
  e.clear_email_normalized();
  auto d = run(e);
  ASSERT_TRUE(d.change);
  EXPECT_EQ(d.change->email_normalized(), "alice@example.com");
  e.clear_email();
  EXPECT_EQ(run(e).why_not, no_change::missing_field);
}

}  // namespace
}  // namespace mailhook::suppression
