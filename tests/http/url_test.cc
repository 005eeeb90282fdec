// The URLs the HTTP client calls, taken apart; one table of good forms, one of bad ones.
#include "http/url.h"

#include <gtest/gtest.h>

namespace mailhook::http {
namespace {

struct good_url {
  const char* text;
  bool tls;
  const char* host;
  std::uint16_t port;
  const char* path;
  const char* origin;
  const char* host_header;
};

TEST(parse_url, takes_apart_every_form_it_accepts) {
  const good_url cases[] = {
      {"https://api.sendgrid.com", true, "api.sendgrid.com", 443, "",
       "https://api.sendgrid.com:443", "api.sendgrid.com"},
      {"HTTPS://api.sendgrid.com/", true, "api.sendgrid.com", 443, "",
       "https://api.sendgrid.com:443", "api.sendgrid.com"},
      {"http://127.0.0.1:9464", false, "127.0.0.1", 9464, "", "http://127.0.0.1:9464",
       "127.0.0.1:9464"},
      {"http://localhost:80/base//", false, "localhost", 80, "/base", "http://localhost:80",
       "localhost"},
      {"https://[::1]:8443/v1", true, "::1", 8443, "/v1", "https://[::1]:8443", "[::1]:8443"},
      {"https://[::1]", true, "::1", 443, "", "https://[::1]:443", "[::1]"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto url = parse_url(c.text);
    ASSERT_TRUE(url) << url.error().describe();
    EXPECT_EQ(url->tls, c.tls);
    EXPECT_EQ(url->host, c.host);
    EXPECT_EQ(url->port, c.port);
    EXPECT_EQ(url->path, c.path);
    EXPECT_EQ(url->origin(), c.origin);
    EXPECT_EQ(url->host_header(), c.host_header);
  }
}

TEST(parse_url, refuses_what_it_cannot_call_and_says_why) {
  const std::pair<const char*, const char*> cases[] = {
      {"api.sendgrid.com", "expected http[s]://HOST[:PORT]"},
      {"ftp://host", "the scheme must be https or http"},
      {"https://host/path?key=1", "a query or fragment is not allowed"},
      {"https://host#x", "a query or fragment is not allowed"},
      {"https://user:secret@host", "user information is not allowed"},
      {"https://", "the host is missing"},
      {"https://:443", "the host is missing"},
      {"https://ho st", "the host is malformed"},
      {"https://host:", "the port must be a number from 1 to 65535"},
      {"https://host:0", "the port must be a number from 1 to 65535"},
      {"https://host:65536", "the port must be a number from 1 to 65535"},
      {"https://host:44x", "the port must be a number from 1 to 65535"},
      {"https://::1:443", "an IPv6 host needs brackets"},
      {"https://[::1", "an IPv6 host needs a closing ']'"},
      {"https://[::1]443", "expected ':PORT' after the IPv6 host"},
      {"https://[example.com]:443", "the bracketed host is not an IPv6 address"},
  };
  for (const auto& [text, why] : cases) {
    SCOPED_TRACE(text);
    auto url = parse_url(text);
    ASSERT_FALSE(url);
    EXPECT_NE(url.error().describe().find(why), std::string::npos) << url.error().describe();
  }
}

TEST(is_ip_address, tells_addresses_from_names) {
  EXPECT_TRUE(is_ip_address("127.0.0.1"));
  EXPECT_TRUE(is_ip_address("::1"));
  EXPECT_FALSE(is_ip_address("localhost"));
  EXPECT_FALSE(is_ip_address("[::1]"));
}

}  // namespace
}  // namespace mailhook::http
