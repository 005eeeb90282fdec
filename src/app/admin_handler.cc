#include "app/admin_handler.h"

#include <string_view>

namespace mailhook::app {
namespace {

http::response readyz(const readiness& ready) {
  auto report = ready.evaluate();
  std::string body = report.ready ? R"({"ready":true,"checks":{)" : R"({"ready":false,"checks":{)";
  bool first = true;
  for (const auto& [name, state] : report.checks) {
    if (!first) body += ',';
    first = false;
    body += '"';
    http::append_json_escaped(body, name);
    body += "\":\"";
    http::append_json_escaped(body, state);
    body += '"';
  }
  body += "}}";
  return http::make_response(report.ready ? http::status::ok : http::status::service_unavailable,
                             std::move(body));
}

}  // namespace

void admin_handler::on_request(http::request&& req, http::responder res) {
  std::string_view target(req.target().data(), req.target().size());
  std::string_view path = target.substr(0, target.find('?'));
  auto reply = [&](http::response r) { res.send(std::move(r)); };
  if (path.starts_with("/v1/suppressions")) {
    if (suppressions_ == nullptr) {
      return reply(http::json_error(http::status::not_found, "not_found",
                                    "this process does not run the index role"));
    }
    auto query = path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
    return suppressions_->handle(std::move(req), path, query, std::move(res));
  }

  if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
    if (req.method() != http::verb::get) {
      auto r = http::json_error(http::status::method_not_allowed, "method_not_allowed",
                                "use GET on " + std::string(path));
      r.set(http::field::allow, "GET");
      return reply(std::move(r));
    }
    if (path == "/healthz")
      return reply(http::make_response(http::status::ok, R"({"status":"ok"})"));
    if (path == "/readyz") return reply(readyz(readiness_));
    return reply(http::make_response(http::status::ok, registry_.expose(), metrics::content_type));
  }
  reply(
      http::json_error(http::status::not_found, "not_found", "no route for " + std::string(path)));
}

}  // namespace mailhook::app
