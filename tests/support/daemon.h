// Integration-test fixtures: the real `mailhook serve` binary and real Kafka brokers.
//
// The shared broker that scripts/test starts is found through the environment
// (MAILHOOK_TEST_KAFKA_BOOTSTRAP). A test that needs to stop a broker gets one of its own
// through scripts/kafka, so that an outage never disturbs the other tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace mailhook::testing {

// The repository root (CTest sets MAILHOOK_SOURCE_DIR).
std::filesystem::path source_dir();
// The shared broker's bootstrap address; fails the test (throws) when not set.
std::string shared_kafka_bootstrap();
// The path of the mailhook binary under test.
std::string mailhook_binary();

// A broker of the test's own, under a temporary directory, via scripts/kafka.
class kafka_broker {
 public:
  kafka_broker();
  ~kafka_broker();
  void start();
  void stop();
  [[nodiscard]] const std::string& bootstrap() const { return bootstrap_; }

 private:
  temp_dir dir_;
  std::string bootstrap_;
};

// `mailhook serve` with a generated configuration: the admin and webhook listeners on
// free ports, fast Kafka health probes, and `extra_toml` appended for the test's own
// settings (any table but [admin]; the listeners' addresses come from the environment).
class daemon {
 public:
  daemon(const std::string& kafka_bootstrap, const std::string& extra_toml = "",
         std::vector<std::string> extra_args = {});
  ~daemon();

  [[nodiscard]] std::uint16_t admin_port() const { return admin_port_; }
  // The public webhook port; 0 when the ingest role does not run.
  [[nodiscard]] std::uint16_t webhook_port() const { return webhook_port_; }
  http_reply admin_get(const std::string& target) const { return http_get(admin_port_, target); }
  // Polls /readyz until it answers `status` (200 or 503); false after `timeout`.
  bool wait_for_readyz(int status, std::chrono::milliseconds timeout) const;
  // SIGTERM, then the exit status (nullopt if it did not exit within `timeout`).
  std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  [[nodiscard]] std::string output() const { return process_->output(); }
  [[nodiscard]] process& proc() { return *process_; }

 private:
  temp_dir dir_;
  std::unique_ptr<process> process_;
  std::uint16_t admin_port_ = 0;
  std::uint16_t webhook_port_ = 0;
};

}  // namespace mailhook::testing
