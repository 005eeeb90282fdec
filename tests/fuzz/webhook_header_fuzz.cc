// libFuzzer target for what the webhook does with a request before it has authenticated
// it: the header checks (webhook::authenticate_header and the parsers under it:
// signature_r, parse_timestamp, check_timestamp, parse_bearer, parse_basic,
// base64_decode), and the address normalization every event goes through
// (email::normalize_address) on the raw bytes.
//
// The input is header lines ("Name: value", one per '\n'), parsed by Beast's request
// parser with the server's header limit as a listener would, or, when Beast refuses
// them, inserted into a header as they are. Each source kind (signed, bearer, basic,
// none) authenticates the header; an accepted header must satisfy every parser on its
// own, and each parser's result must hold together (base64 that encodes back to the same
// text, tokens that are visible ASCII inside the header, ...). Single-threaded.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.h"
#include "email/address.h"
#include "http/server.h"
#include "webhook/signature.h"
#include "webhook/sources.h"

namespace {

namespace beast_http = boost::beast::http;
namespace webhook = mailhook::webhook;
using std::chrono::seconds;

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

// SendGrid's key of the genuine request in tests/data/sendgrid/signed-dropped.json,
// signed at 1600112502: the seed corpus has its signature.
constexpr std::string_view sendgrid_key =
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+"
    "2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
const auto now = std::chrono::system_clock::time_point(seconds(1600112600));
constexpr seconds replay_window{300};
constexpr seconds max_clock_skew{60};

struct sources {
  webhook::source signed_only;
  webhook::source bearer_only;
  webhook::source basic_only;
  webhook::source open;
};

const sources& the_sources() {
  static const sources s = [] {
    sources out;
    auto key = webhook::public_key::from_base64_spki(sendgrid_key);
    require(key.has_value(), "the test key parses");
    out.signed_only.name = "signed";
    out.signed_only.verifier.emplace(*key);
    out.signed_only.replay_window = replay_window;
    out.signed_only.max_clock_skew = max_clock_skew;
    out.bearer_only.name = "bearer";
    out.bearer_only.bearer_tokens = {"t0ken-1", "second.token"};
    out.basic_only.name = "basic";
    out.basic_only.basic_auth = {"user:pa:ss", "other:x"};
    out.open.name = "open";
    return out;
  }();
  return s;
}

std::string_view value_of(const mailhook::http::request_header& h, std::string_view name) {
  auto it = h.find(boost::beast::string_view(name.data(), name.size()));
  if (it == h.end()) return {};
  return {it->value().data(), it->value().size()};
}

std::size_t count_of(const mailhook::http::request_header& h, std::string_view name) {
  return h.count(boost::beast::string_view(name.data(), name.size()));
}

void check_base64(std::string_view text) {
  if (auto decoded = webhook::base64_decode(text)) {
    require(webhook::base64_encode(*decoded) == text, "strict base64 has one encoding");
  }
  auto encoded = webhook::base64_encode(text);
  auto back = webhook::base64_decode(encoded);
  require(back && *back == text, "base64 decodes what it encodes");
}

void check_timestamp_parsers(std::string_view text) {
  auto stamp = webhook::parse_timestamp(text);
  if (stamp) {
    require(!text.empty() && text.size() <= 18, "a timestamp has 1 to 18 digits");
    for (char c : text) require(mailhook::is_digit(c), "a timestamp is digits only");
    require(*stamp >= 0, "a timestamp is not negative");
  }
  require(
      webhook::check_timestamp(text, seconds(0), seconds(0), now) == webhook::timestamp_outcome::ok,
      "a window of 0 accepts anything");
  auto outcome = webhook::check_timestamp(text, replay_window, max_clock_skew, now);
  if (!stamp) {
    require(outcome == webhook::timestamp_outcome::malformed, "what does not parse is malformed");
    return;
  }
  const std::int64_t now_s = std::chrono::duration_cast<seconds>(now.time_since_epoch()).count();
  const bool inside =
      now_s - *stamp <= replay_window.count() && *stamp - now_s <= max_clock_skew.count();
  require((outcome == webhook::timestamp_outcome::ok) == inside,
          "ok exactly inside the replay window");
}

void check_signature(std::string_view text) {
  auto r = webhook::signature_r(text);
  // verify() makes the same parse: it calls malformed exactly what signature_r refuses.
  // (It hashes and verifies only what parses, so this stays cheap for garbage.)
  auto outcome = the_sources().signed_only.verifier->verify("1600112502", "body", text);
  require(r.has_value() == (outcome != webhook::verify_outcome::malformed_signature),
          "signature_r and verify agree on what is malformed");
  if (r) require(webhook::base64_decode(text).has_value(), "a signature is base64");
}

void check_authorization(std::string_view text) {
  if (auto token = webhook::parse_bearer(text)) {
    require(!token->empty(), "a bearer token is not empty");
    require(
        token->data() >= text.data() && token->data() + token->size() <= text.data() + text.size(),
        "a bearer token is a view of the header");
    for (char c : *token) require(c >= '!' && c <= '~', "a bearer token is visible ASCII");
  } else {
    require(token.error().code == webhook::signature_errc::authorization_scheme ||
                token.error().code == webhook::signature_errc::authorization_malformed,
            "a refused Authorization says scheme or malformed");
  }
  if (auto basic = webhook::parse_basic(text)) {
    require(basic->user.find(':') == std::string::npos, "the user ends at the first ':'");
    const std::string pair = basic->user + ":" + basic->password;
    require(mailhook::trim(text).ends_with(webhook::base64_encode(pair)),
            "the credentials are the base64 of user:password");
  }
}

void check_address(std::string_view text) {
  std::string storage;
  auto normalized = mailhook::email::normalize_address(text, storage);
  if (!normalized) return;
  const std::string once(normalized->str());
  require(!once.empty() && once.size() <= mailhook::email::max_address_bytes,
          "a normalized address has 1 to 320 bytes");
  const auto at = once.rfind('@');
  require(at != std::string::npos && at > 0 && at + 1 < once.size(),
          "a normalized address is local@domain, neither empty");
  const std::string_view local = std::string_view(once).substr(0, at);
  const std::string_view domain = std::string_view(once).substr(at + 1);
  require(
      local.find('@') == std::string_view::npos || (local.front() == '"' && local.back() == '"'),
      "an '@' in the local part only inside quotes");
  for (char c : once) {
    require(!mailhook::is_ascii_control(c) && !mailhook::is_ascii_space(c),
            "no controls or spaces");
    require(c != '<' && c != '>' && c != ',' && c != ';', "no address separators");
    require(!(c >= 'A' && c <= 'Z'), "no ASCII upper case");
  }
  for (char c : domain) require(static_cast<unsigned char>(c) < 0x80, "the domain is ASCII");
  // An address literal ("[192.0.2.1]") is kept as it is written; a name has no empty label.
  const bool literal = domain.front() == '[' && domain.back() == ']';
  require(literal || (domain.back() != '.' && domain.front() != '.' &&
                      domain.find("..") == std::string_view::npos &&
                      domain.find_first_of("[]") == std::string_view::npos),
          "no empty domain label, no brackets but around a literal");
  std::string again_storage;
  auto again = mailhook::email::normalize_address(once, again_storage);
  require(again.has_value(), "a normalized address normalizes");
  require(again->str() == once, "normalizing is idempotent");
}

// The lines as Beast's parser would hand them to the handler, or nothing when it refuses.
bool parse_header(const std::vector<std::string_view>& lines,
                  beast_http::request_parser<beast_http::empty_body>& parser) {
  std::string text = "POST /webhooks/sendgrid/main HTTP/1.1\r\n";
  for (auto line : lines) {
    text += line;
    text += "\r\n";
  }
  text += "\r\n";
  parser.header_limit(
      static_cast<std::uint32_t>(mailhook::http::server_options{}.max_header_bytes));
  parser.eager(false);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(text), ec);
  return !ec && parser.is_header_done();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_address(input);

