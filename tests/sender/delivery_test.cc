// The sender's decisions apart from Kafka: which recipients a plan keeps, which
// integration a request goes through, how answers turn into retries and results (with
// the real client against a bare peer where the wire decides), and the ledger position
// carried in commit metadata.
#include "sender/delivery.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <set>
#include <thread>

#include "sender/ledger.h"
#include "support/scripted_peer.h"

namespace mailhook::sender {
namespace {

using namespace std::chrono_literals;

suppression_info info(suppression_scope scope, std::int64_t group, suppression_reason reason) {
  suppression_info i;
  i.scope = scope;
  i.asm_group_id = group;
  i.reason = reason;
  return i;
}

// Suppressions by "tenant/address" (global) or "tenant/address/group".
class map_lookup final : public suppression_lookup {
 public:
  std::map<std::string, suppression_info> entries;
  std::set<std::string> suspended;

  verdict check(std::string_view tenant, std::string_view address,
                std::optional<std::int64_t> group) const override {
    if (suspended.contains(std::string(tenant))) {
      return {info(suppression_scope::tenant, 0, suppression_reason::account_suspended)};
    }
    std::string key = std::string(tenant) + "/" + std::string(address);
    if (auto found = entries.find(key); found != entries.end()) return {found->second};
    if (group) {
      if (auto found = entries.find(key + "/" + std::to_string(*group)); found != entries.end())
        return {found->second};
    }
    return {};
  }
  verdict describe(std::string_view tenant, std::string_view address,
                   std::optional<std::int64_t> group) const override {
    return check(tenant, address, group);
  }
};

// Answers with the statuses it was given, in order; counts the calls.
class scripted_client final : public mail_send_client {
 public:
  explicit scripted_client(std::deque<api_answer> answers) : answers_(std::move(answers)) {}
  api_answer send(const std::string& body) override {
    bodies.push_back(body);
    auto answer = answers_.front();
    if (answers_.size() > 1) answers_.pop_front();
    return answer;
  }
  std::vector<std::string> bodies;

