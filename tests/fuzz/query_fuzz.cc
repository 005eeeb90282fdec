// libFuzzer target for the admin API's query decoding and the CLI's encoding (http/query.h), which
// reads every /v1/suppressions request target: any bytes decode without crashing and never grow;
// percent-encoding any bytes and decoding them gives them back; and the parameters of
// any query, encoded again and parsed again, are the same parameters. The report's day
// parameters (/v1/reports/events?from=&to=) go through report::parse_day: a value it
// accepts is a date it writes back exactly. Single-threaded.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/query.h"
#include "report/day.h"

namespace {

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  using mailhook::http::parse_query;
  using mailhook::http::url_decode;
  using mailhook::http::url_encode;

  const std::string decoded = url_decode(input);
  require(decoded.size() <= input.size(), "decoding never grows the text");
  if (input.find_first_of("%+") == std::string_view::npos) {
    require(decoded == input, "text without '%' or '+' decodes to itself");
  }
  require(url_decode(url_encode(input)) == input, "decoding undoes percent-encoding");

  const auto params = parse_query(input);
  std::size_t pairs = 1;
  for (char c : input) pairs += c == '&' ? 1 : 0;
  require(params.size() <= pairs, "at most one parameter per pair");
  std::string again;
  for (const auto& [name, value] : params) {
    if (!again.empty()) again += '&';
    again += url_encode(name);
    again += '=';
    again += url_encode(value);
  }
  require(parse_query(again) == params, "parameters survive encoding and parsing again");
  for (const auto& [name, value] : params) {
    if (auto day = mailhook::report::parse_day(value)) {
      require(mailhook::report::format_day(*day) == value,
              "an accepted day is written back as read");
    }
  }
  return 0;
}
