// Tests for the JSON writer: every byte escaped as RFC 8259 says, commas where they belong
// at any nesting, and output that a JSON parser reads back to the same values.
#include "common/json_writer.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <string>

namespace mailhook {
namespace {

std::string escaped(std::string_view text) {
  std::string out;
  append_json_escaped(out, text);
  return out;
}

TEST(append_json_escaped, escapes_quote_backslash_and_every_control_byte) {
  EXPECT_EQ(escaped(R"(say "hi" \ bye)"), R"(say \"hi\" \\ bye)");
  EXPECT_EQ(escaped("a\nb\rc\td"), R"(a\nb\rc\td)");
  EXPECT_EQ(escaped(std::string_view("\0\x01\x1f", 3)), R"(\u0000\u0001\u001f)");
  // DEL and UTF-8 pass through: JSON allows them in strings.
  EXPECT_EQ(escaped("\x7f\xc3\xa9"), "\x7f\xc3\xa9");
  EXPECT_EQ(escaped(""), "");
}

TEST(append_json_escaped, every_single_byte_reads_back_as_itself) {
  simdjson::dom::parser parser;
  for (int c = 1; c < 0x80; ++c) {
    const std::string text(1, static_cast<char>(c));
    const std::string json = "\"" + escaped(text) + "\"";
    std::string_view back;
    ASSERT_EQ(parser.parse(json).get(back), simdjson::SUCCESS) << "byte " << c;
    EXPECT_EQ(back, text) << "byte " << c;
  }
}

TEST(json_writer, places_commas_at_every_level) {
  std::string out;
  json_writer json(out);
  json.begin_object()
      .field("a", 1)
      .key("list")
      .begin_array()
      .value("x")
      .begin_object()
      .end_object()
      .begin_array()
      .end_array()
      .value(true)
      .null()
      .end_array()
      .field("b", std::string("y"))
      .key("nested")
      .begin_object()
      .field("c", false)
      .end_object()
      .end_object();
  EXPECT_EQ(out, R"({"a":1,"list":["x",{},[],true,null],"b":"y","nested":{"c":false}})");
}

TEST(json_writer, appends_after_what_the_string_holds) {
  std::string out = "prefix ";
  json_writer(out).begin_array().value(1).value(2).end_array();
  EXPECT_EQ(out, "prefix [1,2]");
}

TEST(json_writer, writes_integer_limits_and_shortest_doubles) {
  std::string out;
  json_writer(out)
      .begin_array()
      .value(std::numeric_limits<std::int64_t>::min())
      .value(std::numeric_limits<std::uint64_t>::max())
      .value(0.1)
      .value(-2.5)
      .value(std::numeric_limits<double>::quiet_NaN())
      .value(std::numeric_limits<double>::infinity())
      .end_array();
  EXPECT_EQ(out, "[-9223372036854775808,18446744073709551615,0.1,-2.5,null,null]");
}

TEST(json_writer, escapes_keys_and_values_and_keeps_raw_json_as_it_is) {
  std::string out;
  json_writer(out)
      .begin_object()
      .field("k\"ey", "v\nal")
      .key("data")
      .raw(R"({"n":1.50})")
      .end_object();
  EXPECT_EQ(out, R"({"k\"ey":"v\nal","data":{"n":1.50}})");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(out).get(doc), simdjson::SUCCESS);
  std::string_view v;
  ASSERT_EQ(doc["k\"ey"].get(v), simdjson::SUCCESS);
  EXPECT_EQ(v, "v\nal");
}

TEST(json_writer_death, closing_what_was_not_opened_is_a_bug) {
  std::string out;
  EXPECT_DEATH(json_writer(out).end_object(), "close without an open");
}

}  // namespace
}  // namespace mailhook