 private:
  std::deque<api_answer> answers_;
};

api_answer status(int code) {
  api_answer a;
  a.status = code;
  if (code == 202) a.message_id = "msg-1";
  if (code >= 400) a.errors.emplace_back().set_message("refused " + std::to_string(code));
  return a;
}

config::integration_config integration(std::string name = "main", std::string tenant = "acme") {
  config::integration_config i;
  i.name = std::move(name);
  i.tenant = std::move(tenant);
  i.api_key_env = "X";
  i.from_email = "sender@example.com";
  return i;
}

mailhook::v1::SendRequest request(std::vector<std::string> to) {
  mailhook::v1::SendRequest r;
  r.set_request_id("r1");
  r.set_tenant("acme");
  for (auto& email : to) r.add_to()->set_email(email);
  r.set_subject("Hello");
  auto* c = r.add_content();
  c->set_type("text/plain");
  c->set_value("Hi");
  return r;
}

config::sender_config fast_retries() {
  config::sender_config s;
  s.retry_backoff = 1ms;
  s.max_retry_backoff = 2ms;
  s.max_rate_limit_wait = 1000ms;
  return s;
}

TEST(plan_delivery, skips_suppressed_and_invalid_recipients_and_keeps_the_rest) {
  map_lookup index;
  index.entries["acme/gone@example.com"] =
      info(suppression_scope::global, 0, suppression_reason::bounce);
  auto i = integration();
  auto plan =
      plan_delivery(request({"ann@example.com", "gone@example.com", "not-an-address"}), &i, index);
  EXPECT_FALSE(plan.final);
  ASSERT_EQ(plan.allowed.size(), 1u);
  EXPECT_EQ(plan.allowed[0].email(), "ann@example.com");
  EXPECT_EQ(plan.result.recipients(1).status(), mailhook::v1::RECIPIENT_STATUS_SUPPRESSED);
  EXPECT_EQ(plan.result.recipients(1).suppression_reason(), "bounce");
  EXPECT_EQ(plan.result.recipients(1).suppression_scope(), "global");
  EXPECT_EQ(plan.result.recipients(2).status(), mailhook::v1::RECIPIENT_STATUS_INVALID);
  EXPECT_EQ(plan.result.integration(), "main");
}

TEST(plan_delivery, every_recipient_suppressed_is_a_final_skip_without_a_call) {
  map_lookup index;
  index.entries["acme/gone@example.com"] =
      info(suppression_scope::global, 0, suppression_reason::spam_report);
  auto i = integration();
  auto plan = plan_delivery(request({"gone@example.com"}), &i, index);
  EXPECT_TRUE(plan.final);
  EXPECT_TRUE(plan.allowed.empty());
  EXPECT_EQ(plan.result.status(), mailhook::v1::SEND_STATUS_SKIPPED);
  EXPECT_EQ(plan.result.detail(), "suppressed: spam_report (global)");
}

TEST(plan_delivery, a_suspended_tenant_sends_nothing) {
  map_lookup index;
  index.suspended.insert("acme");
  auto i = integration();
  auto plan = plan_delivery(request({"ann@example.com", "bob@example.com"}), &i, index);
  EXPECT_TRUE(plan.final);
  EXPECT_EQ(plan.result.status(), mailhook::v1::SEND_STATUS_SKIPPED);
  EXPECT_EQ(plan.result.recipients(0).suppression_scope(), "tenant");
  EXPECT_EQ(plan.result.recipients(1).suppression_reason(), "account_suspended");
}

TEST(plan_delivery, group_suppressions_apply_with_the_request_group_or_the_default) {
  map_lookup index;
  index.entries["acme/ann@example.com/7"] =
      info(suppression_scope::group, 7, suppression_reason::group_unsubscribe);
  auto i = integration();
  EXPECT_FALSE(plan_delivery(request({"ann@example.com"}), &i, index).final);
  i.default_asm_group = 7;
  auto plan = plan_delivery(request({"ann@example.com"}), &i, index);
  EXPECT_TRUE(plan.final);
  EXPECT_EQ(plan.result.recipients(0).suppression_scope(), "group:7");
  i.default_asm_group = 0;
  auto r = request({"ann@example.com"});
  r.set_asm_group_id(7);
  EXPECT_TRUE(plan_delivery(r, &i, index).final);
}

TEST(plan_delivery, an_unusable_request_or_no_integration_fails_at_once) {
  map_lookup index;
  auto i = integration();
  auto no_subject = request({"ann@example.com"});
  no_subject.clear_subject();
  auto plan = plan_delivery(no_subject, &i, index);
  EXPECT_TRUE(plan.final);
  EXPECT_EQ(plan.result.status(), mailhook::v1::SEND_STATUS_FAILED);
  EXPECT_TRUE(plan.result.detail().starts_with("invalid request: ")) << plan.result.detail();

  plan = plan_delivery(request({"ann@example.com"}), nullptr, index);
  EXPECT_EQ(plan.result.status(), mailhook::v1::SEND_STATUS_FAILED);
  EXPECT_NE(plan.result.detail().find("no integration"), std::string::npos);
  EXPECT_EQ(plan.result.recipients(0).status(), mailhook::v1::RECIPIENT_STATUS_FAILED);
}

TEST(choose_integration, named_then_default_then_the_only_one) {
  std::vector<config::integration_config> all{integration("a"), integration("b"),
                                              integration("c", "other")};
  auto r = request({"ann@example.com"});
  auto choice = choose_integration(all, r);
  EXPECT_EQ(choice.integration, nullptr);  // two for acme, none default
  EXPECT_EQ(choice.refusal, "no_default");
  all[1].is_default = true;
  EXPECT_EQ(choose_integration(all, r).integration->name, "b");
  r.set_integration("a");
  EXPECT_EQ(choose_integration(all, r).integration->name, "a");
  r.clear_integration();
  r.set_tenant("other");
  EXPECT_EQ(choose_integration(all, r).integration->name, "c");
  EXPECT_TRUE(choose_integration(all, r).refusal.empty());
}

TEST(choose_integration, another_tenants_integration_is_refused_not_replaced_by_the_default) {
  std::vector<config::integration_config> all{integration("acme-main", "acme"),
                                              integration("globex-main", "globex")};
  auto r = request({"ann@example.com"});
  r.set_integration("globex-main");
  const auto choice = choose_integration(all, r);
  EXPECT_EQ(choice.integration, nullptr);
  EXPECT_EQ(choice.refusal, "other_tenant");
  EXPECT_EQ(choice.detail,
            "refused: integration \"globex-main\" is not configured for tenant \"acme\"; nothing "
            "sent");
  EXPECT_EQ(choice.detail.find("globex\""), std::string::npos);  // the other tenant unnamed
}

TEST(choose_integration, a_tenant_without_an_integration_or_an_unknown_name_is_refused) {
  std::vector<config::integration_config> all{integration("acme-main", "acme")};
  auto r = request({"ann@example.com"});
  r.set_tenant("initech");
  auto choice = choose_integration(all, r);
  EXPECT_EQ(choice.integration, nullptr);
  EXPECT_EQ(choice.refusal, "no_integration");
  EXPECT_EQ(choice.detail,
            "refused: no integration is configured for tenant \"initech\"; nothing sent");

  r.set_tenant("acme");
  r.set_integration("acme-other");
  choice = choose_integration(all, r);
  EXPECT_EQ(choice.integration, nullptr);
  EXPECT_EQ(choice.refusal, "unknown_integration");
  EXPECT_EQ(choice.detail, "refused: no integration \"acme-other\" is configured; nothing sent");

  // Tenants are compared exactly: a near spelling is another tenant.
  r.clear_integration();
  r.set_tenant("Acme");
  EXPECT_EQ(choose_integration(all, r).refusal, "no_integration");
}

// Counts lookups, to show that a refused request is not even checked.
class counting_lookup final : public suppression_lookup {
 public:
  mutable int checks = 0;
  verdict check(std::string_view, std::string_view, std::optional<std::int64_t>) const override {
    ++checks;
    return {};
  }
  verdict describe(std::string_view, std::string_view, std::optional<std::int64_t>) const override {
    ++checks;
    return {};
  }
};

TEST(plan_delivery, a_refused_choice_fails_with_its_reason_and_nothing_to_call) {
  counting_lookup index;
  std::vector<config::integration_config> all{integration("acme-main", "acme"),
                                              integration("globex-main", "globex")};
  auto r = request({"ann@example.com", "bob@example.com"});
  r.set_integration("globex-main");
  const auto plan = plan_delivery(r, choose_integration(all, r), index);
  EXPECT_TRUE(plan.final);
  EXPECT_TRUE(plan.allowed.empty());
  EXPECT_EQ(plan.refusal, "other_tenant");
  EXPECT_EQ(plan.result.status(), mailhook::v1::SEND_STATUS_FAILED);
  EXPECT_TRUE(plan.result.detail().starts_with("refused: integration \"globex-main\""))
      << plan.result.detail();
  EXPECT_EQ(plan.result.integration(), "");
  ASSERT_EQ(plan.result.errors_size(), 1);
  EXPECT_EQ(plan.result.errors(0).message(), plan.result.detail());
  EXPECT_EQ(plan.result.recipients(0).status(), mailhook::v1::RECIPIENT_STATUS_FAILED);
  EXPECT_EQ(plan.result.recipients(1).status(), mailhook::v1::RECIPIENT_STATUS_FAILED);
  EXPECT_EQ(index.checks, 0);
}

TEST(plan_delivery, refuses_an_integration_of_another_tenant_whoever_chose_it) {
  counting_lookup index;
  const auto globex = integration("globex-main", "globex");
  const auto r = request({"ann@example.com"});  // tenant acme
  auto plan = plan_delivery(r, &globex, index);
  EXPECT_TRUE(plan.final);
  EXPECT_EQ(plan.refusal, "other_tenant");
  EXPECT_EQ(plan.result.status(), mailhook::v1::SEND_STATUS_FAILED);
  EXPECT_EQ(plan.result.integration(), "");

  // A choice that carries it without saying why is refused the same.
  plan = plan_delivery(r, integration_choice{&globex, {}, {}}, index);
  EXPECT_TRUE(plan.final);
  EXPECT_EQ(plan.refusal, "other_tenant");
  EXPECT_TRUE(plan.result.detail().starts_with("refused: ")) << plan.result.detail();
  EXPECT_EQ(index.checks, 0);

  // An unusable request stays "invalid", not a refusal.
  auto no_subject = r;
  no_subject.clear_subject();
  plan = plan_delivery(no_subject, &globex, index);
  EXPECT_TRUE(plan.refusal.empty());
  EXPECT_TRUE(plan.result.detail().starts_with("invalid request: ")) << plan.result.detail();
}

TEST(deliver, a_429_waits_for_the_reset_and_a_500_backs_off_then_sent) {
  map_lookup index;
  auto i = integration();
  auto r = request({"ann@example.com"});
  auto limited = status(429);
  limited.rate_limit_reset = 0;  // in the past: the shortest wait
  scripted_client client({limited, status(500), status(202)});
  rate_limiter limiter(0);
  std::atomic<bool> stopping{false};
  std::vector<call_report> reports;
  auto result = deliver(plan_delivery(r, &i, index), r, i, fast_retries(), client, limiter,
                        stopping, [&](const call_report& report) { reports.push_back(report); });
  EXPECT_EQ(result.status(), mailhook::v1::SEND_STATUS_SENT);
  EXPECT_EQ(result.attempts(), 3);
  EXPECT_EQ(result.message_id(), "msg-1");
  EXPECT_EQ(result.recipients(0).status(), mailhook::v1::RECIPIENT_STATUS_SENT);
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_TRUE(reports[0].rate_limit_wait);
  EXPECT_EQ(reports[0].waited, 100ms);  // the floor of a 429 wait
  EXPECT_FALSE(reports[1].rate_limit_wait);
  EXPECT_GT(reports[1].waited.count(), 0);
  EXPECT_EQ(client.bodies.size(), 3u);
  EXPECT_EQ(client.bodies[0], client.bodies[2]);  // the same email each time
}

TEST(deliver, a_refusal_is_final_after_one_call_with_sendgrids_errors) {
  map_lookup index;
  auto i = integration();
  auto r = request({"ann@example.com"});
  scripted_client client({status(400)});
  rate_limiter limiter(0);
  std::atomic<bool> stopping{false};
  auto result =
      deliver(plan_delivery(r, &i, index), r, i, fast_retries(), client, limiter, stopping);
  EXPECT_EQ(result.status(), mailhook::v1::SEND_STATUS_FAILED);
  EXPECT_EQ(result.attempts(), 1);
  EXPECT_EQ(result.http_status(), 400);
  ASSERT_EQ(result.errors_size(), 1);
  EXPECT_EQ(result.errors(0).message(), "refused 400");
  EXPECT_EQ(result.recipients(0).status(), mailhook::v1::RECIPIENT_STATUS_FAILED);
}

TEST(deliver, gives_up_after_max_attempts_of_server_errors_or_silence) {
  map_lookup index;
  auto i = integration();
  auto r = request({"ann@example.com"});
  api_answer silence;
  silence.transport_error = "connect: refused";
  scripted_client client({status(503), silence});
  rate_limiter limiter(0);
  std::atomic<bool> stopping{false};
  auto settings = fast_retries();
  settings.max_attempts = 4;
  auto result = deliver(plan_delivery(r, &i, index), r, i, settings, client, limiter, stopping);
  EXPECT_EQ(result.status(), mailhook::v1::SEND_STATUS_FAILED);
  EXPECT_EQ(result.attempts(), 4);
  EXPECT_EQ(client.bodies.size(), 4u);
  EXPECT_TRUE(result.detail().starts_with("gave up after 4 attempts: ")) << result.detail();
}

TEST(deliver, only_the_allowed_recipients_are_in_the_call) {
  map_lookup index;
  index.entries["acme/gone@example.com"] =
      info(suppression_scope::global, 0, suppression_reason::bounce);
  auto i = integration();
  auto r = request({"gone@example.com", "ann@example.com"});
  scripted_client client({status(202)});
  rate_limiter limiter(0);
  std::atomic<bool> stopping{false};
  auto result =
      deliver(plan_delivery(r, &i, index), r, i, fast_retries(), client, limiter, stopping);
  ASSERT_EQ(client.bodies.size(), 1u);
  EXPECT_EQ(client.bodies[0].find("gone@example.com"), std::string::npos);
  EXPECT_NE(client.bodies[0].find("ann@example.com"), std::string::npos);
  EXPECT_EQ(result.recipients(0).status(), mailhook::v1::RECIPIENT_STATUS_SUPPRESSED);
  EXPECT_EQ(result.recipients(1).status(), mailhook::v1::RECIPIENT_STATUS_SENT);
}

TEST(deliver, an_indeterminate_call_ends_the_delivery_without_another_call) {
  map_lookup index;
  auto i = integration();
  auto r = request({"ann@example.com"});
  api_answer unanswered;
  unanswered.request_started = true;
  unanswered.transport_error = "cannot read the answer of http://x: end of stream";
  scripted_client client({status(500), unanswered, status(202)});
  rate_limiter limiter(0);
  std::atomic<bool> stopping{false};
  std::vector<call_report> reports;
  auto result = deliver(plan_delivery(r, &i, index), r, i, fast_retries(), client, limiter,
                        stopping, [&](const call_report& report) { reports.push_back(report); });
  EXPECT_EQ(result.status(), mailhook::v1::SEND_STATUS_INDETERMINATE);
  EXPECT_EQ(result.attempts(), 2);  // the 500 was retried, the silence after writing not
  EXPECT_EQ(client.bodies.size(), 2u);
  EXPECT_EQ(result.http_status(), 0);
  EXPECT_EQ(result.recipients(0).status(), mailhook::v1::RECIPIENT_STATUS_INDETERMINATE);
  EXPECT_TRUE(result.detail().starts_with("no answer after the request was sent: "))
      << result.detail();
  EXPECT_NE(result.detail().find("not sent again"), std::string::npos) << result.detail();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[1].kind, answer_kind::indeterminate);
  EXPECT_EQ(reports[1].waited.count(), 0);
}

// ---- deliver through the real client, against a bare peer ----

using testing::scripted_peer;
using step = scripted_peer::step;

class deliver_on_the_wire : public ::testing::Test {
 protected:
  // Delivers `r` through a new client for `peer` with up to 5 attempts.
  mailhook::v1::SendResult deliver_to(const scripted_peer& peer, const mailhook::v1::SendRequest& r,
                                      std::chrono::milliseconds timeout = 5s,
                                      const std::function<void(const call_report&)>& observe = {}) {
    if (!client_) {
      integration_.api_url = "http://127.0.0.1:" + std::to_string(peer.port());
      integration_.timeout = timeout;
      auto made = mail_send_client::create(integration_, "SG.test-key");
      EXPECT_TRUE(made) << made.error().describe();
      if (!made) return {};
      client_ = std::move(*made);
    }
    auto settings = fast_retries();
    settings.max_attempts = 5;
    return deliver(plan_delivery(r, &integration_, index_), r, integration_, settings, *client_,
                   limiter_, stopping_, observe);
  }

