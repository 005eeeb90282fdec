// Polling for integration tests: what happens through Kafka happens "soon", not at once.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace mailhook::testing {

// Polls `check` every 50 ms until it holds or `timeout` passes; its last answer.
inline bool eventually(const std::function<bool()>& check, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return check();
}

}  // namespace mailhook::testing
