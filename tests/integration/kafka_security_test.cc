// Kafka security end to end (docs/security.md, "Kafka security"): a broker of the test's
// own whose only client listener is SASL_SSL (made by scripts/kafka: TLS with a CA of its
// own, SASL PLAIN and SCRAM-SHA-512 for one user), and the real daemon configured with the
// properties the documentation gives, its password from a file or the environment and
// never from the configuration.
//
// One broker serves every case: ctest runs each TEST in a process of its own, and the
// broker's start is most of the time this takes, so the cases are the steps of one TEST.
// The daemons of the cases run side by side.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <string>

#include "kafka/client.h"
#include "mailhook/v1/email_event.pb.h"
#include "support/daemon.h"
#include "support/eventually.h"
#include "support/kafka_reader.h"
#include "support/mail_send_simulator.h"
#include "support/sendgrid_events.h"
#include "support/webhook_signer.h"

namespace mailhook::testing {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// librdkafka before 2.6.1 answers a SCRAM challenge with a nonce that Kafka 4 brokers
// refuse (confluentinc/librdkafka#4895): with such a library not even the right password
// logs in with SCRAM-SHA-512, so the daemon is configured with PLAIN over TLS.
bool scram_logs_in_to_kafka_4() {
  return rd_kafka_version() >= 0x020601ff;  // 2.6.1, a release
}

// The daemon's Kafka settings as an operator writes them: the documented properties in
// the file, the password elsewhere. `password_file` empty: the password comes from the
// environment.
std::string kafka_tables(const kafka_broker& broker, const std::filesystem::path& ca_file,
                         const std::filesystem::path& password_file,
                         const std::string& mechanism = "PLAIN") {
  std::string toml = "[kafka]\n";
  if (!password_file.empty()) toml += "sasl_password_file = \"" + password_file.string() + "\"\n";
  return toml +
         "\n[kafka.properties]\n"
         "\"security.protocol\" = \"SASL_SSL\"\n"
         "\"sasl.mechanisms\" = \"" +
         mechanism +
         "\"\n"
         "\"sasl.username\" = \"" +
         broker.sasl_username() +
         "\"\n"
         "\"ssl.ca.location\" = \"" +
         ca_file.string() +
         "\"\n"
         "\"ssl.endpoint.identification.algorithm\" = \"https\"\n\n";
}

// Topics small enough to be created quickly, and a source that takes SendGrid's genuine
// request and the test's own signed batches.
std::string topics_and_source(const std::string& events_topic, const webhook_signer& signer) {
  return "[topics.events]\nname = \"" + events_topic +
         "\"\npartitions = 2\n\n"
         "[topics.suppressions]\npartitions = 2\n\n"
         "[topics.send_requests]\npartitions = 1\n\n"
         "[topics.send_ledger]\npartitions = 1\n\n"
         "[sources.sample]\ntenant = \"acme\"\npublic_keys = [\"" +
         sendgrid_genuine_request().public_key + "\", \"" + signer.public_key_base64() +
         "\"]\nreplay_window = \"0\"\n";
}

http_reply post(const daemon& d, const signed_request& request) {
  auto headers = request.headers;
  headers.emplace("Content-Type", "application/json");
  return http_client("127.0.0.1", d.webhook_port())
      .post("/webhooks/sendgrid/sample", request.body, headers);
}

// Whether a client with `properties` (over the bootstrap) gets a metadata answer.
bool answers_metadata(const std::string& bootstrap,
                      const std::map<std::string, std::string>& properties) {
  config::kafka_config kafka;
  kafka.bootstrap_servers = bootstrap;
  kafka.properties.insert(properties.begin(), properties.end());
  auto conf = kafka::make_conf(kafka);
  if (!conf) throw std::runtime_error(conf.error().describe());
  auto handle = kafka::make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!handle) throw std::runtime_error(handle.error().describe());
  return kafka::probe_cluster(handle->get(), 3s).has_value();
}

// A daemon that must stay unready: /readyz says Kafka is why, a webhook request is
// refused with 503 before anything is published, and the log names the cause.
void expect_refused_for(const daemon& d, std::string_view cause_in_log) {
  auto ready = d.admin_get("/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_TRUE(contains(ready.body, R"("kafka":"unreachable)")) << ready.body;
  EXPECT_TRUE(contains(d.admin_get("/metrics").body, "mailhook_kafka_up 0"));
  EXPECT_EQ(post(d, sendgrid_genuine_request()).status, 503);
  EXPECT_TRUE(contains(d.output(), cause_in_log)) << d.output();
}

