// Parsers for the value syntaxes every config section shares: durations, byte sizes and
// listen addresses, and the loopback test for hosts. Pure functions, safe from any thread. Failures
// carry errc::bad_value and a message that quotes the text ("expected HOST:PORT, got 'abc'"); the
// caller adds where the text came from.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace mailhook::config {

// An address to bind: a host name, IPv4 address or IPv6 address (without brackets), and a
// port; port 0 asks the OS for a free one (tests use it).
struct listen_address {
  std::string host;
  std::uint16_t port = 0;

  bool operator==(const listen_address&) const = default;
};

// One or more <integer><unit> groups, unit ms, s, m, h or d: "250ms", "2s", "1h30m", "7d".
// A unit is required so that "retention = 7" cannot mean seconds to one reader and days to
// another; the only exception is "0", which means the same in every unit.
[[nodiscard]] result<std::chrono::milliseconds> parse_duration(std::string_view text);

// <integer>[unit], unit B, KiB, MiB, GiB or TiB (powers of 1024): "512KiB", "8MiB",
// "4096". Decimal units (KB, MB) are refused rather than guessed at.
[[nodiscard]] result<std::uint64_t> parse_byte_size(std::string_view text);

// "HOST:PORT" or "[IPV6]:PORT": "127.0.0.1:9464", "[::1]:0", "0.0.0.0:8080",
// "localhost:8080". The host is required: an empty one would silently mean "all
// interfaces", which should be asked for as 0.0.0.0 or [::].
[[nodiscard]] result<listen_address> parse_listen_address(std::string_view text);

// Whether `host` (a name, or an IP address without brackets) is this machine's loopback:
// "localhost" (in any case), an IPv4 address in 127.0.0.0/8 in dotted-quad form, or ::1
// (in any spelling). No name is resolved: "localhost.example.com" is not loopback.
[[nodiscard]] bool is_loopback_host(std::string_view host);

// "host:port", bracketing IPv6 hosts; parse_listen_address(to_string(a)) == a.
[[nodiscard]] std::string to_string(const listen_address& address);

}  // namespace mailhook::config
