#include "support/daemon.h"

#include <signal.h>

#include <cstdlib>
#include <regex>
#include <stdexcept>
#include <thread>
#include <tuple>

namespace mailhook::testing {

std::filesystem::path source_dir() {
  const char* dir = std::getenv("MAILHOOK_SOURCE_DIR");
  if (dir == nullptr)
    throw std::runtime_error("MAILHOOK_SOURCE_DIR is not set (run the tests with ctest)");
  return dir;
}

std::string shared_kafka_bootstrap() {
  const char* bootstrap = std::getenv("MAILHOOK_TEST_KAFKA_BOOTSTRAP");
  if (bootstrap == nullptr || *bootstrap == '\0') {
    throw std::runtime_error(
        "MAILHOOK_TEST_KAFKA_BOOTSTRAP is not set: run integration tests through scripts/test");
  }
  return bootstrap;
}

std::string mailhook_binary() {
  return MAILHOOK_BINARY;
}

kafka_broker::kafka_broker(kafka_security security) : security_(security) {
  start();
}

kafka_broker::~kafka_broker() {
  run({(source_dir() / "scripts/kafka").string(), "stop"},
      {{"MAILHOOK_KAFKA_DIR", dir_.path().string()}});
}

void kafka_broker::start() {
  auto r = run({(source_dir() / "scripts/kafka").string(), "start"},
               {{"MAILHOOK_KAFKA_DIR", dir_.path().string()},
                {"MAILHOOK_KAFKA_SECURITY",
                 security_ == kafka_security::sasl_ssl ? "sasl_ssl" : "plaintext"}});
  if (r.status != 0) throw std::runtime_error("scripts/kafka start failed:\n" + r.output);
  std::smatch m;
  static const std::regex address(R"((127\.0\.0\.1:\d+))");
  if (!std::regex_search(r.output, m, address))
    throw std::runtime_error("no bootstrap address in:\n" + r.output);
  bootstrap_ = m[1];
}

void kafka_broker::stop() {
  auto r = run({(source_dir() / "scripts/kafka").string(), "stop"},
               {{"MAILHOOK_KAFKA_DIR", dir_.path().string()}});
  if (r.status != 0) throw std::runtime_error("scripts/kafka stop failed:\n" + r.output);
}

std::filesystem::path kafka_broker::ca_file() const {
  return dir_.path() / "client/ca.pem";
}

namespace {

// A one-line file's text, as scripts/kafka writes them with echo.
std::string read_line(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (text.ends_with('\n')) text.pop_back();
  return text;
}

}  // namespace

std::string kafka_broker::sasl_username() const {
  return read_line(dir_.path() / "client/username");
}

std::filesystem::path kafka_broker::sasl_password_file() const {
  return dir_.path() / "client/password";
}

std::map<std::string, std::string> kafka_broker::client_properties(
    const std::string& mechanism) const {
  if (security_ == kafka_security::plaintext) return {};
  return {{"security.protocol", "SASL_SSL"},
          {"sasl.mechanisms", mechanism},
          {"sasl.username", sasl_username()},
          {"sasl.password", read_line(sasl_password_file())},
          {"ssl.ca.location", ca_file().string()}};
}

daemon::daemon(const std::string& kafka_bootstrap, const std::string& extra_toml,
               std::vector<std::string> extra_args, admin_settings admin,
               const std::map<std::string, std::string>& extra_env) {
  std::string toml = "[admin]\nlisten = \"127.0.0.1:0\"\n" + admin.keys + "\n";
  if (admin.tokens) {
    dir_.write("read-token", std::string(read_token) + "\n");
    dir_.write("write-token", std::string(write_token) + "\n");
    for (const auto& [name, scope, file] :
         {std::tuple{"test-reader", "read", read_token_file()},
          std::tuple{"test-writer", "write", write_token_file()}}) {
      toml += std::string("[[admin.tokens]]\nname = \"") + name + "\"\nscope = \"" + scope +
              "\"\nfile = \"" + file.string() + "\"\n\n";
    }
  }
  toml += extra_toml;
  auto config = dir_.write("mailhook.toml", toml);
  std::vector<std::string> argv{mailhook_binary(), "serve", "--config", config.string()};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  std::map<std::string, std::string> env{{"MAILHOOK_INGEST__LISTEN", "127.0.0.1:0"},
                                         {"MAILHOOK_KAFKA__BOOTSTRAP_SERVERS", kafka_bootstrap},
                                         {"MAILHOOK_KAFKA__HEALTH_INTERVAL", "200ms"},
                                         {"MAILHOOK_KAFKA__HEALTH_TIMEOUT", "1s"}};
  // Each daemon gets its own index and report directories and its own policy and sender identities,
  // so that tests running side by side on the shared broker never fence or rebalance each other. A
  // test that restarts "the same" daemon says these in extra_toml (the environment would win over
  // the file, so they are only set here when the file does not).
  if (extra_toml.find("[index]") == std::string::npos) {
    env["MAILHOOK_INDEX__DIR"] = (dir_.path() / "index").string();
  }
  if (extra_toml.find("[report]") == std::string::npos) {
    env["MAILHOOK_REPORT__DIR"] = (dir_.path() / "report").string();
  }
  if (extra_toml.find("[policy]") == std::string::npos) {
    auto identity = "test-policy-" + dir_.path().filename().string();
    env["MAILHOOK_POLICY__GROUP_ID"] = identity;
    env["MAILHOOK_POLICY__TRANSACTIONAL_ID"] = identity;
  }
  if (extra_toml.find("[sender]") == std::string::npos) {
    auto identity = "test-sender-" + dir_.path().filename().string();
    env["MAILHOOK_SENDER__GROUP_ID"] = identity;
    env["MAILHOOK_SENDER__TRANSACTIONAL_ID"] = identity;
  }
  for (const auto& [name, value] : extra_env) env[name] = value;
  process_ = std::make_unique<process>(argv, env);

  static const std::regex listening(R"(admin listener on [0-9.]+:(\d+))");
  auto match = process_->wait_for_line(listening, std::chrono::seconds(30));
  if (!match)
    throw std::runtime_error("mailhook did not start; its output:\n" + process_->output());
  admin_port_ = static_cast<std::uint16_t>(std::stoi((*match)[1]));
  // The webhook listener, when there is one, opens before the admin listener.
  static const std::regex webhook(R"(webhook listener on [0-9.]+:(\d+))");
  if (auto w = process_->wait_for_line(webhook, std::chrono::milliseconds(0))) {
    webhook_port_ = static_cast<std::uint16_t>(std::stoi((*w)[1]));
  }
  // And the monitoring listener, when there is one, just before the admin listener.
  static const std::regex monitoring(R"(monitoring listener on [0-9.]+:(\d+))");
  if (auto m = process_->wait_for_line(monitoring, std::chrono::milliseconds(0))) {
    monitoring_port_ = static_cast<std::uint16_t>(std::stoi((*m)[1]));
  }
}

std::filesystem::path daemon::read_token_file() const {
  return dir_.path() / "read-token";
}

std::filesystem::path daemon::write_token_file() const {
  return dir_.path() / "write-token";
}

http_reply daemon::admin_get(const std::string& target) const {
  try {
    http_client client("127.0.0.1", admin_port_);
    return client.request(boost::beast::http::verb::get, target, "", bearer(read_token));
  } catch (const std::exception& e) {
    http_reply failed;
    failed.body = e.what();
    return failed;
  }
}

double daemon::metric(const std::string& sample) const {
  auto text = admin_get("/metrics").body;
  auto at = text.find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + sample.size() + 2));
}

http_reply daemon::admin_write(boost::beast::http::verb method, const std::string& target,
                               const std::string& body, const std::string& note) const {
  http_client client("127.0.0.1", admin_port_);
  auto headers = bearer(write_token);
  if (!body.empty()) headers["Content-Type"] = "application/json";
  if (!note.empty()) headers["X-Mailhook-Reason"] = note;
  return client.request(method, target, body, headers);
}

std::map<std::string, std::string> bearer(std::string_view token) {
  return {{"Authorization", "Bearer " + std::string(token)}};
}

daemon::~daemon() {
  if (process_) (void)stop(std::chrono::seconds(10));
}

bool daemon::wait_for_readyz(int status, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (admin_get("/readyz").status == status) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::optional<int> daemon::stop(std::chrono::milliseconds timeout) {
  process_->signal(SIGTERM);
  return process_->wait(timeout);
}

}  // namespace mailhook::testing
