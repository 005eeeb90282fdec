// What Mail Send's answers mean: what the sender does next, and one line for people.
#include "sender/mail_send_answer.h"

#include <algorithm>
#include <string_view>

#include "common/text.h"

namespace mailhook::sender {
namespace {

bool contains_ci(std::string_view haystack, std::string_view needle) {
  return to_ascii_lower(haystack).find(to_ascii_lower(needle)) != std::string::npos;
}

}  // namespace

answer_kind classify(const api_answer& answer) {
  const int s = answer.status;
  // Without a status, only a call that never began to write its request provably left
  // SendGrid without it.
  if (s == 0) return answer.request_started ? answer_kind::indeterminate : answer_kind::retryable;
  if (s >= 200 && s < 300) return answer_kind::accepted;
  // SendGrid's documented "not taken, try again" answers. An explicit answer is kept to
  // its word even when its body was cut off: the status line is the server's decision.
  if (s == 429) return answer_kind::rate_limited;
  if (s >= 500 && s < 600) return answer_kind::retryable;
  return answer_kind::rejected;
}

std::string explain(const api_answer& answer) {
  const int s = answer.status;
  if (s == 0) {
    const std::string why =
        answer.transport_error.empty() ? std::string("no answer") : answer.transport_error;
    return (answer.request_started ? "no answer after the request was sent: " : "unreachable: ") +
           why;
  }
  std::string headline;
  if (s >= 200 && s < 300) {
    headline = answer.message_id.empty() ? "sent" : "sent, message id " + answer.message_id;
  } else if (s == 401) {
    headline = "API key rejected";
  } else if (s == 403) {
    const bool about_from =
        std::any_of(answer.errors.begin(), answer.errors.end(), [](const auto& e) {
          return to_ascii_lower(e.field()).starts_with("from") ||
                 contains_ci(e.message(), "sender identity") ||
                 contains_ci(e.message(), "from address") || contains_ci(e.message(), "from email");
        });
    headline = about_from ? "From address is not a verified sender" : "access forbidden";
  } else if (s == 400) {
    headline = "request refused";
  } else if (s == 413) {
    headline = "content too large";
  } else if (s == 429) {
    headline = "rate limited";
  } else if (s >= 500 && s < 600) {
    headline = "SendGrid error";
  } else if (s >= 400 && s < 500) {
    headline = "refused by SendGrid";
  } else {
    headline = "unexpected answer";
  }
  if (s >= 200 && s < 300 && answer.errors.empty()) return headline;

  std::string detail;
  for (const auto& e : answer.errors) {
    std::string one = one_line(e.message(), 500);
    if (!e.field().empty())
      one += (one.empty() ? "field: " : "; field: ") + one_line(e.field(), 100);
    if (one.empty()) continue;
    if (!detail.empty()) detail += " | ";
    detail += one;
  }
  return headline + " (" + std::to_string(s) + (detail.empty() ? "" : ": " + detail) + ")";
}

}  // namespace mailhook::sender
