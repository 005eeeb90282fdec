// The sender end to end: the real mailhook binary (ingest, policy, index, sender), the
// real shared broker, and a SendGrid Mail Send simulator that checks what SendGrid checks.
// Requests go in on the requests topic; what comes out is read back from the results
// topic (read committed) and from the simulator's record of API calls.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "mailhook/v1/send.pb.h"
#include "support/daemon.h"
#include "support/eventually.h"
#include "support/kafka_reader.h"
#include "support/mail_send_simulator.h"
#include "support/webhook_signer.h"

namespace mailhook::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* api_key = "SG.test-key-for-the-simulator";

// Produces `requests` to `topic`, keyed by request id, and waits until Kafka has them.
void produce(const std::string& topic, const std::vector<mailhook::v1::SendRequest>& requests) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", shared_kafka_bootstrap().c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT_NE(producer, nullptr) << err;
  rd_kafka_topic_t* target = rd_kafka_topic_new(producer, topic.c_str(), nullptr);
  for (const auto& request : requests) {
    auto value = request.SerializeAsString();
    ASSERT_EQ(rd_kafka_produce(target, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value.data(),
                               value.size(), request.request_id().data(),
                               request.request_id().size(), nullptr),
              0);
    rd_kafka_poll(producer, 0);
  }
  rd_kafka_topic_destroy(target);
  EXPECT_EQ(rd_kafka_flush(producer, 30'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(producer);
}

mailhook::v1::SendRequest request(const std::string& id, const std::string& to) {
  mailhook::v1::SendRequest r;
  r.set_request_id(id);
  r.set_tenant("acme");
  r.add_to()->set_email(to);
  r.set_subject("Your receipt");
  auto* content = r.add_content();
  content->set_type("text/plain");
  content->set_value("Thanks for your order.");
  (*r.mutable_custom_args())["order"] = "42";
  return r;
}

// Results by request id, read committed; the last one wins when one came twice.
std::map<std::string, mailhook::v1::SendResult> results_by_id(
    const std::vector<kafka_record>& records) {
  std::map<std::string, mailhook::v1::SendResult> out;
  for (const auto& record : records) {
    mailhook::v1::SendResult result;
    if (result.ParseFromString(record.value)) out[result.request_id()] = result;
  }
  return out;
}

mail_send_simulator_options simulator_options() {
  mail_send_simulator_options options;
  options.api_keys = {api_key};
  options.verified_senders = {"sender@example.com"};
  return options;
}

class sender : public ::testing::Test {
 protected:
  void SetUp() override {
    requests_ = unique_topic("send-requests");
    results_ = unique_topic("send-results");
    ledger_ = unique_topic("send-ledger");
    events_ = unique_topic("events");
    changelog_ = unique_topic("suppressions");
    identity_ = unique_topic("sender");
    key_file_ = state_.path() / "sendgrid.key";
    std::ofstream(key_file_) << api_key << "\n";
  }

  // `main_extra`: more keys of [integrations.main]; `more`: more tables at the end.
  std::string toml(const std::string& url, const std::string& from = "sender@example.com",
                   const std::string& sources = "", const std::string& main_extra = "",
                   const std::string& more = "") const {
    return "[topics.events]\nname = \"" + events_ + "\"\npartitions = 3\n\n" +
           "[topics.suppressions]\nname = \"" + changelog_ + "\"\npartitions = 3\n\n" +
           "[topics.send_requests]\nname = \"" + requests_ + "\"\npartitions = 3\n\n" +
           "[topics.send_results]\nname = \"" + results_ + "\"\npartitions = 3\n\n" +
           "[topics.send_ledger]\nname = \"" + ledger_ + "\"\npartitions = 3\n\n" +
           "[index]\ndir = \"" + (state_.path() / "index").string() + "\"\n\n" +
           "[policy]\ngroup_id = \"" + identity_ + "-policy\"\ntransactional_id = \"" + identity_ +
           "-policy\"\nmax_batch_wait = \"20ms\"\n\n" + "[sender]\ngroup_id = \"" + identity_ +
           "\"\ntransactional_id = \"" + identity_ +
           "\"\nmax_batch = 20\nmax_batch_wait = \"20ms\"\nretry_backoff = \"50ms\"\n\n" +
           "[integrations.main]\ntenant = \"acme\"\napi_key_file = \"" + key_file_.string() +
           "\"\nfrom_email = \"" + from + "\"\nfrom_name = \"Acme\"\n" +
           "reply_to_email = \"help@acme.example\"\napi_url = \"" + url + "\"\n" + main_extra +
           "\n" +
           (sources.empty() ? "[sources.open]\ntenant = \"acme\"\nallow_unauthenticated = true\n"
                            : sources) +
           more;
  }

  std::unique_ptr<daemon> start(const std::string& config) const {
    auto d = std::make_unique<daemon>(shared_kafka_bootstrap(), config);
    EXPECT_TRUE(d->wait_for_readyz(200, 60s)) << d->admin_get("/readyz").body << d->output();
    return d;
  }

  std::map<std::string, mailhook::v1::SendResult> wait_for_results(std::size_t n) const {
    return results_by_id(read_topic_until(
        shared_kafka_bootstrap(), results_,
        [&](const std::vector<kafka_record>& records) {
          return results_by_id(records).size() >= n;
        },
        60s));
  }

  temp_dir state_;
  std::filesystem::path key_file_;
  std::string requests_, results_, ledger_, events_, changelog_, identity_;
};

TEST_F(sender, a_suppressed_address_makes_no_call_and_an_allowed_one_exactly_one) {
  mail_send_simulator sim(simulator_options());
  auto d = start(toml(sim.url()));
  // A manual suppression through the admin API, then one request each way.
  auto added = d->admin_write(boost::beast::http::verb::post, "/v1/suppressions",
                              R"({"tenant":"acme","email":"gone@example.com","reason":"bounce"})");
  ASSERT_EQ(added.status, 202) << added.body;
  ASSERT_TRUE(eventually(
      [&] {
        return d->admin_get("/v1/suppressions/check?tenant=acme&email=gone@example.com")
                   .body.find(R"("allowed":false)") != std::string::npos;
      },
      10s));

  produce(requests_,
          {request("r-suppressed", "Gone@Example.com"), request("r-allowed", "ann@example.com")});
  auto results = wait_for_results(2);
  ASSERT_EQ(results.size(), 2u) << d->output();

  const auto& skipped = results["r-suppressed"];
  EXPECT_EQ(skipped.status(), mailhook::v1::SEND_STATUS_SKIPPED) << skipped.DebugString();
  ASSERT_EQ(skipped.recipients_size(), 1);
  EXPECT_EQ(skipped.recipients(0).status(), mailhook::v1::RECIPIENT_STATUS_SUPPRESSED);
  EXPECT_EQ(skipped.recipients(0).suppression_reason(), "bounce");
  EXPECT_EQ(skipped.recipients(0).suppression_scope(), "global");
  EXPECT_EQ(skipped.attempts(), 0);

  const auto& sent = results["r-allowed"];
  EXPECT_EQ(sent.status(), mailhook::v1::SEND_STATUS_SENT) << sent.DebugString();
  EXPECT_EQ(sent.http_status(), 202);
  EXPECT_EQ(sent.attempts(), 1);
  EXPECT_EQ(sent.integration(), "main");

  auto calls = sim.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].api_key, api_key);
  EXPECT_EQ(calls[0].from_email, "sender@example.com");
  EXPECT_EQ(calls[0].reply_to_email, "help@acme.example");
  EXPECT_EQ(calls[0].recipients, std::vector<std::string>{"ann@example.com"});
  EXPECT_EQ(calls[0].custom_args.at("mailhook_request_id"), "r-allowed");
  EXPECT_EQ(calls[0].custom_args.at("order"), "42");
  EXPECT_EQ(sent.message_id(), calls[0].message_id);

  auto metrics = d->admin_get("/metrics").body;
  EXPECT_NE(metrics.find(R"(mailhook_sender_requests_total{result="sent"} 1)"), std::string::npos);
  // The group's only member holds every partition of the requests topic.
  EXPECT_TRUE(eventually(
      [&] {
        return d->admin_get("/metrics").body.find("mailhook_sender_assigned_partitions 3") !=
               std::string::npos;
      },
      10s));
  EXPECT_NE(metrics.find(R"(mailhook_sender_skipped_recipients_total{reason="bounce"} 1)"),
            std::string::npos);
}

