// mailhook's one HTTP/1.1 client, used by the admin CLI and by the sender's calls to
// SendGrid: blocking, one keep-alive connection, HTTPS with the certificate chain and the
// host name (or IP address) verified, one deadline per call covering every step.
//
// When a request may be written twice. A request is written at most once, except in one
// case the caller opts into:
//   1. Before writing on a kept-alive connection, the idle connection is checked (no
//      bytes left over, no end, no reset, no stray data). If it cannot take the request,
//      a new connection is opened first: nothing has been written, so this is always safe.
//   2. Once the first byte has been written, a failure ends the call with
//      `request_started` set: the server may have read and acted on the request, so a
//      second copy could be a second email. The caller decides, by the answer.
//   3. Only a request marked `repeatable` (its second copy does no harm: a read, or a
//      change that ends in the same state) is written once more on a new connection, and
//      only when it went out on a reused connection that then broke before any byte of
//      an answer arrived: the server closing a kept-alive connection at the moment it is
//      used looks exactly like that.
//
// Threading: a client belongs to one thread; it owns its io_context and connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "http/message.h"
#include "http/url.h"

namespace mailhook::http {

struct client_options {
  // The deadline of one call: resolve, connect, TLS handshake, writing the request and
  // reading the whole answer.
  std::chrono::milliseconds timeout{30'000};
  // PEM file of the certificate authorities trusted for https; empty: the system's.
  std::string ca_file{};
  // An answer body larger than this ends the call without an answer body.
  std::uint64_t max_answer_body = 1024 * 1024;
  std::string user_agent = "mailhook";
};

struct outgoing_request {
  verb method = verb::get;
  std::string target{};  // the path (below the URL's path) and query
  std::string_view body{};
  std::string_view content_type{};  // sent when the body is not empty
  // More header fields, e.g. Authorization or Accept. Values must not hold CR or LF.
  std::vector<std::pair<field, std::string>> headers{};
  bool repeatable = false;  // rule 3 above
};

struct answer {
  int status = 0;  // HTTP status; 0 when no status line arrived
  std::map<std::string, std::string, std::less<>> headers;  // names lower-cased
  std::string body;
  // Why the call ended without a whole answer (resolve, connect, TLS, send, read,
  // timeout, a body over the limit), naming the origin and the step; "" when the answer
  // is whole. With a status, the status line and headers arrived and the body did not.
  std::string error;
  // Whether writing the request had begun when the call ended (rule 2 above).
  bool request_started = false;
  std::chrono::microseconds latency{0};  // from writing the request to the end of the answer

  [[nodiscard]] bool whole() const { return status != 0 && error.empty(); }
  // The value of header `name` (lower-case), or "" when absent.
  [[nodiscard]] std::string_view header(std::string_view name) const;
};

class client {
 public:
  // Fails on an unreadable `options.ca_file` (or system trust store, for https), or a
  // timeout that is not positive.
  [[nodiscard]] static result<std::unique_ptr<client>> create(url where, client_options options);
  virtual ~client() = default;

  // Sends `request` to `where` (its path, then request.target) and reads the answer.
  // Never throws; every failure is in the answer.
  [[nodiscard]] virtual answer call(const outgoing_request& request) = 0;

  [[nodiscard]] virtual const url& where() const = 0;
};

}  // namespace mailhook::http
