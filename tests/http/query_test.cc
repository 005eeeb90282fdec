#include "http/query.h"

#include <gtest/gtest.h>

#include <string>

namespace mailhook::http {
namespace {

TEST(UrlDecode, DecodesPercentEscapesInEitherCaseAndPlusAsSpace) {
  EXPECT_EQ(url_decode("a%40b.com"), "a@b.com");
  EXPECT_EQ(url_decode("%c3%A9lise"), "\xC3\xA9lise");
  EXPECT_EQ(url_decode("two+words"), "two words");
  EXPECT_EQ(url_decode("%2B"), "+");
  EXPECT_EQ(url_decode("%00"), std::string(1, '\0'));
}

TEST(UrlDecode, KeepsAPercentWithoutTwoHexDigitsAsItIs) {
  EXPECT_EQ(url_decode("%"), "%");
  EXPECT_EQ(url_decode("%4"), "%4");
  EXPECT_EQ(url_decode("a%4"), "a%4");
  EXPECT_EQ(url_decode("%zz"), "%zz");
  EXPECT_EQ(url_decode("%4g1"), "%4g1");
  EXPECT_EQ(url_decode("100%"), "100%");
  EXPECT_EQ(url_decode("%%41"), "%A");
}

TEST(UrlDecode, DecodesAnEscapeThatEndsTheText) {
  EXPECT_EQ(url_decode("%41"), "A");
  EXPECT_EQ(url_decode("ab%41"), "abA");
}

TEST(UrlEncode, EscapesAllButTheUnreservedBytesAndDecodesBack) {
  EXPECT_EQ(url_encode("a-Z_0.~"), "a-Z_0.~");
  EXPECT_EQ(url_encode("a b+c@d/é%"), "a%20b%2Bc%40d%2F%C3%A9%25");
  EXPECT_EQ(url_decode(url_encode("x=1&y=\n\x7f")), "x=1&y=\n\x7f");
}

TEST(ParseQuery, SplitsPairsAndDecodesBothSides) {
  auto params = parse_query("tenant=acme&email=Someone%40Example.com&group=42");
  ASSERT_EQ(params.size(), 3u);
  EXPECT_EQ(params["tenant"], "acme");
  EXPECT_EQ(params["email"], "Someone@Example.com");
  EXPECT_EQ(params["group"], "42");
  EXPECT_EQ(parse_query("na%6De=v%3Dw")["name"], "v=w");
}

TEST(ParseQuery, ANameWithoutEqualsHasAnEmptyValueAndEmptyPairsAreSkipped) {
  auto params = parse_query("&state&&a=&b=1&");
  ASSERT_EQ(params.size(), 3u);
  EXPECT_EQ(params["state"], "");
  EXPECT_EQ(params["a"], "");
  EXPECT_EQ(params["b"], "1");
  EXPECT_TRUE(parse_query("").empty());
  EXPECT_TRUE(parse_query("&&").empty());
}

TEST(ParseQuery, OnlyTheFirstEqualsSplitsAPair) {
  EXPECT_EQ(parse_query("note=a=b")["note"], "a=b");
  EXPECT_EQ(parse_query("=x")[""], "x");
}

TEST(ParseQuery, ANameGivenTwiceKeepsItsLastValue) {
  EXPECT_EQ(parse_query("tenant=a&tenant=b")["tenant"], "b");
}

}  // namespace
}  // namespace mailhook::http
