// What Mail Send's answers mean: the sender's next step for each status, and the line
// people read.
#include "sender/mail_send_answer.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace mailhook::sender {
namespace {

// ---- classify and explain ----

api_answer answer_with(int status, std::vector<std::pair<std::string, std::string>> errors = {}) {
  api_answer a;
  a.status = status;
  for (auto& [message, field] : errors) {
    v1::ApiError e;
    e.set_message(message);
    e.set_field(field);
    a.errors.push_back(e);
  }
  return a;
}

TEST(classify, maps_each_status_to_what_the_sender_does_next) {
  EXPECT_EQ(classify(answer_with(202)), answer_kind::accepted);
  EXPECT_EQ(classify(answer_with(200)), answer_kind::accepted);
  EXPECT_EQ(classify(answer_with(429)), answer_kind::rate_limited);
  for (int s : {0, 500, 502, 503, 504}) {
    EXPECT_EQ(classify(answer_with(s)), answer_kind::retryable) << s;
  }
  // No answer is retryable only while nothing of the request was written.
  api_answer silent = answer_with(0);
  silent.request_started = true;
  EXPECT_EQ(classify(silent), answer_kind::indeterminate);
  // An explicit answer keeps its meaning even when its body was lost.
  for (auto [s, kind] : {std::pair{202, answer_kind::accepted},
                         {500, answer_kind::retryable},
                         {429, answer_kind::rate_limited},
                         {400, answer_kind::rejected}}) {
    api_answer cut = answer_with(s);
    cut.request_started = true;
    cut.transport_error = "cannot read the body of the answer of http://x: end of stream";
    EXPECT_EQ(classify(cut), kind) << s;
  }
  for (int s : {400, 401, 403, 404, 405, 406, 413, 451}) {
    EXPECT_EQ(classify(answer_with(s)), answer_kind::rejected) << s;
  }
}

TEST(explain, says_what_each_answer_means_with_sendgrids_errors) {
  api_answer sent = answer_with(202);
  sent.message_id = "abc123";
  EXPECT_EQ(explain(sent), "sent, message id abc123");
  EXPECT_EQ(explain(answer_with(401, {{"The provided authorization grant is invalid, expired, or "
                                       "revoked",
                                       ""}})),
            "API key rejected (401: The provided authorization grant is invalid, expired, or "
            "revoked)");
  EXPECT_EQ(explain(answer_with(403, {{"The from address does not match a verified Sender "
                                       "Identity.",
                                       "from"}})),
            "From address is not a verified sender (403: The from address does not match a "
            "verified Sender Identity.; field: from)");
  EXPECT_EQ(explain(answer_with(403, {{"Sender Identity not verified", ""}})),
            "From address is not a verified sender (403: Sender Identity not verified)");
  EXPECT_EQ(explain(answer_with(403, {{"You are temporarily blocked from sending", ""}})),
            "access forbidden (403: You are temporarily blocked from sending)");
  EXPECT_EQ(explain(answer_with(403)), "access forbidden (403)");
  EXPECT_EQ(explain(answer_with(
                400, {{"The subject is required.", "subject"},
                      {"Does not contain a valid address.", "personalizations.0.to.0.email"}})),
            "request refused (400: The subject is required.; field: subject | Does not contain a "
            "valid address.; field: personalizations.0.to.0.email)");
  EXPECT_EQ(explain(answer_with(413)), "content too large (413)");
  EXPECT_EQ(explain(answer_with(429, {{"too many requests", ""}})),
            "rate limited (429: too many requests)");
  EXPECT_EQ(explain(answer_with(500, {{"internal server error", ""}})),
            "SendGrid error (500: internal server error)");
  EXPECT_EQ(explain(answer_with(503)), "SendGrid error (503)");
  EXPECT_EQ(explain(answer_with(404)), "refused by SendGrid (404)");
  api_answer unreachable;
  unreachable.transport_error = "cannot connect to http://127.0.0.1:1: Connection refused";
  EXPECT_EQ(explain(unreachable),
            "unreachable: cannot connect to http://127.0.0.1:1: Connection refused");
  api_answer unanswered;
  unanswered.request_started = true;
  unanswered.transport_error = "cannot read the answer of http://127.0.0.1:1: end of stream";
  EXPECT_EQ(explain(unanswered),
            "no answer after the request was sent: cannot read the answer of "
            "http://127.0.0.1:1: end of stream");
}

TEST(explain, keeps_to_one_line) {
  EXPECT_EQ(explain(answer_with(400, {{"first\nsecond\r\nthird", ""}})),
            "request refused (400: first second  third)");
}

}  // namespace
}  // namespace mailhook::sender
