// `mailhook suppressions`: check, list, export, stats, add, remove and import. Over 600
// lines: one subcommand per function, each a few dozen lines of options, call and output.
#include "app/suppressions_cli.h"

#include <fmt/format.h>
#include <pwd.h>
#include <simdjson.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "app/admin_cli.h"
#include "app/admin_client.h"
#include "app/admin_token.h"
#include "common/clock.h"
#include "common/json_writer.h"
#include "common/log.h"
#include "config/daemon_config.h"
#include "http/message.h"
#include "http/query.h"
#include "index/changelog_writer.h"
#include "kafka/client.h"
#include "kafka/topics.h"
#include "metrics/registry.h"
#include "suppression/import.h"
#include "suppression/record.h"

namespace mailhook::app {
namespace {

using boost::beast::http::verb;

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;
constexpr int exit_suppressed = 3;

// The configuration's secrets (admin tokens) are the daemon's: an operator who may not
// read them still takes addresses and topics from the file. An import writes to Kafka, so
// it reads the Kafka password (the commands that go through the admin API read nothing:
// admin_cli.h).
constexpr config::load_options kafka_secrets_only{.read_secrets = false};
constexpr std::size_t check_chunk = 1000;     // the API's max_batch_check
constexpr std::size_t list_page_size = 1000;  // the API's max_page

// The words of the API, from the enums' own names (to_string), for CLI11's checks.
template <typename Enum>
std::vector<std::string> words_of(Enum first, Enum last) {
  std::vector<std::string> words;
  for (auto e = static_cast<int>(first); e <= static_cast<int>(last); ++e) {
    words.emplace_back(to_string(static_cast<Enum>(e)));
  }
  return words;
}
const std::vector<std::string> reason_words =
    words_of(suppression_reason::bounce, suppression_reason::manual);
const std::vector<std::string> scope_words =
    words_of(suppression_scope::global, suppression_scope::tenant);
const std::vector<std::string> kind_words = {
    "bounces",           "blocks", "spam_reports", "invalid_emails", "global_unsubscribes",
    "group_unsubscribes"};

// Every option of every subcommand; only the chosen subcommand's are filled in. Owned by
// the subcommands' callbacks, so it lives as long as the CLI::App that binds to it.
struct options : admin_options {
  std::string note;
  std::string tenant;
  std::optional<std::int64_t> group;
  std::string scope;
  std::string reason;
  std::string detail;
  std::vector<std::string> emails;
  std::string email;
  bool all = false;
  std::optional<std::size_t> limit;
  std::string output;
  std::string kind;
  bool dry_run = false;
  std::string file;
  int exit_code = exit_ok;
};

// ---- text helpers -----------------------------------------------------------------------

void add_param(std::string& target, std::string_view name, std::string_view value) {
  target += target.find('?') == std::string::npos ? '?' : '&';
  target += name;
  target += '=';
  target += http::url_encode(value);
}

// "2026-11-27T08:31:22Z".
std::string format_time(std::int64_t unix_ms_value) {
  auto seconds = static_cast<std::time_t>(unix_ms_value / 1000);
  std::tm tm{};
  if (gmtime_r(&seconds, &tm) == nullptr) return std::to_string(unix_ms_value) + "ms";
  char text[32];
  auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(text, n);
}

std::int64_t get_int(simdjson::dom::element e, std::string_view key) {
  std::int64_t value = 0;
  if (e[key].get(value) != simdjson::SUCCESS) return 0;
  return value;
}

// "global", "group 42" (or "group:42"), "tenant".
std::string scope_text(simdjson::dom::element e, char separator) {
  std::string scope(string_member(e, "scope"));
  if (scope == "group") scope += separator + std::to_string(get_int(e, "group"));
  return scope;
}

// The name of the user running this command, as the system knows it.
std::string system_user() {
  if (const passwd* entry = getpwuid(geteuid()); entry != nullptr && entry->pw_name != nullptr) {
    return entry->pw_name;
  }
  return "uid " + std::to_string(geteuid());
}

// ---- commands ---------------------------------------------------------------------------

int run_check(const options& o) {
  if (!check_tenant(o.tenant)) return exit_usage;
  int code = exit_ok;
  auto client = make_client(o, code);
  if (!client) return code;
  simdjson::dom::parser parser;
  bool any_suppressed = false;
  for (std::size_t start = 0; start < o.emails.size(); start += check_chunk) {
    std::string body;
    json_writer json(body);
    json.begin_object().field("tenant", o.tenant).key("emails").begin_array();
    auto end = std::min(o.emails.size(), start + check_chunk);
    for (auto i = start; i < end; ++i) json.value(o.emails[i]);
    json.end_array();
    if (o.group) json.field("group", *o.group);
    json.end_object();
    auto reply = call(*client, verb::post, "/v1/suppressions/check", body, 200);
    if (!reply) return exit_failure;
    simdjson::dom::element doc;
    simdjson::dom::array results;
    if (!parse_json(parser, *client, reply->body, doc)) return exit_failure;
    if (doc["results"].get(results) != simdjson::SUCCESS) {
      print_stderr("{}: the answer has no results", client->url().origin());
      return exit_failure;
    }
    std::string out;
    for (auto verdict : results) {
      bool allowed = false;
      simdjson::dom::element s;
      if (verdict["allowed"].get(allowed) != simdjson::SUCCESS ||
          (!allowed && verdict["suppression"].get(s) != simdjson::SUCCESS)) {
        print_stderr("{}: a verdict without \"allowed\" or \"suppression\"",
                     client->url().origin());
        return exit_failure;
      }
      auto email = one_line(string_member(verdict, "email"));
      if (allowed) {
        out += "allowed  " + email + "\n";
        continue;
      }
      any_suppressed = true;
      out += "suppressed  " + email + "  " + std::string(string_member(s, "reason")) + " (" +
             scope_text(s, ' ') + ") since " + format_time(get_int(s, "since_ms"));
      if (auto detail = string_member(s, "detail"); !detail.empty()) out += ": " + one_line(detail);
      out += '\n';
    }
    std::fputs(out.c_str(), stdout);
  }
  return any_suppressed ? exit_suppressed : exit_ok;
}

// The scope an add or remove means: --scope, or group when only --group is given.
std::optional<std::string> change_scope(const options& o) {
  std::string scope = o.scope.empty() ? (o.group ? "group" : "global") : o.scope;
  if (o.group && scope != "group") {
    print_stderr("--group {} needs --scope group (or no --scope)",
                 static_cast<long long>(*o.group));
    return std::nullopt;
  }
  if (scope == "group" && !o.group) {
    print_stderr("--scope group needs --group N (the unsubscribe group id)");
    return std::nullopt;
  }
  if (scope == "tenant" && !o.email.empty()) {
    print_stderr("--scope tenant applies to the whole tenant: give no EMAIL");
    return std::nullopt;
  }
  if (scope != "tenant" && o.email.empty()) {
    print_stderr("EMAIL is required (except with --scope tenant)");
    return std::nullopt;
  }
  return scope;
}

int run_change(const options& o, bool add) {
  if (!check_tenant(o.tenant)) return exit_usage;
  auto scope = change_scope(o);
  if (!scope) return exit_usage;
  int code = exit_ok;
  auto client = make_client(o, code);
  if (!client) return code;
  std::optional<http::answer> reply;
  if (add) {
    std::string body;
    json_writer json(body);
    json.begin_object().field("tenant", o.tenant);
    if (!o.email.empty()) json.field("email", o.email);
    json.field("scope", *scope);
    if (o.group) json.field("group", *o.group);
    if (!o.reason.empty()) json.field("reason", o.reason);
    if (!o.detail.empty()) json.field("detail", o.detail);
    json.field("note", o.note).end_object();
    reply = call(*client, verb::post, "/v1/suppressions", body, 202);
  } else {
    std::string target = "/v1/suppressions";
    add_param(target, "tenant", o.tenant);
    if (!o.email.empty()) add_param(target, "email", o.email);
    if (o.group) add_param(target, "group", std::to_string(*o.group));
    if (*scope == "tenant") add_param(target, "scope", "tenant");
    if (!o.detail.empty()) add_param(target, "detail", o.detail);
    add_param(target, "note", o.note);
    reply = call(*client, verb::delete_, target, "", 202);
  }
  if (!reply) return exit_failure;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (!parse_json(parser, *client, reply->body, doc)) return exit_failure;
  fmt::print("{} {} (event {})\n", add ? "added" : "removed", one_line(string_member(doc, "key")),
             one_line(string_member(doc, "event_id")));
  return exit_ok;
}

std::string list_target(const options& o, bool as_export, const std::string& cursor,
                        std::optional<std::size_t> limit) {
  std::string target = as_export ? "/v1/suppressions/export" : "/v1/suppressions";
  add_param(target, "tenant", o.tenant);
  if (!o.reason.empty()) add_param(target, "reason", o.reason);
  if (o.all) add_param(target, "state", "all");
  if (!cursor.empty()) add_param(target, "cursor", cursor);
  if (limit) add_param(target, "limit", std::to_string(*limit));
  return target;
}

// A table whose column widths come from the first page: later rows that are wider shift
// their own line only, so that millions of rows need not be held to align them.
class table {
 public:
  explicit table(std::vector<std::string> header) : header_(std::move(header)) {}

