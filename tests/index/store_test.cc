#include "index/store.h"

#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "support/temp_dir.h"

namespace mailhook::index {
namespace {

using suppression::record;

record change(std::string tenant, std::string email, bool suppressed, std::int64_t time_ms,
              std::string id,
              mailhook::v1::SuppressionReason reason = mailhook::v1::SUPPRESSION_REASON_BOUNCE) {
  record r;
  r.set_tenant(std::move(tenant));
  r.set_scope(mailhook::v1::SUPPRESSION_SCOPE_GLOBAL);
  r.set_email_normalized(email);
  r.set_email(email);
  r.set_suppressed(suppressed);
  r.set_reason(reason);
  r.set_event_time_ms(time_ms);
  r.set_event_id(std::move(id));
  r.set_origin(mailhook::v1::SUPPRESSION_ORIGIN_EVENT);
  return r;
}

record in_group(record r, std::int64_t group) {
  r.set_scope(mailhook::v1::SUPPRESSION_SCOPE_GROUP);
  r.set_asm_group_id(group);
  r.set_reason(mailhook::v1::SUPPRESSION_REASON_GROUP_UNSUBSCRIBE);
  return r;
}

record suspension(std::string tenant, bool suspended, std::int64_t time_ms) {
  record r;
  r.set_tenant(std::move(tenant));
  r.set_scope(mailhook::v1::SUPPRESSION_SCOPE_TENANT);
  r.set_suppressed(suspended);
  r.set_reason(mailhook::v1::SUPPRESSION_REASON_ACCOUNT_SUSPENDED);
  r.set_detail(suspended ? "compliance_suspend" : "reactivate");
  r.set_event_time_ms(time_ms);
  r.set_event_id("acct" + std::to_string(time_ms));
  return r;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    db.reset();
    store_options options;
    options.dir = dir.path() / "index";
    options.topic = "mailhook.suppressions";
    options.expected_keys = 1000;
    options.hash_for_tests = hash;
    auto opened = store::open(options);
    ASSERT_TRUE(opened) << opened.error().describe();
    db = std::move(*opened);
  }

  apply_outcome apply(const std::vector<record>& records, std::int32_t partition = 0) {
    std::vector<std::string> keys, values;
    for (const auto& r : records) {
      keys.push_back(suppression::key_of(r));
      values.push_back(r.SerializeAsString());
    }
    std::vector<changelog_message> messages;
    for (std::size_t i = 0; i < records.size(); ++i) {
      messages.push_back({keys[i], values[i], partition, next_offset++});
    }
    auto outcome = db->apply(messages);
    EXPECT_TRUE(outcome) << outcome.error().describe();
    return outcome ? *outcome : apply_outcome{};
  }

  testing::temp_dir dir;
  verdict_table::hash_function hash = nullptr;
  std::unique_ptr<store> db;
  std::int64_t next_offset = 0;
};

// Every key under one hash: what an attacker who could choose colliding addresses would get.
std::uint64_t one_hash_for_every_key(std::string_view) {
  return 0x5eed;
}

class StoreCollisionTest : public StoreTest {
 protected:
  void SetUp() override {
    hash = one_hash_for_every_key;
    reopen();
  }
};

TEST_F(StoreTest, UnknownAddressIsAllowed) {
  EXPECT_TRUE(db->check("acme", "nobody@example.com").allowed());
  EXPECT_EQ(db->lookups().allowed, 1u);
}

TEST_F(StoreTest, SuppressedAddressIsFoundNormalized) {
  apply({change("acme", "alice@example.com", true, 1000, "e1")});
  auto v = db->check("acme", "  ALICE@example.com ");
  ASSERT_FALSE(v.allowed());
  EXPECT_EQ(v.suppressed->reason, suppression_reason::bounce);
  EXPECT_EQ(v.suppressed->scope, suppression_scope::global);
  EXPECT_EQ(v.suppressed->since_ms, 1000);
  // Another tenant's suppression does not apply.
  EXPECT_TRUE(db->check("other", "alice@example.com").allowed());
}

TEST_F(StoreTest, DescribeAddsTheDetailOfTheRecord) {
  auto r = change("acme", "alice@example.com", true, 1000, "e1");
  r.set_detail("Invalid Address 5.1.1");
  apply({r, in_group(change("acme", "g@example.com", true, 1000, "e2"), 3)});
  EXPECT_EQ(db->check("acme", "alice@example.com").suppressed->detail, "");
  auto v = db->describe("acme", "Alice@Example.com");
  ASSERT_FALSE(v.allowed());
  EXPECT_EQ(v.suppressed->detail, "Invalid Address 5.1.1");
  EXPECT_EQ(v.suppressed->since_ms, 1000);
  auto g = db->describe("acme", "g@example.com", 3);
  ASSERT_FALSE(g.allowed());
  EXPECT_EQ(g.suppressed->asm_group_id, 3);
  EXPECT_TRUE(db->describe("acme", "nobody@example.com").allowed());
}

TEST_F(StoreTest, ATombstoneRemovesTheKey) {
  apply({change("acme", "a@x.com", true, 1000, "e1")});
  std::vector<changelog_message> tombstone = {{"acme/global/a@x.com", std::nullopt, 0, 5}};
  auto outcome = db->apply(tombstone);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->deleted, 1u);
  EXPECT_TRUE(db->check("acme", "a@x.com").allowed());
  EXPECT_EQ(db->keys(), 0u);
  EXPECT_FALSE(db->get("acme/global/a@x.com"));
}

