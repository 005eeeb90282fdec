#include "suppression/import_csv.h"

#include <array>
#include <optional>

#include "common/text.h"
#include "suppression/csv_reader.h"
#include "suppression/import_rows.h"

namespace mailhook::suppression {
namespace {

// A header name reduced for matching: ASCII lower case, without spaces, '_' and '-'
// ("Email Address" and "email_address" both become "emailaddress").
std::string header_key(std::string_view name) {
  std::string key;
  for (char c : trim(name)) {
    if (c == ' ' || c == '_' || c == '-' || c == '\t') continue;
    key.push_back(ascii_lower(c));
  }
  return key;
}

struct csv_columns {
  static constexpr std::size_t none = static_cast<std::size_t>(-1);
  std::size_t email = none;
  std::size_t created = none;
  std::size_t reason = none;
  std::size_t status = none;
  std::size_t group_id = none;
};

// Which of our fields a header name is, as a member of csv_columns; nullptr for a column
// we do not read (ip, group name, ...).
std::size_t csv_columns::*column_of(std::string_view key, std::string_view& label) noexcept {
  struct name {
    std::string_view key;
    std::size_t csv_columns::*column;
    std::string_view label;
  };
  static constexpr std::array<name, 8> names = {{
      {"email", &csv_columns::email, "email"},
      {"emailaddress", &csv_columns::email, "email"},
      {"created", &csv_columns::created, "created"},
      {"createdat", &csv_columns::created, "created"},
      {"reason", &csv_columns::reason, "reason"},
      {"status", &csv_columns::status, "status"},
      {"groupid", &csv_columns::group_id, "group id"},
      {"asmgroupid", &csv_columns::group_id, "group id"},
  }};
  for (const auto& n : names) {
    if (n.key == key) {
      label = n.label;
      return n.column;
    }
  }
  return nullptr;
}

bool blank_record(const std::vector<std::string>& fields) noexcept {
  for (const auto& f : fields) {
    if (!trim(f).empty()) return false;
  }
  return true;
}

result<csv_columns> map_header(const std::vector<std::string>& header, std::size_t line,
                               const import_options& options) {
  const position at{"line", line};
  csv_columns columns;
  for (std::size_t i = 0; i < header.size(); ++i) {
    std::string_view label;
    auto column = column_of(header_key(header[i]), label);
    if (column == nullptr) continue;
    if (columns.*column != csv_columns::none) {
      return row_failure(import_errc::bad_format, at,
                         "two " + std::string(label) + " columns (" +
                             std::to_string(columns.*column + 1) + " and " + std::to_string(i + 1) +
                             ")");
    }
    columns.*column = i;
  }
  if (columns.email == csv_columns::none) {
    std::string what = "the header has no email column (expected a column named \"email\")";
    for (const auto& f : header) {
      if (f.find('@') != std::string::npos) {
        what +=
            "; this line looks like data: the file needs a header row such as "
            "\"email,created\"";
        break;
      }
    }
    return row_failure(import_errc::bad_format, at, what);
  }
  if (columns.group_id != csv_columns::none && options.kind != export_kind::group_unsubscribes) {
    return group_id_in_wrong_kind(at, options.kind);
  }
  return columns;
}

std::string_view cell(const std::vector<std::string>& fields, std::size_t column) noexcept {
  if (column == csv_columns::none || column >= fields.size()) return {};
  return trim(fields[column]);
}

result<import_row> read_csv_row(const std::vector<std::string>& fields, std::size_t header_size,
                                const csv_columns& columns, const position& at) {
  if (fields.size() > header_size) {
    return row_failure(import_errc::bad_row, at,
                       std::to_string(fields.size()) + " fields, but the header has " +
                           std::to_string(header_size) + " (a comma in an unquoted field?)");
  }
  import_row row;
  row.email = cell(fields, columns.email);
  auto created = parse_created_text(cell(fields, columns.created), at);
  if (!created) return created.error();
  row.created_s = *created;
  row.reason = cell(fields, columns.reason);
  row.status = cell(fields, columns.status);
  if (auto group = cell(fields, columns.group_id); !group.empty()) {
    auto id = parse_group_id_text(group, at);
    if (!id) return id.error();
    row.asm_group_id = *id;
  }
  return row;
}

}  // namespace

result<std::vector<import_row>> parse_csv_export(std::string_view text,
                                                 const import_options& options) {
  csv_reader reader(text);
  std::vector<std::string> fields;
  std::vector<import_row> rows;
  std::optional<csv_columns> columns;
  std::size_t header_size = 0;
  for (;;) {
    auto more = reader.next(fields);
    if (!more) return more.error();
    if (!*more) break;
    if (blank_record(fields)) continue;
    const position at{"line", reader.record_line()};
    if (!columns) {
      auto mapped = map_header(fields, at.number, options);
      if (!mapped) return mapped.error();
      columns = *mapped;
      header_size = fields.size();
      continue;
    }
    auto row = read_csv_row(fields, header_size, *columns, at);
    if (!row) return row.error();
    if (auto ok = finish_row(*row, at, options); !ok) return ok.error();
    if (auto ok = add_row(rows, std::move(*row), at, options); !ok) return ok.error();
  }
  if (!columns) return failure(import_errc::bad_format, "the file has no header row");
  return rows;
}

}  // namespace mailhook::suppression
