#include "app/send_test_cli.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <random>

#include "app/admin_client.h"
#include "app/admin_token.h"
#include "config/daemon_config.h"
#include "http/query.h"
#include "sender/delivery.h"
#include "sender/mail_send.h"

namespace mailhook::app {
namespace {

constexpr int exit_sent = 0;
constexpr int exit_not_sent = 1;
constexpr int exit_usage = 2;
constexpr int exit_suppressed = 3;
// The admin tokens' secrets are the daemon's; this command reads only its integration's key
// (it does not connect to Kafka, so not the Kafka password either).
constexpr config::load_options no_secrets{.read_secrets = false, .read_kafka_password = false};

struct options {
  std::string config_file;
  std::string integration;
  std::string to;
  std::string admin;
  std::string ca_file;
  std::string token_file;
  std::string subject = "mailhook test email";
  bool skip_check = false;
  int exit_code = exit_usage;
};

// The address already checked by the daemon: every lookup here says allowed.
class already_checked final : public suppression_lookup {
 public:
  verdict check(std::string_view, std::string_view, std::optional<std::int64_t>) const override {
    return {};
  }
  verdict describe(std::string_view, std::string_view, std::optional<std::int64_t>) const override {
    return {};
  }
};

// The daemon's verdict as one line ("" when allowed), or a failure when it cannot be had.
result<std::string> suppression_of(const config::daemon_config& cfg, const options& o,
                                   const config::integration_config& integration) {
  auto url = o.admin.empty() ? admin_url_of(cfg.admin, o.config_file, o.ca_file)
                             : parse_admin_url(o.admin, o.ca_file);
  if (!url) return url.error();
  auto token = read_admin_token(o.token_file);
  if (!token) return token.error();
  auto made = admin_client::create(*url, std::chrono::seconds(10), token->value_or(std::string()));
  if (!made) return made.error();
  admin_client& client = *made;
  std::string target = "/v1/suppressions/check?tenant=" + http::url_encode(integration.tenant) +
                       "&email=" + http::url_encode(o.to);
  if (integration.default_asm_group > 0) {
    target += "&group=" + std::to_string(integration.default_asm_group);
  }
  auto reply = client.request(http::verb::get, target);
  if (!reply) return reply.error();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  bool allowed = false;
  if (reply->status != 200 || parser.parse(reply->body).get(doc) != simdjson::SUCCESS ||
      doc["allowed"].get(allowed) != simdjson::SUCCESS) {
    auto hint = token_hint(reply->status, client.has_bearer_token());
    return failure(std::make_error_code(std::errc::protocol_error),
                   url->url.origin() + target + " answered " + std::to_string(reply->status) +
                       ": " + reply->body.substr(0, 200) + (hint.empty() ? "" : " (" + hint + ")"));
  }
  if (allowed) return std::string();
  simdjson::dom::element s = doc["suppression"];
  std::string why =
      std::string(string_member(s, "reason")) + " (" + std::string(string_member(s, "scope"));
  std::int64_t group = 0;
  if (s["group"].get(group) == simdjson::SUCCESS) why += ":" + std::to_string(group);
  why += ")";
  if (auto detail = string_member(s, "detail"); !detail.empty()) why += ": " + std::string(detail);
  return why;
}

int run(const options& o) {
  auto cfg = config::load_file(o.config_file, config::process_environment(), no_secrets);
  if (!cfg) {
    fmt::print(stderr, "{}\n", cfg.error().describe());
    return exit_usage;
  }
  const config::integration_config* integration = nullptr;
  for (const auto& candidate : cfg->integrations) {
    if (candidate.name == o.integration) integration = &candidate;
  }
  if (integration == nullptr) {
    std::string names;
    for (const auto& candidate : cfg->integrations) names += " " + candidate.name;
    fmt::print(stderr, "no integration \"{}\" in {} (configured:{})\n", o.integration,
               o.config_file, names.empty() ? " none" : names);
    return exit_usage;
  }
  auto key = sender::load_api_key(*integration);
  if (!key) {
    fmt::print(stderr, "{}\n", key.error().describe());
    return exit_usage;
  }

  if (!o.skip_check) {
    auto suppressed = suppression_of(*cfg, o, *integration);
    if (!suppressed) {
      fmt::print(stderr,
                 "cannot check suppressions (is the daemon running? --admin URL, or "
                 "--skip-check): {}\n",
                 suppressed.error().describe());
      return exit_not_sent;
    }
    if (!suppressed->empty()) {
      fmt::print("not sent: {} is suppressed for tenant {}: {}\n", o.to, integration->tenant,
                 suppressed->c_str());
      return exit_suppressed;
    }
  }

  mailhook::v1::SendRequest request;
  std::random_device random;
  request.set_request_id("send-test-" + std::to_string(random()) + std::to_string(random()));
  request.set_tenant(integration->tenant);
  request.set_integration(integration->name);
  request.add_to()->set_email(o.to);
  request.set_subject(o.subject);
  auto* text = request.add_content();
  text->set_type("text/plain");
  text->set_value("This is a test email from mailhook, sent through the integration \"" +
                  integration->name + "\" of tenant \"" + integration->tenant +
                  "\". If it arrived, the API key, the From address and the Reply-To "
                  "address work.");
  already_checked allowed;
  auto plan = sender::plan_delivery(request, integration, allowed);
  if (plan.final) {
    fmt::print("not sent: {}\n", plan.result.detail());
    return exit_not_sent;
  }
  auto client = sender::mail_send_client::create(*integration, std::move(*key));
  if (!client) {
    fmt::print(stderr, "{}\n", client.error().describe());
    return exit_usage;
  }
  config::sender_config one_call;
  one_call.max_attempts = 1;  // a test says what happened; it does not insist
  sender::rate_limiter unlimited(0);
  std::atomic<bool> never{false};
  auto result =
      sender::deliver(std::move(plan), request, *integration, one_call, **client, unlimited, never);
  bool sent = result.status() == mailhook::v1::SEND_STATUS_SENT;
  // No answer after the request went out: SendGrid may have sent it, so "not sent" would
  // be a guess.
  bool unknown = result.status() == mailhook::v1::SEND_STATUS_INDETERMINATE;
  fmt::print("{}: {} (integration {}, from {}{}{}, to {})\n",
             sent ? "sent" : (unknown ? "unknown whether sent" : "not sent"), result.detail(),
             integration->name, integration->from_email,
             integration->reply_to_email.empty() ? "" : ", reply-to ", integration->reply_to_email,
             o.to);
  return sent ? exit_sent : exit_not_sent;
}

}  // namespace

std::optional<int> send_test_command(CLI::App& cli, int argc, char** argv) {
  auto state = std::make_shared<options>();
  auto* cmd = cli.add_subcommand(
      "send-test", "Send a test email through an integration and say plainly what happened");
  cmd->add_option("-c,--config", state->config_file, "Configuration file (TOML)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--integration", state->integration, "Integration name ([integrations.NAME])")
      ->required();
  cmd->add_option("--to", state->to, "Recipient address")->required();
  cmd->add_option("--subject", state->subject, "Subject (default: mailhook test email)");
  cmd->add_option("--admin", state->admin,
                  "Admin API of the running daemon, for the suppression check "
                  "(default: admin.listen of the configuration)");
  cmd->add_option("--ca-file", state->ca_file,
                  "CA certificates (PEM) to trust for an https admin API (default: the "
                  "daemon's admin.tls certificate)")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  cmd->add_option("--token-file", state->token_file,
                  "File holding an admin API token with read scope, for the suppression check "
                  "(default: $" +
                      std::string(admin_token_env) + ")")
      ->type_name("FILE");
  cmd->add_flag("--skip-check", state->skip_check,
                "Send without asking the daemon whether the address is suppressed");
  cmd->footer(
      "Exit status: 0 sent, 1 not sent (refused, unreachable) or unknown (no answer after "
      "the request went out), 2 usage or configuration error, 3 the address is suppressed.");
  cmd->callback([state] { state->exit_code = run(*state); });
  if (argc < 2 || std::string_view(argv[1]) != "send-test") return std::nullopt;
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : exit_usage;
  }
  std::fflush(stdout);
  return state->exit_code;
}

}  // namespace mailhook::app
