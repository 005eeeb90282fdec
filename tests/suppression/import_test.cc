// Tests for reading SendGrid suppression exports: the v3 API's JSON (examples from
// SendGrid's OpenAPI spec), the UI's CSV downloads, every way a file can be refused, and
// the changelog record each row becomes.
// Over 600 lines: one case per documented export shape and per way to refuse one.
#include "suppression/import.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailhook::suppression {
namespace {

using rows = std::vector<import_row>;

result<rows> parse(std::string_view text, export_kind kind,
                   std::optional<std::int64_t> group = std::nullopt) {
  import_options options{.kind = kind, .asm_group_id = group};
  return parse_export(text, options);
}

rows parse_ok(std::string_view text, export_kind kind,
              std::optional<std::int64_t> group = std::nullopt) {
  auto parsed = parse(text, kind, group);
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().describe());
  return parsed ? std::move(*parsed) : rows{};
}

struct expected_row {
  // A constructor rather than an aggregate, so that rows can leave out trailing fields.
  expected_row(std::string e, std::int64_t created = 0, std::string r = {}, std::string s = {},
               std::optional<std::int64_t> group = std::nullopt)
      : email(std::move(e)),
        created_s(created),
        reason(std::move(r)),
        status(std::move(s)),
        asm_group_id(group) {}

  std::string email;
  std::int64_t created_s;
  std::string reason;
  std::string status;
  std::optional<std::int64_t> asm_group_id;
};

void expect_rows(const rows& actual, const std::vector<expected_row>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    SCOPED_TRACE("row " + std::to_string(i));
    EXPECT_EQ(actual[i].email, expected[i].email);
    EXPECT_EQ(actual[i].created_s, expected[i].created_s);
    EXPECT_EQ(actual[i].reason, expected[i].reason);
    EXPECT_EQ(actual[i].status, expected[i].status);
    EXPECT_EQ(actual[i].asm_group_id, expected[i].asm_group_id);
  }
}

// The parse failed with `code` and a message holding every one of `parts`.
::testing::AssertionResult fails_with(const result<rows>& parsed, import_errc code,
                                      std::initializer_list<std::string_view> parts) {
  if (parsed) {
    return ::testing::AssertionFailure() << "parsed " << parsed->size() << " rows";
  }
  const failure& f = parsed.error();
  if (f.code != make_error_code(code)) {
    return ::testing::AssertionFailure()
           << "code " << f.code.message() << ", not " << make_error_code(code).message()
           << " (message: " << f.message << ")";
  }
  for (auto part : parts) {
    if (f.message.find(part) == std::string::npos) {
      return ::testing::AssertionFailure()
             << "message \"" << f.message << "\" lacks \"" << part << "\"";
    }
  }
  return ::testing::AssertionSuccess();
}

// --- kinds ----------------------------------------------------------------------------

TEST(ImportKind, parses_every_word_and_writes_it_back) {
  const std::pair<std::string_view, export_kind> cases[] = {
      {"bounces", export_kind::bounces},
      {"blocks", export_kind::blocks},
      {"spam_reports", export_kind::spam_reports},
      {"invalid_emails", export_kind::invalid_emails},
      {"global_unsubscribes", export_kind::global_unsubscribes},
      {"group_unsubscribes", export_kind::group_unsubscribes},
  };
  for (auto [word, kind] : cases) {
    EXPECT_EQ(parse_export_kind(word), kind) << word;
    EXPECT_EQ(to_string(kind), word);
  }
}

TEST(ImportKind, refuses_other_words) {
  for (std::string_view word : {"", "bounce", "Bounces", "spam-reports", "unsubscribes", "all"}) {
    EXPECT_EQ(parse_export_kind(word), std::nullopt) << word;
  }
}

// --- JSON -----------------------------------------------------------------------------

TEST(ImportJson, reads_bounces_as_the_v3_api_returns_them) {
  // GET /v3/suppression/bounces, SendGrid's example (reason ends with a space, as there).
  auto parsed = parse_ok(R"([
    {"created": 1250337600, "email": "example@example.com",
     "reason": "550 5.1.1 The email account that you tried to reach does not exist. ",
     "status": "5.1.1"},
    {"created": 1250337601, "email": "Other@Example.com",
     "reason": "550 5.1.1 <testemail2@testing.com>: Recipient address rejected",
     "status": "5.1.1"}
  ])",
                         export_kind::bounces);
  expect_rows(parsed,
              {{"example@example.com", 1250337600,
                "550 5.1.1 The email account that you tried to reach does not exist.", "5.1.1"},
               {"Other@Example.com", 1250337601,
                "550 5.1.1 <testemail2@testing.com>: Recipient address rejected", "5.1.1"}});
}

