// What every CLI command that calls a running daemon's admin API shares (`mailhook
// suppressions ...`, `mailhook report ...`): the options that say where the API is and
// which token to send, the client made from them, and one way of printing what went wrong
// (the API's own message, with a hint about tokens).
//
// Runs on the calling thread; nothing is shared.
#pragma once

#include <fmt/format.h>
#include <simdjson.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "app/admin_client.h"
#include "common/result.h"
#include "http/client.h"

namespace CLI {
class App;
}

namespace mailhook::app {

inline constexpr std::string_view default_admin_url = "http://127.0.0.1:9464";

struct admin_options {
  std::string admin;        // --admin URL
  std::string ca_file;      // --ca-file
  std::string config_file;  // --config, to take the URL from
  std::string token_file;   // --token-file (else MAILHOOK_ADMIN_TOKEN)
};

// Adds --admin, --ca-file, --config and --token-file to `cmd`, filling `o`.
void add_admin_options(CLI::App* cmd, admin_options& o);

// A message for people on stderr, with a line end. Stdout is flushed first so that, when
// both go to one pipe, the message cannot land inside a half-written line of output.
void print_stderr_line(std::string_view text);

// print_stderr_line of a fmt format ("{}: {}", ...), checked at compile time.
template <class... Args>
void print_stderr(fmt::format_string<Args...> format, Args&&... args) {
  print_stderr_line(fmt::format(format, std::forward<Args>(args)...));
}

// Control characters (from bounce texts) would break a line-per-record output.
[[nodiscard]] std::string one_line(std::string_view text);

// The admin API's base URL: --admin, else the admin.listen of --config (a wildcard
// address is reached through loopback), else the default port on this host. The
// configuration's secrets are not read: an operator who may not read them still takes the
// address from the file.
[[nodiscard]] result<admin_endpoint> resolve_admin_url(const admin_options& o);

// The client for a command, with its token; when none can be made, prints why, sets
// `exit_code` to 2 (a usage error) and returns nothing.
[[nodiscard]] std::optional<admin_client> make_client(const admin_options& o, int& exit_code);

// The reply of a request whose answer must have `expected_status`; prints the problem (the
// API's own message, and what to do about a missing token) and returns nothing otherwise.
[[nodiscard]] std::optional<http::answer> call(admin_client& client, http::verb method,
                                               const std::string& target, const std::string& body,
                                               int expected_status);

// Parses a JSON answer; prints the problem and returns false when it is not JSON.
[[nodiscard]] bool parse_json(simdjson::dom::parser& parser, const admin_client& client,
                              const std::string& body, simdjson::dom::element& doc);

// Runs a subcommand's `command` from its CLI11 callback: the exit status goes to
// `exit_code`, an exception becomes a message and status 1 (nothing escapes into CLI11),
// and stdout is flushed.
void run_command(int& exit_code, const std::function<int()>& command);

// Parses argv for the command trees registered on `cli`, whose callbacks set `exit_code`,
// and returns it; or CLI11's own status for --help (0) and usage errors (2).
[[nodiscard]] int parse_and_run(CLI::App& cli, int argc, char** argv, const int& exit_code);

// Whether --tenant is usable in a key; prints why not.
[[nodiscard]] bool check_tenant(const std::string& tenant);

}  // namespace mailhook::app