TEST_F(StoreCollisionTest, AClearedKeyDoesNotHideASuppressedOneWithItsHash) {
  apply({change("acme", "bounced@x.com", true, 1000, "e1")});
  apply({change("acme", "resubscribed@x.com", false, 2000, "e2",
                mailhook::v1::SUPPRESSION_REASON_UNSUBSCRIBE)});
  auto v = db->check("acme", "bounced@x.com");
  ASSERT_FALSE(v.allowed());
  EXPECT_EQ(v.suppressed->reason, suppression_reason::bounce);
  EXPECT_EQ(v.suppressed->since_ms, 1000);
  EXPECT_TRUE(db->check("acme", "resubscribed@x.com").allowed());
  EXPECT_TRUE(db->check("acme", "no-record@x.com").allowed());
  EXPECT_EQ(db->keys(), 2u);
}

TEST_F(StoreCollisionTest, EachKeyAnswersWithItsOwnVerdictWhateverTheOrder) {
  // In one batch (neither key known yet), and in the other order.
  apply(
      {change("acme", "spam@x.com", true, 3000, "e3", mailhook::v1::SUPPRESSION_REASON_SPAM_REPORT),
       change("acme", "cleared@x.com", false, 4000, "e4")});
  apply({change("beta", "cleared@x.com", false, 4000, "e5"),
         change("beta", "spam@x.com", true, 3000, "e6",
                mailhook::v1::SUPPRESSION_REASON_SPAM_REPORT)});
  apply({change("acme", "unsub@x.com", true, 5000, "e7",
                mailhook::v1::SUPPRESSION_REASON_UNSUBSCRIBE)});
  for (const char* tenant : {"acme", "beta"}) {
    auto spam = db->check(tenant, "spam@x.com");
    ASSERT_FALSE(spam.allowed()) << tenant;
    EXPECT_EQ(spam.suppressed->reason, suppression_reason::spam_report);
    EXPECT_EQ(spam.suppressed->since_ms, 3000);
    EXPECT_TRUE(db->check(tenant, "cleared@x.com").allowed()) << tenant;
  }
  auto unsub = db->check("acme", "unsub@x.com");
  ASSERT_FALSE(unsub.allowed());
  EXPECT_EQ(unsub.suppressed->reason, suppression_reason::unsubscribe);
  EXPECT_TRUE(db->check("beta", "unsub@x.com").allowed());
  // Group keys share the hash too: the global suppression is no group's.
  apply({in_group(change("acme", "grouped@x.com", true, 6000, "e8"), 7)});
  EXPECT_TRUE(db->check("acme", "grouped@x.com").allowed());
  EXPECT_FALSE(db->check("acme", "grouped@x.com", 7).allowed());
  EXPECT_TRUE(db->check("acme", "grouped@x.com", 8).allowed());
}

