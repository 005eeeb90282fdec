// libFuzzer target for the admin API's query decoding (http/query.h), which reads every
// /v1/suppressions request target: any bytes decode without crashing and never grow;
// percent-encoding any bytes and decoding them gives them back; and the parameters of
// any query, encoded again and parsed again, are the same parameters. Single-threaded.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/query.h"

namespace {

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

// Every byte but RFC 3986's unreserved ones escaped, as clients (and our CLI) send it.
std::string encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xf];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  using mailhook::http::parse_query;
  using mailhook::http::url_decode;

  const std::string decoded = url_decode(input);
  require(decoded.size() <= input.size(), "decoding never grows the text");
  if (input.find_first_of("%+") == std::string_view::npos) {
    require(decoded == input, "text without '%' or '+' decodes to itself");
  }
  require(url_decode(encode(input)) == input, "decoding undoes percent-encoding");

  const auto params = parse_query(input);
  std::size_t pairs = 1;
  for (char c : input) pairs += c == '&' ? 1 : 0;
  require(params.size() <= pairs, "at most one parameter per pair");
  std::string again;
  for (const auto& [name, value] : params) {
    if (!again.empty()) again += '&';
    again += encode(name);
    again += '=';
    again += encode(value);
  }
  require(parse_query(again) == params, "parameters survive encoding and parsing again");
  return 0;
}
