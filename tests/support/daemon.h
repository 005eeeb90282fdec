// Integration-test fixtures: the real `mailhook serve` binary and real Kafka brokers.
//
// The shared broker that scripts/test starts is found through the environment
// (MAILHOOK_TEST_KAFKA_BOOTSTRAP). A test that needs to stop a broker gets one of its own
// through scripts/kafka, so that an outage never disturbs the other tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
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

// The client listener of a broker of the test's own (scripts/kafka's MAILHOOK_KAFKA_SECURITY).
enum class kafka_security { plaintext, sasl_ssl };

// A broker of the test's own, under a temporary directory, via scripts/kafka.
class kafka_broker {
 public:
  explicit kafka_broker(kafka_security security = kafka_security::plaintext);
  ~kafka_broker();
  void start();
  void stop();
  [[nodiscard]] const std::string& bootstrap() const { return bootstrap_; }

  // With kafka_security::sasl_ssl, what scripts/kafka leaves for clients: the CA that
  // signed the broker's certificate, the SCRAM-SHA-512 user and a file holding its password.
  [[nodiscard]] std::filesystem::path ca_file() const;
  [[nodiscard]] std::string sasl_username() const;
  [[nodiscard]] std::filesystem::path sasl_password_file() const;
  // The librdkafka properties of a client that logs in as that user with `mechanism`
  // (PLAIN or SCRAM-SHA-512) and trusts that CA; none for a plaintext broker. PLAIN by
  // default: librdkafka before 2.6.1 cannot log in to Kafka 4 with SCRAM.
  [[nodiscard]] std::map<std::string, std::string> client_properties(
      const std::string& mechanism = "PLAIN") const;

 private:
  kafka_security security_;
  temp_dir dir_;
  std::string bootstrap_;
};

// The [admin] table of the generated configuration.
struct admin_settings {
  // Two tokens, "test-reader" (read scope) and "test-writer" (write scope), whose secrets
  // (daemon::read_token, daemon::write_token) are in files of the daemon's directory.
  bool tokens = true;
  // More keys of [admin] itself, e.g. "allow_unauthenticated = true\n". Its sub-tables
  // ([admin.monitoring], [admin.tls]) may go in extra_toml instead.
  std::string keys{};
};

// `mailhook serve` with a generated configuration: the admin and webhook listeners on
// free ports, fast Kafka health probes, and `extra_toml` appended for the test's own
// settings (any table but [admin] itself; the listeners' addresses come from the
// environment).
class daemon {
 public:
  static constexpr std::string_view read_token = "test-read-token-0123456789abcdef";
  static constexpr std::string_view write_token = "test-write-token-0123456789abcdef";

  // `extra_env` is added to the daemon's environment (MAILHOOK_* overrides and secrets).
  daemon(const std::string& kafka_bootstrap, const std::string& extra_toml = "",
         std::vector<std::string> extra_args = {}, admin_settings admin = {},
         const std::map<std::string, std::string>& extra_env = {});
  ~daemon();

  [[nodiscard]] std::uint16_t admin_port() const { return admin_port_; }
  // The public webhook port; 0 when the ingest role does not run.
  [[nodiscard]] std::uint16_t webhook_port() const { return webhook_port_; }
  // The monitoring listener's port; 0 without [admin.monitoring].
  [[nodiscard]] std::uint16_t monitoring_port() const { return monitoring_port_; }
  // The files holding read_token and write_token (with admin_settings::tokens).
  [[nodiscard]] std::filesystem::path read_token_file() const;
  [[nodiscard]] std::filesystem::path write_token_file() const;
  // A GET on the admin port with the reader token: probes need none, /v1 reads need one.
  [[nodiscard]] http_reply admin_get(const std::string& target) const;
  // The value of one sample of /metrics, named as Prometheus' text writes it
  // ("name{label=\"value\"}"), or -1 when it is absent.
  [[nodiscard]] double metric(const std::string& sample) const;
  // A change through the admin API as an operator makes it: the writer token, a JSON body
  // and the note in X-Mailhook-Reason.
  [[nodiscard]] http_reply admin_write(boost::beast::http::verb method, const std::string& target,
                                       const std::string& body = "",
                                       const std::string& note = "test change") const;
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
  std::uint16_t monitoring_port_ = 0;
};

// "Authorization: Bearer <token>" as a header map for http_client.
[[nodiscard]] std::map<std::string, std::string> bearer(std::string_view token);

}  // namespace mailhook::testing