TEST_F(StoreCollisionTest, ATombstoneRemovesOnlyItsOwnKey) {
  apply({change("acme", "bounced@x.com", true, 1000, "e1")});
  // A tombstone of a key without a record, then of one with a record: both share the hash.
  std::vector<changelog_message> unknown = {{"acme/global/never@x.com", std::nullopt, 0, 10}};
  ASSERT_TRUE(db->apply(unknown));
  EXPECT_FALSE(db->check("acme", "bounced@x.com").allowed());
  apply({change("acme", "other@x.com", true, 2000, "e2")});
  std::vector<changelog_message> other = {{"acme/global/other@x.com", std::nullopt, 0, 11}};
  ASSERT_TRUE(db->apply(other));
  EXPECT_TRUE(db->check("acme", "other@x.com").allowed());
  EXPECT_FALSE(db->check("acme", "bounced@x.com").allowed());
  EXPECT_EQ(db->keys(), 1u);
}

TEST_F(StoreCollisionTest, CollisionsAreFoundAgainWhenTheTableIsRebuilt) {
  apply({change("acme", "bounced@x.com", true, 1000, "e1"),
         change("acme", "cleared@x.com", false, 2000, "e2")});
  reopen();
  EXPECT_FALSE(db->check("acme", "bounced@x.com").allowed());
  EXPECT_TRUE(db->check("acme", "cleared@x.com").allowed());
  // And a change after the rebuild updates the one key it names.
  apply({change("acme", "bounced@x.com", false, 3000, "e3")});
  EXPECT_TRUE(db->check("acme", "bounced@x.com").allowed());
  apply({change("acme", "cleared@x.com", true, 4000, "e4")});
  EXPECT_FALSE(db->check("acme", "cleared@x.com").allowed());
  EXPECT_TRUE(db->check("acme", "bounced@x.com").allowed());
}

TEST_F(StoreCollisionTest, AnAddressWithoutARecordOnASuppressedKeysSlotIsNotAllowed) {
  // Without a second key there is nothing to confuse: no RocksDB read, and a key without
  // a record that lands on the slot gets the slot's verdict, never "allowed" for a
  // suppressed key.
  apply({change("acme", "bounced@x.com", true, 1000, "e1")});
  EXPECT_FALSE(db->check("acme", "bounced@x.com").allowed());
  EXPECT_FALSE(db->check("acme", "no-record@x.com").allowed());
}

TEST_F(StoreTest, LastWriterWinsWhateverTheArrivalOrder) {
  auto older = in_group(change("acme", "a@x.com", true, 1000, "unsub"), 7);
  auto newer = in_group(change("acme", "a@x.com", false, 2000, "resub"), 7);
  auto outcome = apply({newer, older});
  EXPECT_EQ(outcome.applied, 1u);
  EXPECT_EQ(outcome.superseded, 1u);
  EXPECT_TRUE(db->check("acme", "a@x.com", 7).allowed());

  // And across batches: a late unsubscribe cannot undo the newer resubscribe.
  EXPECT_EQ(apply({older}).superseded, 1u);
  EXPECT_TRUE(db->check("acme", "a@x.com", 7).allowed());

  // The reverse order: unsubscribe after resubscribe suppresses again.
  apply({in_group(change("acme", "a@x.com", true, 3000, "unsub2"), 7)});
  EXPECT_FALSE(db->check("acme", "a@x.com", 7).allowed());
}

TEST_F(StoreTest, DuplicatesChangeNothing) {
  auto r = change("acme", "a@x.com", true, 1000, "e1");
  EXPECT_EQ(apply({r}).applied, 1u);
  auto again = apply({r, r});
  EXPECT_EQ(again.applied, 0u);
  EXPECT_EQ(again.superseded, 2u);
  EXPECT_EQ(db->keys(), 1u);
}

TEST_F(StoreTest, GroupSuppressionAppliesOnlyToItsGroup) {
  apply({in_group(change("acme", "a@x.com", true, 1000, "e1"), 7)});
  EXPECT_TRUE(db->check("acme", "a@x.com").allowed());
  EXPECT_TRUE(db->check("acme", "a@x.com", 8).allowed());
  auto v = db->check("acme", "a@x.com", 7);
  ASSERT_FALSE(v.allowed());
  EXPECT_EQ(v.suppressed->scope, suppression_scope::group);
  EXPECT_EQ(v.suppressed->asm_group_id, 7);
}