TEST(ImportJson, reads_blocks) {
  auto parsed = parse_ok(R"([{"created": 1443651154, "email": "example@example.com",
    "reason": "error dialing remote address: dial tcp 10.57.152.165:25: no route to host",
    "status": "4.0.0"}])",
                         export_kind::blocks);
  expect_rows(parsed, {{"example@example.com", 1443651154,
                        "error dialing remote address: dial tcp 10.57.152.165:25: no route to host",
                        "4.0.0"}});
}

TEST(ImportJson, reads_invalid_emails) {
  auto parsed = parse_ok(R"([
    {"created": 1449953655, "email": "user1@example.com",
     "reason": "Mail domain mentioned in email address is unknown"},
    {"created": 1449939373, "email": "user2@example.com",
     "reason": "Mail domain mentioned in email address is unknown"}])",
                         export_kind::invalid_emails);
  expect_rows(
      parsed,
      {{"user1@example.com", 1449953655, "Mail domain mentioned in email address is unknown", ""},
       {"user2@example.com", 1449939373, "Mail domain mentioned in email address is unknown", ""}});
}

TEST(ImportJson, reads_spam_reports_and_ignores_the_ip) {
  auto parsed = parse_ok(
      R"([{"created": 1443651141, "email": "user1@example.com", "ip": "10.63.202.100"},
          {"created": 1443651154, "email": "user2@example.com", "ip": "10.63.202.100"}])",
      export_kind::spam_reports);
  expect_rows(parsed, {{"user1@example.com", 1443651141}, {"user2@example.com", 1443651154}});
}

TEST(ImportJson, reads_global_unsubscribes) {
  auto parsed = parse_ok(R"([{"created": 1443651141, "email": "user1@example.com"},
                             {"created": 1443651154, "email": "user2@example.com"}])",
                         export_kind::global_unsubscribes);
  expect_rows(parsed, {{"user1@example.com", 1443651141}, {"user2@example.com", 1443651154}});
}

TEST(ImportJson, reads_the_bare_addresses_of_one_group_with_the_given_group_id) {
  // GET /v3/asm/groups/{group_id}/suppressions lists addresses only.
  auto parsed = parse_ok(R"(["example@example.com", " example2@example.com "])",
                         export_kind::group_unsubscribes, 42);
  expect_rows(parsed,
              {{"example@example.com", 0, "", "", 42}, {"example2@example.com", 0, "", "", 42}});
}

TEST(ImportJson, refuses_bare_addresses_of_a_group_without_a_group_id) {
  EXPECT_TRUE(fails_with(parse(R"(["example@example.com"])", export_kind::group_unsubscribes),
                         import_errc::missing_group_id, {"index 0", "group id"}));
}

TEST(ImportJson, reads_all_group_suppressions_with_their_own_group_ids) {
  // GET /v3/asm/suppressions: one object per address and group, "created_at".
  auto parsed = parse_ok(R"([
    {"email": "test1@example.com", "group_id": 1, "group_name": "Weekly News",
     "created_at": 1410986704},
    {"email": "test1@example.com", "group_id": 2, "group_name": "Daily News",
     "created_at": 1411493671},
    {"email": "test2@example.com", "group_id": "2", "group_name": "Daily News",
     "created_at": 1411493671}])",
                         export_kind::group_unsubscribes, 99);
  // The rows' own group ids win over the option, which is only for rows without one.
  expect_rows(parsed, {{"test1@example.com", 1410986704, "", "", 1},
                       {"test1@example.com", 1411493671, "", "", 2},
                       {"test2@example.com", 1411493671, "", "", 2}});
}

TEST(ImportJson, gives_the_option_group_id_to_objects_without_one) {
  auto parsed = parse_ok(R"([{"email": "a@example.com", "created": 5, "group_id": null},
                             {"email": "b@example.com", "created": 6}])",
                         export_kind::group_unsubscribes, 7);
  expect_rows(parsed, {{"a@example.com", 5, "", "", 7}, {"b@example.com", 6, "", "", 7}});
}

