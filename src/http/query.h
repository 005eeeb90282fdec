// The query string of a request target ("a=1&b=x%20y"), as the admin API reads it (and
// the CLI writes it): pairs
// split on '&' and '=', each side percent-decoded, '+' read as a space (as HTML forms
// send it). Pure functions on bytes, safe from any thread; nothing returned points into
// the input.
//
// Decoding never fails: a '%' that is not followed by two hexadecimal digits stays as it
// is, and decoded bytes are not checked for UTF-8. What a value must be (an address, a
// tenant, a number) is for the caller to check, since only it knows.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace mailhook::http {

// Percent-encoding of one query component: every byte but RFC 3986's unreserved ones
// (letters, digits, "-._~") as %XX, so url_decode gives `text` back.
[[nodiscard]] std::string url_encode(std::string_view text);

// Percent-decoding of one query component; never longer than `text`.
[[nodiscard]] std::string url_decode(std::string_view text);

// The parameters of `query` (the part after '?'), by decoded name. A pair without '=' is a
// name with an empty value; empty pairs ("a=1&&b=2") are skipped. A name given twice keeps
// its last value.
using query_params = std::map<std::string, std::string, std::less<>>;
[[nodiscard]] query_params parse_query(std::string_view query);

}  // namespace mailhook::http
