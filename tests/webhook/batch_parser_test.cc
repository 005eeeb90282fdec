// Tests for batch parsing: SendGrid's real and documented payloads, every type quirk the
// spec lists, bad events next to good ones, and bodies that must fail as a whole.
// Records are decoded with the generated protobuf classes and compared field by field.
// Over 600 lines: one case per payload quirk of the spec.
#include "webhook/batch_parser.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "mailhook/v1/email_event.pb.h"
#include "webhook/test_context.h"

namespace mailhook::webhook {
namespace {

using google::protobuf::util::MessageDifferencer;

std::filesystem::path data_dir() {
  // CTest sets MAILHOOK_SOURCE_DIR; a direct run finds the repository from this file.
  const char* root = std::getenv("MAILHOOK_SOURCE_DIR");
  std::filesystem::path base =
      root != nullptr ? std::filesystem::path(root)
                      : std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  return base / "tests" / "data" / "sendgrid";
}

std::string read_data(const std::string& name) {
  std::ifstream in(data_dir() / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << (data_dir() / name);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

batch_context context(output_encoding encoding = output_encoding::protobuf) {
  return testing::test_context(encoding);
}

// One body and what it became. The body stays here because results point into it.
struct parsed {
  std::string body;
  encoded_batch batch;
  result<void> status;

  explicit parsed(std::string b, const batch_context& ctx = context()) : body(std::move(b)) {
    static batch_encoder encoder;  // shared on purpose: reuse across bodies must be safe
    status = encoder.encode(body, ctx, batch);
    if (status) check_invariants();
  }
  parsed(const parsed&) = delete;
  parsed& operator=(const parsed&) = delete;

  void check_invariants() const {
    for (const auto& r : batch.records) {
      EXPECT_LE(std::size_t{r.key_offset} + r.key_size, batch.arena.size());
      EXPECT_LE(std::size_t{r.value_offset} + r.value_size, batch.arena.size());
      EXPECT_LE(std::size_t{r.event_id_offset} + r.event_id_size, batch.arena.size());
    }
    for (const auto& r : batch.rejected) {
      EXPECT_GE(r.raw.data(), body.data());
      EXPECT_LE(r.raw.data() + r.raw.size(), body.data() + body.size());
    }
  }

  std::string_view key(std::size_t i) const {
    const auto& r = batch.records.at(i);
    return {batch.arena.data() + r.key_offset, r.key_size};
  }
  std::string_view value(std::size_t i) const {
    const auto& r = batch.records.at(i);
    return {batch.arena.data() + r.value_offset, r.value_size};
  }
  std::string_view event_id(std::size_t i) const {
    const auto& r = batch.records.at(i);
    return {batch.arena.data() + r.event_id_offset, r.event_id_size};
  }
  // Decodes record i, and checks its bytes are protobuf's own serialization of it.
  v1::EmailEvent event(std::size_t i) const {
    v1::EmailEvent m;
    auto v = value(i);
    EXPECT_TRUE(m.ParseFromArray(v.data(), static_cast<int>(v.size())));
    EXPECT_EQ(m.SerializeAsString(), v);
    return m;
  }
  std::string error_word() const {
    return status ? "ok" : std::string(reason_word(status.error().code));
  }
};

// Encodes `body` both ways and checks each JSON record parses into the protobuf record.
void expect_json_matches_protobuf(const std::string& body) {
  parsed pb(body);
  parsed json(body, context(output_encoding::json));
  ASSERT_TRUE(pb.status) << pb.status.error().describe();
  ASSERT_TRUE(json.status) << json.status.error().describe();
  ASSERT_EQ(pb.batch.records.size(), json.batch.records.size());
  for (std::size_t i = 0; i < pb.batch.records.size(); ++i) {
    v1::EmailEvent from_json;
    auto st = google::protobuf::util::JsonStringToMessage(std::string(json.value(i)), &from_json);
    ASSERT_TRUE(st.ok()) << st.ToString() << "\n" << json.value(i);
    std::string diff;
    MessageDifferencer d;
    d.ReportDifferencesToString(&diff);
    EXPECT_TRUE(d.Compare(pb.event(i), from_json)) << diff << "\n" << json.value(i);
    EXPECT_EQ(pb.key(i), json.key(i));
    EXPECT_EQ(pb.event_id(i), json.event_id(i));
    EXPECT_EQ(pb.batch.records[i].type, json.batch.records[i].type);
  }
}

// A minimal valid event followed by `extra` fields (a repeated key: the last one wins).
std::string event_with(std::string_view extra) {
  std::string s =
      R"({"email":"a@example.com","event":"open","sg_event_id":"id1","timestamp":1600000000)";
  if (!extra.empty()) s += ",";
  s += extra;
  return s + "}";
}

std::string batch_of(std::initializer_list<std::string> events) {
  std::string s = "[";
  bool first = true;
  for (const auto& e : events) {
    if (!first) s += ",\r\n";
    first = false;
    s += e;
  }
  return s + "]\r\n";
}

// The one record of a single-event body (test fails if it was rejected).
v1::EmailEvent only_event(const std::string& body) {
  parsed p(body);
  EXPECT_TRUE(p.status) << p.status.error().describe();
  EXPECT_EQ(p.batch.records.size(), 1u);
  for (const auto& r : p.batch.rejected) ADD_FAILURE() << r.reason << ": " << r.detail;
  if (p.batch.records.size() != 1) return {};
  return p.event(0);
}

// The single rejected event of a single-event body.
rejected_event only_rejected(const std::string& body) {
  parsed p(body);
  EXPECT_TRUE(p.status) << p.status.error().describe();
  EXPECT_EQ(p.batch.records.size(), 0u);
  EXPECT_EQ(p.batch.rejected.size(), 1u);
  if (p.batch.rejected.size() != 1) return {};
  auto r = p.batch.rejected[0];
  r.raw = {};  // points into p.body, which dies here
  return r;
}

std::string whole_body_failure(const std::string& body) {
  parsed p(body);
  EXPECT_FALSE(p.status) << body;
  if (p.status) return "ok";
  EXPECT_FALSE(p.status.error().describe().empty());
  return std::string(reason_word(p.status.error().code));
}

// --- SendGrid's own payloads ----------------------------------------------------------

TEST(batch_encoder, encodes_the_signed_dropped_body) {
  parsed p(read_data("signed-dropped.body"));
  ASSERT_TRUE(p.status) << p.status.error().describe();
  ASSERT_EQ(p.batch.records.size(), 1u);
  EXPECT_TRUE(p.batch.rejected.empty());
  auto e = p.event(0);
  EXPECT_EQ(e.tenant(), "acme");
  EXPECT_EQ(e.source(), "main");
  EXPECT_EQ(e.received_at_ms(), 1700000000123);
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_DROPPED);
  EXPECT_EQ(e.event(), "dropped");
  EXPECT_EQ(e.timestamp(), 1600112492);
  EXPECT_EQ(e.sg_event_id(), "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA");
  EXPECT_EQ(e.sg_message_id(),
            "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0");
  EXPECT_EQ(e.smtp_id(), "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>");
  EXPECT_EQ(e.email(), "hello@world.com");
  EXPECT_EQ(e.email_normalized(), "hello@world.com");
  EXPECT_EQ(e.reason(), "Bounced Address");
  EXPECT_EQ(e.category_size(), 0);
  EXPECT_FALSE(e.has_attempt());
  EXPECT_FALSE(e.has_tls());
  EXPECT_TRUE(e.custom_args_json().empty());
  EXPECT_TRUE(e.raw_json().empty());
  EXPECT_EQ(p.key(0), "acme/hello@world.com");
  EXPECT_EQ(p.event_id(0), "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA");
  EXPECT_EQ(p.batch.records[0].type, event_type::dropped);
}

TEST(batch_encoder, encodes_the_signed_processed_and_blocked_bounce_batch) {
  parsed p(read_data("signed-processed-bounce.json"));
  ASSERT_TRUE(p.status) << p.status.error().describe();
  ASSERT_EQ(p.batch.records.size(), 2u);
  auto processed = p.event(0);
  EXPECT_EQ(processed.type(), v1::EVENT_TYPE_PROCESSED);
  EXPECT_TRUE(processed.has_send_at());  // "send_at":0 is present, so kept
  EXPECT_EQ(processed.send_at(), 0);
  EXPECT_EQ(processed.timestamp(), 1619651146);
  auto bounce = p.event(1);
  EXPECT_EQ(bounce.type(), v1::EVENT_TYPE_BOUNCE);
  EXPECT_EQ(bounce.bounce_type(), "blocked");
  EXPECT_EQ(bounce.status(), "5.2.2");
  EXPECT_EQ(bounce.ip(), "167.89.101.76");
  EXPECT_TRUE(bounce.has_tls());
  EXPECT_TRUE(bounce.tls());
  EXPECT_EQ(bounce.reason().substr(0, 13), "552 5.2.2 The");
  EXPECT_EQ(bounce.sg_event_id(), "Ym91bmNlLTAtMTk5NDIxMTItcU53QkxnUFFRalc2REp2S1F3U0Fidy0w");
  EXPECT_EQ(p.key(1), "acme/invalid@gmail.com");
}

TEST(batch_encoder, encodes_the_documented_pretty_printed_bounce) {
  auto e = only_event(read_data("docs-bounce.json"));
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_BOUNCE);
  EXPECT_EQ(e.email(), "alex@example.com");
  EXPECT_EQ(e.timestamp(), 1513299569);
  EXPECT_EQ(e.smtp_id(), "<14c5d75ce93.dfd.64b469@ismtpd-555>");
  EXPECT_EQ(e.bounce_classification(), "Invalid Address");
  ASSERT_EQ(e.category_size(), 1);
  EXPECT_EQ(e.category(0), "cat facts");
  EXPECT_EQ(e.sg_event_id(), "6g4ZI7SA-xmRDv57GoPIPw==");
  EXPECT_EQ(e.reason(), "500 unknown recipient");
  EXPECT_EQ(e.status(), "5.0.0");
  EXPECT_EQ(e.bounce_type(), "bounce");
}

TEST(batch_encoder, encodes_account_status_change_without_an_address) {
  parsed p(read_data("docs-account-status-change.json"));
  ASSERT_TRUE(p.status);
  ASSERT_EQ(p.batch.records.size(), 1u);
  auto e = p.event(0);
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_ACCOUNT_STATUS_CHANGE);
  EXPECT_EQ(e.bounce_type(), "compliance_suspend");
  EXPECT_EQ(e.timestamp(), 1709142428);
  EXPECT_TRUE(e.email().empty());
  EXPECT_TRUE(e.email_normalized().empty());
  EXPECT_EQ(p.key(0), "acme/");
}

TEST(batch_encoder, encodes_every_event_type) {
  parsed p(read_data("all-event-types.json"));
  ASSERT_TRUE(p.status) << p.status.error().describe();
  ASSERT_EQ(p.batch.records.size(), 12u);
  EXPECT_TRUE(p.batch.rejected.empty());
  for (std::size_t i = 0; i < 12; ++i) {
    EXPECT_EQ(static_cast<int>(p.event(i).type()), static_cast<int>(i + 1)) << i;
    EXPECT_EQ(static_cast<int>(p.batch.records[i].type), static_cast<int>(i + 1));
  }
  auto processed = p.event(0);
  EXPECT_EQ(processed.pool().name(), "new_MY_test");
  EXPECT_EQ(processed.pool().id(), 210);
  EXPECT_EQ(processed.marketing_campaign_id(), "12345");
  EXPECT_EQ(processed.marketing_campaign_name(), "campaign name");
  auto dropped = p.event(1);
  EXPECT_EQ(dropped.reason(), "Bounced Address");
  EXPECT_EQ(dropped.status(), "5.0.0");
  auto delivered = p.event(2);
  EXPECT_EQ(delivered.response(), "250 OK");
  EXPECT_TRUE(delivered.tls());
  auto deferred = p.event(3);
  EXPECT_EQ(deferred.attempt(), 5);
  EXPECT_EQ(deferred.response(), "400 try again later");
  auto open = p.event(5);
  EXPECT_TRUE(open.has_sg_machine_open());
  EXPECT_FALSE(open.sg_machine_open());
  EXPECT_EQ(open.useragent().substr(0, 11), "Mozilla/4.0");
  EXPECT_EQ(open.ip(), "255.255.255.255");
  auto click = p.event(6);
  ASSERT_EQ(click.category_size(), 2);
  EXPECT_EQ(click.category(0), "category1");
  EXPECT_EQ(click.category(1), "category2");
  EXPECT_TRUE(click.has_url_offset());
  EXPECT_EQ(click.url_offset().index(), 0);
  EXPECT_EQ(click.url_offset().type(), "html");
  EXPECT_EQ(click.url(), "http://www.sendgrid.com/");
  EXPECT_EQ(click.asm_group_id(), 1);
  auto group_unsubscribe = p.event(9);
  EXPECT_EQ(group_unsubscribe.asm_group_id(), 10);
  EXPECT_EQ(p.key(11), "acme/");
}

TEST(batch_encoder, json_encoding_round_trips_to_the_protobuf_message) {
  for (const char* file :
       {"signed-dropped.body", "signed-processed-bounce.json", "docs-bounce.json",
        "docs-account-status-change.json", "all-event-types.json"}) {
    SCOPED_TRACE(file);
    expect_json_matches_protobuf(read_data(file));
  }
  expect_json_matches_protobuf(batch_of({
      event_with(
          R"("reason":"caf\u00e9 \"q\" \\ \/ \ud83d\ude00 \t","userid":"1123","n":{"a":[1,{"b":null}]})"),
      event_with(
          R"("email":"  \u0041LEX@Example.COM ","sg_event_id":"id\"x","attempt":0,"tls":false)"),
      event_with(
          R"("timestamp":-5,"send_at":"-7","asm_group_id":"0","pool":{},"url_offset":{"index":-1})"),
      event_with(R"("category":["a","\u00e9",""],"marketing_campaign_id":1.5e3,"k\u00e9y":1)"),
  }));
}

// --- type quirks (spec 1.2) -----------------------------------------------------------

TEST(batch_encoder, reads_timestamp_as_integer_or_numeric_string) {
  EXPECT_EQ(only_event(batch_of({event_with(R"("timestamp":"123456789")")})).timestamp(),
            123456789);
  EXPECT_EQ(only_event(batch_of({event_with(R"("timestamp":1591726752372)")})).timestamp(),
            1591726752372);
  EXPECT_EQ(only_event(batch_of({event_with(R"("timestamp":"-12")")})).timestamp(), -12);
}

TEST(batch_encoder, accepts_a_whole_number_written_as_a_float) {
  EXPECT_EQ(only_event(batch_of({event_with(R"("timestamp":1.6e9)")})).timestamp(), 1600000000);
  EXPECT_EQ(only_event(batch_of({event_with(R"("timestamp":1600000000.0)")})).timestamp(),
            1600000000);
}

TEST(batch_encoder, rejects_timestamps_that_are_not_whole_numbers) {
  auto r = only_rejected(batch_of({event_with(R"("timestamp":1600000000.5)")}));
  EXPECT_EQ(r.reason, "bad_field_type");
  EXPECT_EQ(r.detail, "timestamp: expected an integer, got a number that is not a whole number");
  r = only_rejected(batch_of({event_with(R"("timestamp":"1.6e9")")}));
  EXPECT_EQ(
      r.detail,
      "timestamp: expected an integer or a numeric string, got a string that is not an integer");
  r = only_rejected(batch_of({event_with(R"("timestamp":" 1")")}));
  EXPECT_EQ(r.reason, "bad_field_type");
  r = only_rejected(batch_of({event_with(R"("timestamp":"")")}));
  EXPECT_EQ(r.reason, "bad_field_type");
  r = only_rejected(batch_of({event_with(R"("timestamp":99999999999999999999)")}));
  EXPECT_EQ(r.detail, "timestamp: expected a 64-bit integer, got a number out of range");
  r = only_rejected(batch_of({event_with(R"("timestamp":true)")}));
  EXPECT_EQ(r.detail, "timestamp: expected an integer or a numeric string, got boolean");
}

TEST(batch_encoder, reads_attempt_as_string_or_integer) {
  auto e = only_event(batch_of({event_with(R"("attempt":"5")")}));
  EXPECT_TRUE(e.has_attempt());
  EXPECT_EQ(e.attempt(), 5);
  EXPECT_EQ(only_event(batch_of({event_with(R"("attempt":3)")})).attempt(), 3);
  EXPECT_TRUE(only_event(batch_of({event_with(R"("attempt":"0")")})).has_attempt());
}

TEST(batch_encoder, reads_tls_as_integer_or_boolean) {
  EXPECT_TRUE(only_event(batch_of({event_with(R"("tls":1)")})).tls());
  auto off = only_event(batch_of({event_with(R"("tls":0)")}));
  EXPECT_TRUE(off.has_tls());
  EXPECT_FALSE(off.tls());
  EXPECT_TRUE(only_event(batch_of({event_with(R"("tls":true)")})).tls());
  EXPECT_FALSE(only_event(batch_of({event_with(R"("tls":false)")})).tls());
  EXPECT_EQ(only_rejected(batch_of({event_with(R"("tls":2)")})).detail,
            "tls: expected true, false, 0 or 1, got another number");
  EXPECT_EQ(only_rejected(batch_of({event_with(R"("tls":"1")")})).detail,
            "tls: expected true, false, 0 or 1, got string");
}

TEST(batch_encoder, reads_category_as_string_or_array) {
  auto one = only_event(batch_of({event_with(R"("category":"cat facts")")}));
  ASSERT_EQ(one.category_size(), 1);
  EXPECT_EQ(one.category(0), "cat facts");
  auto many = only_event(batch_of({event_with(R"("category":["a","b","c"])")}));
  ASSERT_EQ(many.category_size(), 3);
  EXPECT_EQ(many.category(2), "c");
  EXPECT_EQ(only_event(batch_of({event_with(R"("category":[])")})).category_size(), 0);
  auto r = only_rejected(batch_of({event_with(R"("category":["a",1])")}));
  EXPECT_EQ(r.detail, "category: expected a string or an array of strings, got number");
  r = only_rejected(batch_of({event_with(R"("category":{"a":"b"})")}));
  EXPECT_EQ(r.detail, "category: expected a string or an array of strings, got object");
}

TEST(batch_encoder, reads_url_offset_and_pool_objects) {
  auto e = only_event(batch_of(
      {event_with(R"("url_offset":{"index":2,"type":"text"},"pool":{"name":"p","id":"7"})")}));
  EXPECT_EQ(e.url_offset().index(), 2);
  EXPECT_EQ(e.url_offset().type(), "text");
  EXPECT_EQ(e.pool().name(), "p");
  EXPECT_EQ(e.pool().id(), 7);
  EXPECT_TRUE(e.custom_args_json().empty());
  EXPECT_EQ(only_rejected(batch_of({event_with(R"("url_offset":0)")})).detail,
            "url_offset: expected an object, got number");
  EXPECT_EQ(
      only_rejected(batch_of({event_with(R"("pool":{"id":"x"})")})).detail,
      "pool.id: expected an integer or a numeric string, got a string that is not an integer");
}

TEST(batch_encoder, keeps_objects_with_unmodelled_keys_also_as_custom_args) {
  auto e = only_event(batch_of({event_with(R"("pool":{"name":"p","id":1,"region":"eu"})")}));
  EXPECT_EQ(e.pool().name(), "p");
  EXPECT_EQ(e.custom_args_json(), R"({"pool":{"name":"p","id":1,"region":"eu"}})");
}

TEST(batch_encoder, reads_asm_group_id_and_send_at_as_integer_or_numeric_string) {
  auto e = only_event(batch_of({event_with(R"("asm_group_id":"10","send_at":"1591726752372")")}));
  EXPECT_EQ(e.asm_group_id(), 10);
  EXPECT_EQ(e.send_at(), 1591726752372);
  auto f = only_event(batch_of({event_with(R"("asm_group_id":0,"send_at":0)")}));
  EXPECT_TRUE(f.has_asm_group_id());
  EXPECT_TRUE(f.has_send_at());
}

TEST(batch_encoder, keeps_marketing_campaign_id_as_text) {
  EXPECT_EQ(only_event(batch_of({event_with(R"("marketing_campaign_id":12345)")}))
                .marketing_campaign_id(),
            "12345");
  EXPECT_EQ(only_event(batch_of({event_with(R"("marketing_campaign_id":"abc")")}))
                .marketing_campaign_id(),
            "abc");
  EXPECT_EQ(only_rejected(batch_of({event_with(R"("marketing_campaign_id":[1])")})).detail,
            "marketing_campaign_id: expected a number or a string, got array");
}

TEST(batch_encoder, reads_sg_machine_open_as_boolean) {
  auto e = only_event(batch_of({event_with(R"("sg_machine_open":true)")}));
  EXPECT_TRUE(e.sg_machine_open());
}

TEST(batch_encoder, treats_null_as_absent) {
  auto e = only_event(batch_of({event_with(
      R"("reason":null,"attempt":null,"tls":null,"category":null,"url_offset":null,"pool":null,)"
      R"("marketing_campaign_id":null,"sg_machine_open":null,"send_at":null,"asm_group_id":null)")}));
  EXPECT_TRUE(e.reason().empty());
  EXPECT_FALSE(e.has_attempt());
  EXPECT_FALSE(e.has_tls());
  EXPECT_EQ(e.category_size(), 0);
  EXPECT_FALSE(e.has_url_offset());
  EXPECT_FALSE(e.has_pool());
  EXPECT_FALSE(e.has_sg_machine_open());
  EXPECT_FALSE(e.has_send_at());
  EXPECT_FALSE(e.has_asm_group_id());
  EXPECT_TRUE(e.custom_args_json().empty());
  EXPECT_EQ(
      only_rejected(batch_of({R"({"email":null,"event":"open","sg_event_id":"x","timestamp":1})"}))
          .detail,
      "email: required, missing or empty");
}

TEST(batch_encoder, lets_the_last_of_duplicate_keys_win) {
  auto e = only_event(
      batch_of({R"({"email":"first@x","event":"open","sg_event_id":"a","timestamp":1,)"
                R"("email":"second@x","category":["a","b"],"category":"c","tls":1,"tls":null,)"
                R"("sg_event_id":"b","timestamp":"2","u":1,"u":2})"}));
  EXPECT_EQ(e.email(), "second@x");
  ASSERT_EQ(e.category_size(), 1);
  EXPECT_EQ(e.category(0), "c");
  EXPECT_FALSE(e.has_tls());
  EXPECT_EQ(e.sg_event_id(), "b");
  EXPECT_EQ(e.timestamp(), 2);
  // Custom args are kept as received, duplicates included.
  EXPECT_EQ(e.custom_args_json(), R"({"u":1,"u":2})");
}

TEST(batch_encoder, forwards_unknown_event_types) {
  parsed p(batch_of({R"({"email":"a@b","event":"newfangled","sg_event_id":"x","timestamp":1})"}));
  ASSERT_EQ(p.batch.records.size(), 1u);
  EXPECT_EQ(p.event(0).type(), v1::EVENT_TYPE_UNKNOWN);
  EXPECT_EQ(p.event(0).event(), "newfangled");
  EXPECT_EQ(p.batch.records[0].type, event_type::unknown);
}

// --- custom args ----------------------------------------------------------------------

TEST(batch_encoder, keeps_custom_args_as_raw_json) {
  auto e = only_event(batch_of({event_with(
      R"("userid":"1123","n": 12.50e1 ,"t":true,"z":null,"obj":{ "a" : [1, {"b":"c"}] },"arr":[],)"
      R"("k\"ey":"v\u00e9","newsletter":{"newsletter_id":"1"})")}));
  EXPECT_EQ(
      e.custom_args_json(),
      R"({"userid":"1123","n":12.50e1,"t":true,"z":null,"obj":{ "a" : [1, {"b":"c"}] },"arr":[],)"
      R"("k\"ey":"v\u00e9","newsletter":{"newsletter_id":"1"}})");
  google::protobuf::Struct s;  // and it is JSON
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(e.custom_args_json(), &s).ok());
  EXPECT_EQ(s.fields().at("k\"ey").string_value(), "v\xc3\xa9");
  EXPECT_EQ(s.fields().at("n").number_value(), 125);
}

TEST(batch_encoder, treats_keys_written_with_escapes_as_custom_args) {
  auto e = only_event(batch_of({event_with(R"("\u0065mail":"x@y")")}));
  EXPECT_EQ(e.email(), "a@example.com");
  EXPECT_EQ(e.custom_args_json(), R"({"\u0065mail":"x@y"})");
}

// --- strings --------------------------------------------------------------------------

TEST(batch_encoder, decodes_escapes_and_unicode_in_values) {
  auto e = only_event(batch_of({event_with(
      R"("reason":"caf\u00e9 \"quoted\" back\\slash \/ tab\t nl\n","response":"\ud83d\ude00 raw é")")}));
  EXPECT_EQ(e.reason(), "caf\xc3\xa9 \"quoted\" back\\slash / tab\t nl\n");
  EXPECT_EQ(e.response(), "\xf0\x9f\x98\x80 raw \xc3\xa9");
}

TEST(batch_encoder, normalizes_the_address_in_the_key) {
  parsed p(batch_of({event_with(R"("email":"  Alex.Smith@Example.COM\t")"),
                     event_with(R"("email":"\u00c9lise@EXEMPLE.fr")"),
                     event_with(R"("email":" ÜBER@X.DE ")")}));
  ASSERT_EQ(p.batch.records.size(), 3u);
  EXPECT_EQ(p.key(0), "acme/alex.smith@example.com");
  EXPECT_EQ(p.event(0).email(), "  Alex.Smith@Example.COM\t");
  EXPECT_EQ(p.event(0).email_normalized(), "alex.smith@example.com");
  EXPECT_EQ(p.key(1), "acme/\xc3\xa9lise@exemple.fr");  // Unicode lower case too
  EXPECT_EQ(p.key(2),
            "acme/\xc3\xbc"
            "ber@x.de");
}

TEST(batch_encoder, dead_letters_an_event_whose_address_does_not_normalize) {
  parsed p(batch_of({event_with(R"("email":"Alex <alex@example.com>")"),
                     event_with(R"("email":"alex\u200b@example.com")"),
                     event_with(R"("email":"ann@example.com")")}));
  ASSERT_EQ(p.batch.records.size(), 1u);
  ASSERT_EQ(p.batch.rejected.size(), 2u);
  EXPECT_EQ(p.batch.rejected[0].reason, reject_reason::invalid_email);
  EXPECT_EQ(p.batch.rejected[0].detail, "email: expected one bare address, got not_one_address");
  EXPECT_EQ(p.batch.rejected[1].detail,
            "email: expected one bare address, got invisible_character");
  EXPECT_EQ(p.key(0), "acme/ann@example.com");
}

TEST(batch_encoder, rejects_a_known_field_holding_an_unpaired_surrogate) {
  // It would decode to invalid UTF-8, which a protobuf string cannot hold.
  auto r = only_rejected(batch_of({event_with(R"("reason":"x\ud800y")")}));
  EXPECT_EQ(r.reason, "bad_field_type");
  EXPECT_EQ(r.detail,
            "reason: expected a string of valid Unicode, got an unpaired surrogate escape");
  // In a custom arg it is kept verbatim, as received.
  auto e = only_event(batch_of({event_with(R"("note":"x\udc00y")")}));
  EXPECT_EQ(e.custom_args_json(), R"({"note":"x\udc00y"})");
}

TEST(batch_encoder, handles_a_one_megabyte_string) {
  std::string big(1 << 20, 'x');
  big[1000] = '\xc3';  // é, to keep it UTF-8 but not plain ASCII
  big[1001] = '\xa9';
  auto e =
      only_event(batch_of({event_with("\"reason\":\"" + big + "\",\"blob\":\"" + big + "\"")}));
  EXPECT_EQ(e.reason(), big);
  EXPECT_EQ(e.custom_args_json(), "{\"blob\":\"" + big + "\"}");
  std::string escaped = big;
  escaped.replace(5, 1, "\\n");
  EXPECT_EQ(only_event(batch_of({event_with("\"reason\":\"" + escaped + "\"")})).reason().size(),
            big.size());
}

// --- nesting ----------------------------------------------------------------------------

std::string nested_arrays(std::size_t levels) {
  return std::string(levels, '[') + "1" + std::string(levels, ']');
}

TEST(batch_encoder, accepts_nesting_up_to_the_limit) {
  // The batch array is depth 1, the event 2: a custom arg may hold 62 more levels.
  auto e = only_event(batch_of({event_with("\"deep\":" + nested_arrays(max_nesting_depth - 2))}));
  EXPECT_EQ(e.custom_args_json(), "{\"deep\":" + nested_arrays(max_nesting_depth - 2) + "}");
}

TEST(batch_encoder, fails_the_whole_body_beyond_the_nesting_limit) {
  EXPECT_EQ(whole_body_failure(
                batch_of({event_with("\"deep\":" + nested_arrays(max_nesting_depth - 1))})),
            "too_deep");
  // Also where the value is not read, but only checked: a wrongly typed known field.
  EXPECT_EQ(whole_body_failure(batch_of({event_with("\"email\":" + nested_arrays(100000))})),
            "too_deep");
  EXPECT_EQ(whole_body_failure(nested_arrays(100000)), "too_deep");
}

// --- whole-body failures --------------------------------------------------------------

TEST(batch_encoder, accepts_an_empty_array) {
  for (std::string body : {"[]", "[]\r\n", " \r\n\t[ ] \n", "[\r\n]"}) {
    parsed p(body);
    ASSERT_TRUE(p.status) << p.status.error().describe();
    EXPECT_TRUE(p.batch.records.empty());
    EXPECT_TRUE(p.batch.rejected.empty());
  }
}

TEST(batch_encoder, fails_a_body_that_is_not_an_array) {
  for (std::string body :
       {R"({"email":"a@b","event":"open"})", R"("text")", "42", "-1.5", "true", "null"}) {
    EXPECT_EQ(whole_body_failure(body), "not_an_array") << body;
  }
}

TEST(batch_encoder, fails_trailing_content_after_the_array) {
  const std::vector<std::string> bodies = {"[] x",
                                           "[]]",
                                           "[][]",
                                           "[{\"a\":1}]\r\n{}",
                                           "[1] 2",
                                           std::string("[]\r\n\0", 5),
                                           batch_of({event_with("")}) + ",",
                                           "[] \"tail\""};
  for (const auto& body : bodies) {
    EXPECT_EQ(whole_body_failure(body), "trailing_content") << body;
  }
  // ...but a broken array with trailing content is invalid first of all.
  EXPECT_EQ(whole_body_failure("[1,,2] x"), "invalid_json");
}

TEST(batch_encoder, fails_truncated_and_empty_bodies) {
  std::string full = read_data("signed-dropped.body");
  const std::vector<std::string> bodies = {"",
                                           " \r\n",
                                           "[",
                                           "[{",
                                           full.substr(0, full.size() - 3),
                                           full.substr(0, 100),
                                           "[{\"email\":\"a@b"};
  for (const auto& body : bodies) {
    EXPECT_EQ(whole_body_failure(body), "invalid_json") << body;
  }
}

TEST(batch_encoder, fails_syntax_errors_even_in_values_it_does_not_use) {
  const std::string bad_values[] = {
      R"("custom":[1,,2])",   R"("custom":{"a":1,})",     R"("custom":tru)",
      R"("custom":01)",       R"("custom":1.)",           R"("custom":-)",
      R"("custom":"a\x")",    R"("custom":"\u12")",       R"("custom":nul)",
      R"("custom":{"a" 1})",  R"("custom":{"\q":1})",     R"("email":[1 2])",
      R"("email":{"a":[,]})", R"("timestamp":1e)",        R"("tls":truth)",
      R"("k\x":1)",           R"("custom":"\ud800\u12")", R"("custom":[1]])",
  };
  for (const auto& v : bad_values) {
    EXPECT_EQ(whole_body_failure(batch_of({event_with(v)})), "invalid_json") << v;
  }
  for (std::string body : {"[1 2]", "[{\"a\":1} {\"b\":2}]", "[{\"a\" 1}]", "[{\"a\":1,}]", "[1,]",
                           "[\"\x01\"]", "[\"\xff\"]", "[x]", "[:]"}) {
    EXPECT_EQ(whole_body_failure(body), "invalid_json") << body;
  }
}

TEST(batch_encoder, never_reads_past_the_array_it_checks_for_trailing_content) {
  // Found by the fuzzer: the array up to its matching ] was re-parsed in place, so
  // On-Demand took the body's next byte (",") for a separator and walked off the end.
  EXPECT_EQ(whole_body_failure("[[\"\":],\"\":],"), "invalid_json");
  EXPECT_EQ(whole_body_failure("[[\"\":],\"\":]"), "invalid_json");
  EXPECT_EQ(whole_body_failure("[{\"a\":[1,2]"), "invalid_json");
  EXPECT_EQ(whole_body_failure("[[1]"), "invalid_json");
}

TEST(batch_encoder, reports_where_a_syntax_error_is) {
  parsed p(batch_of({event_with(R"("custom":tru)")}));
  ASSERT_FALSE(p.status);
  EXPECT_NE(p.status.error().describe().find("at byte"), std::string::npos)
      << p.status.error().describe();
}

// --- bad events among good ones -------------------------------------------------------

TEST(batch_encoder, rejects_a_bad_event_in_the_middle_and_encodes_the_rest) {
  const std::string bad = R"({"email":5,"event":"bounce","sg_event_id":"bad","timestamp":1})";
  parsed p(batch_of(
      {event_with(R"("sg_event_id":"one")"), bad, event_with(R"("sg_event_id":"three")")}));
  ASSERT_TRUE(p.status) << p.status.error().describe();
  ASSERT_EQ(p.batch.records.size(), 2u);
  EXPECT_EQ(p.event_id(0), "one");
  EXPECT_EQ(p.event_id(1), "three");
  ASSERT_EQ(p.batch.rejected.size(), 1u);
  const auto& r = p.batch.rejected[0];
  EXPECT_EQ(r.index, 1);
  EXPECT_EQ(r.reason, "bad_field_type");
  EXPECT_EQ(r.detail, "email: expected a string, got number");
  EXPECT_EQ(r.raw, bad);
  EXPECT_EQ(r.raw.data(), p.body.data() + p.body.find(bad));  // a view of the body itself
}

TEST(batch_encoder, type_errors_do_not_poison_the_rest_of_the_array) {
  parsed p(batch_of({
      event_with(R"("email":{"nested":["x",{"y":1}]})"),
      event_with(R"("timestamp":[1,2])"),
      event_with(R"("tls":"yes")"),
      event_with(R"("attempt":{})"),
      event_with(R"("url_offset":{"index":"x","type":7,"extra":[1]})"),
      event_with(R"("pool":"name")"),
      event_with(R"("sg_event_id":12)"),
      event_with(R"("event":false)"),
      event_with(R"("sg_machine_open":[])"),
      event_with(R"("status":1.5)"),
      event_with(R"("category":[null])"),
      event_with(R"("sg_event_id":"last")"),
  }));
  ASSERT_TRUE(p.status) << p.status.error().describe();
  ASSERT_EQ(p.batch.rejected.size(), 11u);
  for (std::size_t i = 0; i < p.batch.rejected.size(); ++i) {
    EXPECT_EQ(p.batch.rejected[i].index, static_cast<std::int32_t>(i));
    EXPECT_EQ(p.batch.rejected[i].reason, "bad_field_type") << p.batch.rejected[i].detail;
  }
  EXPECT_EQ(p.batch.rejected[4].detail,
            "url_offset.index: expected an integer or a numeric string, got a string that is not "
            "an integer");
  ASSERT_EQ(p.batch.records.size(), 1u);
  EXPECT_EQ(p.event_id(0), "last");
}

TEST(batch_encoder, rejects_elements_that_are_not_objects) {
  parsed p("[1, \"x\", [1, {\"a\": 2}] ,null,true, " + event_with("") + "]");
  ASSERT_TRUE(p.status) << p.status.error().describe();
  ASSERT_EQ(p.batch.records.size(), 1u);
  ASSERT_EQ(p.batch.rejected.size(), 5u);
  const char* raws[] = {"1", "\"x\"", "[1, {\"a\": 2}]", "null", "true"};
  const char* types[] = {"number", "string", "array", "null", "boolean"};
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(p.batch.rejected[i].index, static_cast<std::int32_t>(i));
    EXPECT_EQ(p.batch.rejected[i].reason, "event_not_object");
    EXPECT_EQ(p.batch.rejected[i].raw, raws[i]);
    EXPECT_EQ(p.batch.rejected[i].detail,
              std::string("event: expected an object, got ") + types[i]);
  }
}

TEST(batch_encoder, rejects_events_missing_required_fields) {
  struct {
    std::string event;
    std::string detail;
  } cases[] = {
      {R"({"email":"a@b","sg_event_id":"x","timestamp":1})", "event: required, missing or empty"},
      {R"({"email":"a@b","event":"","sg_event_id":"x","timestamp":1})",
       "event: required, missing or empty"},
      {R"({"email":"a@b","event":"open","timestamp":1})",
       "sg_event_id: required, missing or empty"},
      {R"({"email":"a@b","event":"open","sg_event_id":"","timestamp":1})",
       "sg_event_id: required, missing or empty"},
      {R"({"event":"open","sg_event_id":"x","timestamp":1})", "email: required, missing or empty"},
      {R"({"email":" \t ","event":"open","sg_event_id":"x","timestamp":1})",
       "email: required, missing or empty"},
      {R"({"email":"a@b","event":"open","sg_event_id":"x"})", "timestamp: required, missing"},
      {R"({"email":"a@b","event":"open","sg_event_id":"x","timestamp":null})",
       "timestamp: required, missing"},
      {R"({})", "event: required, missing or empty"},
  };
  for (const auto& c : cases) {
    auto r = only_rejected(batch_of({c.event}));
    EXPECT_EQ(r.reason, "missing_field") << c.event;
    EXPECT_EQ(r.detail, c.detail) << c.event;
  }
}

TEST(batch_encoder, keeps_the_raw_event_when_asked) {
  const std::string event =
      R"({ "email" : "a@b", "event":"open","sg_event_id":"x","timestamp":1, "c":[1] })";
  auto ctx = context();
  ctx.keep_raw_event = true;
  parsed p("[\r\n  " + event + " \r\n]", ctx);
  ASSERT_EQ(p.batch.records.size(), 1u);
  EXPECT_EQ(p.event(0).raw_json(), event);
  parsed without("[" + event + "]");
  EXPECT_TRUE(without.event(0).raw_json().empty());
}

// --- the encoder object ---------------------------------------------------------------

TEST(batch_encoder, can_be_reused_for_many_bodies) {
  batch_encoder encoder;
  encoded_batch out;
  std::string a = read_data("all-event-types.json");
  std::string b = "[1]";
  std::string c = read_data("signed-dropped.body");
  ASSERT_TRUE(encoder.encode(a, context(), out));
  EXPECT_EQ(out.records.size(), 12u);
  ASSERT_TRUE(encoder.encode(b, context(), out));
  EXPECT_EQ(out.records.size(), 0u);
  EXPECT_EQ(out.rejected.size(), 1u);
  ASSERT_FALSE(encoder.encode(b.append("x"), context(), out));
  ASSERT_TRUE(encoder.encode(c, context(), out));
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_TRUE(out.rejected.empty());
  v1::EmailEvent m;
  ASSERT_TRUE(m.ParseFromArray(out.arena.data() + out.records[0].value_offset,
                               static_cast<int>(out.records[0].value_size)));
  EXPECT_EQ(m.event(), "dropped");
}

TEST(batch_encoder, reserves_the_padding_a_string_body_lacks) {
  std::string body = read_data("signed-dropped.body");
  body.shrink_to_fit();
  batch_encoder encoder;
  encoded_batch out;
  ASSERT_TRUE(encoder.encode(body, context(), out));
  EXPECT_GE(body.capacity(), body.size() + batch_encoder::padding());
  EXPECT_EQ(out.records.size(), 1u);
}

TEST(batch_encoder, takes_a_view_with_explicit_capacity) {
  std::string storage = read_data("signed-dropped.body");
  const std::size_t size = storage.size();
  storage.resize(size + batch_encoder::padding());
  batch_encoder encoder;
  encoded_batch out;
  ASSERT_TRUE(
      encoder.encode(std::string_view(storage.data(), size), storage.size(), context(), out));
  EXPECT_EQ(out.records.size(), 1u);
}

TEST(batch_encoder, json_event_id_is_decoded_for_the_header) {
  parsed p(batch_of({event_with(R"("sg_event_id":"a\/b")")}), context(output_encoding::json));
  ASSERT_EQ(p.batch.records.size(), 1u);
  EXPECT_EQ(p.event_id(0), "a/b");
  EXPECT_NE(p.value(0).find(R"("sg_event_id":"a\/b")"), std::string_view::npos);
}

TEST(batch_errc, has_stable_reason_words) {
  EXPECT_EQ(reason_word(batch_errc::invalid_json), "invalid_json");
  EXPECT_EQ(reason_word(batch_errc::not_an_array), "not_an_array");
  EXPECT_EQ(reason_word(batch_errc::trailing_content), "trailing_content");
  EXPECT_EQ(reason_word(batch_errc::too_deep), "too_deep");
  EXPECT_EQ(reason_word(batch_errc::too_large), "too_large");
  EXPECT_EQ(reason_word(make_error_code(batch_errc::too_deep)), "too_deep");
  EXPECT_EQ(reason_word(std::make_error_code(std::errc::invalid_argument)), "unknown");
  EXPECT_STREQ(make_error_code(batch_errc::invalid_json).category().name(), "webhook.batch");
}

}  // namespace
}  // namespace mailhook::webhook