TEST(ImportJson, refuses_objects_of_a_group_without_any_group_id) {
  EXPECT_TRUE(fails_with(parse(R"([{"email": "a@example.com", "group_id": 3},
                                   {"email": "b@example.com"}])",
                               export_kind::group_unsubscribes),
                         import_errc::missing_group_id, {"index 1"}));
}

TEST(ImportJson, reads_created_as_a_number_a_numeric_string_a_date_time_or_null) {
  auto parsed = parse_ok(R"([
    {"email": "a@x.io", "created": 1673363045},
    {"email": "b@x.io", "created": "1673363045"},
    {"email": "c@x.io", "created": 1673363045.75},
    {"email": "d@x.io", "created": "2023-01-10 15:04:05"},
    {"email": "e@x.io", "created": null},
    {"email": "f@x.io", "created": ""},
    {"email": "g@x.io"}])",
                         export_kind::global_unsubscribes);
  expect_rows(parsed, {{"a@x.io", 1673363045},
                       {"b@x.io", 1673363045},
                       {"c@x.io", 1673363045},
                       {"d@x.io", 1673363045},
                       {"e@x.io", 0},
                       {"f@x.io", 0},
                       {"g@x.io", 0}});
}

TEST(ImportJson, trims_and_unescapes_strings) {
  auto parsed =
      parse_ok(R"([{"email": "  a\u0040b.example ", "reason": " say \"hi\"\n", "status": null}])",
               export_kind::bounces);
  expect_rows(parsed, {{"a@b.example", 0, "say \"hi\"", ""}});
}

TEST(ImportJson, accepts_an_empty_array_a_bom_and_surrounding_whitespace) {
  EXPECT_TRUE(parse_ok(" \r\n[]\n", export_kind::bounces).empty());
  auto parsed = parse_ok("\xEF\xBB\xBF\n [{\"email\": \"a@b.c\"}]", export_kind::bounces);
  expect_rows(parsed, {{"a@b.c"}});
}

// --- CSV ------------------------------------------------------------------------------

TEST(ImportCsv, reads_bounces_with_columns_in_any_order) {
  auto parsed = parse_ok(
      "status,email,reason,created\n"
      "5.1.1,bounce1@test.com,550 5.1.1 user unknown,1443651125\n"
      "5.0.0,bounce2@test.com,,1443651126\n",
      export_kind::bounces);
  expect_rows(parsed, {{"bounce1@test.com", 1443651125, "550 5.1.1 user unknown", "5.1.1"},
                       {"bounce2@test.com", 1443651126, "", "5.0.0"}});
}

TEST(ImportCsv, matches_header_names_ignoring_case_spaces_and_underscores) {
  auto parsed = parse_ok(
      " Email Address ,Created_At,REASON,Status,Group_ID,Group Name\n"
      "a@example.com,1673363045,r,s,12,News\n",
      export_kind::group_unsubscribes);
  expect_rows(parsed, {{"a@example.com", 1673363045, "r", "s", 12}});
}

TEST(ImportCsv, reads_each_kind_with_its_own_columns) {
  expect_rows(parse_ok("email,created,reason,status\nb@x.io,1,blocked by policy,4.0.0\n",
                       export_kind::blocks),
              {{"b@x.io", 1, "blocked by policy", "4.0.0"}});
  expect_rows(parse_ok("email,created,ip\ns@x.io,2,10.63.202.100\n", export_kind::spam_reports),
              {{"s@x.io", 2}});
  expect_rows(parse_ok("email,created,reason\ni@x.io,3,Mail domain is unknown\n",
                       export_kind::invalid_emails),
              {{"i@x.io", 3, "Mail domain is unknown"}});
  expect_rows(parse_ok("email,created\nu@x.io,4\n", export_kind::global_unsubscribes),
              {{"u@x.io", 4}});
  expect_rows(parse_ok("email\ng@x.io\n", export_kind::group_unsubscribes, 5),
              {{"g@x.io", 0, "", "", 5}});
}