TEST_F(sender, a_429_and_a_500_are_retried_and_a_refusal_is_not) {
  mail_send_simulator sim(simulator_options());
  auto d = start(toml(sim.url()));
  sim.answer_next({429, 500});
  produce(requests_, {request("r-retried", "ann@example.com")});
  auto results = wait_for_results(1);
  ASSERT_EQ(results.size(), 1u) << d->output();
  EXPECT_EQ(results["r-retried"].status(), mailhook::v1::SEND_STATUS_SENT)
      << results["r-retried"].DebugString();
  EXPECT_EQ(results["r-retried"].attempts(), 3);
  EXPECT_EQ(sim.calls().size(), 3u);

  sim.answer_next({400});
  produce(requests_, {request("r-refused", "bob@example.com")});
  results = wait_for_results(2);
  const auto& refused = results["r-refused"];
  EXPECT_EQ(refused.status(), mailhook::v1::SEND_STATUS_FAILED) << refused.DebugString();
  EXPECT_EQ(refused.attempts(), 1);
  EXPECT_EQ(refused.http_status(), 400);
  EXPECT_GT(refused.errors_size(), 0);
  EXPECT_EQ(sim.calls().size(), 4u);

  auto metrics = d->admin_get("/metrics").body;
  EXPECT_NE(metrics.find(R"(mailhook_sender_api_calls_total{status="429"} 1)"), std::string::npos);
  EXPECT_NE(metrics.find(R"(mailhook_sender_api_calls_total{status="500"} 1)"), std::string::npos);
  EXPECT_NE(metrics.find("mailhook_sender_rate_limit_waits_total 1"), std::string::npos);
  EXPECT_NE(metrics.find("mailhook_sender_retries_total 2"), std::string::npos);
}

