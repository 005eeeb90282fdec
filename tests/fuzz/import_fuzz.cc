// libFuzzer target for the SendGrid export importer (suppression/import.h), which reads
// files an operator downloaded: any bytes, read as every export kind, are imported or
// refused without crashing. An import gives rows that to_record() takes (it aborts on
// a row parse_export should never return) and keys of the tenant; a refusal says why
// in one line without control bytes. Single-threaded.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/text.h"
#include "email/address.h"
#include "suppression/import.h"

namespace {

namespace suppression = mailhook::suppression;

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

constexpr std::int64_t max_created_s = 253'402'300'799;  // import.cc's limit

void check(std::string_view text, const suppression::import_options& options) {
  auto rows = suppression::parse_export(text, options);
  if (!rows) {
    require(rows.error().code.category() ==
                make_error_code(suppression::import_errc::bad_format).category(),
            "a refusal is an import error");
    const std::string message = rows.error().describe();
    require(!message.empty(), "a refusal says why");
    for (char c : message) require(!mailhook::is_ascii_control(c), "the message is one line");
    return;
  }
  require(rows->size() <= options.max_rows, "no more rows than max_rows");
  const bool groups = options.kind == suppression::export_kind::group_unsubscribes;
  for (const auto& row : *rows) {
    require(!row.email.empty() && mailhook::trim(row.email) == row.email, "the email is trimmed");
    require(mailhook::trim(row.reason) == row.reason && mailhook::trim(row.status) == row.status,
            "reason and status are trimmed");
    require(row.created_s >= 0 && row.created_s <= max_created_s, "created is in range");
    require(groups ? row.asm_group_id && *row.asm_group_id > 0 : !row.asm_group_id,
            "group unsubscribes, and only they, have a positive group id");
    auto normalized = mailhook::email::normalized_address(row.email);
    require(normalized.has_value(), "the email normalizes");
    auto r = suppression::to_record(row, options.kind, "acme", "export.csv", 1'700'000'000'000);
    require(r.email_normalized() == *normalized, "the record holds the normalized email");
    require(suppression::key_of(r).starts_with("acme/"), "the key is the tenant's");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (int kind = 0; kind <= static_cast<int>(suppression::export_kind::group_unsubscribes);
       ++kind) {
    suppression::import_options options{.kind = static_cast<suppression::export_kind>(kind)};
    options.max_rows = 50;
    check(text, options);
  }
  // A group export whose rows name no group takes the one the operator gives.
  suppression::import_options options{.kind = suppression::export_kind::group_unsubscribes,
                                      .asm_group_id = 7};
  options.max_rows = 50;
  check(text, options);
  return 0;
}
