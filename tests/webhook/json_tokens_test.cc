// The raw-token checks the batch parser relies on, against RFC 8259's grammar: numbers,
// string escapes (unpaired surrogates told apart), the backslash test at every length
// and offset, and the bracket that closes a body.
#include "webhook/json_tokens.h"

#include <gtest/gtest.h>

#include <string>

namespace mailhook::webhook::json_tokens {
namespace {

TEST(check_number, follows_the_rfc_8259_grammar) {
  const struct {
    std::string_view text;
    number_kind kind;
  } cases[] = {
      {"0", number_kind::integer},          {"-0", number_kind::integer},
      {"1234567890", number_kind::integer}, {"-12", number_kind::integer},
      {"0.5", number_kind::decimal},        {"1e9", number_kind::decimal},
      {"1E+9", number_kind::decimal},       {"-2.5e-3", number_kind::decimal},
      {"", number_kind::invalid},           {"-", number_kind::invalid},
      {"01", number_kind::invalid},         {"+1", number_kind::invalid},
      {".5", number_kind::invalid},         {"1.", number_kind::invalid},
      {"1e", number_kind::invalid},         {"1e+", number_kind::invalid},
      {"0x10", number_kind::invalid},       {"1 ", number_kind::invalid},
      {"NaN", number_kind::invalid},        {"Infinity", number_kind::invalid},
  };
  for (const auto& c : cases) EXPECT_EQ(check_number(c.text), c.kind) << "'" << c.text << "'";
}

TEST(check_escapes, accepts_the_eight_short_escapes_and_paired_surrogates) {
  const struct {
    std::string_view content;
    escapes result;
  } cases[] = {
      {"plain", escapes::valid},
      {R"(\" \\ \/ \b \f \n \r \t)", escapes::valid},
      {R"(\u00e9)", escapes::valid},
      {R"(\ud83d\ude00)", escapes::valid},     // a pair: one code point
      {R"(\ud83d)", escapes::lone_surrogate},  // high alone
      {R"(\ude00)", escapes::lone_surrogate},  // low alone
      {R"(\ud83dx)", escapes::lone_surrogate},
      {R"(\ud83d\ud83d)", escapes::lone_surrogate},
      {R"(\x)", escapes::invalid},
      {R"(\u12)", escapes::invalid},
      {R"(\u12g4)", escapes::invalid},
      {R"(\ud83d\uzzzz)", escapes::invalid},  // a second \u with bad digits
      {"ends with \\", escapes::invalid},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(check_escapes(c.content), c.result) << c.content;
  }
}

TEST(has_backslash, finds_one_at_every_length_and_offset_and_ignores_what_lies_beyond) {
  // 16 bytes at a time, reading past the end: padding after the text holds backslashes
  // that must not count.
  std::string buffer(64 + 16, '\\');
  for (std::size_t size = 0; size <= 40; ++size) {
    for (std::size_t at = 0; at <= size; ++at) {
      std::fill(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(size), 'a');
      if (at < size) buffer[at] = '\\';
      EXPECT_EQ(has_backslash(std::string_view(buffer.data(), size)), at < size)
          << "size " << size << " at " << at;
    }
  }
}

TEST(find_closing_bracket, skips_brackets_inside_strings_and_escaped_quotes) {
  EXPECT_EQ(find_closing_bracket("[]"), 2u);
  EXPECT_EQ(find_closing_bracket(R"([{"a":"]\"}"}] tail)"), 14u);
  EXPECT_EQ(find_closing_bracket("[[1],[2]],x"), 9u);
  EXPECT_EQ(find_closing_bracket("[1,2"), std::string_view::npos);
  EXPECT_EQ(find_closing_bracket("]"), std::string_view::npos);
}

TEST(trim_json_space_right, removes_only_the_four_json_spaces) {
  EXPECT_EQ(trim_json_space_right("x \t\r\n"), "x");
  EXPECT_EQ(trim_json_space_right("x\v"), "x\v");
  EXPECT_EQ(trim_json_space_right(""), "");
}

}  // namespace
}  // namespace mailhook::webhook::json_tokens
