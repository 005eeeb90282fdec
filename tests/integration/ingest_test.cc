// The ingest role end to end: the real mailhook binary, the real shared broker. What is
// posted is read back from Kafka and compared field by field; what is refused leaves
// nothing in Kafka.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <map>

#include "kafka/key_partitioner.h"
#include "mailhook/v1/email_event.pb.h"
#include "support/daemon.h"
#include "support/kafka_reader.h"
#include "support/mail_send_simulator.h"
#include "support/sendgrid_events.h"
#include "webhook/signature.h"

namespace mailhook::testing {
namespace {

using namespace std::chrono_literals;

std::string now_text() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

// One daemon per test with topics of its own, so what a test reads is what it posted.
class ingest_test : public ::testing::Test {
 protected:
  // The [ingest] lines a fixture adds to the common ones.
  virtual std::string ingest_settings() const { return ""; }

  void SetUp() override {
    auto pair = webhook::generate_p256_key();
    ASSERT_TRUE(pair) << pair.error().describe();
    key_ = std::make_unique<webhook::p256_key_pair>(std::move(*pair));
    events_topic_ = unique_topic("events");
    dlq_topic_ = unique_topic("dlq");
    // A budget as small as max_body allows, so that size limits and the budget meet.
    std::string toml =
        std::string(
            "[ingest]\nmax_body = \"1MiB\"\ninflight_budget = \"1MiB\"\n"
            "dead_letter_part_bytes = \"64KiB\"\n") +
        ingest_settings() + "\n" + "[topics.events]\nname = \"" + events_topic_ +
        "\"\npartitions = 3\n\n" + "[topics.dlq]\nname = \"" + dlq_topic_ +
        "\"\npartitions = 1\n\n" +
        // SendGrid's genuine vector was signed in 2020: this source has no replay window.
        "[sources.sample]\ntenant = \"acme\"\npublic_keys = [\"" +
        sendgrid_genuine_request().public_key + "\", \"" + key_->public_key_base64 +
        "\"]\nreplay_window = \"0\"\n\n" +
        "[sources.fresh]\ntenant = \"delta\"\npublic_keys = [\"" + key_->public_key_base64 +
        "\"]\nreplay_window = \"5m\"\n\n" +
        "[sources.open]\ntenant = \"beta\"\nallow_unauthenticated = true\n\n" +
        "[sources.oauth]\ntenant = \"gamma\"\nbearer_tokens = [\"s3cret-token\"]\n";
    daemon_ = std::make_unique<daemon>(shared_kafka_bootstrap(), toml);
    ASSERT_NE(daemon_->webhook_port(), 0) << daemon_->output();
    ASSERT_TRUE(daemon_->wait_for_readyz(200, 60s)) << daemon_->admin_get("/readyz").body;
  }

  http_reply post(const std::string& source, const std::string& body,
                  std::map<std::string, std::string> headers = {}) {
    headers.emplace("Content-Type", "application/json");
    http_client client("127.0.0.1", daemon_->webhook_port());
    return client.post("/webhooks/sendgrid/" + source, body, headers);
  }

  std::map<std::string, std::string> signed_headers(const std::string& body,
                                                    const std::string& timestamp) {
    auto signature = key_->private_key.sign(timestamp, body);
    EXPECT_TRUE(signature) << signature.error().describe();
    return {{"X-Twilio-Email-Event-Webhook-Signature", *signature},
            {"X-Twilio-Email-Event-Webhook-Timestamp", timestamp}};
  }

  std::vector<kafka_record> events(std::size_t expected, std::chrono::milliseconds timeout = 30s) {
    return read_topic(shared_kafka_bootstrap(), events_topic_, expected, timeout);
  }
  std::vector<kafka_record> dead_letters(std::size_t expected,
                                         std::chrono::milliseconds timeout = 30s) {
    return read_topic(shared_kafka_bootstrap(), dlq_topic_, expected, timeout);
  }

