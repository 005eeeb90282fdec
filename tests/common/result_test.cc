#include "common/result.h"

#include <gtest/gtest.h>

#include <string>

namespace mailhook {
namespace {

result<int> parse_digit(char c) {
  if (c < '0' || c > '9')
    return failure(std::make_error_code(std::errc::invalid_argument), "not a digit");
  return c - '0';
}

TEST(result, holds_a_value) {
  auto r = parse_digit('7');
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 7);
}

TEST(result, holds_a_failure_with_code_and_message) {
  auto r = parse_digit('x');
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, std::errc::invalid_argument);
  EXPECT_EQ(r.error().describe(), "not a digit");
}

TEST(result, describe_falls_back_to_the_code_message) {
  failure f(std::make_error_code(std::errc::timed_out));
  EXPECT_EQ(f.describe(), std::make_error_code(std::errc::timed_out).message());
}

TEST(result, void_result_defaults_to_success) {
  result<void> ok;
  EXPECT_TRUE(ok);
  result<void> bad = failure(std::make_error_code(std::errc::io_error), "disk");
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "disk");
}

TEST(result_death, reading_the_value_of_a_failure_aborts) {
  EXPECT_DEATH((void)*parse_digit('x'), "not a digit");
}

}  // namespace
}  // namespace mailhook
