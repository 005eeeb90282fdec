// Parsers for durations, byte sizes and listen addresses, and the loopback test (see
// values.h).
#include "config/values.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "common/text.h"
#include "config/errc.h"

namespace mailhook::config {
namespace {

// Reads the digits at the front of `text` into a number; nullopt if there are none or
// they overflow. Consumes them.
std::optional<std::uint64_t> take_number(std::string_view& text) {
  std::size_t i = 0;
  std::uint64_t n = 0;
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  while (i < text.size() && is_digit(text[i])) {
    auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (n > (max - digit) / 10) return std::nullopt;
    n = n * 10 + digit;
    ++i;
  }
  if (i == 0) return std::nullopt;
  text.remove_prefix(i);
  return n;
}

std::string in_quotes(std::string_view text) {
  return "'" + std::string(text) + "'";
}

failure duration_error(std::string_view text) {
  return {errc::bad_value,
          "expected a duration like '250ms', '2s', '1m', '1h' or '7d', got " + in_quotes(text)};
}

failure size_error(std::string_view text, std::string_view hint = {}) {
  std::string message =
      "expected a size like '512KiB', '8MiB', '1GiB' or a number of bytes, got " + in_quotes(text);
  if (!hint.empty()) message.append(" (").append(hint).append(")");
  return {errc::bad_value, std::move(message)};
}

failure address_error(std::string_view text, std::string_view hint = {}) {
  std::string message = "expected HOST:PORT, got " + in_quotes(text);
  if (!hint.empty()) message.append(" (").append(hint).append(")");
  return {errc::bad_value, std::move(message)};
}

bool is_ipv4(const std::string& host) {
  in_addr out{};
  return ::inet_pton(AF_INET, host.c_str(), &out) == 1;
}

bool is_ipv6(const std::string& host) {
  in6_addr out{};
  return ::inet_pton(AF_INET6, host.c_str(), &out) == 1;
}

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
bool is_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::size_t label = 0;
  char previous = '.';
  for (char c : host) {
    if (c == '.') {
      if (label == 0 || previous == '-') return false;
      label = 0;
    } else if (is_ascii_alpha(c) || is_digit(c) || (c == '-' && label > 0)) {
      if (++label > 63) return false;
    } else {
      return false;
    }
    previous = c;
  }
  return label > 0 && previous != '-';
}

}  // namespace

result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text == "0") return std::chrono::milliseconds{0};
  using rep = std::chrono::milliseconds::rep;
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<rep>::max());
  std::string_view rest = text;
  std::uint64_t total = 0;
  if (rest.empty()) return duration_error(text);
  while (!rest.empty()) {
    auto number = take_number(rest);
    if (!number) return duration_error(text);
    std::size_t unit_length = 0;
    while (unit_length < rest.size() && is_ascii_alpha(rest[unit_length])) ++unit_length;
    std::string_view unit = rest.substr(0, unit_length);
    rest.remove_prefix(unit_length);
    std::uint64_t scale = 0;
    if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1000;
    else if (unit == "m")
      scale = 60 * 1000;
    else if (unit == "h")
      scale = 60 * 60 * 1000;
    else if (unit == "d")
      scale = 24 * 60 * 60 * 1000;
    else
      return duration_error(text);
    if (*number > (max - total) / scale) return duration_error(text);
    total += *number * scale;
  }
  return std::chrono::milliseconds{static_cast<rep>(total)};
}

result<std::uint64_t> parse_byte_size(std::string_view text) {
  std::string_view rest = text;
  auto number = take_number(rest);
  if (!number) return size_error(text);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::uint64_t scale = 0;
  if (rest.empty() || rest == "B")
    scale = 1;
  else if (rest == "KiB")
    scale = std::uint64_t{1} << 10;
  else if (rest == "MiB")
    scale = std::uint64_t{1} << 20;
  else if (rest == "GiB")
    scale = std::uint64_t{1} << 30;
  else if (rest == "TiB")
    scale = std::uint64_t{1} << 40;
  else if (rest == "KB" || rest == "kB" || rest == "MB" || rest == "GB" || rest == "TB")
    return size_error(text, "decimal units are ambiguous; use KiB, MiB, GiB or TiB");
  else
    return size_error(text);
  if (*number > std::numeric_limits<std::uint64_t>::max() / scale) {
    return size_error(text, "too large");
  }
  return *number * scale;
}

result<listen_address> parse_listen_address(std::string_view text) {
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return address_error(text, "missing ']'");
    host = std::string(text.substr(1, close - 1));
    if (close + 1 >= text.size() || text[close + 1] != ':')
      return address_error(text, "missing port");
    port_text = text.substr(close + 2);
    if (!is_ipv6(host)) return address_error(text, "not an IPv6 address between the brackets");
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return address_error(text);
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return address_error(text, "an IPv6 host needs brackets, e.g. '[::1]:9464'");
    }
    if (host.empty())
      return address_error(text, "the host is required; use 0.0.0.0 or [::] for all interfaces");
    bool numeric = host.find_first_not_of("0123456789.") == std::string::npos;
    if (numeric ? !is_ipv4(host) : !is_host_name(host)) {
      return address_error(text, "not an IP address or host name: " + in_quotes(host));
    }
  }
  std::string_view digits = port_text;
  auto port = take_number(digits);
  if (!port || !digits.empty() || port_text.size() > 5) {
    return address_error(text, "the port must be a number from 0 to 65535");
  }
  if (*port > std::numeric_limits<std::uint16_t>::max()) {
    return address_error(text, "the port must be a number from 0 to 65535");
  }
  return listen_address{std::move(host), static_cast<std::uint16_t>(*port)};
}

bool is_loopback_host(std::string_view host) {
  constexpr std::string_view localhost = "localhost";
  if (host.size() == localhost.size() &&
      std::equal(host.begin(), host.end(), localhost.begin(),
                 [](char a, char b) { return ascii_lower(a) == b; })) {
    return true;
  }
  const std::string text(host);
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  return ::inet_pton(AF_INET6, text.c_str(), &v6) == 1 &&
         std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0;
}

std::string to_string(const listen_address& address) {
  std::string port = std::to_string(address.port);
  if (address.host.find(':') != std::string::npos) return "[" + address.host + "]:" + port;
  return address.host + ":" + port;
}

}  // namespace mailhook::config
