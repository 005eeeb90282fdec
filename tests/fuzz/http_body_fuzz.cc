// libFuzzer target for the HTTP server's request reader (http/server.cc): the bytes a
// client sends on one connection, read as a connection does it, with Beast's
// request_parser<string_body> and the server's default limits (server_options): the
// header first, a Content-Length body read straight into its buffer, a chunked one
// through the parser, then the next request on the same connection.
//
// The bytes arrive in pieces of a size the first input byte chooses, and again all at
// once: both must give the same requests, since TCP may cut a stream anywhere. Every
// request read has a body within the limit, a Content-Length body of exactly that
// length, and framing that cannot be read two ways (RFC 7230 section 3.3.3): a length or
// chunks, never a length beside a coding the server does not undo.
// Single-threaded.
#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "http/server.h"

namespace {

namespace beast = boost::beast;
namespace beast_http = boost::beast::http;

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

const mailhook::http::server_options& options() {
  static const mailhook::http::server_options o;
  return o;
}

// The client's bytes, handed out `piece` at a time, as reads from a socket.
class stream {
 public:
  stream(std::string_view bytes, std::size_t piece) : bytes_(bytes), piece_(piece) {}
  // Appends the next piece to `buffer`; false at the end of the stream.
  bool read(beast::flat_buffer& buffer) {
    if (bytes_.empty()) return false;
    const std::size_t n = std::min(piece_, bytes_.size());
    auto space = buffer.prepare(n);
    std::memcpy(space.data(), bytes_.data(), n);
    buffer.commit(n);
    bytes_.remove_prefix(n);
    return true;
  }
  // Up to `max` bytes into `out`.
  std::size_t read_into(char* out, std::size_t max) {
    const std::size_t n = std::min({piece_, bytes_.size(), max});
    std::memcpy(out, bytes_.data(), n);
    bytes_.remove_prefix(n);
    return n;
  }

 private:
  std::string_view bytes_;
  std::size_t piece_;
};

using parser_type = beast_http::request_parser<beast_http::string_body>;

// One step of Beast's read loop (http::read_some): parses what the buffer holds, reading
// more while the parser needs it. Returns the parser's error, or end_of_stream.
beast::error_code read_some(stream& in, beast::flat_buffer& buffer, parser_type& parser) {
  for (;;) {
    beast::error_code ec;
    if (buffer.size() > 0) {
      const std::size_t n = parser.put(buffer.data(), ec);
      buffer.consume(n);
      if (ec != beast_http::error::need_more) return ec;
      if (n > 0 && !ec) return ec;
    }
    if (!in.read(buffer)) {
      parser.put_eof(ec);
      return ec ? ec : beast_http::error::end_of_stream;
    }
  }
}

// What the connection does with the bytes: a line per request read ("read ..."), then why
// it stopped ("closed ...": the stream ended; "refused ...": an error answer; ...).
std::vector<std::string> serve(std::string_view bytes, std::size_t piece) {
  std::vector<std::string> log;
  stream in(bytes, piece);
  beast::flat_buffer buffer;
  for (int requests = 0; requests < 8; ++requests) {
    parser_type parser;
    parser.header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
    parser.body_limit(options().max_body_bytes);
    parser.eager(false);
    // async_read_header: until the header is complete.
    beast::error_code ec;
    while (!parser.is_header_done()) {
      if (buffer.size() == 0 && !in.read(buffer)) {
        log.push_back("closed between requests");
        return log;
      }
      const std::size_t n = parser.put(buffer.data(), ec);
      buffer.consume(n);
      if (ec == beast_http::error::need_more) {
        if (!in.read(buffer)) {
          log.push_back("closed in header");
          return log;
        }
        ec = {};
        continue;
      }
      if (ec) break;
    }
    if (ec) {
      log.push_back("refused: " + ec.message());
      return log;
    }
    const auto& header = parser.get();
    // on_header: the server refuses what it does not read before the handler sees it.
    if (auto refused = mailhook::http::refuse_transfer_encoding(header.base())) {
      log.push_back("refused: " + std::to_string(refused->result_int()));
      return log;
    }
    require(!(parser.content_length() && parser.chunked()),
            "a request has a length or chunks, not both");
    require(!header.count(beast_http::field::transfer_encoding) || parser.chunked(),
            "a request with a transfer coding is chunked");
    if (auto length = parser.content_length(); length && *length > options().max_body_bytes) {
      log.push_back("413");
      return log;
    }
    std::string line = std::string(header.method_string()) + " " + std::string(header.target()) +
                       " " + std::to_string(header.version());
    for (const auto& field : header) {
      line += "|" + std::string(field.name_string()) + ":" + std::string(field.value());
    }
    if (!parser.is_done()) {
      if (auto length = parser.content_length(); length && !parser.chunked()) {
        // read_body_directly: what the buffer holds, then the socket.
        std::string& body = parser.get().body();
        body.resize(static_cast<std::size_t>(*length));
        auto received = beast::buffers_front(buffer.data());
        std::size_t have = std::min(received.size(), body.size());
        std::memcpy(body.data(), received.data(), have);
        buffer.consume(have);
        while (have < body.size()) {
          const std::size_t n = in.read_into(body.data() + have, body.size() - have);
          if (n == 0) {
            log.push_back("closed in the body of " + line);
            return log;
          }
          have += n;
        }
      } else {
        // read_chunks: async_read_some until the parser is done.
        while (!parser.is_done()) {
          ec = read_some(in, buffer, parser);
          require(parser.get().body().size() <= options().max_body_bytes,
                  "a body never outgrows the limit");
          if (ec == beast_http::error::end_of_stream || ec == beast_http::error::partial_message) {
            log.push_back("closed in the body of " + line);
            return log;
          }
          if (ec) {
            log.push_back("refused in the body (" + ec.message() + ") of " + line);
            return log;
          }
        }
      }
    }
    const auto& body = parser.get().body();
    require(body.size() <= options().max_body_bytes, "a body within the limit");
    if (auto length = parser.content_length(); length && !parser.chunked()) {
      require(body.size() == *length, "a Content-Length body has exactly that length");
    }
    log.push_back("read " + line + " body " + std::to_string(body.size()) + ":" + body);
    if (!parser.get().keep_alive()) {
      log.push_back("close");
      return log;
    }
  }
  return log;
}

// Whether the two reads of one stream agree. Beast checks a start line or a chunk header
// as soon as it has its bytes, but, having once asked for more, waits for the end of the
// header before it looks again: a stream that ends early may stop on "closed" in one read
// where the other already refused. Nothing else may differ.
bool agree(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a == b) return true;
  if (a.size() != b.size() || !std::equal(a.begin(), a.end() - 1, b.begin())) return false;
  const auto refused = [](const std::string& s) { return s.starts_with("refused"); };
  const auto closed = [](const std::string& s) { return s.starts_with("closed"); };
  return (refused(a.back()) && closed(b.back())) || (closed(a.back()) && refused(b.back()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 97;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto in_pieces = serve(bytes, piece);
  const auto at_once = serve(bytes, bytes.size() + 1);
  if (!agree(in_pieces, at_once)) {
    for (const auto& line : in_pieces)
      std::fprintf(stderr, "in pieces of %zu: %s\n", piece, line.c_str());
    for (const auto& line : at_once) std::fprintf(stderr, "at once: %s\n", line.c_str());
  }
  require(agree(in_pieces, at_once), "the same requests however the bytes arrive");
  return 0;
}
