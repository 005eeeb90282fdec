// Send requests and integrations the Mail Send tests share, and readers of a JSON body.
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "config/daemon_config.h"
#include "mailhook/v1/send.pb.h"

namespace mailhook::sender::fixtures {

using namespace std::chrono_literals;
namespace dom = simdjson::dom;

inline v1::Recipient recipient(const std::string& email, const std::string& name = "") {
  v1::Recipient r;
  r.set_email(email);
  r.set_name(name);
  return r;
}

inline std::vector<v1::Recipient> recipients_of(const v1::SendRequest& request) {
  return {request.to().begin(), request.to().end()};
}

inline v1::SendRequest content_request() {
  v1::SendRequest r;
  r.set_request_id("r-1");
  r.set_tenant("acme");
  *r.add_to() = recipient("ann@example.com", "Ann");
  r.set_subject("Hi");
  auto* html = r.add_content();
  html->set_type("text/html");
  html->set_value("<p>Hi</p>");
  auto* plain = r.add_content();
  plain->set_type("text/plain");
  plain->set_value("Hi");
  r.add_categories("welcome");
  (*r.mutable_custom_args())["user"] = "42";
  return r;
}

inline v1::SendRequest template_request() {
  v1::SendRequest r;
  r.set_request_id("r-2");
  r.set_tenant("acme");
  *r.add_to() = recipient("ann@example.com");
  *r.add_to() = recipient("bob@example.com", "Bob");
  r.set_template_id("d-0123456789abcdef");
  r.set_dynamic_template_data_json("{ \"name\" : \"Ann\",\n \"n\": [1, 2.50] }");
  return r;
}

inline config::integration_config integration_for(const std::string& api_url = "https://x.test") {
  config::integration_config i;
  i.name = "acme-main";
  i.tenant = "acme";
  i.from_email = "news@acme.test";
  i.from_name = "Acme";
  i.reply_to_email = "help@acme.test";
  i.default_asm_group = 7;
  i.api_url = api_url;
  i.timeout = 10s;
  return i;
}

inline dom::element parse(dom::parser& parser, const std::string& json) {
  dom::element doc;
  EXPECT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  return doc;
}

inline bool has_key(dom::element object, std::string_view key) {
  dom::element ignored;
  return object[key].get(ignored) == simdjson::SUCCESS;
}

inline std::string text(simdjson::simdjson_result<dom::element> value) {
  std::string_view s;
  if (value.get_string().get(s) != simdjson::SUCCESS) return "<not a string>";
  return std::string(s);
}

}  // namespace mailhook::sender::fixtures
