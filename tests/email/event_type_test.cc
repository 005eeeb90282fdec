// Tests for event names and their types.
#include "email/event_type.h"

#include <gtest/gtest.h>

#include "mailhook/v1/email_event.pb.h"

namespace mailhook::email {
namespace {

TEST(classify_event, maps_every_documented_name_to_its_proto_value) {
  const std::pair<std::string_view, v1::EventType> cases[] = {
      {"processed", v1::EVENT_TYPE_PROCESSED},
      {"dropped", v1::EVENT_TYPE_DROPPED},
      {"delivered", v1::EVENT_TYPE_DELIVERED},
      {"deferred", v1::EVENT_TYPE_DEFERRED},
      {"bounce", v1::EVENT_TYPE_BOUNCE},
      {"open", v1::EVENT_TYPE_OPEN},
      {"click", v1::EVENT_TYPE_CLICK},
      {"spamreport", v1::EVENT_TYPE_SPAMREPORT},
      {"unsubscribe", v1::EVENT_TYPE_UNSUBSCRIBE},
      {"group_unsubscribe", v1::EVENT_TYPE_GROUP_UNSUBSCRIBE},
      {"group_resubscribe", v1::EVENT_TYPE_GROUP_RESUBSCRIBE},
      {"account_status_change", v1::EVENT_TYPE_ACCOUNT_STATUS_CHANGE},
  };
  for (const auto& [name, expected] : cases) {
    event_type t = classify_event(name);
    EXPECT_EQ(static_cast<int>(t), static_cast<int>(expected)) << name;
    EXPECT_EQ(to_string(t), name);
    EXPECT_EQ(proto_enum_name(t), v1::EventType_Name(expected));
  }
}

TEST(classify_event, answers_unknown_for_anything_else) {
  for (std::string_view name : {"", "Bounce", "BOUNCE", "spam report", "bounced", "opens", " open",
                                "group_unsubscrib", "account_status_changes", "blocked"}) {
    EXPECT_EQ(classify_event(name), event_type::unknown) << name;
  }
  EXPECT_EQ(to_string(event_type::unknown), "unknown");
  EXPECT_EQ(proto_enum_name(event_type::unknown), "EVENT_TYPE_UNKNOWN");
}

TEST(classify_bounce, blocked_and_expired_are_soft_everything_else_hard) {
  EXPECT_EQ(classify_bounce("bounce"), bounce_kind::hard);
  EXPECT_EQ(classify_bounce("blocked"), bounce_kind::soft);
  EXPECT_EQ(classify_bounce("expired"), bounce_kind::soft);
  // SendGrid's default type is "bounce": a missing or unexpected type is a hard bounce.
  for (std::string_view type : {"", "Blocked", "soft", "bounced"}) {
    EXPECT_EQ(classify_bounce(type), bounce_kind::hard) << type;
  }
}

}  // namespace
}  // namespace mailhook::email