TEST(ImportCsv, reads_quoted_fields_with_commas_doubled_quotes_and_line_breaks) {
  auto parsed = parse_ok(
      "\"email\",\"reason\",\"status\"\n"
      "\"a@example.com\",\"550 5.1.1 \"\"a@example.com\"\": no such user, sorry\",\"5.1.1\"\n"
      "b@example.com,\"two\nlines\",\"\"\n",
      export_kind::bounces);
  expect_rows(parsed,
              {{"a@example.com", 0, "550 5.1.1 \"a@example.com\": no such user, sorry", "5.1.1"},
               {"b@example.com", 0, "two\nlines", ""}});
}

TEST(ImportCsv, handles_crlf_line_ends_and_a_bom) {
  auto parsed = parse_ok(
      "\xEF\xBB\xBF"
      "email,created\r\n"
      "a@example.com,1673363045\r\n"
      "\"b@example.com\",\"2023-01-10 15:04:05\"\r\n",
      export_kind::global_unsubscribes);
  expect_rows(parsed, {{"a@example.com", 1673363045}, {"b@example.com", 1673363045}});
}

TEST(ImportCsv, accepts_a_missing_final_line_end_and_a_lone_cr) {
  auto parsed =
      parse_ok("email,created\ra@example.com,1\rb@example.com,2", export_kind::global_unsubscribes);
  expect_rows(parsed, {{"a@example.com", 1}, {"b@example.com", 2}});
}

TEST(ImportCsv, reads_a_comma_that_ends_the_text_as_an_empty_last_field) {
  // The text is a view: the byte after it (a quote here) is not the reader's to look at.
  const std::string buffer = "email,created\na@example.com,\"";
  auto parsed = parse_ok(std::string_view(buffer).substr(0, buffer.size() - 1),
                         export_kind::global_unsubscribes);
  expect_rows(parsed, {{"a@example.com", 0}});
}

TEST(ImportCsv, skips_blank_lines_and_rows_of_empty_fields) {
  auto parsed = parse_ok("\n\nemail,created\n\na@example.com,1\n,\n \n\nb@example.com,2\n\n",
                         export_kind::global_unsubscribes);
  expect_rows(parsed, {{"a@example.com", 1}, {"b@example.com", 2}});
}

TEST(ImportCsv, trims_cells_and_reads_rows_shorter_than_the_header_as_empty) {
  auto parsed = parse_ok("email,created,reason,status\n  a@example.com\t, 7 \nb@example.com\n",
                         export_kind::bounces);
  expect_rows(parsed, {{"a@example.com", 7}, {"b@example.com", 0}});
}

TEST(ImportCsv, reads_group_ids_from_the_column_and_falls_back_to_the_option) {
  auto parsed = parse_ok("email,group_id\na@example.com,3\nb@example.com,\n",
                         export_kind::group_unsubscribes, 8);
  expect_rows(parsed, {{"a@example.com", 0, "", "", 3}, {"b@example.com", 0, "", "", 8}});
}

TEST(ImportCsv, refuses_a_group_row_without_any_group_id_naming_the_line) {
  EXPECT_TRUE(fails_with(
      parse("email,group_id\na@example.com,3\nb@example.com,\n", export_kind::group_unsubscribes),
      import_errc::missing_group_id, {"line 3", "group id"}));
  EXPECT_TRUE(fails_with(parse("email\na@example.com\n", export_kind::group_unsubscribes),
                         import_errc::missing_group_id, {"line 2"}));
}

TEST(ImportCsv, numbers_lines_as_an_editor_does_across_quoted_line_breaks) {
  // The record starting on line 4 follows one whose quoted reason spans lines 2 and 3.
  EXPECT_TRUE(fails_with(parse("email,reason\r\n"
                               "a@example.com,\"first\r\nsecond\"\r\n"
                               "not-an-address,x\r\n",
                               export_kind::bounces),
                         import_errc::bad_row, {"line 4", "\"not-an-address\""}));
}

// --- created ----------------------------------------------------------------------------

// Every form of the time texts: date_time_test.cc. Here: that a cell reaches them.
TEST(ImportCreated, reads_unix_seconds_and_date_times_as_utc) {
  const std::pair<std::string_view, std::int64_t> cases[] = {
      {"1673363045.5", 1673363045},
      {"2023-01-10T17:04:05+02:00", 1673363045},
      {" 2023-01-10 ", 1673308800},
      {"", 0},
  };
  for (auto [text, seconds] : cases) {
    std::string csv = "email,created\na@example.com,\"" + std::string(text) + "\"\n";
    auto parsed = parse(csv, export_kind::bounces);
    ASSERT_TRUE(parsed) << text << ": " << parsed.error().describe();
    ASSERT_EQ(parsed->size(), 1u);
    EXPECT_EQ((*parsed)[0].created_s, seconds) << text;
  }
}

