// Where the CLI's admin client goes: admin URLs given on the command line, and the URL of
// a daemon's admin port read from its configuration. (The client's wire behaviour is the
// shared HTTP client's: tests/http/client_test.cc.)
#include "app/admin_client.h"

#include <gtest/gtest.h>

namespace mailhook::app {
namespace {

TEST(parse_admin_url, takes_http_and_https_with_or_without_a_scheme) {
  auto plain = parse_admin_url("127.0.0.1:9464", "/ignored/for/http.pem");
  ASSERT_TRUE(plain) << plain.error().describe();
  EXPECT_EQ(plain->url.origin(), "http://127.0.0.1:9464");
  EXPECT_EQ(plain->ca_file, "");

  auto secure = parse_admin_url("https://[::1]:9443/", "/etc/mailhook/admin-ca.pem");
  ASSERT_TRUE(secure) << secure.error().describe();
  EXPECT_EQ(secure->url.origin(), "https://[::1]:9443");
  EXPECT_EQ(secure->ca_file, "/etc/mailhook/admin-ca.pem");
}

TEST(parse_admin_url, refuses_a_path_and_names_the_url) {
  for (const char* text : {"http://127.0.0.1:9464/v1", "ftp://127.0.0.1:1", "http://h:0",
                           "http://127.0.0.1", "https://[::1]", "localhost"}) {
    auto url = parse_admin_url(text);
    ASSERT_FALSE(url) << text;
    EXPECT_NE(url.error().describe().find(std::string("admin URL '") + text + "'"),
              std::string::npos)
        << url.error().describe();
  }
}

TEST(admin_url_of, reaches_a_wildcard_listener_through_loopback) {
  config::admin_config admin;
  admin.listen = {"0.0.0.0", 9464};
  auto v4 = admin_url_of(admin, "mailhook.toml");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->url.origin(), "http://127.0.0.1:9464");
  admin.listen = {"::", 9464};
  auto v6 = admin_url_of(admin, "mailhook.toml");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->url.origin(), "http://[::1]:9464");
}

TEST(admin_url_of, speaks_https_to_a_tls_admin_port_trusting_its_certificate_by_default) {
  config::admin_config admin;
  admin.listen = {"127.0.0.1", 9443};
  admin.tls.certificate = "/etc/mailhook/admin.crt";
  auto own = admin_url_of(admin, "mailhook.toml");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->url.origin(), "https://127.0.0.1:9443");
  EXPECT_EQ(own->ca_file, "/etc/mailhook/admin.crt");
  auto given = admin_url_of(admin, "mailhook.toml", "/etc/ssl/private-ca.pem");
  ASSERT_TRUE(given);
  EXPECT_EQ(given->ca_file, "/etc/ssl/private-ca.pem");
}

TEST(admin_url_of, refuses_port_0_naming_the_file) {
  config::admin_config admin;
  admin.listen = {"127.0.0.1", 0};
  auto url = admin_url_of(admin, "mailhook.toml");
  ASSERT_FALSE(url);
  EXPECT_NE(url.error().describe().find("mailhook.toml: admin.listen has port 0"),
            std::string::npos);
}

}  // namespace
}  // namespace mailhook::app