  std::unique_ptr<webhook::p256_key_pair> key_;
  std::string events_topic_;
  std::string dlq_topic_;
  std::unique_ptr<daemon> daemon_;
};

// The same daemon writing the header form (ingest.record_format = "headers").
class ingest_headers_test : public ingest_test {
 protected:
  std::string ingest_settings() const override { return "record_format = \"headers\"\n"; }
};

// The bare form: no framing, no headers (ingest.record_format = "plain").
class ingest_plain_test : public ingest_test {
 protected:
  std::string ingest_settings() const override { return "record_format = \"plain\"\n"; }
};

// The default form: the Confluent wire format with the configured schema ids, no headers.
class ingest_confluent_test : public ingest_test {
 protected:
  std::string ingest_settings() const override {
    return "event_schema_id = 70000\ndead_letter_schema_id = 7\n";
  }
};

TEST_F(ingest_headers_test, the_genuine_signed_sendgrid_request_is_published) {
  const auto& genuine = sendgrid_genuine_request();
  auto r = post("sample", genuine.body, genuine.headers);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"accepted":1,"dead_lettered":0})");

  auto records = events(1);
  ASSERT_EQ(records.size(), 1u);
  const auto& record = records[0];
  EXPECT_EQ(record.key, "acme/hello@world.com");
  EXPECT_EQ(record.headers.at("mailhook-event-id"),
            "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA");
  EXPECT_EQ(record.headers.at("mailhook-tenant"), "acme");
  EXPECT_EQ(record.headers.at("mailhook-schema"), "mailhook.v1.EmailEvent");
  v1::EmailEvent e;
  ASSERT_TRUE(e.ParseFromString(record.value));
  EXPECT_EQ(e.tenant(), "acme");
  EXPECT_EQ(e.source(), "sample");
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_DROPPED);
  EXPECT_EQ(e.event(), "dropped");
  EXPECT_EQ(e.email(), "hello@world.com");
  EXPECT_EQ(e.email_normalized(), "hello@world.com");
  EXPECT_EQ(e.reason(), "Bounced Address");
  EXPECT_EQ(e.sg_event_id(), "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA");
  EXPECT_EQ(e.sg_message_id(),
            "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0");
  EXPECT_EQ(e.smtp_id(), "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>");
  EXPECT_EQ(e.timestamp(), 1600112492);
  EXPECT_GT(e.received_at_ms(), 1600112492000);
  // The record's own timestamp is the same moment, for consumers that only read that.
  EXPECT_EQ(record.timestamp_ms, e.received_at_ms());
}

TEST_F(ingest_confluent_test, records_are_in_the_confluent_wire_format_without_headers) {
  const auto& genuine = sendgrid_genuine_request();
  const auto before_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  ASSERT_EQ(post("sample", genuine.body, genuine.headers).status, 200);
  ASSERT_EQ(post("open", "not json").status, 200);

  auto records = events(1);
  ASSERT_EQ(records.size(), 1u);
  const auto& record = records[0];
  EXPECT_TRUE(record.headers.empty());
  // Magic byte, schema id 70000 big-endian, the message path [2] (EmailEvent is the third
  // message of email_event.proto) as zigzag varints: count 1, index 2.
  ASSERT_GT(record.raw_value.size(), 7u);
  EXPECT_EQ(record.raw_value.substr(0, 7), std::string("\x00\x00\x01\x11\x70\x02\x04", 7));
  EXPECT_EQ(record.schema_id, 70000u);
  v1::EmailEvent e;
  ASSERT_TRUE(e.ParseFromString(record.raw_value.substr(7)));
  EXPECT_EQ(e.sg_event_id(), "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA");
  EXPECT_EQ(e.tenant(), "acme");
  // Records without headers are handed over a partition at a time, and take the moment
  // they were enqueued as their timestamp: at or after the receipt, within the deadline.
  EXPECT_GE(record.timestamp_ms, e.received_at_ms());
  EXPECT_GE(e.received_at_ms(), before_ms);
  EXPECT_LT(record.timestamp_ms, e.received_at_ms() + 10'000);

  auto letters = dead_letters(1);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_TRUE(letters[0].headers.empty());
  EXPECT_EQ(letters[0].raw_value.substr(0, 7), std::string("\x00\x00\x00\x00\x07\x02\x06", 7));
  v1::DeadLetter d;
  ASSERT_TRUE(d.ParseFromString(letters[0].raw_value.substr(7)));
  EXPECT_EQ(d.payload(), "not json");
}

TEST_F(ingest_plain_test, records_are_bare_values_without_headers) {
  const auto& genuine = sendgrid_genuine_request();
  ASSERT_EQ(post("sample", genuine.body, genuine.headers).status, 200);
  auto records = events(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].headers.empty());
  EXPECT_FALSE(records[0].schema_id.has_value());
  v1::EmailEvent e;
  ASSERT_TRUE(e.ParseFromString(records[0].raw_value));
  EXPECT_EQ(e.sg_event_id(), "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA");
}