TEST(ImportCreated, refuses_unknown_formats_and_times_before_1970_naming_the_line_and_the_text) {
  for (std::string_view text : {"yesterday", "1969-12-31 23:59:59", "99999999999999999999"}) {
    std::string csv = "email,created\nok@example.com,1\na@example.com," + std::string(text) + "\n";
    auto parsed = parse(csv, export_kind::bounces);
    EXPECT_TRUE(fails_with(parsed, import_errc::bad_row, {"line 3", "created"})) << text;
  }
}

TEST(ImportCreated, refuses_json_times_out_of_range) {
  for (std::string_view created : {"-1", "18446744073709551615", "1e300", "253402300800"}) {
    std::string json = R"([{"email": "a@b.c", "created": )" + std::string(created) + "}]";
    EXPECT_TRUE(
        fails_with(parse(json, export_kind::bounces), import_errc::bad_row, {"index 0", "created"}))
        << created;
  }
  EXPECT_TRUE(fails_with(parse(R"([{"email": "a@b.c", "created": true}])", export_kind::bounces),
                         import_errc::bad_row, {"index 0", "\"created\"", "boolean"}));
}

// --- errors -----------------------------------------------------------------------------

TEST(ImportErrors, refuses_an_empty_file) {
  for (std::string_view text : {"", " \r\n\t", "\xEF\xBB\xBF"}) {
    EXPECT_TRUE(fails_with(parse(text, export_kind::bounces), import_errc::bad_format, {"empty"}));
  }
}

TEST(ImportErrors, refuses_malformed_json) {
  EXPECT_TRUE(fails_with(parse(R"([{"email": "a@b.c"},)", export_kind::bounces),
                         import_errc::bad_format, {"malformed JSON"}));
  EXPECT_TRUE(fails_with(parse(R"([{"email": "a@b.c"}] trailing)", export_kind::bounces),
                         import_errc::bad_format, {"malformed JSON"}));
}

TEST(ImportErrors, refuses_a_json_object_instead_of_an_array) {
  // No v3 list endpoint wraps its array in an object ({"result": [...]} is only used by
  // the bounce classification statistics).
  EXPECT_TRUE(fails_with(parse(R"({"result": [{"email": "a@b.c"}]})", export_kind::bounces),
                         import_errc::bad_format, {"JSON array", "an object"}));
}

TEST(ImportErrors, names_the_json_index_of_an_element_without_email) {
  EXPECT_TRUE(fails_with(
      parse(R"([{"email": "a@b.c"}, {"email": "d@e.f"}, {"created": 1}])", export_kind::bounces),
      import_errc::bad_row, {"index 2", "no \"email\""}));
  EXPECT_TRUE(fails_with(parse(R"([{"email": "  "}])", export_kind::bounces), import_errc::bad_row,
                         {"index 0", "no email"}));
}

TEST(ImportErrors, refuses_json_elements_and_fields_of_the_wrong_type) {
  EXPECT_TRUE(fails_with(parse(R"([{"email": "a@b.c"}, 12])", export_kind::bounces),
                         import_errc::bad_row, {"index 1", "a number"}));
  EXPECT_TRUE(fails_with(parse(R"([{"email": ["a@b.c"]}])", export_kind::bounces),
                         import_errc::bad_row, {"index 0", "\"email\"", "an array"}));
  EXPECT_TRUE(fails_with(parse(R"([{"email": "a@b.c", "reason": 550}])", export_kind::bounces),
                         import_errc::bad_row, {"index 0", "\"reason\""}));
  EXPECT_TRUE(
      fails_with(parse(R"([{"email": "a@b.c", "group_id": 1.5}])", export_kind::group_unsubscribes),
                 import_errc::bad_row, {"index 0", "\"group_id\""}));
  EXPECT_TRUE(
      fails_with(parse(R"([{"email": "a@b.c", "group_id": 0}])", export_kind::group_unsubscribes),
                 import_errc::bad_row, {"index 0", "positive"}));
}

