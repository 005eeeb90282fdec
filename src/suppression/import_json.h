// The JSON form of a suppression export, as SendGrid's v3 list endpoints return it (see
// import.h for the keys it reads): a bare array of objects, or of address strings for one
// unsubscribe group. Read with simdjson's DOM API: an import is a one-off, not a hot path,
// and a DOM walk keeps every element's index at hand for messages.
#pragma once

#include <string_view>
#include <vector>

#include "common/result.h"
#include "suppression/import.h"

namespace mailhook::suppression {

[[nodiscard]] result<std::vector<import_row>> parse_json_export(std::string_view text,
                                                                const import_options& options);

}  // namespace mailhook::suppression
