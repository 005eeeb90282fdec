#include "common/byte_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <utility>

namespace mailhook {
namespace {

void append(byte_buffer& b, std::string_view text) {
  std::memcpy(b.grow_unwritten(text.size()), text.data(), text.size());
}

TEST(byte_buffer, starts_empty_without_memory) {
  byte_buffer b;
  EXPECT_EQ(b.size(), 0U);
  EXPECT_EQ(b.capacity(), 0U);
  EXPECT_EQ(b.view(), "");
}

TEST(byte_buffer, keeps_what_was_written_when_it_grows_past_its_capacity) {
  byte_buffer b;
  b.reserve(4);
  append(b, "abcd");
  const char* before = b.data();
  append(b, "efgh");
  EXPECT_NE(b.data(), before);
  EXPECT_EQ(b.view(), "abcdefgh");
  EXPECT_GE(b.capacity(), 1024U);
}

TEST(byte_buffer, grows_inside_its_reserved_capacity_without_moving) {
  byte_buffer b;
  b.reserve(100);
  const char* start = b.data();
  for (int i = 0; i < 10; ++i) append(b, "0123456789");
  EXPECT_EQ(b.data(), start);
  EXPECT_EQ(b.capacity(), 100U);
  EXPECT_EQ(b.size(), 100U);
}

TEST(byte_buffer, grows_geometrically_under_small_appends) {
  byte_buffer b;
  int moves = 0;
  const char* last = nullptr;
  for (int i = 0; i < 1 << 20; ++i) {
    append(b, "x");
    if (b.data() != last) ++moves;
    last = b.data();
  }
  EXPECT_EQ(b.size(), std::size_t{1} << 20);
  EXPECT_LE(moves, 20);  // 1024 growing by half to 1 MiB takes 18
}

TEST(byte_buffer, reserve_keeps_the_content_and_never_shrinks) {
  byte_buffer b;
  append(b, "kept");
  b.reserve(1 << 16);
  EXPECT_EQ(b.view(), "kept");
  EXPECT_EQ(b.capacity(), std::size_t{1} << 16);
  b.reserve(10);
  EXPECT_EQ(b.capacity(), std::size_t{1} << 16);
}

TEST(byte_buffer, clear_keeps_the_capacity) {
  byte_buffer b;
  append(b, "abcdef");
  const std::size_t capacity = b.capacity();
  b.clear();
  EXPECT_EQ(b.size(), 0U);
  EXPECT_EQ(b.capacity(), capacity);
  const char* start = b.data();
  append(b, "again");
  EXPECT_EQ(b.data(), start);
  EXPECT_EQ(b.view(), "again");
}

TEST(byte_buffer, moving_hands_over_the_bytes_and_empties_the_source) {
  byte_buffer a;
  append(a, "moved");
  byte_buffer b(std::move(a));
  EXPECT_EQ(b.view(), "moved");
  EXPECT_EQ(a.size(), 0U);      // NOLINT(bugprone-use-after-move): the contract under test
  EXPECT_EQ(a.capacity(), 0U);  // NOLINT(bugprone-use-after-move)
  byte_buffer c;
  c = std::move(b);
  EXPECT_EQ(c.view(), "moved");
  EXPECT_EQ(b.size(), 0U);  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace mailhook
