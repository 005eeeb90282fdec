#include "report/store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace mailhook::report {
namespace {

const day_number dec_1 = *parse_day("2026-12-01");
const day_number dec_2 = dec_1 + 1;
const day_number dec_3 = dec_1 + 2;

struct event {
  std::string tenant;
  std::string id;
  event_kind kind;
  day_number day;
  day_number arrival_day;
};

class report_store : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen(const std::string& topic = "sendgrid.events") {
    db.reset();
    store_options options;
    options.dir = dir.path() / "report";
    options.topic = topic;
    options.seen_days = 3;
    auto opened = store::open(options);
    ASSERT_TRUE(opened) << opened.error().describe();
    db = std::move(*opened);
  }

  // Applies `events` as one batch, each its own record on `partition` (an event with an
  // empty id stands for a record that counts for nothing).
  apply_outcome apply(const std::vector<event>& events, std::int32_t partition = 0) {
    std::vector<consumed_record> records;
    for (const auto& e : events) {
      consumed_record r{partition, next_offset[partition]++, std::nullopt};
      if (!e.id.empty())
        r.event = consumed_record::counted{e.tenant, e.id, e.kind, e.day, e.arrival_day};
      records.push_back(r);
    }
    auto outcome = db->apply(records);
    EXPECT_TRUE(outcome) << outcome.error().describe();
    return outcome ? *outcome : apply_outcome{};
  }

  day_counts day_of(const std::string& tenant, day_number day) {
    auto rows = db->counts(tenant, day, day);
    EXPECT_TRUE(rows) << rows.error().describe();
    if (!rows || rows->empty()) return day_counts{day, {}};
    return rows->front();
  }

  mailhook::testing::temp_dir dir;
  std::unique_ptr<store> db;
  std::map<std::int32_t, std::int64_t> next_offset;
};

TEST_F(report_store, counts_each_kind_per_tenant_and_event_day) {
  auto outcome = apply({{"acme", "e1", event_kind::delivered, dec_1, dec_1},
                        {"acme", "e2", event_kind::delivered, dec_1, dec_2},
                        {"acme", "e3", event_kind::bounce_hard, dec_1, dec_1},
                        {"acme", "e4", event_kind::bounce_soft, dec_2, dec_2},
                        {"acme", "e5", event_kind::spamreport, dec_2, dec_2},
                        {"beta", "e6", event_kind::group_unsubscribe, dec_1, dec_1}});
  EXPECT_EQ(outcome.counted, 6u);
  EXPECT_EQ(outcome.duplicates, 0u);
  EXPECT_EQ((outcome.by_tenant[{"acme", event_kind::delivered}]), 2u);

  auto first = day_of("acme", dec_1);
  EXPECT_EQ(first.of(event_kind::delivered), 2u);  // e2 arrived a day later: its own day counts
  EXPECT_EQ(first.of(event_kind::bounce_hard), 1u);
  EXPECT_EQ(first.of(event_kind::bounce_soft), 0u);
  auto second = day_of("acme", dec_2);
  EXPECT_EQ(second.of(event_kind::bounce_soft), 1u);
  EXPECT_EQ(second.of(event_kind::spamreport), 1u);
  EXPECT_EQ(day_of("beta", dec_1).of(event_kind::group_unsubscribe), 1u);
  EXPECT_EQ(day_of("beta", dec_1).of(event_kind::delivered), 0u);
}

TEST_F(report_store, counts_an_event_id_once_in_a_batch_across_batches_and_after_reopen) {
  auto first = apply({{"acme", "e1", event_kind::bounce_hard, dec_1, dec_1},
                      {"acme", "e1", event_kind::bounce_hard, dec_1, dec_1}});
  EXPECT_EQ(first.counted, 1u);
  EXPECT_EQ(first.duplicates, 1u);
  // SendGrid's retry, the next day.
  auto retry = apply({{"acme", "e1", event_kind::bounce_hard, dec_1, dec_2}});
  EXPECT_EQ(retry.duplicates, 1u);
  reopen();
  auto after_restart = apply({{"acme", "e1", event_kind::bounce_hard, dec_1, dec_3}});
  EXPECT_EQ(after_restart.counted, 0u);
  EXPECT_EQ(day_of("acme", dec_1).of(event_kind::bounce_hard), 1u);
}

