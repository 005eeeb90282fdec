#include "app/report_cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "app/admin_cli.h"
#include "http/query.h"
#include "report/day.h"

namespace mailhook::app {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

struct options : admin_options {
  std::string tenant;
  int days = 30;
  std::string from;  // --from and --to, instead of --days
  std::string to;
  std::string format = "table";
  int exit_code = exit_ok;
};

// The columns of every format, in order: the API's member names.
const std::vector<std::string> count_columns = {"delivered",   "bounce",           "bounce_hard",
                                                "bounce_soft", "dropped",          "spamreport",
                                                "unsubscribe", "group_unsubscribe"};
const std::vector<std::string> rate_columns = {"bounce_rate", "spam_rate"};

std::string number_text(simdjson::dom::element row, const std::string& key) {
  std::uint64_t count = 0;
  if (row[key].get(count) == simdjson::SUCCESS) return std::to_string(count);
  return "0";
}

// A rate as a percentage with two decimals ("2.50%"), or "-" when there was nothing to
// compute it from (null).
std::string percent_text(simdjson::dom::element row, const std::string& key) {
  double rate = 0;
  if (row[key].get(rate) != simdjson::SUCCESS) return "-";
  return fmt::format("{:.2f}%", rate * 100);
}

// The rate as the API gave it, for CSV: a plain number, or empty for null.
std::string rate_text(simdjson::dom::element row, const std::string& key) {
  double rate = 0;
  if (row[key].get(rate) != simdjson::SUCCESS) return "";
  return fmt::format("{:.6g}", rate);
}

std::vector<std::string> cells_of(simdjson::dom::element row, std::string first, bool for_csv) {
  std::vector<std::string> cells{std::move(first)};
  for (const auto& column : count_columns) cells.push_back(number_text(row, column));
  for (const auto& column : rate_columns) {
    cells.push_back(for_csv ? rate_text(row, column) : percent_text(row, column));
  }
  return cells;
}

std::string csv(simdjson::dom::array days) {
  std::string out = "day";
  for (const auto& column : count_columns) out += "," + column;
  for (const auto& column : rate_columns) out += "," + column;
  out += '\n';
  for (auto row : days) {
    std::string day(string_member(row, "day"));
    bool first = true;
    for (const auto& cell : cells_of(row, day, true)) {
      if (!first) out += ',';
      first = false;
      out += cell;
    }
    out += '\n';
  }
  return out;
}

// Columns right-aligned to their widest cell, the day left-aligned; a total line last.
std::string table(simdjson::dom::array days, simdjson::dom::element total) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"day"};
  header.insert(header.end(), count_columns.begin(), count_columns.end());
  header.insert(header.end(), rate_columns.begin(), rate_columns.end());
  rows.push_back(header);
  for (auto row : days)
    rows.push_back(cells_of(row, std::string(string_member(row, "day")), false));
  rows.push_back(cells_of(total, "total", false));
  std::vector<std::size_t> widths(header.size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      auto pad = std::string(widths[i] - row[i].size(), ' ');
      line += i == 0 ? row[i] + pad : "  " + pad + row[i];
    }
    out += line + '\n';
  }
  return out;
}

int run_events(const options& o) {
  if (!check_tenant(o.tenant)) return exit_usage;
  int code = exit_ok;
  auto to = report::today_utc();
  auto from = to - (o.days - 1);
  if (!o.from.empty() || !o.to.empty()) {
    auto first = report::parse_day(o.from);
    auto last = report::parse_day(o.to);
    if (!first || !last) {
      print_stderr("--from and --to go together, each a UTC day as YYYY-MM-DD");
      return exit_usage;
    }
    from = *first;
    to = *last;
  }
  auto client = make_client(o, code);
  if (!client) return code;
  std::string target = "/v1/reports/events?tenant=" + http::url_encode(o.tenant) +
                       "&from=" + report::format_day(from) + "&to=" + report::format_day(to);
  auto reply = call(*client, http::verb::get, target, "", 200);
  if (!reply) return exit_failure;
  if (o.format == "json") {
    std::fputs(reply->body.c_str(), stdout);
    std::fputc('\n', stdout);
    return exit_ok;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (!parse_json(parser, *client, reply->body, doc)) return exit_failure;
  simdjson::dom::array days;
  simdjson::dom::element total;
  if (doc["days"].get(days) != simdjson::SUCCESS || doc["total"].get(total) != simdjson::SUCCESS) {
    print_stderr("{}: the answer has no days or total", client->url().origin());
    return exit_failure;
  }
  auto text = o.format == "csv" ? csv(days) : table(days, total);
  std::fputs(text.c_str(), stdout);
  return exit_ok;
}

}  // namespace

std::optional<int> report_command(CLI::App& cli, int argc, char** argv) {
  auto state = std::make_shared<options>();
  auto& o = *state;
  auto* root = cli.add_subcommand("report", "Reports from the events topic (admin API)");
  root->callback([state, root] {
    if (root->get_subcommands().empty()) {
      print_stderr("report: a subcommand is required: events (see --help)");
      state->exit_code = exit_usage;
    }
  });
  auto* events = root->add_subcommand(
      "events",
      "A tenant's delivered, bounced (hard/soft), dropped, spam-reported and unsubscribed "
      "events per UTC day, with bounce and spam-report rates");
  add_admin_options(events, o);
  events->add_option("-t,--tenant", o.tenant, "Tenant")->required();
  auto* days =
      events->add_option("--days", o.days, "The last N days, today (UTC) included (default 30)");
  days->check(CLI::Range(1, 366))->type_name("N");
  auto* from = events->add_option("--from", o.from,
                                  "The first day (UTC, YYYY-MM-DD), with --to, instead of --days");
  from->type_name("DAY")->excludes(days);
  events->add_option("--to", o.to, "The last day (UTC, YYYY-MM-DD), with --from")
      ->type_name("DAY")
      ->excludes(days);
  events->add_option("--format", o.format, "table (default), csv or json (the API's answer)")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  events->footer(
      "bounce_rate = bounce / (delivered + bounce), spam_rate = spamreport / delivered; "
      "'-' where there was nothing to divide by. Exit status: 0 success, 1 failure "
      "(network, API), 2 usage error.");
  events->callback([state] { run_command(state->exit_code, [&] { return run_events(*state); }); });
  if (argc < 2 || std::string_view(argv[1]) != "report") return std::nullopt;
  return parse_and_run(cli, argc, argv, state->exit_code);
}

}  // namespace mailhook::app
