#include "report/event_kind.h"

#include <gtest/gtest.h>

#include "report/day.h"

namespace mailhook::report {
namespace {

using email::event_type;

TEST(report_day, reads_and_writes_utc_calendar_days) {
  EXPECT_EQ(parse_day("1970-01-01"), 0);
  EXPECT_EQ(parse_day("2026-12-06"), 20'793);
  EXPECT_EQ(format_day(20'793), "2026-12-06");
  EXPECT_EQ(format_day(*parse_day("2024-02-29")), "2024-02-29");
  for (std::string_view bad : {"", "2026-12-6", "2026/12/06", "2026-13-01", "2026-02-29",
                               "1969-12-31", "2026-12-06T00:00:00Z", "+026-12-06", "２026-12-06"}) {
    EXPECT_FALSE(parse_day(bad)) << bad;
  }
}

TEST(report_day, an_event_belongs_to_the_utc_day_of_its_timestamp) {
  EXPECT_EQ(day_of_unix_seconds(1'796'515'199), parse_day("2026-12-05"));  // 23:59:59 UTC
  EXPECT_EQ(day_of_unix_seconds(1'796'515'200), parse_day("2026-12-06"));  // 00:00:00 UTC
  EXPECT_FALSE(day_of_unix_seconds(-1));
  EXPECT_FALSE(day_of_unix_seconds(253'402'300'800));  // 10000-01-01
}

TEST(report_kind, splits_bounces_by_the_policys_classification_and_skips_other_events) {
  EXPECT_EQ(kind_of(event_type::bounce, "bounce"), event_kind::bounce_hard);
  EXPECT_EQ(kind_of(event_type::bounce, "blocked"), event_kind::bounce_soft);
  EXPECT_EQ(kind_of(event_type::bounce, "expired"), event_kind::bounce_soft);
  EXPECT_EQ(kind_of(event_type::delivered, ""), event_kind::delivered);
  EXPECT_EQ(kind_of(event_type::dropped, ""), event_kind::dropped);
  EXPECT_EQ(kind_of(event_type::spamreport, ""), event_kind::spamreport);
  EXPECT_EQ(kind_of(event_type::unsubscribe, ""), event_kind::unsubscribe);
  EXPECT_EQ(kind_of(event_type::group_unsubscribe, ""), event_kind::group_unsubscribe);
  for (auto other :
       {event_type::processed, event_type::deferred, event_type::open, event_type::click,
        event_type::group_resubscribe, event_type::account_status_change, event_type::unknown}) {
    EXPECT_FALSE(kind_of(other, "bounce")) << to_string(other);
  }
}

TEST(report_kind, rates_divide_by_what_reached_a_server_and_are_absent_without_it) {
  day_counts counts;
  EXPECT_FALSE(counts.bounce_rate());
  EXPECT_FALSE(counts.spam_rate());
  counts.by_kind[static_cast<std::size_t>(event_kind::delivered)] = 90;
  counts.by_kind[static_cast<std::size_t>(event_kind::bounce_hard)] = 6;
  counts.by_kind[static_cast<std::size_t>(event_kind::bounce_soft)] = 4;
  counts.by_kind[static_cast<std::size_t>(event_kind::spamreport)] = 9;
  counts.by_kind[static_cast<std::size_t>(event_kind::dropped)] = 50;  // never sent: no part
  EXPECT_DOUBLE_EQ(*counts.bounce_rate(), 0.1);
  EXPECT_DOUBLE_EQ(*counts.spam_rate(), 0.1);
}

}  // namespace
}  // namespace mailhook::report
