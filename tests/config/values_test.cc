// Tests for the shared value syntaxes: durations, byte sizes, listen addresses.
#include "config/values.h"

#include <gtest/gtest.h>

#include "config/errc.h"

namespace mailhook::config {
namespace {

using namespace std::chrono_literals;

TEST(parse_duration, reads_each_unit) {
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_duration("2s"), 2000ms);
  EXPECT_EQ(*parse_duration("1m"), 60'000ms);
  EXPECT_EQ(*parse_duration("1h"), 3'600'000ms);
  EXPECT_EQ(*parse_duration("7d"), 7 * 86'400'000ms);
}

TEST(parse_duration, adds_up_compound_durations) {
  EXPECT_EQ(*parse_duration("1h30m"), 5'400'000ms);
  EXPECT_EQ(*parse_duration("1s500ms"), 1500ms);
}

TEST(parse_duration, accepts_zero_without_a_unit) {
  EXPECT_EQ(*parse_duration("0"), 0ms);
}

TEST(parse_duration, refuses_a_bare_number_and_unknown_units) {
  for (const char* text : {"", "5", "2 s", "1.5s", "2sec", "s", "-1s", "2S", "1h30", "ms"}) {
    auto parsed = parse_duration(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, errc::bad_value);
    EXPECT_NE(parsed.error().message.find(std::string("got '") + text + "'"), std::string::npos)
        << parsed.error().message;
  }
}

TEST(parse_duration, refuses_overflow) {
  EXPECT_FALSE(parse_duration("99999999999999999999ms"));
  EXPECT_FALSE(parse_duration("9223372036854775807d"));
}

TEST(parse_byte_size, reads_binary_units_and_plain_bytes) {
  EXPECT_EQ(*parse_byte_size("4096"), 4096u);
  EXPECT_EQ(*parse_byte_size("10B"), 10u);
  EXPECT_EQ(*parse_byte_size("512KiB"), 512u * 1024);
  EXPECT_EQ(*parse_byte_size("8MiB"), 8u * 1024 * 1024);
  EXPECT_EQ(*parse_byte_size("1GiB"), 1024u * 1024 * 1024);
  EXPECT_EQ(*parse_byte_size("2TiB"), 2ull << 40);
  EXPECT_EQ(*parse_byte_size("8 MiB"), 8u * 1024 * 1024);
}

TEST(parse_byte_size, refuses_decimal_units_with_a_hint) {
  auto parsed = parse_byte_size("8MB");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("use KiB, MiB"), std::string::npos)
      << parsed.error().message;
}

TEST(parse_byte_size, refuses_malformed_and_overflowing_sizes) {
  for (const char* text : {"", "MiB", "-1", "1.5MiB", "8mib", "8 MiB extra", "16777216TiB"}) {
    EXPECT_FALSE(parse_byte_size(text)) << text;
  }
}

TEST(parse_listen_address, reads_ipv4_ipv6_and_host_names) {
  EXPECT_EQ(*parse_listen_address("127.0.0.1:9464"), (listen_address{"127.0.0.1", 9464}));
  EXPECT_EQ(*parse_listen_address("0.0.0.0:8080"), (listen_address{"0.0.0.0", 8080}));
  EXPECT_EQ(*parse_listen_address("[::1]:0"), (listen_address{"::1", 0}));
  EXPECT_EQ(*parse_listen_address("[::]:65535"), (listen_address{"::", 65535}));
  EXPECT_EQ(*parse_listen_address("localhost:80"), (listen_address{"localhost", 80}));
  EXPECT_EQ(*parse_listen_address("admin-1.internal:9464"),
            (listen_address{"admin-1.internal", 9464}));
}

TEST(parse_listen_address, requires_host_and_port) {
  for (const char* text :
       {"abc", ":9464", "127.0.0.1", "127.0.0.1:", "[::1]", "[::1]9464", "[::1:80"}) {
    auto parsed = parse_listen_address(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, errc::bad_value);
    EXPECT_TRUE(
        parsed.error().message.starts_with(std::string("expected HOST:PORT, got '") + text + "'"))
        << parsed.error().message;
  }
}

TEST(parse_listen_address, refuses_bad_hosts_and_ports) {
  for (const char* text :
       {"127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:http", "256.1.1.1:80", "1.2.3:80",
        "[nothost]:80", "bad_host:80", "-lead:80", "a..b:80", "h:080000"}) {
    EXPECT_FALSE(parse_listen_address(text)) << text;
  }
}

TEST(parse_listen_address, asks_for_brackets_around_ipv6) {
  auto parsed = parse_listen_address("::1:80");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("needs brackets"), std::string::npos)
      << parsed.error().message;
}

TEST(listen_address, prints_what_it_parses) {
  for (const char* text : {"127.0.0.1:9464", "[::1]:0", "localhost:8080"}) {
    EXPECT_EQ(to_string(*parse_listen_address(text)), text);
  }
}

TEST(is_loopback_host, knows_localhost_127_slash_8_and_ipv6_loopback) {
  for (const char* host : {"localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "127.255.255.255",
                           "::1", "0:0:0:0:0:0:0:1", "0000::0001"}) {
    EXPECT_TRUE(is_loopback_host(host)) << host;
  }
}

TEST(is_loopback_host, refuses_every_other_host_without_resolving_names) {
  for (const char* host :
       {"", "localhost.", "localhost.example.com", "mylocalhost", "127.0.0.1.nip.io", "127.1",
        "128.0.0.1", "126.255.255.255", "0.0.0.0", "10.0.0.1", "::", "::2", "::ffff:127.0.0.1",
        "[::1]", "api.sendgrid.com"}) {
    EXPECT_FALSE(is_loopback_host(host)) << host;
  }
}

}  // namespace
}  // namespace mailhook::config
