#include "suppression/import_json.h"

#include <simdjson.h>

#include <cmath>

#include "common/text.h"
#include "suppression/import_rows.h"

namespace mailhook::suppression {
namespace {

namespace dom = simdjson::dom;

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

}  // namespace

result<std::vector<import_row>> parse_json_export(std::string_view text,
                                                  const import_options& options) {
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

}  // namespace mailhook::suppression
