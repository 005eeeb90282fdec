// SendGrid suppression exports (see import.h): which format a file is, and the changelog
// record of each row. The formats are read by import_csv and import_json, with the rules
// every row follows in import_rows.
#include "suppression/import.h"

#include <array>

#include "common/check.h"
#include "email/address.h"
#include "suppression/import_csv.h"
#include "suppression/import_json.h"
#include "suppression/import_rows.h"

namespace mailhook::suppression {
namespace {

constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

constexpr std::array<std::string_view, 6> kind_words = {
    "bounces",           "blocks", "spam_reports", "invalid_emails", "global_unsubscribes",
    "group_unsubscribes"};

std::string join_detail(std::string_view status, std::string_view reason) {
  std::string detail(status);
  if (!detail.empty() && !reason.empty()) detail += ' ';
  detail += reason;
  return detail;
}

}  // namespace

const char* describe(import_errc e) noexcept {
  switch (e) {
    case import_errc::bad_format:
      return "the file is not a SendGrid suppression export";
    case import_errc::bad_row:
      return "a row of the export is unusable";
    case import_errc::missing_group_id:
      return "a group unsubscribe has no group id";
    case import_errc::too_many_rows:
      return "the export has too many rows";
  }
  return "unknown import error";
}

error_class classify(import_errc e) noexcept {
  switch (e) {
    case import_errc::bad_format:
      return {error_kind::bad_input, "bad_format"};
    case import_errc::bad_row:
      return {error_kind::bad_input, "bad_row"};
    case import_errc::missing_group_id:
      return {error_kind::bad_input, "missing_group_id"};
    case import_errc::too_many_rows:
      return {error_kind::too_large, "too_many_rows"};
  }
  return {};
}

std::optional<export_kind> parse_export_kind(std::string_view word) {
  for (std::size_t i = 0; i < kind_words.size(); ++i) {
    if (kind_words[i] == word) return static_cast<export_kind>(i);
  }
  return std::nullopt;
}

std::string_view to_string(export_kind kind) noexcept {
  auto index = static_cast<std::size_t>(kind);
  return index < kind_words.size() ? kind_words[index] : "unknown";
}

result<std::vector<import_row>> parse_export(std::string_view text, const import_options& options) {
  if (options.asm_group_id && *options.asm_group_id <= 0) {
    return failure(import_errc::missing_group_id, "the group id must be a positive integer, got " +
                                                      std::to_string(*options.asm_group_id));
  }
  // Spreadsheet programs put a BOM in front of UTF-8 CSV; it is not part of the first name.
  if (text.starts_with(utf8_bom)) text.remove_prefix(utf8_bom.size());
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return failure(import_errc::bad_format, "the file is empty");
  if (text[first] == '[' || text[first] == '{') return parse_json_export(text, options);
  return parse_csv_export(text, options);
}

record to_record(const import_row& row, export_kind kind, std::string_view tenant,
                 std::string_view source_name, std::int64_t now_ms) {
  MAILHOOK_CHECK(row.created_s >= 0 && row.created_s <= max_created_s,
                 "import_row::created_s out of range (parse_export never returns one)");
  record r;
  r.set_tenant(std::string(tenant));
  r.set_scope(mailhook::v1::SUPPRESSION_SCOPE_GLOBAL);
  switch (kind) {
    case export_kind::bounces:
      r.set_reason(mailhook::v1::SUPPRESSION_REASON_BOUNCE);
      break;
    case export_kind::blocks:
      // SendGrid does not suppress blocked addresses; importing its block list is an
      // explicit decision to, as for soft bounces past the threshold.
      r.set_reason(mailhook::v1::SUPPRESSION_REASON_SOFT_BOUNCE);
      break;
    case export_kind::spam_reports:
      r.set_reason(mailhook::v1::SUPPRESSION_REASON_SPAM_REPORT);
      break;
    case export_kind::invalid_emails:
      r.set_reason(mailhook::v1::SUPPRESSION_REASON_INVALID);
      break;
    case export_kind::global_unsubscribes:
      r.set_reason(mailhook::v1::SUPPRESSION_REASON_UNSUBSCRIBE);
      break;
    case export_kind::group_unsubscribes:
      MAILHOOK_CHECK(row.asm_group_id.has_value(),
                     "a group_unsubscribes import_row needs asm_group_id");
      r.set_scope(mailhook::v1::SUPPRESSION_SCOPE_GROUP);
      r.set_asm_group_id(*row.asm_group_id);
      r.set_reason(mailhook::v1::SUPPRESSION_REASON_GROUP_UNSUBSCRIBE);
      break;
  }
  auto normalized = email::normalized_address(row.email);
  MAILHOOK_CHECK(normalized.has_value(),
                 "import_row::email does not normalize (parse_export never returns one)");
  r.set_email_normalized(std::move(*normalized));
  r.set_email(row.email);
  r.set_suppressed(true);
  r.set_detail(join_detail(row.status, row.reason));
  r.set_event_time_ms(row.created_s != 0 ? row.created_s * 1000 : now_ms);
  // The id depends only on the file's content, so a second import of the same file writes
  // records equal in (event_time_ms, event_id): duplicates that win over nothing.
  std::string event_id = "import:";
  event_id += to_string(kind);
  event_id += ':';
  event_id += std::to_string(row.created_s);
  r.set_event_id(std::move(event_id));
  r.set_origin(mailhook::v1::SUPPRESSION_ORIGIN_IMPORT);
  r.set_source(std::string(source_name));
  r.set_received_at_ms(0);
  r.set_recorded_at_ms(now_ms);
  return r;
}

}  // namespace mailhook::suppression

MAILHOOK_DEFINE_ERRC(mailhook::suppression, import_errc, "suppression.import", describe, classify)
