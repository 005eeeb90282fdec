// Snapshot of this process's environment variables.
#include "config/environment.h"

#include <unistd.h>

#include <string_view>

namespace mailhook::config {

environment process_environment() {
  environment out;
  for (char** entry = ::environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    out.insert_or_assign(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }
  return out;
}

}  // namespace mailhook::config