TEST_F(ingest_test, each_record_lands_in_the_partition_kafkas_java_client_gives_its_key) {
  // 300 events over 60 addresses (so keys repeat) and the topic's 3 partitions.
  auto posted = make_events(7, 0, 300);
  for (std::size_t i = 0; i < posted.size(); ++i) {
    const std::string address = "user" + std::to_string(i % 60) + "@example.com";
    const std::string field = "\"email\":\"" + posted[i].email + "\"";
    const auto at = posted[i].json.find(field);
    ASSERT_NE(at, std::string::npos) << posted[i].json;
    posted[i].json.replace(at, field.size(), "\"email\":\"" + address + "\"");
    posted[i].email = address;
  }
  const std::string body = batch_body(posted);
  ASSERT_EQ(post("sample", body, signed_headers(body, now_text())).status, 200);
  auto records = events(posted.size());
  ASSERT_EQ(records.size(), posted.size());
  std::map<int, int> per_partition;
  std::map<std::string, std::vector<std::string>> order_by_key;
  for (const auto& record : records) {
    EXPECT_EQ(record.partition, kafka::partition_for_key(record.key, 3)) << record.key;
    ++per_partition[record.partition];
    v1::EmailEvent e;
    ASSERT_TRUE(e.ParseFromString(record.value));
    order_by_key[record.key].push_back(e.sg_event_id());
  }
  EXPECT_EQ(per_partition.size(), 3u);
  // Within a key, Kafka holds the events in the order they were posted.
  std::map<std::string, std::vector<std::string>> posted_by_key;
  for (const auto& p : posted) posted_by_key["acme/" + p.email].push_back(p.sg_event_id);
  EXPECT_EQ(order_by_key, posted_by_key);
}

TEST_F(ingest_test, a_signed_batch_arrives_in_kafka_field_by_field) {
  auto posted = make_events(42, 0, 300);
  const std::string body = batch_body(posted);
  auto r = post("sample", body, signed_headers(body, now_text()));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"accepted":300,"dead_lettered":0})");

  auto records = events(posted.size());
  ASSERT_EQ(records.size(), posted.size());
  std::map<std::string, v1::EmailEvent> by_id;
  for (const auto& record : records) {
    v1::EmailEvent e;
    ASSERT_TRUE(e.ParseFromString(record.value));
    EXPECT_EQ(record.key, "acme/" + e.email_normalized());
    by_id[e.sg_event_id()] = e;
  }
  for (const auto& p : posted) {
    ASSERT_TRUE(by_id.contains(p.sg_event_id)) << p.sg_event_id;
    const auto& e = by_id[p.sg_event_id];
    EXPECT_EQ(e.event(), p.event);
    EXPECT_EQ(e.email(), p.email);
    std::string lowered = p.email;
    for (auto& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(e.email_normalized(), lowered);
    EXPECT_EQ(e.timestamp(), p.timestamp);
    ASSERT_EQ(e.category_size(), 2);
    EXPECT_EQ(e.category(0), "newsletter");
    EXPECT_EQ(e.custom_args_json(), p.custom_args_json);
    if (p.event == "bounce") {
      EXPECT_EQ(e.type(), v1::EVENT_TYPE_BOUNCE);
      EXPECT_EQ(e.status(), "5.1.1");
      EXPECT_EQ(e.bounce_classification(), "Invalid Address");
      EXPECT_TRUE(e.bounce_type() == "bounce" || e.bounce_type() == "blocked");
      EXPECT_TRUE(e.has_tls() && e.tls());
    }
    if (p.event == "click") {
      EXPECT_EQ(e.url_offset().type(), "html");
      EXPECT_NE(e.url().find("https://example.com/offer?id="), std::string::npos);
    }
    if (p.event == "deferred") {
      EXPECT_EQ(e.attempt(), 3);
    }
    if (p.event == "group_unsubscribe") {
      EXPECT_TRUE(e.has_asm_group_id());
    }
    if (p.event == "processed") {
      EXPECT_EQ(e.pool().id(), 210);
    }
  }
}