TEST_F(report_store, recognizes_a_copy_that_arrived_a_day_earlier_by_another_clock) {
  apply({{"acme", "e1", event_kind::delivered, dec_1, dec_2}});
  EXPECT_EQ(apply({{"acme", "e1", event_kind::delivered, dec_1, dec_1}}).duplicates, 1u);
}

TEST_F(report_store, the_same_id_under_two_tenants_counts_for_each) {
  auto outcome = apply({{"acme", "e1", event_kind::delivered, dec_1, dec_1},
                        {"beta", "e1", event_kind::delivered, dec_1, dec_1}});
  EXPECT_EQ(outcome.counted, 2u);
}

TEST_F(report_store, every_record_moves_its_partitions_offset_with_the_counts) {
  EXPECT_TRUE(db->offsets().empty());
  apply({{"acme", "e1", event_kind::delivered, dec_1, dec_1}, {"acme", "", {}, 0, 0}}, 0);
  apply({{"acme", "", {}, 0, 0}, {"acme", "", {}, 0, 0}, {"acme", "", {}, 0, 0}}, 3);
  reopen();
  auto offsets = db->offsets();
  EXPECT_EQ(offsets, (std::map<std::int32_t, std::int64_t>{{0, 2}, {3, 3}}));
  EXPECT_EQ(day_of("acme", dec_1).of(event_kind::delivered), 1u);
}

TEST_F(report_store, pruning_forgets_ids_that_arrived_before_the_first_kept_day_only) {
  apply({{"acme", "old", event_kind::delivered, dec_1, dec_1},
         {"acme", "new", event_kind::delivered, dec_1, dec_3}});
  ASSERT_TRUE(db->prune_seen(dec_2));
  // "new" is still known; "old" (arrived on Dec 1) is forgotten, but what it counted stays.
  auto outcome = apply({{"acme", "new", event_kind::delivered, dec_1, dec_3},
                        {"acme", "old", event_kind::delivered, dec_1, dec_1}});
  EXPECT_EQ(outcome.duplicates, 1u);
  EXPECT_EQ(outcome.counted, 1u);
  EXPECT_EQ(day_of("acme", dec_1).of(event_kind::delivered), 3u);
}

TEST_F(report_store, an_id_is_looked_for_only_within_seen_days_before_its_arrival) {
  apply({{"acme", "e1", event_kind::delivered, dec_1, dec_1}});
  // seen_days = 3: a copy arriving on Dec 4 is recognized, one on Dec 5 is not.
  EXPECT_EQ(apply({{"acme", "e1", event_kind::delivered, dec_1, dec_1 + 3}}).duplicates, 1u);
  EXPECT_EQ(apply({{"acme", "e1", event_kind::delivered, dec_1, dec_1 + 4}}).counted, 1u);
}

TEST_F(report_store, a_range_holds_its_own_tenant_and_days_only) {
  apply({{"acme", "a", event_kind::delivered, dec_1 - 1, dec_1},
         {"acme", "b", event_kind::delivered, dec_1, dec_1},
         {"acme", "c", event_kind::delivered, dec_3, dec_3},
         {"acme", "d", event_kind::delivered, dec_3 + 1, dec_3},
         {"acme-eu", "e", event_kind::delivered, dec_2, dec_2},
         {"acm", "f", event_kind::delivered, dec_2, dec_2}});
  auto rows = db->counts("acme", dec_1, dec_3);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].day, dec_1);
  EXPECT_EQ((*rows)[1].day, dec_3);
  EXPECT_EQ((*rows)[0].of(event_kind::delivered) + (*rows)[1].of(event_kind::delivered), 2u);
}

TEST_F(report_store, refuses_a_directory_that_counts_another_topic) {
  db.reset();
  store_options options;
  options.dir = dir.path() / "report";
  options.topic = "other.events";
  auto opened = store::open(options);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, errc::wrong_topic);
}

}  // namespace
}  // namespace mailhook::report
