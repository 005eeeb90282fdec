#include "app/cli.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "app/application.h"
#include "app/report_cli.h"
#include "app/send_test_cli.h"
#include "app/suppressions_cli.h"
#include "app/version.h"
#include "common/log.h"
#include "config/daemon_config.h"
#include "kafka/topics.h"

namespace mailhook::app {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

// The configuration from `file` (or defaults when empty) with MAILHOOK_* overrides, and
// the secrets it names when the command needs them.
result<config::daemon_config> load_config(const std::string& file,
                                          config::load_options options = {}) {
  auto env = config::process_environment();
  if (file.empty()) return config::load_string("", "defaults", env, options);
  return config::load_file(file, env, options);
}

std::vector<std::string> split_roles(const std::string& text) {
  std::vector<std::string> roles;
  std::stringstream in(text);
  for (std::string role; std::getline(in, role, ',');) {
    if (!role.empty()) roles.push_back(role);
  }
  return roles;
}

int serve(const std::string& config_file, const std::string& roles) {
  auto cfg = load_config(config_file);
  if (!cfg) {
    fmt::print(stderr, "{}\n", cfg.error().describe());
    return exit_usage;
  }
  if (!roles.empty()) {
    auto parsed = config::parse_roles(split_roles(roles));
    if (!parsed) {
      fmt::print(stderr, "--roles: {}\n", parsed.error().describe());
      return exit_usage;
    }
    cfg->roles = std::move(*parsed);
  }
  if (auto logging = configure_logging(cfg->log.level, cfg->log.format); !logging) {
    fmt::print(stderr, "{}\n", logging.error().describe());
    return exit_usage;
  }
  auto app = application::create(std::move(*cfg));
  if (!app) {
    spdlog::critical("cannot start: {}", app.error().describe());
    return exit_failure;
  }
  return (*app)->run();
}

int check_config(const std::string& file) {
  auto cfg = load_config(file);
  if (!cfg) {
    fmt::print(stderr, "{}\n", cfg.error().describe());
    return exit_usage;
  }
  fmt::print("{}: ok\n", file);
  return exit_ok;
}

int ensure_topics(const std::string& config_file) {
  // The Kafka password (read by default), not the admin tokens: this only talks to Kafka.
  auto cfg = load_config(config_file, {.read_secrets = false});
  if (!cfg) {
    fmt::print(stderr, "{}\n", cfg.error().describe());
    return exit_usage;
  }
  (void)configure_logging(cfg->log.level, cfg->log.format);
  auto conf = kafka::make_conf(cfg->kafka);
  auto handle = conf ? kafka::make_handle(RD_KAFKA_PRODUCER, std::move(*conf))
                     : result<kafka::handle_ptr>(conf.error());
  if (!handle) {
    fmt::print(stderr, "{}\n", handle.error().describe());
    return exit_usage;
  }
  auto ensured =
      kafka::ensure_topics(handle->get(), kafka::all_topics(cfg->topics), std::chrono::seconds(30));
  if (!ensured) {
    fmt::print(stderr, "{}\n", ensured.error().describe());
    return exit_failure;
  }
  for (const auto& topic : kafka::all_topics(cfg->topics)) fmt::print("{}\n", topic.name);
  return exit_ok;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App cli{"mailhook: SendGrid event webhooks into Kafka, a suppression index, and sending"};
  cli.require_subcommand(1);

  std::string config_file;
  std::string roles;
  auto* serve_cmd = cli.add_subcommand("serve", "Run the daemon until SIGINT or SIGTERM");
  serve_cmd
      ->add_option("-c,--config", config_file,
                   "Configuration file (TOML); defaults apply without one")
      ->check(CLI::ExistingFile);
  serve_cmd->add_option(
      "--roles", roles,
      "Comma-separated roles to run (ingest,policy,index,sender,report); overrides the file");

  auto* config_cmd = cli.add_subcommand("config", "Configuration tools");
  config_cmd->require_subcommand(1);
  std::string check_file;
  auto* check_cmd = config_cmd->add_subcommand(
      "check", "Validate a configuration file and its MAILHOOK_* overrides");
  check_cmd->add_option("file", check_file, "Configuration file (TOML)")->required();

  auto* topics_cmd = cli.add_subcommand("topics", "Kafka topic tools");
  topics_cmd->require_subcommand(1);
  std::string topics_config;
  auto* ensure_cmd =
      topics_cmd->add_subcommand("ensure", "Create mailhook's topics that do not exist yet");
  ensure_cmd->add_option("-c,--config", topics_config, "Configuration file (TOML)")
      ->check(CLI::ExistingFile);

  auto* version_cmd = cli.add_subcommand("version", "Print the version");
  if (auto code = suppressions_command(cli, argc, argv)) return *code;
  if (auto code = send_test_command(cli, argc, argv)) return *code;
  if (auto code = report_command(cli, argc, argv)) return *code;

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? exit_ok : exit_usage;
  }
  if (*serve_cmd) return serve(config_file, roles);
  if (*check_cmd) return check_config(check_file);
  if (*ensure_cmd) return ensure_topics(topics_config);
  if (*version_cmd) {
    fmt::print("mailhook {}\n", version);
    return exit_ok;
  }
  return exit_usage;
}

}  // namespace mailhook::app