TEST_F(sender, an_unverified_from_address_fails_with_sendgrids_reason) {
  mail_send_simulator sim(simulator_options());
  auto d = start(toml(sim.url(), "someone-else@example.com"));
  produce(requests_, {request("r-from", "ann@example.com")});
  auto results = wait_for_results(1);
  const auto& failed = results["r-from"];
  EXPECT_EQ(failed.status(), mailhook::v1::SEND_STATUS_FAILED);
  EXPECT_EQ(failed.http_status(), 403);
  EXPECT_NE(failed.detail().find("not a verified sender"), std::string::npos) << failed.detail();
}

TEST_F(sender, no_answer_after_the_request_went_out_is_indeterminate_and_not_sent_again) {
  mail_send_simulator sim(simulator_options());
  sim.set_response_delay(3s);  // longer than the integration's timeout
  auto d = start(toml(sim.url(), "sender@example.com", "", "timeout = \"500ms\"\n"));
  produce(requests_, {request("r-late", "ann@example.com")});
  auto results = wait_for_results(1);
  ASSERT_EQ(results.size(), 1u) << d->output();
  const auto& late = results["r-late"];
  EXPECT_EQ(late.status(), mailhook::v1::SEND_STATUS_INDETERMINATE) << late.DebugString();
  EXPECT_EQ(late.attempts(), 1);
  ASSERT_EQ(late.recipients_size(), 1);
  EXPECT_EQ(late.recipients(0).status(), mailhook::v1::RECIPIENT_STATUS_INDETERMINATE);
  EXPECT_NE(late.detail().find("no answer within 500 ms"), std::string::npos) << late.detail();
  // Retries happen before the result is committed: one request is all there will be.
  EXPECT_EQ(sim.requests_received(), 1u);

  auto metrics = d->admin_get("/metrics").body;
  EXPECT_NE(metrics.find(R"(mailhook_sender_indeterminate_total{integration="main"} 1)"),
            std::string::npos);
  EXPECT_NE(metrics.find(R"(mailhook_sender_requests_total{result="indeterminate"} 1)"),
            std::string::npos);
  EXPECT_NE(metrics.find("mailhook_sender_retries_total 0"), std::string::npos);
}

