#include "app/admin_handler.h"

#include <spdlog/spdlog.h>

#include <string_view>

#include "common/json_writer.h"
#include "http/reply.h"

namespace mailhook::app {
namespace {

http::response readyz(const readiness& ready) {
  auto report = ready.evaluate();
  std::string body;
  json_writer json(body);
  json.begin_object().field("ready", report.ready).key("checks").begin_object();
  for (const auto& [name, state] : report.checks) json.field(name, state);
  json.end_object().end_object();
  return http::make_response(report.ready ? http::status::ok : http::status::service_unavailable,
                             std::move(body));
}

std::string_view target_of(const http::request_header& h) {
  return {h.target().data(), h.target().size()};
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

bool is_v1(std::string_view path) {
  return path == "/v1" || path.starts_with("/v1/");
}

http::response not_found(std::string_view path) {
  return http::error_reply({error_kind::not_found, "not_found"},
                           "no route for " + std::string(path));
}

}  // namespace

std::optional<http::response> answer_probe(http::verb method, std::string_view path,
                                           const readiness& ready,
                                           const metrics::registry& registry) {
  if (path != "/healthz" && path != "/readyz" && path != "/metrics") return std::nullopt;
  if (method != http::verb::get) {
    auto r = http::error_reply({error_kind::method_not_allowed, "method_not_allowed"},
                               "use GET on " + std::string(path));
    r.set(http::field::allow, "GET");
    return r;
  }
  if (path == "/healthz") return http::make_response(http::status::ok, R"({"status":"ok"})");
  if (path == "/readyz") return readyz(ready);
  return http::make_response(http::status::ok, registry.expose(), metrics::content_type);
}

admin_handler::admin_handler(const readiness& ready, metrics::registry& registry,
                             const admin_access& access, suppression_api* suppressions,
                             report_api* reports)
    : readiness_(ready),
      registry_(registry),
      access_(access),
      suppressions_(suppressions),
      reports_(reports),
      refused_(registry.counter("mailhook_admin_requests_refused_total",
                                "Admin listener requests refused before their body was read, by "
                                "reason (Host, token, scope, body type)",
                                {"reason"})) {
  // Every reason from the start, so that a rate over them never begins with a gap.
  for (auto e : all_admin_errc) (void)refused_.with({std::string(classify(e).word)});
}

http::response admin_handler::refuse(const failure& why) {
  refused_.with({std::string(mailhook::classify(why.code).word)}).inc();
  // Debug only: a refusal is a client's problem, and a flood of them must not flood the log.
  spdlog::debug("admin: refused: {}", why.describe());
  return reply_for(why);
}

std::optional<http::response> admin_handler::on_header(const http::request_header& header) {
  if (auto host = access_.check_host(header); !host) return refuse(host.error());
  auto path = path_of(target_of(header));
  if (!is_v1(path)) return std::nullopt;
  if (auto who = access_.check_v1(header, path); !who) return refuse(who.error());
  return std::nullopt;
}

void admin_handler::on_request(http::request&& req, http::responder res) {
  std::string_view target = target_of(req.base());
  std::string_view path = path_of(target);
  if (is_v1(path)) {
    // on_header admitted this header; asked again for the principal, which it cannot keep.
    auto who = access_.check_v1(req.base(), path);
    if (!who) return res.send(refuse(who.error()));
    auto query = path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
    if (path.starts_with("/v1/reports")) {
      if (reports_ == nullptr) {
        return res.send(http::error_reply({error_kind::not_found, "not_found"},
                                          "this process does not run the report role"));
      }
      return reports_->handle(req.method(), path, query, std::move(res));
    }
    if (!path.starts_with("/v1/suppressions")) return res.send(not_found(path));
    if (suppressions_ == nullptr) {
      return res.send(http::error_reply({error_kind::not_found, "not_found"},
                                        "this process does not run the index role"));
    }
    return suppressions_->handle(std::move(req), path, query, *who, std::move(res));
  }
  if (auto probe = answer_probe(req.method(), path, readiness_, registry_)) {
    return res.send(std::move(*probe));
  }
  res.send(not_found(path));
}

void monitoring_handler::on_request(http::request&& req, http::responder res) {
  std::string_view target = target_of(req.base());
  std::string_view path = path_of(target);
  if (auto probe = answer_probe(req.method(), path, readiness_, registry_)) {
    return res.send(std::move(*probe));
  }
  res.send(http::error_reply({error_kind::not_found, "not_found"},
                             "the monitoring listener serves /healthz, /readyz and /metrics only"));
}

}  // namespace mailhook::app
