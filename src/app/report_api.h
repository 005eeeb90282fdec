// The admin port's GET /v1/reports/events (docs/openapi.yaml, docs/report.md): a tenant's
// counts per day from the report role's store, with the bounce and spam-report rates.
// Every day of the range has a row, zeros included. Answered inline, read scope;
// admin_handler admits requests (admin_access) before they get here.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "http/server.h"
#include "metrics/registry.h"
#include "report/store.h"

namespace mailhook::app {

class report_api {
 public:
  // Why the counts are not complete yet (the report role is still reading the topic to
  // its end), or nullopt once they are; while they are not, requests get 503.
  using incomplete_check = std::function<std::optional<std::string>()>;

  report_api(const report::store& store, incomplete_check incomplete, metrics::registry& registry);

  // Answers a request whose path starts with /v1/reports.
  void handle(http::verb method, std::string_view path, std::string_view query,
              http::responder res);
  // The answer handle() sends.
  [[nodiscard]] http::response answer(http::verb method, std::string_view path,
                                      std::string_view query);

  // The longest range one request may ask for, in days.
  static constexpr int max_days = 366;

 private:
  http::response events(std::string_view query) const;

  const report::store& store_;
  incomplete_check incomplete_;
  metrics::counter_family& requests_;
};

}  // namespace mailhook::app
