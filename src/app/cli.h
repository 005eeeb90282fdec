// The mailhook command line: serve, config check, topics ensure, version.
#pragma once

namespace mailhook::app {

// Parses argv, runs the chosen command and returns the process exit code:
// 0 success, 1 a runtime failure, 2 bad usage or configuration.
int run_cli(int argc, char** argv);

}  // namespace mailhook::app
