#include "http/url.h"

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <system_error>

#include "common/text.h"

namespace mailhook::http {
namespace {

failure malformed(std::string_view why) {
  return failure(std::make_error_code(std::errc::invalid_argument), std::string(why));
}

std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

std::string url::origin() const {
  return (tls ? "https://" : "http://") + bracketed(host) + ":" + std::to_string(port);
}

std::string url::host_header() const {
  const bool default_port = port == (tls ? 443 : 80);
  return default_port ? bracketed(host) : bracketed(host) + ":" + std::to_string(port);
}

result<url> parse_url(std::string_view text) {
  url out;
  std::string_view rest = text;
  const auto scheme_end = rest.find("://");
  if (scheme_end == std::string_view::npos) return malformed("expected http[s]://HOST[:PORT]");
  const std::string scheme = to_ascii_lower(rest.substr(0, scheme_end));
  if (scheme == "https") {
    out.tls = true;
    out.port = 443;
  } else if (scheme == "http") {
    out.tls = false;
    out.port = 80;
  } else {
    return malformed("the scheme must be https or http");
  }
  rest.remove_prefix(scheme_end + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return malformed("a query or fragment is not allowed");
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  while (path.ends_with('/')) path.remove_suffix(1);
  out.path = path;
  if (authority.find('@') != std::string_view::npos) {
    return malformed("user information is not allowed (credentials go in headers)");
  }

  std::string_view port_text;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return malformed("an IPv6 host needs a closing ']'");
    out.host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return malformed("expected ':PORT' after the IPv6 host");
      port_text = after.substr(1);
      has_port = true;
    }
    if (!is_ip_address(out.host)) return malformed("the bracketed host is not an IPv6 address");
  } else {
    const auto colon = authority.find(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
      if (port_text.find(':') != std::string_view::npos) {
        return malformed("an IPv6 host needs brackets: [IPV6]:PORT");
      }
    }
  }
  if (out.host.empty()) return malformed("the host is missing");
  for (char c : out.host) {
    if (c == ' ' || is_ascii_control(c)) return malformed("the host is malformed");
  }
  if (has_port) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
        port == 0 || port > 65535) {
      return malformed("the port must be a number from 1 to 65535");
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  return out;
}

bool is_ip_address(std::string_view host) {
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(std::string(host), ec);
  return !ec;
}

}  // namespace mailhook::http
