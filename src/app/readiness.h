// What /readyz reports: a list of named checks (the Kafka cluster, each role), each
// answering "ready" or why not. Checks are registered while the application is built
// and evaluated from the admin listener's threads, so each check must be thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mailhook::app {

class readiness {
 public:
  // Returns std::nullopt when ready, else a short reason.
  using check = std::function<std::optional<std::string>()>;

  void add(std::string name, check c) { checks_.emplace_back(std::move(name), std::move(c)); }

  struct report {
    bool ready = true;
    std::vector<std::pair<std::string, std::string>> checks;  // name, "ok" or the reason
  };
  [[nodiscard]] report evaluate() const {
    report r;
    for (const auto& [name, c] : checks_) {
      auto why_not = c();
      r.ready = r.ready && !why_not;
      r.checks.emplace_back(name, why_not ? *why_not : "ok");
    }
    return r;
  }

 private:
  std::vector<std::pair<std::string, check>> checks_;
};

}  // namespace mailhook::app