TEST_F(StoreTest, SuspensionStopsTheWholeTenantUntilReactivated) {
  apply({suspension("acme", true, 1000)});
  auto v = db->check("acme", "anyone@x.com");
  ASSERT_FALSE(v.allowed());
  EXPECT_EQ(v.suppressed->scope, suppression_scope::tenant);
  EXPECT_EQ(v.suppressed->detail, "compliance_suspend");
  EXPECT_TRUE(db->check("other", "anyone@x.com").allowed());
  apply({suspension("acme", false, 2000)});
  EXPECT_TRUE(db->check("acme", "anyone@x.com").allowed());
}

TEST_F(StoreTest, MismatchedKeyOrGarbageIsInvalidAndSkipped) {
  auto r = change("acme", "a@x.com", true, 1000, "e1");
  std::string value = r.SerializeAsString();
  std::string garbage = "\xff\xff\xff";
  std::vector<changelog_message> messages = {
      {"acme/global/someone-else@x.com", value, 0, 0},
      {"acme/global/a@x.com", garbage, 0, 1},
  };
  auto outcome = db->apply(messages);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->invalid, 2u);
  EXPECT_EQ(db->keys(), 0u);
  // The offsets still advance past them.
  EXPECT_EQ(db->offsets().at(0), 2);
}

TEST_F(StoreTest, StateAndOffsetsSurviveReopen) {
  apply({change("acme", "a@x.com", true, 1000, "e1")}, 0);
  apply({change("acme", "b@x.com", true, 1000, "e2"), suspension("beta", true, 5)}, 3);
  auto offsets = db->offsets();
  ASSERT_EQ(offsets.size(), 2u);
  EXPECT_EQ(offsets.at(0), 1);
  EXPECT_EQ(offsets.at(3), 3);

  reopen();
  EXPECT_EQ(db->offsets(), offsets);
  EXPECT_EQ(db->keys(), 3u);
  EXPECT_FALSE(db->check("acme", "a@x.com").allowed());
  EXPECT_FALSE(db->check("acme", "b@x.com").allowed());
  EXPECT_FALSE(db->check("beta", "c@x.com").allowed());
  EXPECT_TRUE(db->check("acme", "c@x.com").allowed());
}

TEST_F(StoreTest, RefusesADirectoryOfAnotherTopic) {
  db.reset();
  store_options options;
  options.dir = dir.path() / "index";
  options.topic = "other.topic";
  auto opened = store::open(options);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, make_error_code(errc::wrong_topic));
}

// What mailhook::open_replica gives a send worker: the writer keeps the directory open,
// and the reader sees the records in its files, not those only in the writer's memtable.
TEST_F(StoreTest, AReadOnlyOpenSeesTheFlushedRecordsWhileTheWriterKeepsTheDirectory) {
  apply({change("acme", "flushed@x.com", true, 1000, "e1"), suspension("beta", true, 5)});
  reopen();  // closing flushes
  apply({change("acme", "in-memory@x.com", true, 1001, "e2")});

  store_options options;
  options.dir = dir.path() / "index";
  options.read_only = true;  // any topic
  options.expected_keys = 0;
  auto reader = store::open(options);
  ASSERT_TRUE(reader) << reader.error().describe();
  EXPECT_EQ((*reader)->keys(), 2u);
  EXPECT_FALSE((*reader)->check("acme", "Flushed@X.com").allowed());
  EXPECT_FALSE((*reader)->check("beta", "anyone@x.com").allowed());
  EXPECT_TRUE((*reader)->check("acme", "in-memory@x.com").allowed());
  auto described = (*reader)->describe("acme", "flushed@x.com");
  ASSERT_FALSE(described.allowed());
  EXPECT_EQ(described.suppressed->reason, suppression_reason::bounce);
  std::vector<changelog_message> tombstone = {{"acme/global/flushed@x.com", std::nullopt, 0, 9}};
  EXPECT_FALSE((*reader)->apply(tombstone));
  EXPECT_FALSE((*reader)->check("acme", "flushed@x.com").allowed());

  // The writer goes on, and closes, as if the reader were not there.
  apply({change("acme", "later@x.com", true, 1002, "e3")});
  reopen();
  EXPECT_EQ(db->keys(), 4u);
  EXPECT_TRUE((*reader)->check("acme", "later@x.com").allowed());  // seen by a new open only
}

