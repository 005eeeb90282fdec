// RFC 4180 records and the lines they start on, and the malformed quoting it refuses.
#include "suppression/csv_reader.h"

#include <gtest/gtest.h>

#include "suppression/import.h"

namespace mailhook::suppression {
namespace {

struct record_at {
  std::size_t line;
  std::vector<std::string> fields;
  bool operator==(const record_at&) const = default;
};

std::vector<record_at> read_all(std::string_view text) {
  csv_reader reader(text);
  std::vector<record_at> out;
  std::vector<std::string> fields;
  for (;;) {
    auto more = reader.next(fields);
    EXPECT_TRUE(more) << text << ": " << more.error().describe();
    if (!more || !*more) return out;
    out.push_back({reader.record_line(), fields});
  }
}

TEST(csv_reader, reads_records_and_the_physical_line_each_starts_on) {
  const std::pair<std::string_view, std::vector<record_at>> cases[] = {
      {"a,b\n1,2\n", {{1, {"a", "b"}}, {2, {"1", "2"}}}},
      {"a,b\r\n1,2\r\n", {{1, {"a", "b"}}, {2, {"1", "2"}}}},
      {"a,b\r1,2", {{1, {"a", "b"}}, {2, {"1", "2"}}}},
      {"a,\n", {{1, {"a", ""}}}},
      {"a,", {{1, {"a", ""}}}},
      {"\n\nx\n", {{1, {""}}, {2, {""}}, {3, {"x"}}}},
      {R"("a,b","say ""hi""",c)", {{1, {"a,b", R"(say "hi")", "c"}}}},
      {"\"two\nlines\",x\nnext\n", {{1, {"two\nlines", "x"}}, {3, {"next"}}}},
      {"\"cr\rlf\r\n\",x\r\nnext", {{1, {"cr\rlf\r\n", "x"}}, {4, {"next"}}}},
      {" spaced , kept ", {{1, {" spaced ", " kept "}}}},
  };
  for (const auto& [text, expected] : cases) {
    EXPECT_EQ(read_all(text), expected) << text;
  }
}

TEST(csv_reader, refuses_broken_quoting_naming_the_line) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"a\n\"never closed,x\n", "line 2: a quoted field is never closed"},
      {"a\n\"closed\"then text\n", "line 2: text after a closing quote"},
      {"a\nb,c\"d\n", "line 2: a quote inside unquoted field 2"},
  };
  for (const auto& [text, message] : cases) {
    csv_reader reader(text);
    std::vector<std::string> fields;
    result<bool> more = true;
    while (more && *more) more = reader.next(fields);
    ASSERT_FALSE(more) << text;
    EXPECT_EQ(more.error().code, make_error_code(import_errc::bad_format));
    EXPECT_NE(more.error().describe().find(message), std::string::npos) << more.error().describe();
  }
}

}  // namespace
}  // namespace mailhook::suppression
