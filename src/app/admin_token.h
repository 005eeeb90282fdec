// The admin API token of the commands that call a daemon's admin API (`mailhook
// suppressions`, `send-test`): from --token-file FILE, else the environment variable
// MAILHOOK_ADMIN_TOKEN. Never from an argument, which any user could read in `ps`.
//
// Runs on the calling thread; nothing is shared.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace mailhook::app {

inline constexpr std::string_view admin_token_env = "MAILHOOK_ADMIN_TOKEN";

// The token of `token_file` (its content without one trailing newline) when it is not
// empty, else of MAILHOOK_ADMIN_TOKEN; nothing when neither is given. A file that cannot
// be read, or a token that is empty or could not travel in an HTTP header, is a failure
// that names the file or the variable, never the token.
[[nodiscard]] result<std::optional<std::string>> read_admin_token(const std::string& token_file);

// What to tell someone whose request the admin API answered 401, or "" for other answers.
[[nodiscard]] std::string token_hint(int status, bool token_given);

}  // namespace mailhook::app
