#include "http/reply.h"

#include <string>

#include "common/json_writer.h"

namespace mailhook::http {

status status_of(error_kind kind) noexcept {
  switch (kind) {
    case error_kind::bad_input:
      return status::bad_request;
    case error_kind::unauthorized:
      return status::unauthorized;
    case error_kind::forbidden:
      return status::forbidden;
    case error_kind::not_found:
      return status::not_found;
    case error_kind::too_large:
      return status::payload_too_large;
    case error_kind::rate_limited:
      return status::too_many_requests;
    case error_kind::overloaded:
    case error_kind::unavailable:
      return status::service_unavailable;
    case error_kind::internal:
      return status::internal_server_error;
    case error_kind::method_not_allowed:
      return status::method_not_allowed;
    case error_kind::length_required:
      return status::length_required;
    case error_kind::unsupported_media_type:
      return status::unsupported_media_type;
    case error_kind::misdirected:
      return status::misdirected_request;
    case error_kind::header_too_large:
      return status::request_header_fields_too_large;
    case error_kind::not_implemented:
      return status::not_implemented;
  }
  return status::internal_server_error;
}

response error_reply(error_class what, std::string_view message, std::chrono::seconds retry_after) {
  std::string body;
  json_writer(body).begin_object().field("error", what.word).field("message", message).end_object();
  auto r = make_response(status_of(what.kind), std::move(body));
  const bool come_back = what.kind == error_kind::overloaded ||
                         what.kind == error_kind::unavailable ||
                         what.kind == error_kind::rate_limited;
  if (come_back && retry_after.count() > 0) {
    r.set(field::retry_after, std::to_string(retry_after.count()));
  }
  return r;
}

response error_reply(const failure& f, std::chrono::seconds retry_after) {
  return error_reply(classify(f.code), f.describe(), retry_after);
}

}  // namespace mailhook::http
