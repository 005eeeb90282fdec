// Tests for the byte-level text helpers.
#include "common/text.h"

#include <gtest/gtest.h>

namespace mailhook {
namespace {

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

TEST(one_line, turns_every_control_character_into_a_space_and_trims) {
  EXPECT_EQ(one_line("  550 5.1.1\r\nUser unknown\t(x)\x1b \n"), "550 5.1.1  User unknown (x)");
  EXPECT_EQ(one_line("del\x7f"), "del");
}

TEST(one_line, cuts_at_the_limit_and_says_so) {
  EXPECT_EQ(one_line("abcdef", 3), "abc...");
  EXPECT_EQ(one_line("abc", 3), "abc");
  EXPECT_EQ(one_line(std::string(1000, 'x')).size(), 1000u);
}

TEST(hex_value, reads_both_cases_and_refuses_the_rest) {
  EXPECT_EQ(hex_value('0'), 0);
  EXPECT_EQ(hex_value('9'), 9);
  EXPECT_EQ(hex_value('a'), 10);
  EXPECT_EQ(hex_value('F'), 15);
  EXPECT_EQ(hex_value('g'), -1);
  EXPECT_EQ(hex_value('\0'), -1);
}

}  // namespace
}  // namespace mailhook