  std::vector<std::string_view> lines;
  for (std::string_view rest = input; !rest.empty();) {
    auto eol = rest.find('\n');
    auto line = rest.substr(0, eol);
    if (line.ends_with('\r')) line.remove_suffix(1);
    lines.push_back(line);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
  }

  beast_http::request_parser<beast_http::empty_body> parser;
  mailhook::http::request_header inserted;
  const mailhook::http::request_header* header = &inserted;
  if (parse_header(lines, parser)) {
    header = &parser.get().base();
  } else {
    for (auto line : lines) {
      auto colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) continue;
      auto name = line.substr(0, colon);
      auto value = mailhook::trim(line.substr(colon + 1));
      inserted.insert(boost::beast::string_view(name.data(), name.size()),
                      boost::beast::string_view(value.data(), value.size()));
    }
  }
  const auto& h = *header;

  for (const auto& field : h) {
    std::string_view value(field.value().data(), field.value().size());
    check_base64(value);
    check_timestamp_parsers(value);
    check_signature(value);
    check_authorization(value);
  }

  const auto& s = the_sources();
  const auto signature = value_of(h, webhook::signature_header_name);
  const auto timestamp = value_of(h, webhook::timestamp_header_name);
  const auto authorization = value_of(h, "Authorization");

  auto signed_outcome = webhook::authenticate_header(s.signed_only, h, now);
  if (count_of(h, webhook::signature_header_name) > 1 ||
      count_of(h, webhook::timestamp_header_name) > 1) {
    require(signed_outcome == webhook::auth_failure::duplicate_header,
            "a repeated signature or timestamp header is refused as such");
  }
  if (!signed_outcome) {
    require(webhook::signature_r(signature).has_value(), "accepted: the signature parses");
    require(webhook::check_timestamp(timestamp, replay_window, max_clock_skew, now) ==
                webhook::timestamp_outcome::ok,
            "accepted: the timestamp is inside the window");
  }

  auto bearer_outcome = webhook::authenticate_header(s.bearer_only, h, now);
  if (!bearer_outcome) {
    require(count_of(h, "Authorization") == 1, "accepted: one Authorization header");
    auto token = webhook::parse_bearer(authorization);
    require(token && (*token == "t0ken-1" || *token == "second.token"),
            "accepted: a configured bearer token");
  }

  auto basic_outcome = webhook::authenticate_header(s.basic_only, h, now);
  if (!basic_outcome) {
    require(count_of(h, "Authorization") == 1, "accepted: one Authorization header");
    auto credentials = webhook::parse_basic(authorization);
    require(credentials && ((credentials->user == "user" && credentials->password == "pa:ss") ||
                            (credentials->user == "other" && credentials->password == "x")),
            "accepted: configured basic credentials");
  }

  require(!webhook::authenticate_header(s.open, h, now), "a source without checks takes anything");
  return 0;
}