  void expect_indeterminate_after_one_post(const mailhook::v1::SendResult& result,
                                           const scripted_peer& peer) {
    EXPECT_EQ(result.status(), mailhook::v1::SEND_STATUS_INDETERMINATE) << result.DebugString();
    EXPECT_EQ(result.attempts(), 1);
    ASSERT_EQ(result.recipients_size(), 1);
    EXPECT_EQ(result.recipients(0).status(), mailhook::v1::RECIPIENT_STATUS_INDETERMINATE);
    EXPECT_NE(result.detail().find("not sent again"), std::string::npos) << result.detail();
    EXPECT_EQ(peer.requests(), 1);  // a second POST would have been answered 202
  }

  void TearDown() override { client_.reset(); }  // lets the peer see the close

  map_lookup index_;
  config::integration_config integration_ = integration();
  std::unique_ptr<mail_send_client> client_;
  rate_limiter limiter_{0};
  std::atomic<bool> stopping_{false};
};

TEST_F(deliver_on_the_wire, a_request_read_and_never_answered_is_indeterminate_after_one_post) {
  scripted_peer peer({{step::close}, {step::answer}, {step::answer}});
  expect_indeterminate_after_one_post(deliver_to(peer, request({"ann@example.com"})), peer);
}

TEST_F(deliver_on_the_wire,
       a_timeout_after_the_request_was_written_is_indeterminate_after_one_post) {
  testing::scripted_peer_options options;
  options.late_by = 3s;
  scripted_peer peer({{step::late_answer}, {step::answer}, {step::answer}}, options);
  const auto result = deliver_to(peer, request({"ann@example.com"}), 300ms);
  expect_indeterminate_after_one_post(result, peer);
  EXPECT_NE(result.detail().find("no answer within 300 ms"), std::string::npos) << result.detail();
}

TEST_F(deliver_on_the_wire, a_reset_while_writing_is_indeterminate_after_one_post) {
  scripted_peer peer({{step::reset_mid_request}, {step::answer}, {step::answer}});
  auto r = request({"ann@example.com"});
  r.mutable_content(0)->set_value(std::string(64 * 1024 * 1024, 'x'));
  expect_indeterminate_after_one_post(deliver_to(peer, r), peer);
}

TEST_F(deliver_on_the_wire, a_malformed_answer_is_indeterminate_after_one_post) {
  scripted_peer peer({{step::malformed_answer}, {step::answer}, {step::answer}});
  expect_indeterminate_after_one_post(deliver_to(peer, request({"ann@example.com"})), peer);
}

TEST_F(deliver_on_the_wire, a_connection_closed_under_a_kept_alive_request_is_not_resent) {
  scripted_peer peer({{step::answer, step::close}, {step::answer}, {step::answer}});
  ASSERT_EQ(deliver_to(peer, request({"ann@example.com"})).status(),
            mailhook::v1::SEND_STATUS_SENT);
  auto second = request({"bob@example.com"});
  second.set_request_id("r2");
  const auto result = deliver_to(peer, second);
  EXPECT_EQ(result.status(), mailhook::v1::SEND_STATUS_INDETERMINATE) << result.DebugString();
  EXPECT_EQ(result.attempts(), 1);
  EXPECT_EQ(peer.requests(), 2);  // one per email
  EXPECT_EQ(peer.connections(), 1);
}

TEST_F(deliver_on_the_wire, a_stale_idle_connection_is_replaced_and_the_email_sent_once) {
  scripted_peer peer({{step::answer_then_close}, {step::answer}});
  ASSERT_EQ(deliver_to(peer, request({"ann@example.com"})).status(),
            mailhook::v1::SEND_STATUS_SENT);
  ASSERT_TRUE(peer.wait_closed_idle(1, 5s));
  std::this_thread::sleep_for(20ms);  // the close on its way through the loopback
  auto second = request({"bob@example.com"});
  second.set_request_id("r2");
  const auto result = deliver_to(peer, second);
  EXPECT_EQ(result.status(), mailhook::v1::SEND_STATUS_SENT) << result.DebugString();
  EXPECT_EQ(result.attempts(), 1);
  EXPECT_EQ(result.message_id(), "peer-2");
  EXPECT_EQ(peer.requests(), 2);
  EXPECT_EQ(peer.connections(), 2);
}

TEST_F(deliver_on_the_wire, a_refused_connection_is_retried_and_the_email_sent_once) {
  testing::scripted_peer_options options;
  options.listening = false;  // refuses connections until listen()
  scripted_peer peer({{step::answer}}, options);
  std::vector<call_report> reports;
  const auto result =
      deliver_to(peer, request({"ann@example.com"}), 5s, [&](const call_report& report) {
        reports.push_back(report);
        if (reports.size() == 1) peer.listen();
      });
  EXPECT_EQ(result.status(), mailhook::v1::SEND_STATUS_SENT) << result.DebugString();
  EXPECT_EQ(result.attempts(), 2);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].kind, answer_kind::retryable);
  EXPECT_NE(reports[0].answer.transport_error.find("cannot connect"), std::string::npos)
      << reports[0].answer.transport_error;
  EXPECT_EQ(peer.requests(), 1);
}

