#include "index/record_fields.h"

#include <gtest/gtest.h>

#include "suppression/record.h"

namespace mailhook::index {
namespace {

suppression::record full_record() {
  suppression::record r;
  r.set_tenant("acme");
  r.set_scope(mailhook::v1::SUPPRESSION_SCOPE_GROUP);
  r.set_asm_group_id(4242);
  r.set_email_normalized("someone@example.com");
  r.set_email("Someone@Example.com");
  r.set_suppressed(true);
  r.set_reason(mailhook::v1::SUPPRESSION_REASON_GROUP_UNSUBSCRIBE);
  r.set_detail("group_unsubscribe");
  r.set_event_time_ms(1'795'768'319'298);
  r.set_event_id("ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRr");
  r.set_origin(mailhook::v1::SUPPRESSION_ORIGIN_IMPORT);
  r.set_source("main");
  r.set_received_at_ms(1'795'768'319'500);
  r.set_recorded_at_ms(1'795'768'319'900);
  return r;
}

TEST(RecordFields, ReadsWhatProtobufWrites) {
  auto r = full_record();
  auto bytes = r.SerializeAsString();
  record_fields f;
  ASSERT_TRUE(read_fields(bytes, f));
  EXPECT_EQ(f.tenant, "acme");
  EXPECT_EQ(f.email_normalized, "someone@example.com");
  EXPECT_EQ(f.event_id, r.event_id());
  EXPECT_EQ(f.asm_group_id, 4242);
  EXPECT_EQ(f.event_time_ms, r.event_time_ms());
  EXPECT_EQ(f.received_at_ms, r.received_at_ms());
  EXPECT_EQ(f.scope, suppression_scope::group);
  EXPECT_EQ(f.reason, suppression_reason::group_unsubscribe);
  EXPECT_EQ(f.origin, suppression_origin::import);
  EXPECT_TRUE(f.suppressed);
  std::string key;
  write_key(key, f);
  EXPECT_EQ(key, suppression::key_of(r));
}

TEST(RecordFields, DefaultsForAbsentFieldsAndEveryScopesKey) {
  suppression::record r;
  r.set_tenant("acme");
  r.set_email_normalized("a@x.com");
  record_fields f;
  // The fields are views into the bytes: they must outlive f's use.
  auto bytes = r.SerializeAsString();
  ASSERT_TRUE(read_fields(bytes, f));
  EXPECT_EQ(f.scope, suppression_scope::global);
  EXPECT_FALSE(f.suppressed);
  EXPECT_EQ(f.event_time_ms, 0);
  std::string key;
  write_key(key, f);
  EXPECT_EQ(key, "acme/global/a@x.com");
  r.set_scope(mailhook::v1::SUPPRESSION_SCOPE_TENANT);
  r.clear_email_normalized();
  bytes = r.SerializeAsString();
  ASSERT_TRUE(read_fields(bytes, f));
  write_key(key, f);
  EXPECT_EQ(key, suppression::key_of(r));
}

TEST(RecordFields, SkipsUnknownFieldsOfEveryWireType) {
  auto bytes = full_record().SerializeAsString();
  // Field 100 as varint, 101 as 64-bit, 102 as bytes, 103 as 32-bit: a newer writer's.
  bytes += std::string("\xa0\x06\x7f", 3);
  bytes += std::string("\xa9\x06", 2) + std::string(8, 'x');
  bytes += std::string(
      "\xb2\x06\x03"
      "abc",
      6);
  bytes += std::string("\xbd\x06", 2) + std::string(4, 'y');
  record_fields f;
  ASSERT_TRUE(read_fields(bytes, f));
  EXPECT_EQ(f.tenant, "acme");
  EXPECT_EQ(f.asm_group_id, 4242);
}

TEST(RecordFields, ReadsEnumValuesItDoesNotKnowAsProtobufsReadersDo) {
  // What protobuf keeps of such values (the low 32 bits, as they are) must give the same
  // key as key_of, or every replica would refuse a record the writer's key_of accepted.
  for (std::int64_t scope : {std::int64_t{4}, std::int64_t{5}, std::int64_t{6}, std::int64_t{7},
                             std::int64_t{-1}, (std::int64_t{1} << 32) + 2}) {
    auto r = full_record();
    r.set_scope(static_cast<mailhook::v1::SuppressionScope>(static_cast<std::int32_t>(scope)));
    r.set_reason(static_cast<mailhook::v1::SuppressionReason>(17));
    r.set_origin(static_cast<mailhook::v1::SuppressionOrigin>(4));
    auto bytes = r.SerializeAsString();
    if (scope > 0xffffffff) {
      // Field 2 again as a varint wider than 32 bits: protobuf keeps the low ones (2).
      bytes += std::string("\x10\x82\x80\x80\x80\x10", 6);
      ASSERT_TRUE(r.ParseFromString(bytes));
      EXPECT_EQ(r.scope(), mailhook::v1::SUPPRESSION_SCOPE_GROUP);
    }
    record_fields f;
    ASSERT_TRUE(read_fields(bytes, f)) << scope;
    std::string key;
    write_key(key, f);
    EXPECT_EQ(key, suppression::key_of(r)) << scope;
    EXPECT_EQ(f.scope, scope > 0xffffffff ? suppression_scope::group : suppression_scope::global)
        << scope;
    EXPECT_EQ(f.reason, suppression_reason::unspecified);
    EXPECT_EQ(f.origin, suppression_origin::unspecified);
  }
}

TEST(RecordFields, RefusesTruncatedOrCorruptBytes) {
  auto bytes = full_record().SerializeAsString();
  record_fields f;
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    auto truncated = bytes.substr(0, cut);
    // A prefix that ends exactly between fields is a valid (shorter) message; any other
    // must be refused, never read past its end.
    suppression::record r;
    EXPECT_EQ(read_fields(truncated, f), r.ParseFromString(truncated)) << cut;
  }
  EXPECT_FALSE(read_fields(std::string("\x0b", 1), f));      // a group never closed
  EXPECT_FALSE(read_fields(std::string("\x0a\xff", 2), f));  // length past the end
}

TEST(RecordFields, SkipsGroupsAsProtobufDoes) {
  // Field 12 (source, a string) as a group holding a nested group 100 and fields, one of
  // them numbered like tenant: protobuf keeps it all as an unknown field.
  const std::string group =
      "\x63"
      "\xa3\x06\x08\x01\xa4\x06"
      "\x0a\x02zz\x15yyyy"
      "\x64";
  const auto bytes = full_record().SerializeAsString() + group;
  suppression::record r;
  ASSERT_TRUE(r.ParseFromString(bytes));
  record_fields f;
  ASSERT_TRUE(read_fields(bytes, f));
  EXPECT_EQ(f.tenant, "acme");
  EXPECT_EQ(f.asm_group_id, 4242);
  // What protobuf refuses: an end without a start, an end of another group, a group
  // that never ends, groups nested too deep.
  for (const std::string& bad :
       {std::string("\x64"), std::string("\x63\xa4\x06"), std::string("\x63\x08\x01"),
        std::string(150, '\x63') + std::string(150, '\x64')}) {
    EXPECT_FALSE(r.ParseFromString(bytes + bad));
    EXPECT_FALSE(read_fields(bytes + bad, f));
  }
}

TEST(RecordFields, LastWriterWins) {
  record_fields a;
  record_fields b;
  a.event_time_ms = 2;
  b.event_time_ms = 1;
  EXPECT_TRUE(wins_over(a, b));
  b.event_time_ms = 2;
  a.event_id = "b";
  b.event_id = "a";
  EXPECT_TRUE(wins_over(a, b));
  EXPECT_FALSE(wins_over(b, a));
  EXPECT_FALSE(wins_over(a, a));
}

}  // namespace
}  // namespace mailhook::index