TEST_F(sender, a_request_no_integration_of_its_tenant_may_send_is_refused_without_a_call) {
  mail_send_simulator sim(simulator_options());
  const std::string globex =
      "\n[integrations.globex]\ntenant = \"globex\"\napi_key_file = \"" + key_file_.string() +
      "\"\nfrom_email = \"sender@example.com\"\napi_url = \"" + sim.url() + "\"\n";
  auto d = start(toml(sim.url(), "sender@example.com", "", "", globex));
  auto no_integration = request("r-initech", "ann@example.com");
  no_integration.set_tenant("initech");
  auto other_tenants = request("r-borrowed", "bob@example.com");
  other_tenants.set_integration("globex");  // tenant acme
  produce(requests_, {no_integration, other_tenants, request("r-own", "carol@example.com")});
  auto results = wait_for_results(3);
  ASSERT_EQ(results.size(), 3u) << d->output();

  const auto& initech = results["r-initech"];
  EXPECT_EQ(initech.status(), mailhook::v1::SEND_STATUS_FAILED) << initech.DebugString();
  EXPECT_EQ(initech.detail(),
            "refused: no integration is configured for tenant \"initech\"; nothing sent");
  EXPECT_EQ(initech.attempts(), 0);
  const auto& borrowed = results["r-borrowed"];
  EXPECT_EQ(borrowed.status(), mailhook::v1::SEND_STATUS_FAILED) << borrowed.DebugString();
  EXPECT_EQ(borrowed.detail(),
            "refused: integration \"globex\" is not configured for tenant \"acme\"; nothing sent");
  EXPECT_EQ(borrowed.attempts(), 0);
  EXPECT_EQ(borrowed.integration(), "");
  EXPECT_EQ(results["r-own"].status(), mailhook::v1::SEND_STATUS_SENT)
      << results["r-own"].DebugString();

  const auto calls = sim.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].custom_args.at("mailhook_request_id"), "r-own");
  EXPECT_EQ(calls[0].custom_args.at("mailhook_tenant"), "acme");

  auto metrics = d->admin_get("/metrics").body;
  EXPECT_NE(metrics.find(R"(mailhook_sender_refused_requests_total{reason="no_integration"} 1)"),
            std::string::npos);
  EXPECT_NE(metrics.find(R"(mailhook_sender_refused_requests_total{reason="other_tenant"} 1)"),
            std::string::npos);
  EXPECT_NE(metrics.find(R"(mailhook_sender_requests_total{result="failed"} 2)"),
            std::string::npos);
}

