// The admin port's /v1/suppressions API (docs/openapi.yaml): single and batch checks,
// listing with a reason filter and a cursor, stats per tenant and reason, export, and
// manual add and remove. Reads come from the local index replica; changes go to the
// changelog topic, so that every replica (this one included) applies them the same way,
// and are answered once Kafka has confirmed them. Each change records who made it (the
// admitted token's name) and why (the request's note), in the record and in the log.
// admin_handler admits requests (admin_access) before they get here.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "app/admin_access.h"
#include "http/server.h"
#include "index/changelog_writer.h"
#include "index/store.h"
#include "metrics/registry.h"

namespace mailhook::app {

class suppression_api {
 public:
  // Why the store is not current (index::replica::not_current), or nullopt while it is.
  using currency_check = std::function<std::optional<std::string>()>;

  // `writer` may be null: changes are then refused with 503. While `not_current` says why,
  // a check whose answer would say "allowed" is refused with 503: the address may have
  // been suppressed since. A suppressed answer is still given (it errs the safe way).
  suppression_api(const index::store& store, index::changelog_writer* writer,
                  currency_check not_current, metrics::registry& registry);

  // Answers a request whose path starts with /v1/suppressions, made by `who`.
  void handle(http::request&& req, std::string_view path, std::string_view query,
              const admin_principal& who, http::responder res);

  static constexpr std::size_t max_batch_check = 1000;
  static constexpr std::size_t max_page = 1000;
  static constexpr std::size_t max_export_page = 100'000;
  static constexpr std::size_t max_note = 1000;  // bytes of a change's note

 private:
  verdict timed_check(std::string_view tenant, std::string_view email,
                      std::optional<std::int64_t> group);
  // The 503 for an "allowed" answer while the store is not current; nullopt while it is.
  [[nodiscard]] std::optional<http::response> refuse_allowed() const;
  http::response check_one(std::string_view query);
  http::response check_batch(const http::request& req);
  http::response list(std::string_view query, bool as_export);
  http::response stats(std::string_view query);
  void change(const http::request& req, std::string_view query, bool suppress,
              const admin_principal& who, http::responder res);

  const index::store& store_;
  index::changelog_writer* writer_;
  currency_check not_current_;
  metrics::histogram& lookup_seconds_;
  metrics::counter_family& requests_;
};

}  // namespace mailhook::app