TEST_F(StoreTest, AReadOnlyOpenCreatesNothingAndChecksTheTopicItIsGiven) {
  store_options options;
  options.dir = dir.path() / "missing";
  options.read_only = true;
  EXPECT_FALSE(store::open(options));
  EXPECT_FALSE(std::filesystem::exists(options.dir));

  options.dir = dir.path() / "index";
  options.topic = "other.topic";
  auto opened = store::open(options);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, make_error_code(errc::wrong_topic));
}

TEST_F(StoreTest, CountsFollowChanges) {
  apply({change("acme", "a@x.com", true, 1000, "e1"),
         change("acme", "b@x.com", true, 1000, "e2", mailhook::v1::SUPPRESSION_REASON_SPAM_REPORT),
         change("beta", "a@x.com", true, 1000, "e3")});
  auto counts = db->counts();
  EXPECT_EQ((counts[{"acme", suppression_scope::global, suppression_reason::bounce}]), 1u);
  EXPECT_EQ((counts[{"acme", suppression_scope::global, suppression_reason::spam_report}]), 1u);
  EXPECT_EQ((counts[{"beta", suppression_scope::global, suppression_reason::bounce}]), 1u);
  apply({change("acme", "a@x.com", false, 2000, "e4", mailhook::v1::SUPPRESSION_REASON_MANUAL)});
  counts = db->counts();
  EXPECT_FALSE((counts.contains({"acme", suppression_scope::global, suppression_reason::bounce})));
  reopen();
  EXPECT_EQ(db->counts().size(), 2u);
}

TEST_F(StoreTest, ListPagesThroughOneTenantWithAFilter) {
  std::vector<record> records;
  for (int i = 0; i < 25; ++i) {
    auto reason = i % 5 == 0 ? mailhook::v1::SUPPRESSION_REASON_SPAM_REPORT
                             : mailhook::v1::SUPPRESSION_REASON_BOUNCE;
    records.push_back(change("acme", "u" + std::to_string(100 + i) + "@x.com", true, 1000,
                             "e" + std::to_string(i), reason));
  }
  records.push_back(change("acmf", "z@x.com", true, 1000, "other-tenant"));
  records.push_back(change("acme", "cleared@x.com", false, 1000, "c"));
  apply(records);

  list_query q;
  q.tenant = "acme";
  q.limit = 10;
  std::vector<std::string> seen;
  for (int page_count = 0;; ++page_count) {
    ASSERT_LT(page_count, 5);
    auto page = db->list(q);
    for (const auto& r : page.records) seen.push_back(r.email_normalized());
    if (page.next_cursor.empty()) break;
    q.after_key = page.next_cursor;
  }
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_EQ(seen.front(), "u100@x.com");
  EXPECT_EQ(seen.back(), "u124@x.com");

  list_query spam;
  spam.tenant = "acme";
  spam.reason = suppression_reason::spam_report;
  EXPECT_EQ(db->list(spam).records.size(), 5u);

  list_query all;
  all.tenant = "acme";
  all.include_cleared = true;
  all.limit = 1000;
  EXPECT_EQ(db->list(all).records.size(), 26u);
}

// Lookups from other threads while the apply thread writes and the verdict table grows
// (run under ThreadSanitizer with the tsan preset): every lookup answers, and once the
// writes are done every address is seen suppressed.
TEST_F(StoreTest, LookupsRunWhileChangesApply) {
  constexpr int batches = 20;
  constexpr int per_batch = 500;
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> lookups{0};
  auto reader = [&] {
    std::uint64_t n = 0;
    while (!done.load()) {
      auto i = n++ % (batches * per_batch);
      (void)db->check("acme", "u" + std::to_string(i) + "@x.com", 7);
      (void)db->describe("acme", "u" + std::to_string(i) + "@x.com");
    }
    lookups += n;
  };
  std::thread first(reader);
  std::thread second(reader);
  for (int b = 0; b < batches; ++b) {
    std::vector<record> records;
    for (int i = 0; i < per_batch; ++i) {
      int n = b * per_batch + i;
      records.push_back(change("acme", "u" + std::to_string(n) + "@x.com", true, 1000 + n,
                               "e" + std::to_string(n)));
    }
    apply(records);
  }
  done = true;
  first.join();
  second.join();
  EXPECT_GT(lookups.load(), 0u);
  for (int n = 0; n < batches * per_batch; n += 97) {
    EXPECT_FALSE(db->check("acme", "u" + std::to_string(n) + "@x.com").allowed()) << n;
  }
  EXPECT_EQ(db->keys(), static_cast<std::uint64_t>(batches * per_batch));
}