TEST_F(sender, kill_9_mid_stream_and_restart_sends_nothing_twice) {
  mail_send_simulator sim(simulator_options());
  sim.set_response_delay(5ms);
  constexpr int total = 400;
  std::vector<mailhook::v1::SendRequest> requests;
  for (int i = 0; i < total; ++i) {
    requests.push_back(
        request("r-" + std::to_string(i), "user" + std::to_string(i) + "@example.com"));
  }
  {
    auto d = start(toml(sim.url()));
    produce(requests_, requests);
    // Mid-batch (batches are 20): some calls answered, some in flight, some not made.
    ASSERT_TRUE(sim.wait_for_calls(70, 60s)) << d->output();
    d->proc().signal(SIGKILL);
    ASSERT_EQ(d->proc().wait(10s), 128 + SIGKILL);
  }
  auto calls_at_kill = sim.calls().size();
  ASSERT_LT(calls_at_kill, static_cast<std::size_t>(total));
  auto d = start(toml(sim.url()));
  auto results = wait_for_results(total);
  ASSERT_EQ(results.size(), static_cast<std::size_t>(total)) << d->output();

  std::map<std::string, int> calls_per_request;
  std::map<std::string, std::string> message_ids;
  for (const auto& call : sim.calls()) {
    auto id = call.custom_args.at("mailhook_request_id");
    ++calls_per_request[id];
    message_ids[id] = call.message_id;
  }
  int indeterminate = 0;
  for (const auto& [id, calls] : calls_per_request) EXPECT_EQ(calls, 1) << id << " was sent twice";
  for (const auto& [id, result] : results) {
    if (result.status() == mailhook::v1::SEND_STATUS_SENT) {
      EXPECT_EQ(calls_per_request[id], 1) << id;
      EXPECT_EQ(result.message_id(), message_ids[id]) << id;
    } else {
      EXPECT_EQ(result.status(), mailhook::v1::SEND_STATUS_INDETERMINATE) << result.DebugString();
      ++indeterminate;
    }
  }
  // Only what was in flight at the kill can be unknown: a batch at most.
  EXPECT_LE(indeterminate, 20);
  std::printf("calls at the kill: %zu, calls in all: %zu, indeterminate: %d\n", calls_at_kill,
              sim.call_count(), indeterminate);
  // And every result was committed once.
  auto records = read_topic(shared_kafka_bootstrap(), results_, total + 1, 5s);
  EXPECT_EQ(records.size(), static_cast<std::size_t>(total));
}

// The whole loop: mailhook sends, SendGrid (the simulator) reports a hard bounce back
// through the signed Event Webhook, the policy and index record it, and the next send to
// that address is skipped without a call.
TEST_F(sender, a_bounce_reported_by_the_webhook_stops_the_next_send) {
  webhook_signer signer;
  std::atomic<std::uint16_t> webhook_port{0};
  std::atomic<int> webhook_failures{0};
  mail_send_simulator_options options;
  options.api_keys = {api_key};
  options.on_accepted = [&](const mail_send_call& call) {
    for (const auto& email : call.recipients) {
      std::string body = R"([{"email":")" + email +
                         R"(","event":"bounce","type":"bounce","status":"5.1.1",)"
                         R"("reason":"550 5.1.1 The email account does not exist",)"
                         R"("timestamp":)" +
                         std::to_string(std::time(nullptr)) + R"(,"sg_event_id":"bounce-)" +
                         call.message_id + R"(","sg_message_id":")" + call.message_id +
                         R"(.filter0001","mailhook_request_id":")" +
                         call.custom_args.at("mailhook_request_id") + "\"}]\r\n";
      auto headers = signer.headers(body);
      headers["Content-Type"] = "application/json";
      http_client client("127.0.0.1", webhook_port.load());
      if (client.post("/webhooks/sendgrid/sg", body, headers).status != 200) ++webhook_failures;
    }
  };
  mail_send_simulator sim(options);
  auto d = start(toml(
      sim.url(), "sender@example.com",
      "[sources.sg]\ntenant = \"acme\"\npublic_keys = [\"" + signer.public_key_base64() + "\"]\n"));
  webhook_port.store(d->webhook_port());

  produce(requests_, {request("loop-1", "carol@example.com")});
  auto results = wait_for_results(1);
  ASSERT_EQ(results["loop-1"].status(), mailhook::v1::SEND_STATUS_SENT) << d->output();
  ASSERT_TRUE(eventually(
      [&] {
        return d->admin_get("/v1/suppressions/check?tenant=acme&email=carol@example.com")
                   .body.find(R"("reason":"bounce")") != std::string::npos;
      },
      20s))
      << "webhook failures: " << webhook_failures.load() << "\n"
      << d->output();

  produce(requests_, {request("loop-2", "carol@example.com")});
  results = wait_for_results(2);
  const auto& second = results["loop-2"];
  EXPECT_EQ(second.status(), mailhook::v1::SEND_STATUS_SKIPPED) << second.DebugString();
  EXPECT_EQ(second.recipients(0).suppression_reason(), "bounce");
  EXPECT_EQ(sim.call_count(), 1u);
  EXPECT_EQ(webhook_failures.load(), 0);
}

}  // namespace
}  // namespace mailhook::testing
