// What every row of a suppression export must satisfy, whatever its format (CSV or JSON):
// its place in the file for messages, the checks on its address and group id, its
// creation time read from text, and the row limit. Shared by import_csv and import_json.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "suppression/import.h"

namespace mailhook::suppression {

// 9999-12-31T23:59:59Z. No later time is a SendGrid creation time, and created_s * 1000
// must fit event_time_ms.
inline constexpr std::int64_t max_created_s = 253'402'300'799;

// Where a row is, for messages: "line 12" (CSV, 1-based physical line) or "index 3"
// (JSON, 0-based array index).
struct position {
  std::string_view unit;
  std::size_t number = 0;

  [[nodiscard]] std::string str() const { return std::string(unit) + " " + std::to_string(number); }
};

// A value quoted for a message: at most 64 bytes, cut at a UTF-8 character boundary, with
// control bytes shown as '?' so that a damaged file cannot garble the terminal.
[[nodiscard]] std::string quote_value(std::string_view value);

// "<position>: <what>" with `code`.
[[nodiscard]] failure row_failure(import_errc code, const position& at, std::string_view what);

// A failure unless 0 <= seconds <= max_created_s.
[[nodiscard]] result<void> check_created_range(std::int64_t seconds, const position& at);

// A created text from a CSV cell or a JSON string (Unix seconds or a date-time, see
// date_time.h); empty means no creation time (0).
[[nodiscard]] result<std::int64_t> parse_created_text(std::string_view text, const position& at);

// A positive decimal group id.
[[nodiscard]] result<std::int64_t> parse_group_id_text(std::string_view text, const position& at);

// Checks what every row needs (an address that normalizes; a group id for a group
// unsubscribe, from the row or the options) and fills in the group id.
[[nodiscard]] result<void> finish_row(import_row& row, const position& at,
                                      const import_options& options);

// Appends `row`, or fails past options.max_rows.
[[nodiscard]] result<void> add_row(std::vector<import_row>& rows, import_row&& row,
                                   const position& at, const import_options& options);

// A group id found in an export of another kind.
[[nodiscard]] failure group_id_in_wrong_kind(const position& at, export_kind kind);

}  // namespace mailhook::suppression
