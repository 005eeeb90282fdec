#include "kafka/record_framing.h"

#include <gtest/gtest.h>

#include <string>

namespace mailhook::kafka {
namespace {

using namespace std::string_literals;

TEST(record_framing, a_protobuf_prefix_is_magic_id_and_zigzag_message_path) {
  const std::int32_t email_event[] = {2};
  EXPECT_EQ(confluent_prefix(1, email_event), "\x00\x00\x00\x00\x01\x02\x04"s);
  const std::int32_t nested[] = {3, 70};
  EXPECT_EQ(confluent_prefix(0x01020304, nested), "\x00\x01\x02\x03\x04\x04\x06\x8c\x01"s);
}

TEST(record_framing, the_path_0_takes_confluents_one_byte_form) {
  const std::int32_t first[] = {0};
  EXPECT_EQ(confluent_prefix(9, first), "\x00\x00\x00\x00\x09\x00"s);
}

TEST(record_framing, a_json_prefix_has_no_message_path) {
  EXPECT_EQ(confluent_prefix(258, {}), "\x00\x00\x00\x01\x02"s);
}

TEST(record_framing, a_framed_value_reads_back_as_its_id_and_payload) {
  const std::int32_t path[] = {2};
  const std::string value = confluent_prefix(70000, path) +
                            "\x0a\x03"
                            "abc";
  auto read = read_record_value(value);
  ASSERT_TRUE(read);
  EXPECT_TRUE(read->framed);
  EXPECT_FALSE(read->json);
  EXPECT_EQ(read->schema_id, 70000u);
  EXPECT_EQ(read->payload,
            "\x0a\x03"
            "abc");

  const std::int32_t first[] = {0};
  const std::string short_form = confluent_prefix(5, first) + "xyz";
  read = read_record_value(short_form);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->payload, "xyz");
  EXPECT_EQ(read->schema_id, 5u);
}

TEST(record_framing, framed_json_is_told_by_its_brace) {
  const std::string value = confluent_prefix(3, {}) + R"({"event":"open"})";
  auto read = read_record_value(value);
  ASSERT_TRUE(read);
  EXPECT_TRUE(read->framed);
  EXPECT_TRUE(read->json);
  EXPECT_EQ(read->payload, R"({"event":"open"})");
}

TEST(record_framing, a_bare_value_passes_through) {
  for (std::string bare : {"\x0a\x03"
                           "abc"s,
                           R"({"a":1})"s, ""s}) {
    auto read = read_record_value(bare);
    ASSERT_TRUE(read);
    EXPECT_FALSE(read->framed);
    EXPECT_EQ(read->payload, bare);
  }
}

TEST(record_framing, a_malformed_frame_is_refused) {
  EXPECT_FALSE(read_record_value("\x00\x00\x00\x01"s));              // cut inside the id
  EXPECT_FALSE(read_record_value("\x00\x00\x00\x00\x01"s));          // no path at all
  EXPECT_FALSE(read_record_value("\x00\x00\x00\x00\x01\x04\x02"s));  // 2 indexes, 1 given
  EXPECT_FALSE(read_record_value("\x00\x00\x00\x00\x01\x01"s));      // a negative count
  EXPECT_FALSE(read_record_value("\x00\x00\x00\x00\x01\x02\x03"s));  // a negative index
  EXPECT_FALSE(read_record_value("\x00\x00\x00\x00\x01\x82\x01"s));  // 65 indexes: too deep
  EXPECT_FALSE(read_record_value("\x00\x00\x00\x00\x01\xff\xff\xff\xff\xff\x01"s));  // too long
}

}  // namespace
}  // namespace mailhook::kafka
