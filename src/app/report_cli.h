// `mailhook report events --tenant T [--days N] [--format table|csv|json]`: a tenant's
// bounce report of the last N UTC days (today included) from a running daemon's admin API
// (GET /v1/reports/events, see docs/report.md), through app::admin_client with the token
// of --token-file or MAILHOOK_ADMIN_TOKEN (read scope is enough).
//
// Exit status: 0 success, 1 a failure (network, API error), 2 bad usage or configuration.
//
// Runs on the calling thread; nothing is shared.
#pragma once

#include <optional>

namespace CLI {
class App;
}

namespace mailhook::app {

// Registers the `report` command tree on `cli`; when argv chooses it (argv[1] is
// "report"), parses the command line and runs the command, returning its exit status;
// otherwise returns nothing. Call it like suppressions_command().
[[nodiscard]] std::optional<int> report_command(CLI::App& cli, int argc, char** argv);

}  // namespace mailhook::app
