// What kind of failure an error is, as far as a caller at the edge must know: every
// module's errc enum says, for each of its values, which kind it is and the stable word
// that names it (the classify() function its MAILHOOK_DEFINE_ERRC names). The HTTP layer
// turns a kind into a status in exactly one place (http/reply.h); other edges (the CLI's
// exit codes, logs) can use the same kinds. Safe from any thread.
#pragma once

#include <string_view>
#include <system_error>

namespace mailhook {

enum class error_kind {
  bad_input,     // the request or value is wrong; the same one will fail again
  unauthorized,  // no credentials, or credentials that are not accepted
  forbidden,     // accepted credentials without the right to this
  not_found,     // no such route, source or resource
  too_large,     // over a stated size limit
  rate_limited,  // this client is over its share; slow down
  overloaded,    // the process is over its budget; retry later
  unavailable,   // a dependency (Kafka, the index) is not there; retry later
  internal,      // a failure of this process, not of the request
  // Kinds only the HTTP protocol layer finds, each its own status.
  method_not_allowed,
  length_required,
  unsupported_media_type,
  misdirected,  // a Host this listener does not answer for
  header_too_large,
  not_implemented,
};

// One error's kind and its stable word (JSON "error" field, metric labels).
struct error_class {
  error_kind kind = error_kind::internal;
  std::string_view word = "internal";  // static storage
};

// The category MAILHOOK_DEFINE_ERRC makes: a std::error_category that also classifies.
class classifying_category : public std::error_category {
 public:
  [[nodiscard]] virtual error_class classify(int value) const noexcept = 0;
};

// The class of any error code: what its module's classify() says, or {internal,
// "internal"} for codes of other categories (std::errc, OpenSSL, ...).
[[nodiscard]] inline error_class classify(const std::error_code& code) noexcept {
  if (const auto* c = dynamic_cast<const classifying_category*>(&code.category())) {
    return c->classify(code.value());
  }
  return {};
}

}  // namespace mailhook