TEST(ImportErrors, refuses_bare_addresses_outside_group_exports) {
  EXPECT_TRUE(fails_with(parse(R"(["a@b.c"])", export_kind::global_unsubscribes, 3),
                         import_errc::bad_row, {"index 0", "group_unsubscribes"}));
}

TEST(ImportErrors, refuses_a_key_given_twice) {
  EXPECT_TRUE(fails_with(parse(R"([{"email": "a@b.c", "email": "d@e.f"}])", export_kind::bounces),
                         import_errc::bad_row, {"index 0", "\"email\"", "twice"}));
  EXPECT_TRUE(fails_with(parse(R"([{"email": "a@b.c", "created": 1, "created_at": 2}])",
                               export_kind::global_unsubscribes),
                         import_errc::bad_row, {"index 0", "\"created_at\"", "twice"}));
}

TEST(ImportErrors, refuses_group_ids_in_exports_of_other_kinds) {
  EXPECT_TRUE(
      fails_with(parse(R"([{"email": "a@b.c", "group_id": 4}])", export_kind::global_unsubscribes),
                 import_errc::bad_format, {"index 0", "global_unsubscribes"}));
  EXPECT_TRUE(fails_with(parse("email,Group ID\na@b.c,4\n", export_kind::global_unsubscribes),
                         import_errc::bad_format, {"line 1", "global_unsubscribes"}));
}

TEST(ImportErrors, refuses_a_csv_header_without_email_column) {
  EXPECT_TRUE(fails_with(parse("address,created\na@b.c,1\n", export_kind::bounces),
                         import_errc::bad_format, {"line 1", "no email column"}));
}

TEST(ImportErrors, says_when_the_first_csv_line_looks_like_data) {
  EXPECT_TRUE(fails_with(parse("\na@b.c,1\nd@e.f,2\n", export_kind::bounces),
                         import_errc::bad_format, {"line 2", "no email column", "header row"}));
}

TEST(ImportErrors, refuses_two_columns_of_one_field) {
  EXPECT_TRUE(
      fails_with(parse("Email,created,email_address\na@b.c,1,a@b.c\n", export_kind::bounces),
                 import_errc::bad_format, {"line 1", "two email columns (1 and 3)"}));
}

TEST(ImportErrors, names_the_csv_line_of_a_row_without_email) {
  EXPECT_TRUE(fails_with(parse("email,created\na@b.c,1\n,2\nd@e.f,3\n", export_kind::bounces),
                         import_errc::bad_row, {"line 3", "no email"}));
}

TEST(ImportErrors, refuses_what_is_not_an_address_naming_the_line) {
  for (std::string_view email :
       {"gmail.com", "#02232014", "a@b@c", "@example.com", "a@", " @ ", "8/27/2015"}) {
    std::string csv = "email\nok@example.com\n\"" + std::string(email) + "\"\n";
    EXPECT_TRUE(fails_with(parse(csv, export_kind::bounces), import_errc::bad_row,
                           {"line 3", "not an email address"}))
        << email;
  }
}

TEST(ImportErrors, refuses_broken_csv_quoting_naming_the_line) {
  EXPECT_TRUE(
      fails_with(parse("email,reason\na@b.c,\"never closed\nd@e.f,x\n", export_kind::bounces),
                 import_errc::bad_format, {"line 2", "never closed"}));
  EXPECT_TRUE(fails_with(parse("email,reason\na@b.c,say \"hi\"\n", export_kind::bounces),
                         import_errc::bad_format, {"line 2", "quote inside unquoted field 2"}));
  EXPECT_TRUE(fails_with(parse("email,reason\na@b.c,\"hi\" there\n", export_kind::bounces),
                         import_errc::bad_format, {"line 2", "after a closing quote"}));
}

TEST(ImportErrors, refuses_rows_longer_than_the_header) {
  EXPECT_TRUE(
      fails_with(parse("email,reason\na@b.c,550 5.1.1 no, such user\n", export_kind::bounces),
                 import_errc::bad_row, {"line 2", "3 fields", "header has 2"}));
}

