// The time texts of SendGrid's suppression exports, read into Unix seconds.
#include "suppression/date_time.h"

#include <gtest/gtest.h>

#include <utility>

namespace mailhook::suppression {
namespace {

TEST(parse_date_time, reads_every_form_as_utc_unless_it_names_a_zone) {
  const std::pair<std::string_view, std::int64_t> cases[] = {
      {"2023-01-10 15:04:05", 1673363045},
      {"2023-01-10T15:04:05", 1673363045},
      {"2023-01-10T15:04:05Z", 1673363045},
      {"2023-01-10t15:04:05z", 1673363045},
      {"2023-01-10T15:04:05.123456Z", 1673363045},
      {"2023-01-10T15:04:05,5", 1673363045},
      {"2023-01-10 15:04:05 UTC", 1673363045},
      {"2023-01-10 15:04:05GMT", 1673363045},
      {"2023-01-10T17:04:05+02:00", 1673363045},
      {"2023-01-10T10:04:05-0500", 1673363045},
      {"2023-01-10 16:04:05 +01", 1673363045},
      {"2023-01-10 15:04", 1673363040},
      {"2023-01-10", 1673308800},
      {"2009-06-01 19:41:39", 1243885299},
      {"2024-02-29 12:00:00", 1709208000},
      {"2016-12-31 23:59:60", 1483228800},  // a leap second reads as the next second
      {"1969-12-31 23:59:59", -1},          // the range is the importer's to check
  };
  for (auto [text, seconds] : cases) {
    EXPECT_EQ(parse_date_time(text), seconds) << text;
  }
}

TEST(parse_date_time, refuses_other_texts_and_impossible_dates) {
  for (std::string_view text :
       {"", "yesterday", "10/01/2023", "2023-02-30", "2023-13-01", "2023-00-10",
        "2023-01-10 24:00:00", "2023-01-10 15:60", "2023-01-10 15:04:61",
        "2023-01-10T15:04:05+25:00", "2023-01-10T15:04:05+02:60", "2023-01-10X15:04:05",
        "2023-1-10", "2023-01-10T", "2023-01-10T15:04:05.", "2023-01-10T15:04:05 PST",
        "2023-01-10T15:04:05Z junk"}) {
    EXPECT_EQ(parse_date_time(text), std::nullopt) << text;
  }
}

TEST(parse_unix_seconds_text, reads_digits_with_an_optional_fraction) {
  EXPECT_EQ(parse_unix_seconds_text("1673363045"), 1673363045);
  EXPECT_EQ(parse_unix_seconds_text("1673363045.99"), 1673363045);
  EXPECT_EQ(parse_unix_seconds_text("0"), 0);
  for (std::string_view text :
       {"", "-5", "+5", "1e9", "12.", ".5", "1 2", "0x10", "99999999999999999999", "12.3.4"}) {
    EXPECT_EQ(parse_unix_seconds_text(text), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace mailhook::suppression
