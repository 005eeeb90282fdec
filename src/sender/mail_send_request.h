// The Mail Send request as the sender builds it: the checks a SendRequest must pass before
// any call (so that what SendGrid would refuse fails with a clear reason without using the
// account's rate limit) and the JSON body of POST /v3/mail/send (docs/sending.md, ../spec
// section 6). Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "config/daemon_config.h"
#include "mailhook/v1/send.pb.h"

namespace mailhook::sender {

// Mail Send's own limits, checked before a call so that a request SendGrid would refuse
// fails with a clear reason without using the account's rate limit.
inline constexpr std::size_t max_recipients = 1000;
inline constexpr std::size_t max_categories = 10;
inline constexpr std::size_t max_category_bytes = 255;
inline constexpr std::size_t max_custom_args_bytes = 10'000;

// Why `request` cannot be sent at all (missing request_id, tenant, recipients, subject,
// content or template_id; too many recipients or categories; dynamic template data that
// is not a JSON object; ...), or nullopt when it can.
[[nodiscard]] std::optional<std::string> invalid_request(const mailhook::v1::SendRequest& request);

// The body of POST /v3/mail/send: one personalization per recipient in `to` (each gets
// its own copy), From and Reply-To of the integration, the request's ASM group (or the
// integration's default), categories and custom args plus "mailhook_request_id" and
// "mailhook_tenant", so that webhook events name the request they come from. Compact JSON;
// content is ordered text/plain, text/html, then the rest (SendGrid refuses other orders);
// dynamic template data goes into every personalization, compacted with its tokens as
// written. Meant for a request invalid_request() accepted: template data that is not a
// JSON object is left out, and request custom args named like mailhook's own are ignored.
[[nodiscard]] std::string mail_send_body(const mailhook::v1::SendRequest& request,
                                         const std::vector<mailhook::v1::Recipient>& to,
                                         const config::integration_config& integration);

}  // namespace mailhook::sender