TEST(ImportErrors, refuses_a_bad_group_id_cell) {
  EXPECT_TRUE(fails_with(parse("email,group id\na@b.c,News\n", export_kind::group_unsubscribes),
                         import_errc::bad_row, {"line 2", "\"News\"", "positive integer"}));
  EXPECT_TRUE(fails_with(parse("email,group id\na@b.c,-3\n", export_kind::group_unsubscribes),
                         import_errc::bad_row, {"line 2", "positive integer"}));
}

TEST(ImportErrors, refuses_a_group_id_option_that_is_not_positive) {
  EXPECT_TRUE(fails_with(parse("email\na@b.c\n", export_kind::group_unsubscribes, 0),
                         import_errc::missing_group_id, {"positive"}));
}

TEST(ImportErrors, fails_on_the_first_bad_row_and_returns_no_rows) {
  auto parsed = parse("email,created\na@b.c,1\nbad,2\nworse,x\n", export_kind::bounces);
  EXPECT_TRUE(fails_with(parsed, import_errc::bad_row, {"line 3", "\"bad\""}));
}

TEST(ImportErrors, refuses_more_rows_than_max_rows) {
  import_options options{.kind = export_kind::bounces, .asm_group_id = {}, .max_rows = 2};
  EXPECT_TRUE(parse_export("email\na@b.c\nd@e.f\n", options));
  EXPECT_TRUE(fails_with(parse_export("email\na@b.c\nd@e.f\ng@h.i\n", options),
                         import_errc::too_many_rows, {"line 4", "more than 2"}));
  EXPECT_TRUE(fails_with(
      parse_export(R"([{"email":"a@b.c"},{"email":"d@e.f"},{"email":"g@h.i"}])", options),
      import_errc::too_many_rows, {"index 2", "more than 2"}));
}

TEST(ImportErrors, messages_quote_values_shortened_and_without_control_bytes) {
  std::string csv = "email\n\"x\t" + std::string(200, 'x') + "\"\n";
  auto parsed = parse(csv, export_kind::bounces);
  ASSERT_FALSE(parsed);
  EXPECT_LT(parsed.error().message.size(), 180u);
  EXPECT_NE(parsed.error().message.find("...\""), std::string::npos);
  EXPECT_EQ(parsed.error().message.find('\t'), std::string::npos);
}

TEST(ImportErrors, codes_belong_to_the_import_category) {
  auto code = make_error_code(import_errc::bad_row);
  EXPECT_STREQ(code.category().name(), "suppression.import");
  EXPECT_EQ(code.message(), "a row of the export is unusable");
}

// --- to_record --------------------------------------------------------------------------

constexpr std::int64_t now_ms = 1'700'000'000'123;

TEST(ImportRecord, makes_a_bounce_a_global_import_suppression) {
  import_row row{.email = "Bounce1@Test.COM",
                 .created_s = 1443651125,
                 .reason = "user unknown",
                 .status = "5.1.1",
                 .asm_group_id = std::nullopt};
  record r = to_record(row, export_kind::bounces, "acme", "bounces.csv", now_ms);
  EXPECT_EQ(r.tenant(), "acme");
  EXPECT_EQ(r.scope(), v1::SUPPRESSION_SCOPE_GLOBAL);
  EXPECT_EQ(r.asm_group_id(), 0);
  EXPECT_EQ(r.email_normalized(), "bounce1@test.com");
  EXPECT_EQ(r.email(), "Bounce1@Test.COM");
  EXPECT_TRUE(r.suppressed());
  EXPECT_EQ(r.reason(), v1::SUPPRESSION_REASON_BOUNCE);
  EXPECT_EQ(r.detail(), "5.1.1 user unknown");
  EXPECT_EQ(r.event_time_ms(), 1443651125000);
  EXPECT_EQ(r.event_id(), "import:bounces:1443651125");
  EXPECT_EQ(r.origin(), v1::SUPPRESSION_ORIGIN_IMPORT);
  EXPECT_EQ(r.source(), "bounces.csv");
  EXPECT_EQ(r.received_at_ms(), 0);
  EXPECT_EQ(r.recorded_at_ms(), now_ms);
  EXPECT_EQ(key_of(r), "acme/global/bounce1@test.com");
}

