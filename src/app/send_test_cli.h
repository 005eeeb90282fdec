// `mailhook send-test --integration NAME --to ADDRESS`: the "send a test email" button of
// an integration, from the command line. It checks the address against the running
// daemon's suppression index (admin API), then makes one Mail Send call with the
// integration's API key, From and Reply-To, and prints one plain verdict:
//   sent (with SendGrid's message id), API key rejected, From address not a verified
//   sender, suppressed (with why and since when), unreachable, or SendGrid's own error.
//
// Exit status: 0 sent, 1 not sent (refused, unreachable), 2 bad usage or configuration,
// 3 the address is suppressed (nothing was sent).
#pragma once

#include <optional>

namespace CLI {
class App;
}

namespace mailhook::app {

// Registers `send-test` on `cli`; when argv chooses it, runs it and returns its exit
// status (the same protocol as suppressions_command).
[[nodiscard]] std::optional<int> send_test_command(CLI::App& cli, int argc, char** argv);

}  // namespace mailhook::app
