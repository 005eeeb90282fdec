// The checks a SendRequest passes before a call and the Mail Send body built from it, as
// pure functions; the body read back with a JSON parser.
#include "sender/mail_send_request.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "sender/send_request_fixtures.h"

namespace mailhook::sender {
namespace {

using namespace mailhook::sender::fixtures;

// ---- mail_send_body ----

TEST(mail_send_body, lays_out_a_content_request_as_sendgrid_documents_it) {
  const auto request = content_request();
  EXPECT_EQ(
      mail_send_body(request, recipients_of(request), integration_for()),
      R"({"personalizations":[{"to":[{"email":"ann@example.com","name":"Ann"}]}],)"
      R"("from":{"email":"news@acme.test","name":"Acme"},)"
      R"("reply_to":{"email":"help@acme.test"},"subject":"Hi",)"
      R"("content":[{"type":"text/plain","value":"Hi"},{"type":"text/html","value":"<p>Hi</p>"}],)"
      R"("asm":{"group_id":7},"categories":["welcome"],)"
      R"("custom_args":{"user":"42","mailhook_request_id":"r-1","mailhook_tenant":"acme"}})");
}

TEST(mail_send_body, gives_each_recipient_a_personalization_with_the_template_data) {
  const auto request = template_request();
  const std::string body = mail_send_body(request, recipients_of(request), integration_for());
  dom::parser parser;
  const dom::element doc = parse(parser, body);
  dom::array personalizations;
  ASSERT_EQ(doc["personalizations"].get_array().get(personalizations), simdjson::SUCCESS);
  ASSERT_EQ(personalizations.size(), 2u);
  EXPECT_EQ(text(personalizations.at(0)["to"].at(0)["email"]), "ann@example.com");
  EXPECT_FALSE(has_key(personalizations.at(0)["to"].at(0), "name"));
  EXPECT_EQ(text(personalizations.at(1)["to"].at(0)["email"]), "bob@example.com");
  EXPECT_EQ(text(personalizations.at(1)["to"].at(0)["name"]), "Bob");
  for (dom::element p : personalizations) {
    EXPECT_EQ(text(p["dynamic_template_data"]["name"]), "Ann");
  }
  // The template data is carried compact, with its tokens as written (2.50 stays 2.50).
  const std::string data = R"("dynamic_template_data":{"name":"Ann","n":[1,2.50]})";
  ASSERT_NE(body.find(data), std::string::npos) << body;
  EXPECT_NE(body.find(data, body.find(data) + 1), std::string::npos) << body;
  EXPECT_EQ(text(doc["template_id"]), "d-0123456789abcdef");
  EXPECT_FALSE(has_key(doc, "subject"));
  EXPECT_FALSE(has_key(doc, "content"));
  EXPECT_FALSE(has_key(doc, "categories"));
}

TEST(mail_send_body, sends_only_the_recipients_it_is_given) {
  const auto request = template_request();
  const std::string body = mail_send_body(request, {request.to(1)}, integration_for());
  dom::parser parser;
  const dom::element doc = parse(parser, body);
  dom::array personalizations;
  ASSERT_EQ(doc["personalizations"].get_array().get(personalizations), simdjson::SUCCESS);
  ASSERT_EQ(personalizations.size(), 1u);
  EXPECT_EQ(text(personalizations.at(0)["to"].at(0)["email"]), "bob@example.com");
}

TEST(mail_send_body, escapes_quotes_backslashes_line_breaks_and_control_characters) {
  auto request = content_request();
  const std::string subject =
      "He said \"hi\"\r\nC:\\path\ttab \x01 caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80";
  request.set_subject(subject);
  *request.mutable_to(0) = recipient("ann@example.com", "O\"Brien, Ann");
  auto integration = integration_for();
  integration.from_name = "Acme \"News\"";
  const std::string body = mail_send_body(request, recipients_of(request), integration);

  EXPECT_NE(body.find(R"(He said \"hi\"\r\nC:\\path\ttab \u0001 café ✓ 😀)"), std::string::npos)
      << body;
  dom::parser parser;
  const dom::element doc = parse(parser, body);
  EXPECT_EQ(text(doc["subject"]), subject);
  EXPECT_EQ(text(doc["from"]["name"]), "Acme \"News\"");
  EXPECT_EQ(text(doc["personalizations"].at(0)["to"].at(0)["name"]), "O\"Brien, Ann");
}

TEST(mail_send_body, the_request_asm_group_wins_over_the_integration_default) {
  auto request = content_request();
  auto integration = integration_for();
  dom::parser parser;

  request.set_asm_group_id(42);
  std::string body = mail_send_body(request, recipients_of(request), integration);
  EXPECT_EQ(simdjson::minify(parse(parser, body)["asm"]), R"({"group_id":42})");

  request.set_asm_group_id(0);
  body = mail_send_body(request, recipients_of(request), integration);
  EXPECT_EQ(simdjson::minify(parse(parser, body)["asm"]), R"({"group_id":7})");

  integration.default_asm_group = 0;
  body = mail_send_body(request, recipients_of(request), integration);
  EXPECT_FALSE(has_key(parse(parser, body), "asm")) << body;
}

TEST(mail_send_body, has_no_reply_to_when_the_integration_sets_none) {
  auto request = content_request();
  auto integration = integration_for();
  integration.reply_to_email.clear();
  integration.reply_to_name = "ignored without an email";
  integration.from_name.clear();
  const std::string body = mail_send_body(request, recipients_of(request), integration);
  dom::parser parser;
  const dom::element doc = parse(parser, body);
  EXPECT_FALSE(has_key(doc, "reply_to")) << body;
  EXPECT_FALSE(has_key(doc, "reply_to_list")) << body;
  EXPECT_EQ(simdjson::minify(doc["from"]), R"({"email":"news@acme.test"})");
}

TEST(mail_send_body, reply_to_carries_its_name) {
  auto request = content_request();
  auto integration = integration_for();
  integration.reply_to_name = "Help desk";
  const std::string body = mail_send_body(request, recipients_of(request), integration);
  dom::parser parser;
  EXPECT_EQ(simdjson::minify(parse(parser, body)["reply_to"]),
            R"({"email":"help@acme.test","name":"Help desk"})");
}

TEST(mail_send_body, adds_request_id_and_tenant_to_the_custom_args) {
  auto request = content_request();
  (*request.mutable_custom_args())["campaign"] = "spring \"sale\"";
  const std::string body = mail_send_body(request, recipients_of(request), integration_for());
  dom::parser parser;
  const dom::element args = parse(parser, body)["custom_args"];
  EXPECT_EQ(text(args["user"]), "42");
  EXPECT_EQ(text(args["campaign"]), "spring \"sale\"");
  EXPECT_EQ(text(args["mailhook_request_id"]), "r-1");
  EXPECT_EQ(text(args["mailhook_tenant"]), "acme");
}

TEST(mail_send_body, puts_text_plain_first_then_text_html_then_the_rest) {
  v1::SendRequest request = content_request();
  request.clear_content();
  for (const char* type : {"text/calendar", "text/html", "TEXT/PLAIN; charset=utf-8"}) {
    auto* c = request.add_content();
    c->set_type(type);
    c->set_value(std::string("v ") + type);
  }
  const std::string body = mail_send_body(request, recipients_of(request), integration_for());
  dom::parser parser;
  dom::array content;
  ASSERT_EQ(parse(parser, body)["content"].get_array().get(content), simdjson::SUCCESS);
  ASSERT_EQ(content.size(), 3u);
  EXPECT_EQ(text(content.at(0)["type"]), "TEXT/PLAIN; charset=utf-8");
  EXPECT_EQ(text(content.at(1)["type"]), "text/html");
  EXPECT_EQ(text(content.at(2)["type"]), "text/calendar");
}

// ---- invalid_request ----

TEST(invalid_request, accepts_a_complete_content_request) {
  EXPECT_EQ(invalid_request(content_request()), std::nullopt);
}

TEST(invalid_request, accepts_a_template_request_without_subject_or_content) {
  EXPECT_EQ(invalid_request(template_request()), std::nullopt);
}

// The reason for `request`, or "" when it is accepted.
std::string reason(const v1::SendRequest& request) {
  return invalid_request(request).value_or("");
}

TEST(invalid_request, requires_request_id_and_tenant) {
  auto r = content_request();
  r.clear_request_id();
  EXPECT_EQ(reason(r), "request_id is missing");
  r = content_request();
  r.set_tenant(" ");
  EXPECT_EQ(reason(r), "tenant is missing");
}

TEST(invalid_request, requires_a_recipient_with_an_email) {
  auto r = content_request();
  r.clear_to();
  EXPECT_EQ(reason(r), "no recipient in to");
  r = content_request();
  *r.add_to() = recipient("", "Nobody");
  EXPECT_EQ(reason(r), "to[1] has no email");
}

TEST(invalid_request, allows_at_most_1000_recipients) {
  auto r = content_request();
  r.clear_to();
  for (int i = 0; i < 1000; ++i) *r.add_to() = recipient("u" + std::to_string(i) + "@x.test");
  EXPECT_EQ(reason(r), "");
  *r.add_to() = recipient("one-more@x.test");
  EXPECT_EQ(reason(r), "1001 recipients in to, more than Mail Send's 1000");
}

TEST(invalid_request, requires_subject_and_content_unless_a_template_is_named) {
  const struct {
    void (*clear)(v1::SendRequest&);
    std::string_view reason;
  } cases[] = {
      {[](v1::SendRequest& r) { r.clear_subject(); },
       "subject is missing (required without template_id)"},
      {[](v1::SendRequest& r) { r.clear_content(); },
       "content is missing (required without template_id)"},
  };
  for (const auto& c : cases) {
    auto r = content_request();
    c.clear(r);
    EXPECT_EQ(reason(r), c.reason);
    r.set_template_id("d-1");
    EXPECT_EQ(reason(r), "");
  }
}

TEST(invalid_request, requires_type_and_value_of_each_content) {
  auto r = content_request();
  r.mutable_content(1)->clear_type();
  EXPECT_EQ(reason(r), "content[1] has no type");
  r = content_request();
  r.mutable_content(0)->clear_value();
  EXPECT_EQ(reason(r), "content[0] has no value");
}

TEST(invalid_request, requires_dynamic_template_data_to_be_a_json_object) {
  auto r = template_request();
  r.set_dynamic_template_data_json("[1,2]");
  EXPECT_EQ(reason(r), "dynamic_template_data_json is not a JSON object");
  r.set_dynamic_template_data_json("{\"a\":");
  EXPECT_EQ(reason(r).rfind("dynamic_template_data_json is not valid JSON", 0), 0u) << reason(r);
  r.set_dynamic_template_data_json("{\"a\":1} trailing");
  EXPECT_NE(reason(r), "");
  r.set_dynamic_template_data_json("{}");
  EXPECT_EQ(reason(r), "");
}

TEST(invalid_request, allows_ten_categories_of_255_bytes_at_most) {
  auto r = content_request();
  r.clear_categories();
  for (int i = 0; i < 10; ++i) r.add_categories("c" + std::to_string(i));
  EXPECT_EQ(reason(r), "");
  r.add_categories("c10");
  EXPECT_EQ(reason(r), "11 categories, more than Mail Send's 10");

  r.clear_categories();
  r.add_categories(std::string(255, 'a'));
  EXPECT_EQ(reason(r), "");
  r.add_categories(std::string(256, 'b'));
  EXPECT_EQ(reason(r), "categories[1] is 256 bytes, more than Mail Send's 255");
  r.clear_categories();
  r.add_categories("");
  EXPECT_EQ(reason(r), "categories[0] is empty");
}

TEST(invalid_request, keeps_custom_args_with_mailhooks_own_under_10000_bytes) {
  auto r = content_request();
  r.clear_custom_args();
  // Mailhook adds "mailhook_request_id" + "r-1" + "mailhook_tenant" + "acme": 41 bytes.
  const std::size_t own = 19 + 3 + 15 + 4;
  (*r.mutable_custom_args())["k"] = std::string(max_custom_args_bytes - own - 2, 'v');
  EXPECT_EQ(reason(r), "");
  (*r.mutable_custom_args())["k"] += "v";
  EXPECT_EQ(reason(r),
            "custom_args are 10000 bytes with mailhook's own, Mail Send allows less than 10000");
}

TEST(invalid_request, refuses_custom_args_that_would_overwrite_mailhooks_own) {
  auto r = content_request();
  (*r.mutable_custom_args())["mailhook_tenant"] = "someone-else";
  EXPECT_EQ(reason(r), "custom_args key 'mailhook_tenant' is reserved for mailhook");
}

TEST(invalid_request, refuses_text_that_is_not_utf8_and_negative_groups) {
  auto r = content_request();
  r.set_subject("caf\xE9");
  EXPECT_EQ(reason(r), "subject is not valid UTF-8");
  r = content_request();
  r.mutable_to(0)->set_name("\xC3");
  EXPECT_EQ(reason(r), "to[0] is not valid UTF-8");
  r = content_request();
  (*r.mutable_custom_args())["k"] = "\xFF";
  EXPECT_EQ(reason(r), "custom_args are not valid UTF-8");
  r = content_request();
  r.set_asm_group_id(-1);
  EXPECT_EQ(reason(r), "asm_group_id is negative");
}

}  // namespace
}  // namespace mailhook::sender
