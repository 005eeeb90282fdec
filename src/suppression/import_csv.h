// The CSV form of a suppression export, as SendGrid's UI downloads it (see import.h for
// the columns it reads): a header row, then one suppression per record.
#pragma once

#include <string_view>
#include <vector>

#include "common/result.h"
#include "suppression/import.h"

namespace mailhook::suppression {

[[nodiscard]] result<std::vector<import_row>> parse_csv_export(std::string_view text,
                                                               const import_options& options);

}  // namespace mailhook::suppression