TEST_F(ingest_test, requests_not_from_sendgrid_are_refused_and_leave_nothing) {
  const std::string body = batch_body(make_events(7, 0, 3));
  auto headers = signed_headers(body, now_text());

  std::string tampered = body;
  tampered[tampered.find("user.")] = 'U';
  EXPECT_EQ(post("sample", tampered, headers).status, 403);

  auto other = webhook::generate_p256_key();
  ASSERT_TRUE(other);
  auto foreign = other->private_key.sign(now_text(), body);
  ASSERT_TRUE(foreign);
  auto wrong_key = post("sample", body,
                        {{"X-Twilio-Email-Event-Webhook-Signature", *foreign},
                         {"X-Twilio-Email-Event-Webhook-Timestamp",
                          headers["X-Twilio-Email-Event-Webhook-Timestamp"]}});
  EXPECT_EQ(wrong_key.status, 403);
  EXPECT_NE(wrong_key.body.find("bad_signature"), std::string::npos);

  EXPECT_EQ(post("sample", body).status, 401);  // no signature headers at all

  auto stale =
      post("fresh", body, signed_headers(body, std::to_string(std::stoll(now_text()) - 3600)));
  EXPECT_EQ(stale.status, 403);
  EXPECT_NE(stale.body.find("stale_timestamp"), std::string::npos);

  auto bad_token = post("oauth", body, {{"Authorization", "Bearer wrong"}});
  EXPECT_EQ(bad_token.status, 401);
  EXPECT_NE(bad_token.body.find("invalid_token"), std::string::npos);

  EXPECT_EQ(events(0, 3s).size(), 0u);
  EXPECT_EQ(dead_letters(0, 1s).size(), 0u);
  auto metrics = daemon_->admin_get("/metrics").body;
  EXPECT_NE(
      metrics.find(
          R"(mailhook_webhook_auth_failures_total{source="sample",reason="bad_signature"} 2)"),
      std::string::npos)
      << metrics;
}

TEST_F(ingest_test, other_credentials_and_a_fresh_timestamp_are_accepted) {
  const std::string body = batch_body(make_events(8, 0, 2));
  EXPECT_EQ(post("fresh", body, signed_headers(body, now_text())).status, 200);
  EXPECT_EQ(post("oauth", body, {{"Authorization", "Bearer s3cret-token"}}).status, 200);
  EXPECT_EQ(post("open", body).status, 200);
  EXPECT_EQ(events(6).size(), 6u);
}

TEST_F(ingest_test, a_body_that_is_not_json_goes_whole_to_the_dead_letter_topic) {
  const std::string body = "this is not json\r\n";
  auto r = post("open", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"accepted":0,"dead_lettered":1})");
  auto letters = dead_letters(1);
  ASSERT_EQ(letters.size(), 1u);
  v1::DeadLetter d;
  ASSERT_TRUE(d.ParseFromString(letters[0].value));
  EXPECT_EQ(d.payload(), body);
  EXPECT_EQ(d.event_index(), -1);
  EXPECT_EQ(d.tenant(), "beta");
  EXPECT_EQ(d.source(), "open");
  EXPECT_FALSE(d.reason().empty());
  EXPECT_EQ(letters[0].key, "beta/open");
}

TEST_F(ingest_test, an_unusable_body_larger_than_a_dead_letter_part_is_dead_lettered_in_parts) {
  // A dead letter over the broker's message size was refused, so such a body was answered
  // 503 for as long as SendGrid retried it. Parts of 64 KiB here (the fixture's setting;
  // 512 KiB by default), so that the in-flight budget of 1 MiB holds the body twice.
  std::string body(200'000, 'x');
  for (std::size_t i = 0; i < body.size(); i += 1000) body[i] = static_cast<char>('a' + i % 26);
  auto r = post("open", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"accepted":0,"dead_lettered":1})");
  auto letters = dead_letters(4);
  ASSERT_EQ(letters.size(), 4u);
  std::string joined;
  std::array<unsigned char, 32> digest{};
  EVP_Digest(body.data(), body.size(), digest.data(), nullptr, EVP_sha256(), nullptr);
  for (int i = 0; i < 4; ++i) {
    v1::DeadLetter d;
    ASSERT_TRUE(d.ParseFromString(letters[static_cast<std::size_t>(i)].value));
    EXPECT_EQ(d.part(), i);
    EXPECT_EQ(d.parts(), 4);
    EXPECT_EQ(d.payload_size(), 200'000);
    EXPECT_EQ(d.payload_sha256(), std::string(reinterpret_cast<char*>(digest.data()), 32));
    EXPECT_EQ(letters[static_cast<std::size_t>(i)].key, "beta/open");
    joined += d.payload();
  }
  EXPECT_EQ(joined, body);
}

TEST_F(ingest_test, one_bad_event_is_dead_lettered_and_the_rest_proceed) {
  auto good = make_events(9, 0, 2);
  const std::string bad =
      R"({"event":"delivered","email":42,"sg_event_id":"bad-1","timestamp":1700000000})";
  const std::string body = "[" + good[0].json + ",\r\n" + bad + ",\r\n" + good[1].json + "]\r\n";
  auto r = post("open", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"accepted":2,"dead_lettered":1})");
  EXPECT_EQ(events(2).size(), 2u);
  auto letters = dead_letters(1);
  ASSERT_EQ(letters.size(), 1u);
  v1::DeadLetter d;
  ASSERT_TRUE(d.ParseFromString(letters[0].value));
  EXPECT_EQ(d.event_index(), 1);
  EXPECT_EQ(d.payload(), bad);
  EXPECT_NE(d.detail().find("email"), std::string::npos) << d.detail();
}

