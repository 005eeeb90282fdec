#include "suppression/import_rows.h"

#include "common/text.h"
#include "email/address.h"
#include "suppression/date_time.h"

namespace mailhook::suppression {

std::string quote_value(std::string_view value) {
  constexpr std::size_t limit = 64;
  std::size_t n = value.size();
  const bool cut = n > limit;
  if (cut) {
    n = limit;
    while (n > 0 && (static_cast<unsigned char>(value[n]) & 0xC0) == 0x80) --n;
  }
  std::string out = "\"";
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    out.push_back(c < 0x20 || c == 0x7F ? '?' : value[i]);
  }
  if (cut) out += "...";
  out += '"';
  return out;
}

failure row_failure(import_errc code, const position& at, std::string_view what) {
  std::string message = at.str();
  message += ": ";
  message += what;
  return failure(code, std::move(message));
}

result<void> check_created_range(std::int64_t seconds, const position& at) {
  if (seconds < 0 || seconds > max_created_s) {
    return row_failure(import_errc::bad_row, at,
                       "created: " + std::to_string(seconds) +
                           " is out of range (expected Unix seconds from 1970 to 9999)");
  }
  return {};
}

// A created text from a CSV cell or a JSON string; empty means no creation time (0).
result<std::int64_t> parse_created_text(std::string_view text, const position& at) {
  text = trim(text);
  if (text.empty()) return std::int64_t{0};
  std::optional<std::int64_t> seconds = parse_unix_seconds_text(text);
  if (!seconds) seconds = parse_date_time(text);
  if (!seconds) {
    return row_failure(import_errc::bad_row, at,
                       "created: unknown time format " + quote_value(text) +
                           " (expected Unix seconds, or a date-time such as "
                           "\"2023-01-10 15:04:05\" or \"2023-01-10T15:04:05Z\")");
  }
  if (auto ok = check_created_range(*seconds, at); !ok) return ok.error();
  return *seconds;
}

result<std::int64_t> parse_group_id_text(std::string_view text, const position& at) {
  std::int64_t id = 0;
  if (!parse_decimal_digits(text, id) || id <= 0) {
    return row_failure(import_errc::bad_row, at,
                       "group id: " + quote_value(text) + " is not a positive integer");
  }
  return id;
}

// Checks what every row needs, whatever its format, and fills in the group id.
result<void> finish_row(import_row& row, const position& at, const import_options& options) {
  if (row.email.empty()) return row_failure(import_errc::bad_row, at, "no email");
  // An address that does not normalize means the file is not what the operator thinks it
  // is (wrong column, damaged export), and since an import is all or nothing, it is
  // refused with the place to look at.
  if (auto normalized = email::normalized_address(row.email); !normalized) {
    return row_failure(
        import_errc::bad_row, at,
        quote_value(row.email) + " is not an email address: " + normalized.error().code.message());
  }
  if (options.kind == export_kind::group_unsubscribes && !row.asm_group_id) {
    if (!options.asm_group_id) {
      return row_failure(import_errc::missing_group_id, at,
                         "no group id: this export does not name the unsubscribe group of its "
                         "rows, so the import needs it (asm_group_id)");
    }
    row.asm_group_id = options.asm_group_id;
  }
  return {};
}

result<void> add_row(std::vector<import_row>& rows, import_row&& row, const position& at,
                     const import_options& options) {
  if (rows.size() >= options.max_rows) {
    return row_failure(import_errc::too_many_rows, at,
                       "more than " + std::to_string(options.max_rows) +
                           " rows, the most one import takes; split the file");
  }
  rows.push_back(std::move(row));
  return {};
}

failure group_id_in_wrong_kind(const position& at, export_kind kind) {
  return row_failure(import_errc::bad_format, at,
                     "a group id, which only group_unsubscribes exports have, in an import of " +
                         std::string(to_string(kind)) +
                         " (importing group unsubscribes as a global list would suppress more "
                         "than SendGrid does)");
}

}  // namespace mailhook::suppression
