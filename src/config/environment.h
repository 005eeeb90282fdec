// The environment the loader reads overrides from, passed in as a value so that tests never
// touch the real one. process_environment() snapshots this process's; it reads ::environ,
// so call it before any thread might setenv() (in practice: at start, from main).
#pragma once

#include <functional>
#include <map>
#include <string>

namespace mailhook::config {

// Variable name → value.
using environment = std::map<std::string, std::string, std::less<>>;

// Every variable of this process. Only MAILHOOK_* ones configure keys; any variable may
// hold a secret that the configuration names (admin.tokens env).
[[nodiscard]] environment process_environment();

}  // namespace mailhook::config
