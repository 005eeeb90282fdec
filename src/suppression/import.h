// Parses the suppression lists a SendGrid account exports, for `mailhook suppressions
// import`: the JSON the v3 API returns and the CSV the SendGrid UI downloads, one list
// (one export_kind) per file. Then turns each row into a changelog record.
// Pure functions, safe from any thread; nothing returned points into the input text.
//
// An import is all or nothing: parse_export fails on the first unusable row, with a
// message that names its CSV line (from 1) or JSON array index (from 0), and returns no
// rows then.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error_category.h"
#include "common/result.h"
#include "suppression/record.h"

namespace mailhook::suppression {

// Why a file cannot be imported. Every failure also carries a message for people.
enum class import_errc {
  bad_format = 1,    // not a JSON array, malformed JSON or CSV, or no email column
  bad_row,           // a row without a usable email, or with an unreadable field
  missing_group_id,  // a group unsubscribe with no group id in the file nor the options
  too_many_rows,     // more rows than import_options::max_rows
};

[[nodiscard]] const char* describe(import_errc e) noexcept;
// Bad input; too_many_rows is over a size limit.
[[nodiscard]] error_class classify(import_errc e) noexcept;

// The SendGrid suppression lists, one per export.
enum class export_kind {
  bounces,              // GET /v3/suppression/bounces
  blocks,               // GET /v3/suppression/blocks
  spam_reports,         // GET /v3/suppression/spam_reports
  invalid_emails,       // GET /v3/suppression/invalid_emails
  global_unsubscribes,  // GET /v3/suppression/unsubscribes
  group_unsubscribes,   // GET /v3/asm/groups/{id}/suppressions or GET /v3/asm/suppressions
};

// "bounces", "blocks", "spam_reports", "invalid_emails", "global_unsubscribes",
// "group_unsubscribes" (exactly these words, as the CLI takes them).
[[nodiscard]] std::optional<export_kind> parse_export_kind(std::string_view word);
[[nodiscard]] std::string_view to_string(export_kind kind) noexcept;

// One suppression of an export. (Members without a value of their own get `{}`, so that
// designated initializers may leave them out without -Wmissing-field-initializers.)
struct import_row {
  std::string email{};                         // as found in the file (trimmed)
  std::int64_t created_s = 0;                  // Unix seconds; 0 when the file has no creation time
  std::string reason{};                        // SendGrid's reason text, if any (trimmed)
  std::string status{};                        // SMTP status, if any (trimmed)
  std::optional<std::int64_t> asm_group_id{};  // group unsubscribes (always set for them)
};

struct import_options {
  export_kind kind;  // no default on purpose: every import names the list it reads
  // The group of a group_unsubscribes export whose rows carry no group id (the v3
  // per-group endpoint lists bare addresses). A group id in a row wins over it. Ignored
  // for the other kinds.
  std::optional<std::int64_t> asm_group_id{};
  std::size_t max_rows = 10'000'000;
};

// Detects the format (JSON when the first non-whitespace byte, after an optional UTF-8
// BOM, is '[' or '{', else CSV) and parses it.
//
// JSON: a bare array, as every v3 list endpoint returns it (none wraps it in an object):
// objects with "email" and, by kind, "created" (or "created_at"), "reason", "status",
// "group_id"; other keys are ignored. A group_unsubscribes array may hold bare address
// strings instead, which then need options.asm_group_id.
// CSV (RFC 4180; CRLF, LF or CR line ends): a header row whose names match case-insensitively,
// ignoring spaces, '_' and '-': email|email address, created|created at, reason, status,
// group id|asm group id; other columns are ignored. Blank lines are skipped.
// "created" is Unix seconds (a JSON number or a numeric text), a date-time text
// ("2023-01-10 15:04:05", "2023-01-10T15:04:05Z", with an optional fraction and UTC
// offset; without an offset it is read as UTC), a bare date, or empty/null (0).
// A group id column or field in an export of another kind is an error: importing group
// unsubscribes as a global list would suppress far more than SendGrid did.
[[nodiscard]] result<std::vector<import_row>> parse_export(std::string_view text,
                                                           const import_options& options);

// The changelog record for one row: a suppression (suppressed = true, origin IMPORT) with
// the scope and reason of its kind, detail = status and reason joined by a space,
// event_time_ms from created_s (now_ms when that is 0), recorded_at_ms = now_ms, and
// event_id "import:<kind>:<created_s>", so that importing the same file twice writes
// duplicates that change nothing. A group_unsubscribes row must have asm_group_id and every
// row an address that normalizes (rows from parse_export always do); a row without is a
// bug and aborts.
[[nodiscard]] record to_record(const import_row& row, export_kind kind, std::string_view tenant,
                               std::string_view source_name, std::int64_t now_ms);

}  // namespace mailhook::suppression

MAILHOOK_DECLARE_ERRC(mailhook::suppression, import_errc)
