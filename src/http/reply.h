// The one mapping from errors to HTTP answers. A module says what kind of failure each of
// its errors is (common/error_kind.h); this file alone says which status each kind is,
// and every handler answers a failure through it, with the house error body:
//   {"error":"<stable word>","message":"<for people>"}
// Pure functions; safe from any thread.
#pragma once

#include <chrono>
#include <string_view>

#include "common/error_kind.h"
#include "common/result.h"
#include "http/message.h"

namespace mailhook::http {

// 400 bad_input, 401 unauthorized, 403 forbidden, 404 not_found, 405 method_not_allowed,
// 411 length_required, 413 too_large, 415 unsupported_media_type, 421 misdirected,
// 429 rate_limited, 431 header_too_large, 500 internal, 501 not_implemented,
// 503 overloaded and unavailable.
[[nodiscard]] status status_of(error_kind kind) noexcept;

// The answer for `what`, with `message` for people. A kind that asks the client to come
// back (overloaded, unavailable, rate_limited) carries Retry-After when retry_after is
// positive.
[[nodiscard]] response error_reply(error_class what, std::string_view message,
                                   std::chrono::seconds retry_after = std::chrono::seconds{0});

// The answer for a failure: its code's class (classify()) and its describe() text.
[[nodiscard]] response error_reply(const failure& f,
                                   std::chrono::seconds retry_after = std::chrono::seconds{0});

}  // namespace mailhook::http
