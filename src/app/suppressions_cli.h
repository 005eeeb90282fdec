// `mailhook suppressions check|add|remove|list|export|stats|import`: the suppression index
// from the command line. Every command but import talks to a running daemon's admin API
// (/v1/suppressions, see docs/openapi.yaml) through app::admin_client, with the token of
// --token-file or MAILHOOK_ADMIN_TOKEN; add and remove say why (--note). Import writes an
// account's SendGrid export straight to the changelog topic in Kafka (exports can hold
// millions of rows), from where every index replica applies it like any other change;
// its records name the system user who ran it and the --note.
//
// Exit status: 0 success (check: every address allowed), 1 a failure (network, API error,
// Kafka, unreadable file), 2 bad usage or configuration, 3 check: an address is suppressed.
//
// Runs on the calling thread; nothing is shared.
#pragma once

#include <optional>

namespace CLI {
class App;
}

namespace mailhook::app {

// Registers the `suppressions` command tree on `cli`, so that `mailhook --help` lists it.
// When argv chooses it (argv[1] is "suppressions"), parses the command line and runs the
// command, returning its exit status; otherwise returns nothing and the caller parses argv
// as usual. Call it after registering the other commands and before parsing:
//   if (auto code = suppressions_command(cli, argc, argv)) return *code;
[[nodiscard]] std::optional<int> suppressions_command(CLI::App& cli, int argc, char** argv);

}  // namespace mailhook::app