TEST(kafka_security, only_the_right_ca_user_and_password_reach_a_sasl_ssl_broker) {
  // Which of the two runs this is (tests/integration/with_newer_librdkafka.sh): the run
  // that loads a newer library says so, so that it cannot pass on the refusal branch.
  std::cout << "librdkafka " << rd_kafka_version_str() << ": SCRAM-SHA-512 expected to "
            << (scram_logs_in_to_kafka_4() ? "log in" : "be refused") << "\n";
  if (std::getenv("MAILHOOK_TEST_EXPECT_SCRAM") != nullptr) {
    ASSERT_TRUE(scram_logs_in_to_kafka_4())
        << "this run was to load librdkafka 2.6.1 or later, and has " << rd_kafka_version_str();
  }
  kafka_broker broker(kafka_security::sasl_ssl);
  temp_dir dir;
  const std::string password = broker.client_properties().at("sasl.password");
  const std::string events_topic = unique_topic("sasl-events");
  webhook_signer signer;
  const std::string source = topics_and_source(events_topic, signer);

  // (d) The port speaks nothing but SASL_SSL: neither a plain client nor a TLS client
  // without SASL gets an answer; the same probe with the user and CA does.
  EXPECT_FALSE(answers_metadata(broker.bootstrap(), {}));
  EXPECT_FALSE(answers_metadata(
      broker.bootstrap(),
      {{"security.protocol", "SSL"}, {"ssl.ca.location", broker.ca_file().string()}}));
  ASSERT_TRUE(answers_metadata(broker.bootstrap(), broker.client_properties()));
  EXPECT_EQ(answers_metadata(broker.bootstrap(), broker.client_properties("SCRAM-SHA-512")),
            scram_logs_in_to_kafka_4());

  // Every role, so that every client mailhook makes (the cluster monitor, topic creation,
  // the ingest producer, the policy's transactions, the index and sender consumers)
  // connects with the password from its file.
  daemon right(broker.bootstrap(),
               kafka_tables(broker, broker.ca_file(), broker.sasl_password_file()) + source);
  // (a2) The password from the environment instead, the ingest role only.
  daemon from_env(broker.bootstrap(), kafka_tables(broker, broker.ca_file(), {}) + source,
                  {"--roles", "ingest"}, {},
                  {{"MAILHOOK_KAFKA__PROPERTIES__SASL_PASSWORD", password}});
  // (b) A wrong password, (c) a CA that did not sign the broker's certificate (its own
  // certificate is for 127.0.0.1 too: only the signature is wrong).
  const auto wrong_password = dir.write("wrong-password", "not-" + password);
  daemon wrong(broker.bootstrap(), kafka_tables(broker, broker.ca_file(), wrong_password) + source,
               {"--roles", "ingest"});
  const auto other_ca = make_self_signed_certificate(dir.path(), "IP:127.0.0.1");
  daemon untrusted(broker.bootstrap(),
                   kafka_tables(broker, other_ca.cert_file, broker.sasl_password_file()) + source,
                   {"--roles", "ingest"});
  // SCRAM-SHA-512 with the right password, which works with librdkafka 2.6.1 and later.
  daemon scram(
      broker.bootstrap(),
      kafka_tables(broker, broker.ca_file(), broker.sasl_password_file(), "SCRAM-SHA-512") + source,
      {"--roles", "ingest"});

  // (a) Ready, SendGrid's signed request and a batch of the test's own accepted, and every
  // event read back by a consumer with the same settings.
  ASSERT_TRUE(right.wait_for_readyz(200, 60s)) << right.admin_get("/readyz").body << "\n"
                                               << right.output();
  const auto& genuine = sendgrid_genuine_request();
  auto accepted = post(right, genuine);
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  auto batch = make_events(13, 0, 40);
  signed_request own{"", batch_body(batch), signer.headers(batch_body(batch))};
  ASSERT_EQ(post(right, own).status, 200);
  std::set<std::string> expected{"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA"};
  for (const auto& e : batch) expected.insert(e.sg_event_id);
  std::set<std::string> read_back;
  for (const auto& record : read_topic(broker.bootstrap(), events_topic, expected.size(), 30s,
                                       broker.client_properties())) {
    v1::EmailEvent e;
    ASSERT_TRUE(e.ParseFromString(record.value));
    EXPECT_EQ(e.tenant(), "acme");
    read_back.insert(e.sg_event_id());
  }
  EXPECT_EQ(read_back, expected);
  // The dropped address went through the policy's transaction and the index's consumer.
  EXPECT_TRUE(eventually(
      [&] {
        return contains(
            right.admin_get("/v1/suppressions/check?tenant=acme&email=hello@world.com").body,
            R"("allowed":false)");
      },
      30s))
      << right.admin_get("/v1/suppressions/check?tenant=acme&email=hello@world.com").body;

  ASSERT_TRUE(from_env.wait_for_readyz(200, 30s)) << from_env.admin_get("/readyz").body << "\n"
                                                  << from_env.output();
  EXPECT_EQ(post(from_env, genuine).status, 200);

  // (b), (c): they started with the others, which have been ready for a while; the
  // broker's answers came long ago, so they are not merely slow.
  {
    SCOPED_TRACE("wrong password");
    expect_refused_for(wrong, "Authentication failed");
  }
  {
    SCOPED_TRACE("untrusted CA");
    expect_refused_for(untrusted, "certificate verify failed");
  }
  if (scram_logs_in_to_kafka_4()) {
    EXPECT_TRUE(scram.wait_for_readyz(200, 30s)) << scram.output();
  } else {
    SCOPED_TRACE("SCRAM-SHA-512 with librdkafka " + std::string(rd_kafka_version_str()));
    expect_refused_for(scram, "invalid credentials with SASL mechanism SCRAM-SHA-512");
  }
  for (const daemon* d : {&right, &from_env, &wrong, &untrusted, &scram}) {
    EXPECT_FALSE(contains(d->output(), password)) << "a password was logged";
  }
}

}  // namespace
}  // namespace mailhook::testing