TEST_F(deliver_on_the_wire, a_500_is_retried_and_the_email_sent_by_the_next_call) {
  scripted_peer peer({{step::answer_500, step::answer}});
  const auto result = deliver_to(peer, request({"ann@example.com"}));
  EXPECT_EQ(result.status(), mailhook::v1::SEND_STATUS_SENT) << result.DebugString();
  EXPECT_EQ(result.attempts(), 2);
  EXPECT_EQ(peer.requests(), 2);
}

TEST(rate_limiter, holds_calls_to_the_rate_after_a_burst) {
  rate_limiter limiter(100);  // burst of 100, then one per 10 ms
  std::atomic<bool> stopping{false};
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 110; ++i) ASSERT_TRUE(limiter.acquire(stopping));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 90ms);  // ten past the burst at 10 ms each
}

TEST(rate_limiter, a_pause_holds_every_call_and_stopping_ends_the_wait) {
  rate_limiter limiter(0);
  std::atomic<bool> stopping{false};
  limiter.pause_until(std::chrono::steady_clock::now() + 60ms);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(limiter.acquire(stopping));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 55ms);
  limiter.pause_until(std::chrono::steady_clock::now() + 60s);
  stopping.store(true);
  EXPECT_FALSE(limiter.acquire(stopping));
}

TEST(ledger_metadata, round_trips_and_refuses_anything_else) {
  EXPECT_EQ(ledger_metadata(1234), "ledger:1234");
  EXPECT_EQ(parse_ledger_metadata("ledger:1234"), 1234);
  EXPECT_EQ(parse_ledger_metadata("ledger:0"), 0);
  EXPECT_EQ(parse_ledger_metadata(""), std::nullopt);
  EXPECT_EQ(parse_ledger_metadata("ledger:"), std::nullopt);
  EXPECT_EQ(parse_ledger_metadata("ledger:-1"), std::nullopt);
  EXPECT_EQ(parse_ledger_metadata("ledger:12x"), std::nullopt);
  EXPECT_EQ(parse_ledger_metadata("offset:12"), std::nullopt);
}

}  // namespace
}  // namespace mailhook::sender