// A crash while RocksDB flushes its small memtables, stood for by closing the store
// without its final flush: whatever survives, the offsets never run ahead of the records,
// since writes skip the WAL and both column families must flush together.
// A store of its own in `dir` whose 64 KiB memtables flush every few hundred records.
store_options small_memtables(const std::filesystem::path& dir) {
  store_options options;
  options.dir = dir;
  options.topic = "mailhook.suppressions";
  options.expected_keys = 1000;
  options.write_buffer_bytes = 64 * 1024;
  return options;
}

TEST_F(StoreTest, ACrashNeverKeepsOffsetsAheadOfTheirRecords) {
  db.reset();
  auto options = small_memtables(dir.path() / "crash");
  options.flush_at_close = false;
  constexpr int batches = 60;
  constexpr int per_batch = 200;
  {
    auto opened = store::open(options);
    ASSERT_TRUE(opened) << opened.error().describe();
    for (int b = 0; b < batches; ++b) {
      std::vector<std::string> keys, values;
      std::vector<changelog_message> messages;
      for (int i = 0; i < per_batch; ++i) {
        int n = b * per_batch + i;
        auto r = change("acme", "u" + std::to_string(n) + "@x.com", true, 1000 + n,
                        "e" + std::to_string(n));
        keys.push_back(suppression::key_of(r));
        values.push_back(r.SerializeAsString());
      }
      for (int i = 0; i < per_batch; ++i) {
        messages.push_back({keys[static_cast<std::size_t>(i)], values[static_cast<std::size_t>(i)],
                            0, b * per_batch + i});
      }
      ASSERT_TRUE((*opened)->apply(messages));
    }
  }
  options.flush_at_close = true;
  auto reopened = store::open(options);
  ASSERT_TRUE(reopened) << reopened.error().describe();
  auto offsets = (*reopened)->offsets();
  std::int64_t next = offsets.contains(0) ? offsets.at(0) : 0;
  // Some of it was flushed (64 KiB memtables), some lost, and every record below the
  // offset is there.
  EXPECT_GT(next, 0);
  EXPECT_LT(next, batches * per_batch);
  EXPECT_EQ((*reopened)->keys(), static_cast<std::uint64_t>(next));
  for (std::int64_t n = 0; n < next; ++n) {
    ASSERT_FALSE((*reopened)->check("acme", "u" + std::to_string(n) + "@x.com").allowed())
        << "offset " << next << " but record " << n << " is missing";
  }
}

// Records u<first>..u<first + count - 1>@x.com, suppressed, applied as one batch.
void apply_numbered(store& db, int first, int count, std::int64_t& next_offset) {
  std::vector<std::string> keys, values;
  for (int n = first; n < first + count; ++n) {
    auto r =
        change("acme", "u" + std::to_string(n) + "@x.com", true, 1000 + n, "e" + std::to_string(n));
    keys.push_back(suppression::key_of(r));
    values.push_back(r.SerializeAsString());
  }
  std::vector<changelog_message> messages;
  for (std::size_t i = 0; i < keys.size(); ++i)
    messages.push_back({keys[i], values[i], 0, next_offset++});
  ASSERT_TRUE(db.apply(messages));
}

