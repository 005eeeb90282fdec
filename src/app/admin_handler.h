// The admin listener's routes: /healthz, /readyz, /metrics, /v1/suppressions and
// /v1/reports, on a port
// of their own, never the public webhook port. Every request passes admin_access's checks
// in on_header (Host; for /v1 also the token, its scope and the body's type), so a refused
// request is answered before its body is read. And the monitoring listener's: the probes
// and metrics only, with no token and no Host check, for Prometheus and orchestrators.
//
// Handlers answer inline on the connection's executor; /v1 changes answer once Kafka has
// confirmed them, from the producer's thread. The handlers hold references only: the
// application owns what they use and outlives the servers.
#pragma once

#include <optional>
#include <string_view>

#include "app/admin_access.h"
#include "app/readiness.h"
#include "app/report_api.h"
#include "app/suppression_api.h"
#include "http/server.h"
#include "metrics/registry.h"

namespace mailhook::app {

// /healthz, /readyz or /metrics answered; nothing when `path` is none of them.
[[nodiscard]] std::optional<http::response> answer_probe(http::verb method, std::string_view path,
                                                         const readiness& ready,
                                                         const metrics::registry& registry);

class admin_handler final : public http::handler {
 public:
  // `suppressions` may be null (no index role), and `reports` (no report role): their
  // routes then answer 404 once admitted.
  admin_handler(const readiness& ready, metrics::registry& registry, const admin_access& access,
                suppression_api* suppressions = nullptr, report_api* reports = nullptr);

  [[nodiscard]] std::optional<http::response> on_header(
      const http::request_header& header) override;
  void on_request(http::request&& req, http::responder res) override;

 private:
  http::response refuse(const failure& why);

  const readiness& readiness_;
  const metrics::registry& registry_;
  const admin_access& access_;
  suppression_api* suppressions_;
  report_api* reports_;
  metrics::counter_family& refused_;
};

class monitoring_handler final : public http::handler {
 public:
  monitoring_handler(const readiness& ready, const metrics::registry& registry)
      : readiness_(ready), registry_(registry) {}

  void on_request(http::request&& req, http::responder res) override;

 private:
  const readiness& readiness_;
  const metrics::registry& registry_;
};

}  // namespace mailhook::app