TEST(ImportRecord, gives_each_kind_its_scope_and_reason) {
  const struct {
    export_kind kind;
    v1::SuppressionScope scope;
    v1::SuppressionReason reason;
  } cases[] = {
      {export_kind::bounces, v1::SUPPRESSION_SCOPE_GLOBAL, v1::SUPPRESSION_REASON_BOUNCE},
      {export_kind::blocks, v1::SUPPRESSION_SCOPE_GLOBAL, v1::SUPPRESSION_REASON_SOFT_BOUNCE},
      {export_kind::spam_reports, v1::SUPPRESSION_SCOPE_GLOBAL, v1::SUPPRESSION_REASON_SPAM_REPORT},
      {export_kind::invalid_emails, v1::SUPPRESSION_SCOPE_GLOBAL, v1::SUPPRESSION_REASON_INVALID},
      {export_kind::global_unsubscribes, v1::SUPPRESSION_SCOPE_GLOBAL,
       v1::SUPPRESSION_REASON_UNSUBSCRIBE},
      {export_kind::group_unsubscribes, v1::SUPPRESSION_SCOPE_GROUP,
       v1::SUPPRESSION_REASON_GROUP_UNSUBSCRIBE},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.kind)));
    import_row row{
        .email = "a@b.c", .created_s = 10, .reason = {}, .status = {}, .asm_group_id = 77};
    record r = to_record(row, c.kind, "t", "file", now_ms);
    EXPECT_EQ(r.scope(), c.scope);
    EXPECT_EQ(r.reason(), c.reason);
    EXPECT_TRUE(r.suppressed());
    EXPECT_EQ(r.origin(), v1::SUPPRESSION_ORIGIN_IMPORT);
    EXPECT_EQ(r.event_id(), "import:" + std::string(to_string(c.kind)) + ":10");
    EXPECT_EQ(r.asm_group_id(), c.kind == export_kind::group_unsubscribes ? 77 : 0);
  }
}

TEST(ImportRecord, keys_a_group_unsubscribe_by_its_group) {
  auto parsed = parse_ok(R"(["Ann@Example.com"])", export_kind::group_unsubscribes, 42);
  ASSERT_EQ(parsed.size(), 1u);
  record r = to_record(parsed[0], export_kind::group_unsubscribes, "acme", "g.json", now_ms);
  EXPECT_EQ(r.asm_group_id(), 42);
  EXPECT_EQ(key_of(r), "acme/group:42/ann@example.com");
}

TEST(ImportRecord, uses_now_when_the_file_has_no_creation_time) {
  import_row row{.email = "a@b.c"};
  record r = to_record(row, export_kind::global_unsubscribes, "t", "f", now_ms);
  EXPECT_EQ(r.event_time_ms(), now_ms);
  EXPECT_EQ(r.recorded_at_ms(), now_ms);
  EXPECT_EQ(r.event_id(), "import:global_unsubscribes:0");
}

TEST(ImportRecord, joins_status_and_reason_skipping_empty_parts) {
  auto detail = [](std::string status, std::string reason) {
    import_row row{.email = "a@b.c", .created_s = 1, .reason = reason, .status = status};
    return to_record(row, export_kind::blocks, "t", "f", now_ms).detail();
  };
  EXPECT_EQ(detail("4.0.0", "blocked"), "4.0.0 blocked");
  EXPECT_EQ(detail("", "blocked"), "blocked");
  EXPECT_EQ(detail("4.0.0", ""), "4.0.0");
  EXPECT_EQ(detail("", ""), "");
}

TEST(ImportRecord, importing_the_same_file_again_changes_nothing) {
  const std::string_view csv = "email,created,reason,status\na@b.c,1443651125,gone,5.1.1\n";
  auto first = parse_ok(csv, export_kind::bounces);
  auto second = parse_ok(csv, export_kind::bounces);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  // Written at different times, the two records still order equal: a duplicate.
  record a = to_record(first[0], export_kind::bounces, "t", "bounces.csv", now_ms);
  record b = to_record(second[0], export_kind::bounces, "t", "bounces.csv", now_ms + 60'000);
  EXPECT_FALSE(wins_over(a, b));
  EXPECT_FALSE(wins_over(b, a));
  EXPECT_EQ(key_of(a), key_of(b));
}

TEST(ImportRecordDeathTest, aborts_on_a_group_row_without_group_id) {
  import_row row{.email = "a@b.c"};
  EXPECT_DEATH((void)to_record(row, export_kind::group_unsubscribes, "t", "f", now_ms),
               "asm_group_id");
}

}  // namespace
}  // namespace mailhook::suppression