bool within(std::chrono::seconds limit, const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::unique_ptr<store> open_with_small_memtables(const std::filesystem::path& dir) {
  auto opened = store::open(small_memtables(dir));
  EXPECT_TRUE(opened) << opened.error().describe();
  return opened ? std::move(*opened) : nullptr;
}

TEST_F(StoreTest, ACatchUpPausesCompactionsUntilItEnds) {
  auto small = open_with_small_memtables(dir.path() / "catch-up");
  ASSERT_TRUE(small);
  small->begin_catch_up(100'000);
  int applied = 0;
  // RocksDB compacts level 0 from 4 files on; paused, they pile up.
  ASSERT_TRUE(within(std::chrono::seconds(20), [&] {
    apply_numbered(*small, applied, 300, next_offset);
    applied += 300;
    return small->level0_files() >= 8;
  }));
  auto piled_up = small->level0_files();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_GE(small->level0_files(), piled_up);

  small->end_catch_up();
  EXPECT_TRUE(within(std::chrono::seconds(20), [&] { return small->level0_files() < 4; }))
      << small->level0_files() << " level-0 files";
  EXPECT_EQ(small->keys(), static_cast<std::uint64_t>(applied));
  EXPECT_FALSE(small->check("acme", "u0@x.com").allowed());
}

TEST_F(StoreTest, TooManyLevel0FilesEndACatchUpEarly) {
  auto small = open_with_small_memtables(dir.path() / "catch-up-cap");
  ASSERT_TRUE(small);
  small->begin_catch_up(1'000'000);
  int applied = 0;
  std::uint64_t most = 0;
  // With no end_catch_up(), compactions resume by themselves at the cap.
  ASSERT_TRUE(within(std::chrono::seconds(60),
                     [&] {
                       apply_numbered(*small, applied, 300, next_offset);
                       applied += 300;
                       most = std::max(most, small->level0_files());
                       return most >= store::max_catch_up_level0_files && small->level0_files() < 8;
                     }))
      << most << " level-0 files at most, " << small->level0_files() << " now";
}

// A disk that fills on demand: while full, appending to a file fails with ENOSPC and the
// free space is 0, as on a real one (RocksDB's recovery looks at the free space).
class fillable_file_system final : public rocksdb::FileSystemWrapper {
 public:
  fillable_file_system() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "mailhook.FillableFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* debug) override {
    auto status = FileSystemWrapper::NewWritableFile(name, options, file, debug);
    if (status.ok()) *file = std::make_unique<fillable_file>(std::move(*file), full);
    return status;
  }
  rocksdb::IOStatus GetFreeSpace(const std::string& /*path*/, const rocksdb::IOOptions& /*options*/,
                                 std::uint64_t* free, rocksdb::IODebugContext* /*debug*/) override {
    *free = full.load() ? 0 : 1ULL << 40;
    return rocksdb::IOStatus::OK();
  }

  std::atomic<bool> full{false};

 private:
  class fillable_file final : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    fillable_file(std::unique_ptr<rocksdb::FSWritableFile> file, const std::atomic<bool>& full)
        : FSWritableFileOwnerWrapper(std::move(file)), full_(full) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* debug) override {
      if (full_.load()) return rocksdb::IOStatus::NoSpace("no space left on the test disk");
      return FSWritableFileOwnerWrapper::Append(data, options, debug);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& verification,
                             rocksdb::IODebugContext* debug) override {
      if (full_.load()) return rocksdb::IOStatus::NoSpace("no space left on the test disk");
      return FSWritableFileOwnerWrapper::Append(data, options, verification, debug);
    }

   private:
    const std::atomic<bool>& full_;
  };
};

// u<first>..u<first + count - 1>@x.com, suppressed: keys and values kept alive for the
// messages that view them.
struct numbered_batch {
  numbered_batch(int first, int count, std::int64_t& next_offset) {
    for (int n = first; n < first + count; ++n) {
      auto r = change("acme", "u" + std::to_string(n) + "@x.com", true, 1000 + n,
                      "e" + std::to_string(n));
      keys.push_back(suppression::key_of(r));
      values.push_back(r.SerializeAsString());
    }
    for (std::size_t i = 0; i < keys.size(); ++i)
      messages.push_back({keys[i], values[i], 0, next_offset++});
  }
  std::vector<std::string> keys, values;
  std::vector<changelog_message> messages;
};

