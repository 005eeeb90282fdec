// The admin listener's routes: /healthz, /readyz and /metrics. It runs on a port of its
// own, never the public webhook port. Handlers answer inline on the connection's strand.
#pragma once

#include "app/readiness.h"
#include "app/suppression_api.h"
#include "http/server.h"
#include "metrics/registry.h"

namespace mailhook::app {

class admin_handler final : public http::handler {
 public:
  // `suppressions` may be null (no index role): /v1 then answers 404.
  admin_handler(const readiness& ready, const metrics::registry& registry,
                suppression_api* suppressions = nullptr)
      : readiness_(ready), registry_(registry), suppressions_(suppressions) {}

  void on_request(http::request&& req, http::responder res) override;

 private:
  const readiness& readiness_;
  const metrics::registry& registry_;
  suppression_api* suppressions_;
};

}  // namespace mailhook::app
