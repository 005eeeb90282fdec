// Tests for trimming, address normalization and event classification.
#include "webhook/normalize.h"

#include <gtest/gtest.h>

#include "mailhook/v1/email_event.pb.h"

namespace mailhook::webhook {
namespace {

std::string normalized(std::string_view email) {
  std::string out;
  append_normalized_email(out, email);
  return out;
}

TEST(trim, removes_ascii_whitespace_at_both_ends_only) {
  EXPECT_EQ(trim("  a b \t"), "a b");
  EXPECT_EQ(trim("\r\n\v\fx\f\v\n\r"), "x");
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("x"), "x");
}

TEST(trim, keeps_non_ascii_spaces) {
  // U+00A0 (no-break space) is not ASCII whitespace: it stays.
  EXPECT_EQ(trim("\xc2\xa0"
                 "a"),
            "\xc2\xa0"
            "a");
}

TEST(append_normalized_email, trims_and_lower_cases_ascii) {
  EXPECT_EQ(normalized("  Alex@Example.COM "), "alex@example.com");
  EXPECT_EQ(normalized("\tBOB@X.ORG\r\n"), "bob@x.org");
  EXPECT_EQ(normalized("already@lower.case"), "already@lower.case");
}

TEST(append_normalized_email, keeps_non_ascii_bytes_as_they_are) {
  // É (C3 89) and Ü (C3 9C) are not folded: only ASCII letters are.
  EXPECT_EQ(normalized(" \xc3\x89LISE@Exemple.FR"), "\xc3\x89lise@exemple.fr");
  EXPECT_EQ(normalized("J\xc3\x9cRGEN@B\xc3\x9c"
                       "CHER.DE"),
            "j\xc3\x9crgen@b\xc3\x9c"
            "cher.de");
}

TEST(write_ascii_lower, lowers_exactly_the_ascii_capitals_at_any_position) {
  // The word-at-a-time path and the tail loop must agree with a plain byte rule for every
  // byte value, whatever its offset.
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  for (std::size_t offset = 0; offset < 9; ++offset) {
    std::string input = std::string(offset, 'Q') + all;
    std::string out(input.size(), '\0');
    char* end = write_ascii_lower(out.data(), input);
    ASSERT_EQ(end, out.data() + out.size());
    for (std::size_t i = 0; i < input.size(); ++i) {
      char c = input[i];
      char expected = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
      ASSERT_EQ(out[i], expected) << "offset " << offset << " byte " << i;
    }
  }
}

TEST(append_normalized_email, appends_after_existing_content) {
  std::string out = "tenant/";
  append_normalized_email(out, " A@B ");
  EXPECT_EQ(out, "tenant/a@b");
  EXPECT_EQ(normalized_email_size(" A@B "), 3u);
}

TEST(append_normalized_email, empty_or_blank_address_appends_nothing) {
  EXPECT_EQ(normalized(""), "");
  EXPECT_EQ(normalized(" \t "), "");
}

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

}  // namespace
}  // namespace mailhook::webhook
