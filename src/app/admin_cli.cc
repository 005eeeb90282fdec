#include "app/admin_cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <exception>

#include "app/admin_token.h"
#include "config/daemon_config.h"
#include "email/tenant_id.h"

namespace mailhook::app {
namespace {

constexpr int exit_usage = 2;
constexpr config::load_options no_secrets{.read_secrets = false, .read_kafka_password = false};

// Prints why a request failed: the API's own message when it sent one, and what to do
// about a missing token.
void report_api_error(const admin_client& client, const http::answer& reply) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string message;
  if (parser.parse(reply.body).get(doc) == simdjson::SUCCESS) {
    message = string_member(doc, "message");
  }
  if (message.empty()) message = one_line(reply.body.substr(0, 200));
  auto hint = token_hint(reply.status, client.has_bearer_token());
  print_stderr("{}: {} (HTTP {}){}{}", client.url().origin(), message, reply.status,
               hint.empty() ? "" : ": ", hint);
}

}  // namespace

void add_admin_options(CLI::App* cmd, admin_options& o) {
  cmd->add_option("--admin", o.admin,
                  "Admin API base URL, http[s]://HOST:PORT (default: admin.listen of --config, "
                  "else " +
                      std::string(default_admin_url) + ")");
  cmd->add_option("--ca-file", o.ca_file,
                  "CA certificates (PEM) to trust for an https admin API (default: with --config, "
                  "the daemon's admin.tls certificate; else the system's)")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  cmd->add_option("-c,--config", o.config_file, "Configuration file (TOML) to take --admin from")
      ->check(CLI::ExistingFile);
  cmd->add_option(
         "--token-file", o.token_file,
         "File holding the admin API token (default: $" + std::string(admin_token_env) + ")")
      ->type_name("FILE");
}

void print_stderr_line(std::string_view text) {
  std::fflush(stdout);
  fmt::print(stderr, "{}\n", text);
}

std::string one_line(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

result<admin_endpoint> resolve_admin_url(const admin_options& o) {
  if (!o.admin.empty()) return parse_admin_url(o.admin, o.ca_file);
  if (o.config_file.empty()) return parse_admin_url(default_admin_url);
  auto cfg = config::load_file(o.config_file, config::process_environment(), no_secrets);
  if (!cfg) return cfg.error();
  return admin_url_of(cfg->admin, o.config_file, o.ca_file);
}

std::optional<admin_client> make_client(const admin_options& o, int& exit_code) {
  auto url = resolve_admin_url(o);
  if (!url) {
    print_stderr("{}", url.error().describe());
    exit_code = exit_usage;
    return std::nullopt;
  }
  auto token = read_admin_token(o.token_file);
  if (!token) {
    print_stderr("{}", token.error().describe());
    exit_code = exit_usage;
    return std::nullopt;
  }
  auto client = admin_client::create(std::move(*url), std::chrono::seconds(60),
                                     token->value_or(std::string()));
  if (!client) {
    print_stderr("{}", client.error().describe());
    exit_code = exit_usage;
    return std::nullopt;
  }
  return std::move(*client);
}

std::optional<http::answer> call(admin_client& client, http::verb method, const std::string& target,
                                 const std::string& body, int expected_status) {
  auto reply = client.request(method, target, body);
  if (!reply) {
    print_stderr("{}", reply.error().describe());
    return std::nullopt;
  }
  if (reply->status != expected_status) {
    report_api_error(client, *reply);
    return std::nullopt;
  }
  return std::move(*reply);
}

bool parse_json(simdjson::dom::parser& parser, const admin_client& client, const std::string& body,
                simdjson::dom::element& doc) {
  if (parser.parse(body).get(doc) == simdjson::SUCCESS) return true;
  print_stderr("{}: the answer is not JSON: {}", client.url().origin(),
               one_line(body.substr(0, 200)));
  return false;
}

void run_command(int& exit_code, const std::function<int()>& command) {
  try {
    exit_code = command();
  } catch (const std::exception& e) {
    print_stderr("failed: {}", e.what());
    exit_code = 1;
  }
  std::fflush(stdout);
}

int parse_and_run(CLI::App& cli, int argc, char** argv, const int& exit_code) {
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : exit_usage;
  }
  return exit_code;
}

bool check_tenant(const std::string& tenant) {
  if (email::tenant_id::valid(tenant)) return true;
  print_stderr("--tenant: '{}' is not a tenant (1 to 255 bytes, no '/')", tenant);
  return false;
}

}  // namespace mailhook::app
