// Parsing of SendGrid suppression exports (see import.h). JSON goes through simdjson's DOM
// API: an import is a one-off, not a hot path, and a DOM walk keeps every element's index
// at hand for messages. CSV is read by a small RFC 4180 reader that counts physical lines.
#include "suppression/import.h"

#include <simdjson.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cmath>

#include "common/check.h"
#include "common/text.h"
#include "email/address.h"

namespace mailhook::suppression {
namespace {

namespace dom = simdjson::dom;

constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

// 9999-12-31T23:59:59Z. No later time is a SendGrid creation time, and created_s * 1000
// must fit event_time_ms.
constexpr std::int64_t max_created_s = 253'402'300'799;

constexpr std::array<std::string_view, 6> kind_words = {
    "bounces",           "blocks", "spam_reports", "invalid_emails", "global_unsubscribes",
    "group_unsubscribes"};

// Where a row is, for messages: "line 12" (CSV, 1-based physical line) or "index 3"
// (JSON, 0-based array index).
struct position {
  std::string_view unit;
  std::size_t number = 0;

  [[nodiscard]] std::string str() const { return std::string(unit) + " " + std::to_string(number); }
};

// A value quoted for a message: at most 64 bytes, cut at a UTF-8 character boundary, with
// control bytes shown as '?' so that a damaged file cannot garble the terminal.
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

// Parses a whole text of ASCII digits; false for anything else or an overflow.
bool parse_digits(std::string_view text, std::int64_t& out) noexcept {
  if (text.empty()) return false;
  for (char c : text) {
    if (!is_digit(c)) return false;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// --- created ------------------------------------------------------------------------------

// Reads fixed-width fields of a date-time text left to right.
class text_cursor {
 public:
  explicit text_cursor(std::string_view text) noexcept : text_(text) {}

  [[nodiscard]] bool done() const noexcept { return i_ == text_.size(); }
  [[nodiscard]] char peek() const noexcept { return done() ? '\0' : text_[i_]; }

  bool eat(char c) noexcept {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  bool eat_word(std::string_view word) noexcept {
    if (text_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  // Exactly `count` digits.
  bool digits(std::size_t count, int& out) noexcept {
    if (text_.size() - i_ < count) return false;
    int v = 0;
    for (std::size_t k = 0; k < count; ++k) {
      char c = text_[i_ + k];
      if (!is_digit(c)) return false;
      v = v * 10 + (c - '0');
    }
    i_ += count;
    out = v;
    return true;
  }
  // One or more digits, whose value is not needed (a fraction of a second).
  bool skip_digits() noexcept {
    std::size_t start = i_;
    while (is_digit(peek())) ++i_;
    return i_ > start;
  }

 private:
  std::string_view text_;
  std::size_t i_ = 0;
};

// "Z", "UTC", "GMT", "+HH", "+HHMM" or "+HH:MM" (or '-'), as seconds east of UTC.
bool parse_zone(text_cursor& in, std::int64_t& offset_s) noexcept {
  offset_s = 0;
  if (in.eat('Z') || in.eat('z') || in.eat_word("UTC") || in.eat_word("GMT")) return true;
  std::int64_t sign = 1;
  if (in.eat('-')) {
    sign = -1;
  } else if (!in.eat('+')) {
    return false;
  }
  int hours = 0;
  int minutes = 0;
  if (!in.digits(2, hours) || hours > 23) return false;
  if (!in.done()) {
    in.eat(':');
    if (!in.digits(2, minutes) || minutes > 59) return false;
  }
  offset_s = sign * (std::int64_t{hours} * 3600 + std::int64_t{minutes} * 60);
  return true;
}

// "YYYY-MM-DD", then optionally 'T' or ' ' and "HH:MM[:SS[.fraction]]", then optionally a
// zone (after an optional space). Without a zone the time is UTC: SendGrid's exports and
// v3 API use Unix times, and the UI's CSV date-times carry no zone.
bool parse_date_time(std::string_view text, std::int64_t& out) noexcept {
  text_cursor in(text);
  int y = 0;
  int mo = 0;
  int d = 0;
  if (!in.digits(4, y) || !in.eat('-') || !in.digits(2, mo) || !in.eat('-') || !in.digits(2, d))
    return false;
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return false;
  const std::int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  std::int64_t seconds = days * 86'400;
  if (in.done()) {
    out = seconds;
    return true;
  }
  if (!in.eat('T') && !in.eat('t') && !in.eat(' ')) return false;
  int h = 0;
  int mi = 0;
  int s = 0;
  if (!in.digits(2, h) || h > 23 || !in.eat(':') || !in.digits(2, mi) || mi > 59) return false;
  if (in.eat(':')) {
    if (!in.digits(2, s) || s > 60) return false;  // 60: a leap second
    if ((in.eat('.') || in.eat(',')) && !in.skip_digits()) return false;
  }
  seconds += std::int64_t{h} * 3600 + std::int64_t{mi} * 60 + s;
  std::int64_t offset_s = 0;
  if (!in.done()) {
    in.eat(' ');
    if (!parse_zone(in, offset_s) || !in.done()) return false;
  }
  out = seconds - offset_s;
  return true;
}

// Unix seconds written as text: digits, with an optional fraction that is dropped.
bool parse_unix_text(std::string_view text, std::int64_t& out) noexcept {
  std::string_view whole = text;
  if (auto dot = text.find('.'); dot != std::string_view::npos) {
    whole = text.substr(0, dot);
    std::string_view fraction = text.substr(dot + 1);
    if (fraction.empty() || fraction.find_first_not_of("0123456789") != std::string_view::npos)
      return false;
  }
  return parse_digits(whole, out);
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
  std::int64_t seconds = 0;
  if (!parse_unix_text(text, seconds) && !parse_date_time(text, seconds)) {
    return row_failure(import_errc::bad_row, at,
                       "created: unknown time format " + quote_value(text) +
                           " (expected Unix seconds, or a date-time such as "
                           "\"2023-01-10 15:04:05\" or \"2023-01-10T15:04:05Z\")");
  }
  if (auto ok = check_created_range(seconds, at); !ok) return ok.error();
  return seconds;
}

// --- rows -----------------------------------------------------------------------------

result<std::int64_t> parse_group_id_text(std::string_view text, const position& at) {
  std::int64_t id = 0;
  if (!parse_digits(text, id) || id <= 0) {
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

// --- CSV ------------------------------------------------------------------------------

// Reads RFC 4180 records one at a time: ',' between fields, CRLF, LF or a lone CR between
// records, '"' around fields that hold any of them, "" for a quote inside. A record's line
// is the physical line it starts on, so numbers match what an editor shows even when a
// quoted field spans lines.
class csv_reader {
 public:
  explicit csv_reader(std::string_view text) noexcept : text_(text) {}

  // The next record's fields; false at the end of the text.
  result<bool> next(std::vector<std::string>& fields);
  [[nodiscard]] std::size_t record_line() const noexcept { return record_line_; }

 private:
  result<void> read_quoted(std::string& field);
  result<void> read_plain(std::string& field, std::size_t index);
  [[nodiscard]] bool at_end() const noexcept { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const noexcept { return text_[pos_]; }
  // Consumes a line end at pos_ (CRLF, LF or CR).
  void skip_line_end() noexcept {
    if (peek() == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }
  [[nodiscard]] std::string here() const { return "line " + std::to_string(line_); }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t record_line_ = 0;
};

result<bool> csv_reader::next(std::vector<std::string>& fields) {
  fields.clear();
  if (at_end()) return false;
  record_line_ = line_;
  for (;;) {
    std::string field;
    // After a ',' that ends the text, the last field is empty: nothing left to peek at.
    if (!at_end() && peek() == '"') {
      if (auto ok = read_quoted(field); !ok) return ok.error();
    } else if (auto ok = read_plain(field, fields.size()); !ok) {
      return ok.error();
    }
    fields.push_back(std::move(field));
    if (at_end()) return true;
    if (peek() != ',') {
      skip_line_end();
      return true;
    }
    ++pos_;
  }
}

result<void> csv_reader::read_quoted(std::string& field) {
  const std::size_t opened = line_;
  ++pos_;  // the opening quote
  for (;;) {
    if (at_end()) {
      return failure(import_errc::bad_format,
                     "line " + std::to_string(opened) + ": a quoted field is never closed");
    }
    char c = peek();
    if (c == '"') {
      if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
        field.push_back('"');
        pos_ += 2;
        continue;
      }
      ++pos_;  // the closing quote
      break;
    }
    if (c == '\n' || (c == '\r' && (pos_ + 1 == text_.size() || text_[pos_ + 1] != '\n'))) {
      ++line_;
    }
    field.push_back(c);
    ++pos_;
  }
  if (!at_end() && peek() != ',' && peek() != '\n' && peek() != '\r') {
    return failure(import_errc::bad_format,
                   here() +
                       ": text after a closing quote (a quote inside a quoted field is "
                       "written as two quotes)");
  }
  return {};
}

result<void> csv_reader::read_plain(std::string& field, std::size_t index) {
  const std::size_t start = pos_;
  while (!at_end() && peek() != ',' && peek() != '\n' && peek() != '\r') {
    if (peek() == '"') {
      return failure(import_errc::bad_format,
                     here() + ": a quote inside unquoted field " + std::to_string(index + 1) +
                         " (RFC 4180 wants the whole field quoted and the quote doubled)");
    }
    ++pos_;
  }
  field.assign(text_.substr(start, pos_ - start));
  return {};
}

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

result<std::vector<import_row>> parse_csv(std::string_view text, const import_options& options) {
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

// --- JSON -----------------------------------------------------------------------------

std::string_view type_name(dom::element_type t) noexcept {
  switch (t) {
    case dom::element_type::ARRAY:
      return "an array";
    case dom::element_type::OBJECT:
      return "an object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      return "a number";
    case dom::element_type::STRING:
      return "a string";
    case dom::element_type::BOOL:
      return "a boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

failure wrong_type(const position& at, std::string_view key, std::string_view expected,
                   dom::element value) {
  return row_failure(import_errc::bad_row, at,
                     "\"" + std::string(key) + "\": expected " + std::string(expected) + ", got " +
                         std::string(type_name(value.type())));
}

// "created" (or "created_at"): Unix seconds as a number, or any created text as a string.
// The API documents bounces' "created" as a float, so a fraction is accepted and dropped.
result<std::int64_t> json_created(dom::element value, std::string_view key, const position& at) {
  switch (value.type()) {
    case dom::element_type::NULL_VALUE:
      return std::int64_t{0};
    case dom::element_type::STRING:
      return parse_created_text(value.get_string().value_unsafe(), at);
    case dom::element_type::INT64: {
      std::int64_t seconds = value.get_int64().value_unsafe();
      if (auto ok = check_created_range(seconds, at); !ok) return ok.error();
      return seconds;
    }
    case dom::element_type::DOUBLE: {
      double seconds = value.get_double().value_unsafe();
      if (!std::isfinite(seconds) || seconds < 0 || seconds > static_cast<double>(max_created_s)) {
        return row_failure(
            import_errc::bad_row, at,
            "\"" + std::string(key) + "\": out of range (expected Unix seconds from 1970 to 9999)");
      }
      return static_cast<std::int64_t>(seconds);
    }
    case dom::element_type::UINT64:
      return row_failure(
          import_errc::bad_row, at,
          "\"" + std::string(key) + "\": out of range (expected Unix seconds from 1970 to 9999)");
    default:
      return wrong_type(at, key, "Unix seconds or a date-time text", value);
  }
}

result<std::optional<std::int64_t>> json_group_id(dom::element value, const position& at) {
  switch (value.type()) {
    case dom::element_type::NULL_VALUE:
      return std::optional<std::int64_t>();
    case dom::element_type::INT64: {
      std::int64_t id = value.get_int64().value_unsafe();
      if (id <= 0) {
        return row_failure(import_errc::bad_row, at,
                           "\"group_id\": " + std::to_string(id) + " is not a positive integer");
      }
      return std::optional<std::int64_t>(id);
    }
    case dom::element_type::STRING: {
      auto text = trim(value.get_string().value_unsafe());
      if (text.empty()) return std::optional<std::int64_t>();
      auto id = parse_group_id_text(text, at);
      if (!id) return id.error();
      return std::optional<std::int64_t>(*id);
    }
    default:
      return wrong_type(at, "group_id", "a positive integer", value);
  }
}

// A string field that may also be null or absent.
result<void> json_text(dom::element value, std::string_view key, const position& at,
                       std::string& out) {
  if (value.type() == dom::element_type::NULL_VALUE) return {};
  if (value.type() != dom::element_type::STRING) return wrong_type(at, key, "a string", value);
  out = trim(value.get_string().value_unsafe());
  return {};
}

// A bit per key we read, to refuse one given twice (the two values could disagree); 0
// for keys we skip (ip, group_name, ...). "created_at" (GET /v3/asm/suppressions) is
// "created" under another name.
constexpr unsigned email_bit = 1;
unsigned json_key_bit(std::string_view key) noexcept {
  if (key == "email") return email_bit;
  if (key == "created" || key == "created_at") return 2;
  if (key == "reason") return 4;
  if (key == "status") return 8;
  if (key == "group_id") return 16;
  return 0;
}

// One key that json_key_bit knows.
result<void> read_json_field(std::string_view key, dom::element value, const position& at,
                             const import_options& options, import_row& row) {
  if (key == "email") {
    if (value.type() != dom::element_type::STRING) return wrong_type(at, key, "a string", value);
    row.email = trim(value.get_string().value_unsafe());
    return {};
  }
  if (key == "reason") return json_text(value, key, at, row.reason);
  if (key == "status") return json_text(value, key, at, row.status);
  if (key == "group_id") {
    auto id = json_group_id(value, at);
    if (!id) return id.error();
    if (*id && options.kind != export_kind::group_unsubscribes) {
      return group_id_in_wrong_kind(at, options.kind);
    }
    row.asm_group_id = *id;
    return {};
  }
  auto created = json_created(value, key, at);
  if (!created) return created.error();
  row.created_s = *created;
  return {};
}

// One object of a v3 list.
result<void> read_json_object(dom::object object, const position& at, const import_options& options,
                              import_row& row) {
  unsigned seen = 0;
  for (dom::key_value_pair field : object) {
    const unsigned bit = json_key_bit(field.key);
    if (bit == 0) continue;
    if ((seen & bit) != 0) {
      return row_failure(import_errc::bad_row, at,
                         "\"" + std::string(field.key) + "\" appears twice (or with its synonym)");
    }
    seen |= bit;
    if (auto ok = read_json_field(field.key, field.value, at, options, row); !ok) return ok;
  }
  if ((seen & email_bit) == 0) return row_failure(import_errc::bad_row, at, "no \"email\"");
  return {};
}

result<import_row> read_json_element(dom::element element, const position& at,
                                     const import_options& options) {
  import_row row;
  switch (element.type()) {
    case dom::element_type::OBJECT:
      if (auto ok = read_json_object(element.get_object().value_unsafe(), at, options, row); !ok)
        return ok.error();
      return row;
    case dom::element_type::STRING:
      // GET /v3/asm/groups/{id}/suppressions lists bare addresses; no other list does.
      if (options.kind != export_kind::group_unsubscribes) {
        return row_failure(import_errc::bad_row, at,
                           "a bare address string, but only group_unsubscribes exports list "
                           "addresses without objects (this import is " +
                               std::string(to_string(options.kind)) + ")");
      }
      row.email = trim(element.get_string().value_unsafe());
      return row;
    default:
      return row_failure(import_errc::bad_row, at,
                         "expected an object (or an address string), got " +
                             std::string(type_name(element.type())));
  }
}

result<std::vector<import_row>> parse_json(std::string_view text, const import_options& options) {
  dom::parser parser;
  const simdjson::padded_string padded(text);
  dom::element root;
  if (auto e = parser.parse(padded).get(root); e != simdjson::SUCCESS) {
    return failure(import_errc::bad_format,
                   std::string("malformed JSON: ") + simdjson::error_message(e));
  }
  if (root.type() != dom::element_type::ARRAY) {
    return failure(import_errc::bad_format,
                   "expected a JSON array of suppressions, as the v3 API returns them, got " +
                       std::string(type_name(root.type())));
  }
  // A named copy: ranging over get_array().value_unsafe() would use a reference into a
  // temporary that a range-for does not keep alive.
  const dom::array array = root.get_array().value_unsafe();
  std::vector<import_row> rows;
  std::size_t index = 0;
  for (dom::element element : array) {
    const position at{"index", index++};
    auto row = read_json_element(element, at, options);
    if (!row) return row.error();
    if (auto ok = finish_row(*row, at, options); !ok) return ok.error();
    if (auto ok = add_row(rows, std::move(*row), at, options); !ok) return ok.error();
  }
  return rows;
}

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
  if (text[first] == '[' || text[first] == '{') return parse_json(text, options);
  return parse_csv(text, options);
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

MAILHOOK_DEFINE_ERRC(mailhook::suppression, import_errc, "suppression.import", describe)
