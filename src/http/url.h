// The URLs mailhook's HTTP client calls: "http[s]://HOST[:PORT][/PATH]", taken apart.
// Everything a request line or a connection needs is here; a query, a fragment or user
// information is refused (keys and tokens travel in headers, never in a URL).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace mailhook::http {

struct url {
  bool tls = true;         // https
  std::string host{};      // a name or an IP address, without brackets
  std::uint16_t port = 0;  // the scheme's default (443, 80) when the URL names none
  std::string path{};      // "" or "/base", without a trailing '/'

  // "https://host:port" (IPv6 bracketed), for messages: always with the port.
  [[nodiscard]] std::string origin() const;
  // The Host header: the host, with ":port" when it is not the scheme's default.
  [[nodiscard]] std::string host_header() const;
};

// Parses `text`. Failures say what is wrong without repeating `text`: callers name the
// setting it came from.
[[nodiscard]] result<url> parse_url(std::string_view text);

// Whether `host` is an IPv4 or IPv6 address rather than a name (names get SNI and name
// verification; addresses get neither SNI nor a name check, only an IP address check).
[[nodiscard]] bool is_ip_address(std::string_view host);

}  // namespace mailhook::http