TEST_F(StoreTest, AFullDiskFailsTheWriteKeepsNothingAndTheSameRecordsApplyOnceItHasRoom) {
  db.reset();
  auto disk = std::make_shared<fillable_file_system>();
  auto env = rocksdb::NewCompositeEnv(disk);
  auto options = small_memtables(dir.path() / "full");
  options.env_for_tests = env.get();
  {
    auto opened = store::open(options);
    ASSERT_TRUE(opened) << opened.error().describe();
    auto& full = **opened;
    disk->full = true;
    // Writes go to the memtable until a flush finds the disk full; from then on RocksDB
    // refuses them.
    int first = 0;
    std::optional<numbered_batch> refused;
    for (int attempt = 0; attempt < 200 && !refused; ++attempt) {
      numbered_batch batch(first, 100, next_offset);
      if (full.apply(batch.messages)) {
        first += 100;
        // The flush runs in the background.
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      } else {
        refused.emplace(std::move(batch));
      }
    }
    ASSERT_TRUE(refused) << "no write failed with the disk full";
    auto kept = full.keys();
    EXPECT_EQ(kept, static_cast<std::uint64_t>(first));
    EXPECT_TRUE(full.check("acme", "u" + std::to_string(first) + "@x.com").allowed());
    // Still full: resuming fails, and the batch still is not kept.
    auto again = full.apply(refused->messages);
    ASSERT_FALSE(again);
    EXPECT_EQ(full.keys(), kept);

    // RocksDB resumes on its own once it sees free space, within a few seconds.
    disk->full = false;
    result<apply_outcome> applied = failure(errc::write_failed);
    ASSERT_TRUE(within(std::chrono::seconds(30), [&] {
      applied = full.apply(refused->messages);
      return applied.has_value();
    })) << applied.error().describe();
    EXPECT_EQ(applied->applied, 100U);
    EXPECT_FALSE(full.check("acme", "u" + std::to_string(first) + "@x.com").allowed());
    numbered_batch after(first + 100, 100, next_offset);
    ASSERT_TRUE(full.apply(after.messages));
  }
  // Nothing was lost on the way: every record is there after a restart, up to the offset.
  auto reopened = store::open(options);
  ASSERT_TRUE(reopened) << reopened.error().describe();
  auto offsets = (*reopened)->offsets();
  ASSERT_TRUE(offsets.contains(0));
  EXPECT_EQ(offsets.at(0), next_offset);
  EXPECT_EQ((*reopened)->keys(), static_cast<std::uint64_t>(next_offset));
}

TEST_F(StoreTest, OverItsDiskLimitTheStoreRefusesToWriteAndKeepsNothing) {
  db.reset();
  auto options = small_memtables(dir.path() / "limited");
  options.max_disk_bytes = 256 * 1024;
  int first = 0;
  std::int64_t refused_offset = -1;
  {
    auto opened = store::open(options);
    ASSERT_TRUE(opened) << opened.error().describe();
    auto& limited = **opened;
    for (int attempt = 0; attempt < 1000 && refused_offset < 0; ++attempt) {
      auto offset = next_offset;
      numbered_batch batch(first, 100, next_offset);
      auto outcome = limited.apply(batch.messages);
      if (outcome) {
        first += 100;
        continue;
      }
      refused_offset = offset;
      EXPECT_EQ(outcome.error().code, make_error_code(errc::over_disk_limit));
      EXPECT_NE(outcome.error().describe().find("index.max_disk"), std::string::npos)
          << outcome.error().describe();
    }
    ASSERT_GE(refused_offset, 0) << "the limit was never reached";
    EXPECT_GT(limited.disk_bytes(), options.max_disk_bytes);
    EXPECT_EQ(limited.keys(), static_cast<std::uint64_t>(first));
    EXPECT_TRUE(limited.check("acme", "u" + std::to_string(first) + "@x.com").allowed());
  }
  // With a larger limit, after a restart, the same records apply.
  options.max_disk_bytes = 0;
  auto reopened = store::open(options);
  ASSERT_TRUE(reopened) << reopened.error().describe();
  EXPECT_EQ((*reopened)->offsets().at(0), refused_offset);
  numbered_batch batch(first, 100, refused_offset);
  auto applied = (*reopened)->apply(batch.messages);
  ASSERT_TRUE(applied) << applied.error().describe();
  EXPECT_EQ(applied->applied, 100U);
}

TEST_F(StoreTest, ForEachVisitsOneTenantOrAll) {
  apply({change("acme", "a@x.com", true, 1, "1"), change("beta", "b@x.com", true, 1, "2")});
  int acme = 0, all = 0;
  db->for_each("acme", [&](const record&) { return ++acme, true; });
  db->for_each("", [&](const record&) { return ++all, true; });
  EXPECT_EQ(acme, 1);
  EXPECT_EQ(all, 2);
}

}  // namespace
}  // namespace mailhook::index
