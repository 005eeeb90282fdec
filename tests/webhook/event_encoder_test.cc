// Tests for the hand-written EmailEvent / DeadLetter encoders: the bytes must be what
// protobuf itself would write, and the JSON must parse back into the same message.
#include "webhook/event_encoder.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "email/address.h"
#include "mailhook/v1/email_event.pb.h"
#include "webhook/test_context.h"

namespace mailhook::webhook {
namespace {

using google::protobuf::util::MessageDifferencer;

batch_context context(output_encoding encoding = output_encoding::protobuf) {
  return testing::test_context(encoding);
}

struct one_record {
  byte_buffer arena;
  encoded_record record;

  std::string_view key() const { return {arena.data() + record.key_offset, record.key_size}; }
  std::string_view value() const { return {arena.data() + record.value_offset, record.value_size}; }
  std::string_view event_id() const {
    return {arena.data() + record.event_id_offset, record.event_id_size};
  }
};

// Encodes `event` as the parser hands it over: with its address normalized.
one_record encode(const batch_context& ctx, const parsed_event& event) {
  parsed_event e = event;
  std::string normalized;
  if (auto n = email::normalize_address(e.email.text, normalized)) e.email_normalized = n->str();
  one_record r;
  record_writer w(r.arena);
  EXPECT_TRUE(w.append(ctx, email::classify_event(e.event.text), e, r.record));
  return r;
}

v1::EmailEvent from_protobuf(std::string_view bytes) {
  v1::EmailEvent m;
  EXPECT_TRUE(m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  return m;
}

v1::EmailEvent from_json(std::string_view json) {
  v1::EmailEvent m;
  auto status = google::protobuf::util::JsonStringToMessage(std::string(json), &m);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return m;
}

// An event with every field set, and the message protobuf builds from the same values.
struct full_event {
  std::vector<json_string> categories{json_string::plain("cat facts"), json_string::plain("")};
  std::vector<raw_member> custom{{"userid", "\"1123\""}, {"nested", "{\"a\": [1, 2]}"}};
  parsed_event e;
  v1::EmailEvent expected;

  full_event() {
    e.event = json_string::plain("click");
    e.sg_event_id = json_string::plain("ZXZlbnQtY2xpY2s");
    e.sg_message_id = json_string::plain("14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0");
    e.smtp_id = json_string::plain("<14c5d75ce93.dfd.64b469@ismtpd-555>");
    e.email = json_string::plain(" Alex@Example.COM ");
    e.reason = json_string::plain("500 unknown recipient");
    e.status = json_string::plain("5.0.0");
    e.response = json_string::plain("250 OK");
    e.bounce_type = json_string::plain("bounce");
    e.bounce_classification = json_string::plain("Invalid Address");
    e.ip = json_string::plain("255.255.255.255");
    e.useragent = json_string::plain("Mozilla/5.0");
    e.url = json_string::plain("http://www.sendgrid.com/");
    e.marketing_campaign_id = json_string::plain("12345");
    e.marketing_campaign_name = json_string::plain("campaign name");
    e.timestamp = 1513299569;
    e.attempt = 5;
    e.asm_group_id = 10;
    e.send_at = 1591726752372;
    e.tls = true;
    e.sg_machine_open = false;
    e.category = categories;
    e.has_url_offset = true;
    e.url_offset_index = 3;
    e.url_offset_type = json_string::plain("html");
    e.has_pool = true;
    e.pool_name = json_string::plain("new_MY_test");
    e.pool_id = 210;
    e.custom_args = custom;
    e.raw_json = R"({"event":"click"})";

    expected.set_tenant("acme");
    expected.set_source("main");
    expected.set_received_at_ms(1700000000123);
    expected.set_type(v1::EVENT_TYPE_CLICK);
    expected.set_event("click");
    expected.set_timestamp(1513299569);
    expected.set_sg_event_id("ZXZlbnQtY2xpY2s");
    expected.set_sg_message_id("14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0");
    expected.set_smtp_id("<14c5d75ce93.dfd.64b469@ismtpd-555>");
    expected.set_email(" Alex@Example.COM ");
    expected.set_email_normalized("alex@example.com");
    expected.add_category("cat facts");
    expected.add_category("");
    expected.set_reason("500 unknown recipient");
    expected.set_status("5.0.0");
    expected.set_response("250 OK");
    expected.set_attempt(5);
    expected.set_bounce_type("bounce");
    expected.set_bounce_classification("Invalid Address");
    expected.set_asm_group_id(10);
    expected.set_tls(true);
    expected.set_ip("255.255.255.255");
    expected.set_useragent("Mozilla/5.0");
    expected.set_url("http://www.sendgrid.com/");
    expected.mutable_url_offset()->set_index(3);
    expected.mutable_url_offset()->set_type("html");
    expected.set_sg_machine_open(false);
    expected.mutable_pool()->set_name("new_MY_test");
    expected.mutable_pool()->set_id(210);
    expected.set_send_at(1591726752372);
    expected.set_marketing_campaign_id("12345");
    expected.set_marketing_campaign_name("campaign name");
    expected.set_custom_args_json(R"({"userid":"1123","nested":{"a": [1, 2]}})");
  }
};

TEST(record_writer, writes_the_bytes_protobuf_itself_would_write) {
  full_event f;
  auto r = encode(context(), f.e);
  EXPECT_EQ(r.value(), f.expected.SerializeAsString());
  EXPECT_TRUE(MessageDifferencer::Equals(from_protobuf(r.value()), f.expected));
  EXPECT_EQ(r.key(), "acme/alex@example.com");
  EXPECT_EQ(r.event_id(), "ZXZlbnQtY2xpY2s");
  EXPECT_EQ(r.record.type, event_type::click);
}

TEST(record_writer, adds_raw_json_only_when_asked) {
  full_event f;
  auto ctx = context();
  ctx.keep_raw_event = true;
  f.expected.set_raw_json(R"({"event":"click"})");
  EXPECT_EQ(encode(ctx, f.e).value(), f.expected.SerializeAsString());
}

TEST(record_writer, writes_present_optional_zeros_and_skips_plain_zeros) {
  parsed_event e;
  e.event = json_string::plain("deferred");
  e.sg_event_id = json_string::plain("id");
  e.email = json_string::plain("a@b");
  e.timestamp = 0;  // int64, not optional: zero is not written
  e.attempt = 0;
  e.asm_group_id = 0;
  e.send_at = 0;
  e.tls = false;
  e.sg_machine_open = false;
  auto m = from_protobuf(encode(context(), e).value());
  EXPECT_TRUE(m.has_attempt());
  EXPECT_TRUE(m.has_asm_group_id());
  EXPECT_TRUE(m.has_send_at());
  EXPECT_TRUE(m.has_tls());
  EXPECT_TRUE(m.has_sg_machine_open());
  EXPECT_EQ(m.send_at(), 0);
  EXPECT_FALSE(m.tls());

  parsed_event absent;
  absent.event = json_string::plain("deferred");
  auto n = from_protobuf(encode(context(), absent).value());
  EXPECT_FALSE(n.has_attempt());
  EXPECT_FALSE(n.has_tls());
  EXPECT_FALSE(n.has_url_offset());
  EXPECT_FALSE(n.has_pool());
}

TEST(record_writer, writes_negative_integers_as_protobuf_does) {
  parsed_event e;
  e.event = json_string::plain("open");
  e.timestamp = -1;
  e.attempt = std::numeric_limits<std::int64_t>::min();
  e.has_pool = true;
  e.pool_id = -210;
  v1::EmailEvent expected;
  expected.set_tenant("acme");
  expected.set_source("main");
  expected.set_received_at_ms(1700000000123);
  expected.set_type(v1::EVENT_TYPE_OPEN);
  expected.set_event("open");
  expected.set_timestamp(-1);
  expected.set_attempt(std::numeric_limits<std::int64_t>::min());
  expected.mutable_pool()->set_id(-210);
  EXPECT_EQ(encode(context(), e).value(), expected.SerializeAsString());
}

TEST(record_writer, writes_an_empty_submessage_when_the_object_was_empty) {
  parsed_event e;
  e.event = json_string::plain("click");
  e.has_url_offset = true;
  e.has_pool = true;
  auto m = from_protobuf(encode(context(), e).value());
  EXPECT_TRUE(m.has_url_offset());
  EXPECT_TRUE(m.has_pool());
}

TEST(record_writer, key_has_a_trailing_slash_without_an_address) {
  parsed_event e;
  e.event = json_string::plain("account_status_change");
  e.sg_event_id = json_string::plain("id");
  auto r = encode(context(), e);
  EXPECT_EQ(r.key(), "acme/");
  EXPECT_EQ(r.record.type, event_type::account_status_change);
}

TEST(record_writer, json_output_parses_back_to_the_protobuf_message) {
  full_event f;
  auto json = encode(context(output_encoding::json), f.e);
  EXPECT_TRUE(MessageDifferencer::Equals(from_json(json.value()), f.expected)) << json.value();
  EXPECT_EQ(json.key(), "acme/alex@example.com");
  EXPECT_EQ(json.event_id(), "ZXZlbnQtY2xpY2s");
}

TEST(record_writer, json_output_escapes_what_did_not_come_from_the_body) {
  // Tenant and source come from configuration; custom args and raw_json are JSON text
  // embedded in a string; the decoded address needs escaping again when lower-cased.
  batch_context ctx = context(output_encoding::json);
  ctx.tenant = "te\"n\\ant\x01";
  ctx.source = "line\nbreak";
  ctx.keep_raw_event = true;
  std::vector<raw_member> custom{{"k\\\"ey", "\"v\\u00e9\""}, {"n", "{\n  \"x\": null\n}"}};
  parsed_event e;
  e.event = json_string::plain("open");
  e.sg_event_id = {"id\"1", "id\\\"1"};
  e.email = {"\"Q\"@X.ORG", "\\\"Q\\\"@X.ORG"};
  e.custom_args = custom;
  e.raw_json = "{\"a\":\"\\\"\"\r\n}";
  auto r = encode(ctx, e);
  auto m = from_json(r.value());
  EXPECT_EQ(m.tenant(), ctx.tenant);
  EXPECT_EQ(m.source(), ctx.source);
  EXPECT_EQ(m.sg_event_id(), "id\"1");
  EXPECT_EQ(m.email(), "\"Q\"@X.ORG");
  EXPECT_EQ(m.email_normalized(), "\"q\"@x.org");
  EXPECT_EQ(m.custom_args_json(), "{\"k\\\"ey\":\"v\\u00e9\",\"n\":{\n  \"x\": null\n}}");
  EXPECT_EQ(m.raw_json(), e.raw_json);
  // The header gets the decoded id even though the JSON value holds it escaped.
  EXPECT_EQ(r.event_id(), "id\"1");
}

TEST(record_writer, json_output_escapes_long_texts_at_every_offset) {
  // Long texts are escaped 16 bytes at a time: put each special byte at each offset.
  for (char special : {'"', '\\', '\n', '\x01', '\x1f', '\x7f', 'x'}) {
    for (std::size_t at = 0; at < 40; ++at) {
      std::string text(40, 'a');
      text[at] = special;
      text += "\xc3\xa9 tail";  // UTF-8 passes through
      batch_context ctx = context(output_encoding::json);
      ctx.tenant = text;
      ctx.keep_raw_event = true;
      parsed_event e;
      e.event = json_string::plain("open");
      e.raw_json = text;
      auto m = from_json(encode(ctx, e).value());
      ASSERT_EQ(m.tenant(), text) << at;
      ASSERT_EQ(m.raw_json(), text) << at;
    }
  }
}

TEST(record_writer, json_output_writes_every_integer_width) {
  for (std::int64_t v :
       {std::numeric_limits<std::int64_t>::min(), std::int64_t{-1000000000000}, std::int64_t{-10},
        std::int64_t{-9}, std::int64_t{-1}, std::int64_t{0}, std::int64_t{1}, std::int64_t{9},
        std::int64_t{10}, std::int64_t{99}, std::int64_t{100}, std::int64_t{999999999999999999},
        std::int64_t{1000000000000000000}, std::numeric_limits<std::int64_t>::max()}) {
    parsed_event e;
    e.event = json_string::plain("open");
    e.timestamp = v;
    e.attempt = v;
    e.has_pool = true;
    e.pool_id = v;
    auto m = from_json(encode(context(output_encoding::json), e).value());
    EXPECT_EQ(m.timestamp(), v);
    EXPECT_EQ(m.attempt(), v);
    EXPECT_EQ(m.pool().id(), v);
    EXPECT_EQ(encode(context(), e).value(), m.SerializeAsString());
  }
}

TEST(record_writer, keeps_offsets_valid_while_the_arena_grows) {
  byte_buffer arena;
  std::vector<encoded_record> records;
  std::vector<std::string> ids;
  {
    record_writer w(arena);
    for (int i = 0; i < 5000; ++i) {
      ids.push_back("id-" + std::to_string(i));
      parsed_event e;
      e.event = json_string::plain("open");
      e.sg_event_id = json_string::plain(ids.back());
      e.email = json_string::plain("a@b");
      encoded_record r;
      ASSERT_TRUE(w.append(context(), event_type::open, e, r));
      records.push_back(r);
      // The arena holds exactly the records written so far.
      ASSERT_EQ(arena.size(), std::size_t{r.value_offset} + r.value_size);
    }
  }
  ASSERT_EQ(arena.size(), std::size_t{records.back().value_offset} + records.back().value_size);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    ASSERT_LE(std::size_t{r.value_offset} + r.value_size, arena.size());
    auto m = from_protobuf(std::string_view(arena.data() + r.value_offset, r.value_size));
    EXPECT_EQ(m.sg_event_id(), ids[i]);
    EXPECT_EQ(std::string_view(arena.data() + r.event_id_offset, r.event_id_size), ids[i]);
  }
}

TEST(encode_dead_letter, writes_a_dead_letter_message) {
  std::string payload;
  for (int c = 0; c < 256; ++c) payload.push_back(static_cast<char>(c));
  std::string key, value;
  encode_dead_letter(context(), "bad_field_type", "email: expected a string, got number", payload,
                     7, key, value);
  EXPECT_EQ(key, "acme/main");
  v1::DeadLetter expected;
  expected.set_tenant("acme");
  expected.set_source("main");
  expected.set_received_at_ms(1700000000123);
  expected.set_reason("bad_field_type");
  expected.set_detail("email: expected a string, got number");
  expected.set_payload(payload);
  expected.set_event_index(7);
  EXPECT_EQ(value, expected.SerializeAsString());
}

TEST(encode_dead_letter, a_part_of_a_split_payload_says_which_and_of_what_in_both_encodings) {
  const std::string digest(32, '\x5a');
  payload_part part;
  part.part = 2;
  part.parts = 3;
  part.payload_size = 1'500'000;
  part.payload_sha256 = digest;
  v1::DeadLetter expected;
  expected.set_tenant("acme");
  expected.set_source("main");
  expected.set_received_at_ms(1700000000123);
  expected.set_reason("invalid_json");
  expected.set_detail("d");
  expected.set_payload("tail");
  expected.set_event_index(-1);
  expected.set_part(2);
  expected.set_parts(3);
  expected.set_payload_size(1'500'000);
  expected.set_payload_sha256(digest);
  std::string key, value;
  encode_dead_letter(context(), "invalid_json", "d", "tail", -1, key, value, part);
  EXPECT_EQ(value, expected.SerializeAsString());
  encode_dead_letter(context(output_encoding::json), "invalid_json", "d", "tail", -1, key, value,
                     part);
  v1::DeadLetter from_json;
  auto status = google::protobuf::util::JsonStringToMessage(value, &from_json);
  ASSERT_TRUE(status.ok()) << status.ToString() << "\n" << value;
  EXPECT_TRUE(MessageDifferencer::Equals(from_json, expected)) << value;
}

TEST(encode_dead_letter, writes_index_minus_one_for_a_whole_body) {
  std::string key, value;
  encode_dead_letter(context(), "invalid_json", "x", "[", -1, key, value);
  v1::DeadLetter m;
  ASSERT_TRUE(m.ParseFromString(value));
  EXPECT_EQ(m.event_index(), -1);
  EXPECT_EQ(m.payload(), "[");
}

TEST(encode_dead_letter, json_output_parses_back_with_a_base64_payload) {
  for (std::string payload : {std::string(), std::string("a"), std::string("ab"),
                              std::string("abc"), std::string("\xff\x00\x80[\"\r\n", 7)}) {
    std::string key = "stale", value = "stale";
    encode_dead_letter(context(output_encoding::json), "not_an_array", "the body is a \"string\"",
                       payload, -1, key, value);
    EXPECT_EQ(key, "acme/main");
    v1::DeadLetter m;
    auto status = google::protobuf::util::JsonStringToMessage(value, &m);
    ASSERT_TRUE(status.ok()) << status.ToString() << "\n" << value;
    EXPECT_EQ(m.payload(), payload);
    EXPECT_EQ(m.reason(), "not_an_array");
    EXPECT_EQ(m.detail(), "the body is a \"string\"");
    EXPECT_EQ(m.event_index(), -1);
    EXPECT_EQ(m.tenant(), "acme");
    EXPECT_EQ(m.received_at_ms(), 1700000000123);
  }
}

}  // namespace
}  // namespace mailhook::webhook