  void add(std::vector<std::string> row) { pending_.push_back(std::move(row)); }

  void flush() {
    if (widths_.empty()) {
      widths_.resize(header_.size());
      for (std::size_t i = 0; i < header_.size(); ++i) widths_[i] = header_[i].size();
      for (const auto& row : pending_) {
        for (std::size_t i = 0; i < row.size(); ++i)
          widths_[i] = std::max(widths_[i], row[i].size());
      }
      print(header_);
    }
    for (const auto& row : pending_) print(row);
    pending_.clear();
  }

 private:
  void print(const std::vector<std::string>& row) const {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line.append(widths_[i] - std::min(widths_[i], row[i].size()) + 2, ' ');
    }
    while (line.ends_with(' ')) line.pop_back();
    line += '\n';
    std::fputs(line.c_str(), stdout);
  }

  std::vector<std::string> header_;
  std::vector<std::size_t> widths_;
  std::vector<std::vector<std::string>> pending_;
};

int run_list(const options& o) {
  if (!check_tenant(o.tenant)) return exit_usage;
  int code = exit_ok;
  auto client = make_client(o, code);
  if (!client) return code;
  std::vector<std::string> header{"EMAIL", "SCOPE", "REASON", "SINCE"};
  if (o.all) header.emplace_back("STATE");
  header.emplace_back("DETAIL");
  table out(std::move(header));
  simdjson::dom::parser parser;
  std::size_t shown = 0;
  std::string cursor;
  do {
    std::size_t page = list_page_size;
    if (o.limit) page = std::min(page, *o.limit - shown);
    auto reply = call(*client, verb::get, list_target(o, false, cursor, page), "", 200);
    if (!reply) return exit_failure;
    simdjson::dom::element doc;
    simdjson::dom::array records;
    if (!parse_json(parser, *client, reply->body, doc)) return exit_failure;
    if (doc["suppressions"].get(records) != simdjson::SUCCESS) {
      print_stderr("{}: the answer has no suppressions", client->url().origin());
      return exit_failure;
    }
    for (auto r : records) {
      std::vector<std::string> row;
      auto email = string_member(r, "email");
      row.push_back(email.empty() ? "-" : one_line(email));
      row.push_back(scope_text(r, ':'));
      row.emplace_back(string_member(r, "reason"));
      row.push_back(format_time(get_int(r, "since_ms")));
      if (o.all) {
        bool suppressed = false;
        bool known = r["suppressed"].get(suppressed) == simdjson::SUCCESS;
        row.emplace_back(!known ? "?" : suppressed ? "suppressed" : "cleared");
      }
      row.push_back(one_line(string_member(r, "detail")));
      out.add(std::move(row));
      ++shown;
    }
    std::string next(string_member(doc, "next_cursor"));
    if (!next.empty() && next == cursor) {
      print_stderr("{}: the cursor did not move ({})", client->url().origin(), next);
      return exit_failure;
    }
    cursor = std::move(next);
    out.flush();
  } while (!cursor.empty() && (!o.limit || shown < *o.limit));
  print_stderr("{} suppression{} of tenant {}", shown, shown == 1 ? "" : "s", o.tenant);
  return exit_ok;
}

int run_export(const options& o) {
  if (!check_tenant(o.tenant)) return exit_usage;
  int code = exit_ok;
  auto client = make_client(o, code);
  if (!client) return code;
  std::FILE* out = stdout;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(nullptr, &std::fclose);
  if (!o.output.empty()) {
    file.reset(std::fopen(o.output.c_str(), "wb"));
    if (!file) {
      print_stderr("cannot write {}: {}", o.output, std::strerror(errno));
      return exit_failure;
    }
    out = file.get();
  }
  auto incomplete = [&] {
    if (!o.output.empty()) print_stderr("{} is incomplete", o.output);
    return exit_failure;
  };
  std::size_t lines = 0;
  std::string cursor;
  do {
    auto reply = call(*client, verb::get, list_target(o, true, cursor, std::nullopt), "", 200);
    if (!reply) return incomplete();
    lines += static_cast<std::size_t>(std::count(reply->body.begin(), reply->body.end(), '\n'));
    if (std::fwrite(reply->body.data(), 1, reply->body.size(), out) != reply->body.size()) {
      print_stderr("cannot write {}: {}", o.output.empty() ? "stdout" : o.output,
                   std::strerror(errno));
      return incomplete();
    }
    std::string next(reply->header("x-next-cursor"));
    if (!next.empty() && next == cursor) {
      print_stderr("{}: the cursor did not move ({})", client->url().origin(), next);
      return incomplete();
    }
    cursor = std::move(next);
  } while (!cursor.empty());
  if (std::fflush(out) != 0 || (file && std::fclose(file.release()) != 0)) {
    print_stderr("cannot write {}: {}", o.output.empty() ? "stdout" : o.output,
                 std::strerror(errno));
    return incomplete();
  }
  print_stderr("exported {} suppression{} of tenant {}{}{}", lines, lines == 1 ? "" : "s", o.tenant,
               o.output.empty() ? "" : " to ", o.output);
  return exit_ok;
}

int run_stats(const options& o) {
  if (!o.tenant.empty() && !check_tenant(o.tenant)) return exit_usage;
  int code = exit_ok;
  auto client = make_client(o, code);
  if (!client) return code;
  std::string target = "/v1/suppressions/stats";
  if (!o.tenant.empty()) add_param(target, "tenant", o.tenant);
  auto reply = call(*client, verb::get, target, "", 200);
  if (!reply) return exit_failure;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::object tenants;
  if (!parse_json(parser, *client, reply->body, doc)) return exit_failure;
  if (doc["tenants"].get(tenants) != simdjson::SUCCESS) {
    print_stderr("{}: the answer has no tenants", client->url().origin());
    return exit_failure;
  }
  std::string out;
  for (auto [tenant, counts] : tenants) {
    auto total = get_int(counts, "total");
    out += "tenant " + one_line(tenant) + ": " + std::to_string(total) + " suppression" +
           (total == 1 ? "" : "s") + "\n";
    simdjson::dom::object scopes;
    if (counts.get(scopes) != simdjson::SUCCESS) continue;
    for (auto [scope, reasons] : scopes) {
      simdjson::dom::object by_reason;
      if (reasons.get(by_reason) != simdjson::SUCCESS) continue;  // "total"
      for (auto [reason, count] : by_reason) {
        std::int64_t n = 0;
        if (count.get(n) != simdjson::SUCCESS) continue;
        out += fmt::format("  {:<7} {:<18} {}\n", scope, reason, n);
      }
    }
  }
  if (out.empty()) {
    out = o.tenant.empty() ? "no suppressions\n" : "tenant " + o.tenant + ": no suppressions\n";
  }
  if (o.tenant.empty()) {
    out += "keys in the index (lifted suppressions included): " +
           std::to_string(get_int(doc, "keys")) + "\n";
  }
  std::fputs(out.c_str(), stdout);
  return exit_ok;
}

int run_import(const options& o) {
  auto kind = suppression::parse_export_kind(o.kind);
  if (!kind) {
    print_stderr("--kind: unknown kind '{}'", o.kind);
    return exit_usage;
  }
  if (o.group && *kind != suppression::export_kind::group_unsubscribes) {
    print_stderr("--group applies only to --kind group_unsubscribes");
    return exit_usage;
  }
  if (!check_tenant(o.tenant)) return exit_usage;
  if (o.config_file.empty() && !o.dry_run) {
    print_stderr("--config is required: it names the Kafka cluster and the changelog topic");
    return exit_usage;
  }
  if (o.note.empty() && !o.dry_run) {
    print_stderr("--note is required: say why; it is kept with every imported record");
    return exit_usage;
  }
  std::optional<config::daemon_config> cfg;
  if (!o.config_file.empty()) {
    auto loaded =
        config::load_file(o.config_file, config::process_environment(), kafka_secrets_only);
    if (!loaded) {
      print_stderr("{}", loaded.error().describe());
      return exit_usage;
    }
    cfg = std::move(*loaded);
  }

  std::ifstream in(o.file, std::ios::binary);
  if (!in.is_open()) {
    print_stderr("cannot read {}: {}", o.file, std::strerror(errno));
    return exit_failure;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    print_stderr("cannot read {}: {}", o.file, std::strerror(errno));
    return exit_failure;
  }
  suppression::import_options import_options{.kind = *kind, .asm_group_id = o.group};
  auto rows = suppression::parse_export(text, import_options);
  if (!rows) {
    bool needs_group = rows.error().code == suppression::import_errc::missing_group_id;
    print_stderr("{}: {}{}", o.file, rows.error().describe(),
                 needs_group ? " (give --group N)" : "");
    return exit_failure;
  }
  text = std::string();
  auto kind_name = std::string(suppression::to_string(*kind));
  if (o.dry_run) {
    fmt::print(
        "would import {} suppressions ({}) from {} into tenant {} (dry run: nothing "
        "written)\n",
        rows->size(), kind_name, o.file, o.tenant);
    return exit_ok;
  }

  (void)configure_logging(cfg->log.level, cfg->log.format);
  auto source = std::filesystem::path(o.file).filename().string();
  auto now = unix_ms();
  // An import writes to Kafka with the configuration's credentials, not through the admin
  // API: no token names the importer, so the record says which system user ran it.
  auto actor = "import:" + system_user();
  std::vector<suppression::record> records;
  records.reserve(rows->size());
  for (const auto& row : *rows) {
    records.push_back(suppression::to_record(row, *kind, o.tenant, source, now));
    records.back().set_actor(actor);
    records.back().set_note(o.note);
  }
  rows->clear();

  // Like `mailhook serve`, create the changelog topic when it does not exist yet, so that
  // an import may come before the first daemon starts.
  if (cfg->kafka.create_topics) {
    auto conf = kafka::make_conf(cfg->kafka);
    auto handle = conf ? kafka::make_handle(RD_KAFKA_PRODUCER, std::move(*conf))
                       : result<kafka::handle_ptr>(conf.error());
    if (!handle) {
      print_stderr("{}", handle.error().describe());
      return exit_failure;
    }
    auto ensured =
        kafka::ensure_topics(handle->get(), {cfg->topics.suppressions}, std::chrono::seconds(30));
    if (!ensured) {
      print_stderr("{}", ensured.error().describe());
      return exit_failure;
    }
  }
  metrics::registry registry;
  auto writer = index::changelog_writer::create(*cfg, registry);
  if (!writer) {
    print_stderr("{}", writer.error().describe());
    return exit_failure;
  }
  // A minute, plus a millisecond per record for large exports.
  auto timeout = std::chrono::milliseconds(60'000 + static_cast<std::int64_t>(records.size()));
  if (auto written = (*writer)->write_all(records, timeout); !written) {
    print_stderr(
        "import into {} failed (nothing or part of it was written; importing again "
        "is safe): {}",
        cfg->topics.suppressions.name, written.error().describe());
    return exit_failure;
  }
  fmt::print("imported {} suppressions ({}) from {} into tenant {}\n", records.size(), kind_name,
             o.file, o.tenant);
  return exit_ok;
}

// ---- registration -----------------------------------------------------------------------

void add_group_option(CLI::App* cmd, options& o, const std::string& help) {
  cmd->add_option_function<std::int64_t>(
         "--group", [&o](const std::int64_t& group) { o.group = group; }, help)
      ->type_name("N");
}

// Runs `command` from a subcommand callback: the exit status goes to `o`, and nothing
// escapes into CLI11.
void on_run(CLI::App* cmd, const std::shared_ptr<options>& state, int (*command)(const options&)) {
  cmd->callback(
      [state, command] { run_command(state->exit_code, [&] { return command(*state); }); });
}

void register_commands(CLI::App& cli, const std::shared_ptr<options>& state) {
  auto& o = *state;
  auto* root = cli.add_subcommand(
      "suppressions", "Check, change, list, export and import suppressions (admin API, Kafka)");
  // Not require_subcommand(1): CLI11 would then answer an unknown subcommand with "A
  // subcommand is required" instead of naming it.
  root->callback([state, root] {
    if (root->get_subcommands().empty()) {
      print_stderr(
          "suppressions: a subcommand is required: check, add, remove, list, export, stats or "
          "import (see --help)");
      state->exit_code = exit_usage;
    }
  });
  root->footer(
      "Exit status: 0 success, 1 failure (network, API, Kafka), 2 usage error, 3 `check` "
      "found a suppressed address.");

  auto* check = root->add_subcommand(
      "check", "May these addresses be sent to? One line per address: allowed or suppressed");
  add_admin_options(check, o);
  check->add_option("-t,--tenant", o.tenant, "Tenant")->required();
  add_group_option(check, o, "Unsubscribe group of the send (its group suppressions count too)");
  check->add_option("EMAIL", o.emails, "Addresses to check")->required()->type_name("EMAIL...");
  check->footer(
      "Exit status: 0 every address allowed, 3 at least one suppressed, 1 failure, 2 "
      "usage error.");
  on_run(check, state, &run_check);

  for (bool add : {true, false}) {
    auto* cmd = root->add_subcommand(
        add ? "add" : "remove", add ? "Suppress an address (or a whole tenant with --scope tenant)"
                                    : "Lift a suppression (written as a cleared record)");
    add_admin_options(cmd, o);
    cmd->add_option("-t,--tenant", o.tenant, "Tenant")->required();
    cmd->add_option("--scope", o.scope,
                    "global (default), group (with --group), tenant (every address of it)")
        ->check(CLI::IsMember(scope_words));
    add_group_option(cmd, o, "Unsubscribe group id (implies --scope group)");
    if (add) {
      cmd->add_option("--reason", o.reason, "Reason (default manual)")
          ->check(CLI::IsMember(reason_words));
    }
    cmd->add_option("--detail", o.detail, "Free text kept with the change");
    cmd->add_option("--note", o.note,
                    "Why: kept in the changelog record, with the token's name, and logged")
        ->required();
    cmd->add_option("EMAIL", o.email, "Address (not with --scope tenant)")->type_name("EMAIL");
    on_run(
        cmd, state,
        add ? +[](const options& s) { return run_change(s, true); }
            : +[](const options& s) { return run_change(s, false); });
  }

  auto* list = root->add_subcommand("list", "A table of a tenant's suppressions");
  add_admin_options(list, o);
  list->add_option("-t,--tenant", o.tenant, "Tenant")->required();
  list->add_option("--reason", o.reason, "Only this reason")->check(CLI::IsMember(reason_words));
  list->add_flag("--all", o.all, "Include lifted (cleared) suppressions");
  list->add_option_function<std::size_t>(
          "--limit", [&o](const std::size_t& n) { o.limit = n; }, "At most N rows (default: all)")
      ->check(CLI::Validator(
          [](const std::string& text) {
            return text.find_first_not_of('0') == std::string::npos ? "must be at least 1" : "";
          },
          "N >= 1", "at_least_one"))
      ->type_name("N");
  on_run(list, state, &run_list);

  auto* export_cmd = root->add_subcommand(
      "export", "A tenant's suppressions as NDJSON, one record per line (the count on stderr)");
  add_admin_options(export_cmd, o);
  export_cmd->add_option("-t,--tenant", o.tenant, "Tenant")->required();
  export_cmd->add_option("--reason", o.reason, "Only this reason")
      ->check(CLI::IsMember(reason_words));
  export_cmd->add_flag("--all", o.all, "Include lifted (cleared) suppressions");
  export_cmd->add_option("-o,--output", o.output, "Write to FILE instead of stdout")
      ->type_name("FILE");
  on_run(export_cmd, state, &run_export);

  auto* stats = root->add_subcommand("stats", "Counts per tenant, scope and reason");
  add_admin_options(stats, o);
  stats->add_option("-t,--tenant", o.tenant, "Only this tenant");
  on_run(stats, state, &run_stats);

  auto* import = root->add_subcommand(
      "import",
      "Import a SendGrid suppression export (JSON or CSV) into Kafka's changelog directly");
  import
      ->add_option("-c,--config", o.config_file,
                   "Configuration file (TOML): the Kafka cluster and topic to write to")
      ->check(CLI::ExistingFile);
  import->add_option("-t,--tenant", o.tenant, "Tenant")->required();
  import->add_option("--kind", o.kind, "Which list the file holds")
      ->required()
      ->check(CLI::IsMember(kind_words));
  add_group_option(import, o, "Group of a group_unsubscribes export whose rows carry no group id");
  import->add_flag("--dry-run", o.dry_run, "Parse and count only; write nothing");
  import->add_option("--note", o.note,
                     "Why: kept with every imported record, with the system user's name "
                     "(required unless --dry-run)");
  import->add_option("EXPORT_FILE", o.file, "The export file")
      ->required()
      ->check(CLI::ExistingFile)
      ->type_name("EXPORT_FILE");
  import->footer(
      "Kinds: bounces, blocks, spam_reports, invalid_emails, global_unsubscribes, "
      "group_unsubscribes. Importing the same file twice changes nothing.");
  on_run(import, state, &run_import);
}

}  // namespace

std::optional<int> suppressions_command(CLI::App& cli, int argc, char** argv) {
  auto state = std::make_shared<options>();
  register_commands(cli, state);
  if (argc < 2 || std::string_view(argv[1]) != "suppressions") return std::nullopt;
  return parse_and_run(cli, argc, argv, state->exit_code);
}

}  // namespace mailhook::app