TEST_F(ingest_test, unknown_routes_sources_and_methods_get_json_errors) {
  EXPECT_EQ(post("nobody", "[]").status, 404);
  http_client client("127.0.0.1", daemon_->webhook_port());
  EXPECT_EQ(client.get("/webhooks/sendgrid/open").status, 405);
  EXPECT_EQ(client.get("/metrics").status, 404);  // the admin routes are not on the public port
  auto wrong_type = post("open", "[]", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(wrong_type.status, 415);
}

TEST_F(ingest_test, a_body_over_max_body_gets_413_not_a_retryable_503) {
  auto events = make_events(11, 0, 3000);  // about 1.3 MB
  const std::string body = batch_body(events);
  ASSERT_GT(body.size(), 1024u * 1024u);
  auto r = post("open", body);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_NE(r.body.find("body_too_large"), std::string::npos);
}

// Its own daemon: the listener speaks TLS with a certificate made for the test.
TEST(ingest_tls, the_webhook_listener_speaks_https_when_configured) {
  temp_dir dir;
  const auto files = make_self_signed_certificate(dir.path());
  const std::string& cert = files.cert_file;
  const std::string& key = files.key_file;
  const std::string topic = unique_topic("tls");
  daemon d(shared_kafka_bootstrap(),
           "[ingest]\ntls_cert_file = \"" + cert + "\"\ntls_key_file = \"" + key +
               "\"\n\n[topics.events]\nname = \"" + topic +
               "\"\n\n[sources.open]\ntenant = \"t\"\nallow_unauthenticated = true\n");
  ASSERT_TRUE(d.wait_for_readyz(200, 60s));

  namespace asio = boost::asio;
  namespace beast = boost::beast;
  asio::io_context io;
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.load_verify_file(cert);
  tls.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(io, tls);
  beast::get_lowest_layer(stream).connect({asio::ip::make_address("127.0.0.1"), d.webhook_port()});
  stream.handshake(asio::ssl::stream_base::client);
  beast::http::request<beast::http::string_body> req{beast::http::verb::post,
                                                     "/webhooks/sendgrid/open", 11};
  req.set(beast::http::field::host, "127.0.0.1");
  req.set(beast::http::field::content_type, "application/json");
  req.body() = batch_body(make_events(12, 0, 5));
  req.prepare_payload();
  beast::http::write(stream, req);
  beast::flat_buffer buffer;
  beast::http::response<beast::http::string_body> res;
  beast::http::read(stream, buffer, res);
  EXPECT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(read_topic(shared_kafka_bootstrap(), topic, 5, 30s).size(), 5u);
}

TEST_F(ingest_test, event_counts_by_type_are_exposed_per_source) {
  const std::string body = batch_body(make_events(10, 0, 11));  // one cycle of the type mix
  ASSERT_EQ(post("open", body).status, 200);
  auto metrics = daemon_->admin_get("/metrics").body;
  EXPECT_NE(metrics.find(R"(mailhook_webhook_events_total{source="open",event="bounce"} 1)"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(mailhook_webhook_events_total{source="open",event="delivered"} 2)"),
            std::string::npos);
  EXPECT_NE(metrics.find(R"(mailhook_webhook_requests_total{source="open",status="200"} 1)"),
            std::string::npos);
}

}  // namespace
}  // namespace mailhook::testing
