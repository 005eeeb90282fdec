// SendGrid v3 Mail Send: the checks before a call, the JSON body, the API key, what the
// answers mean, and the client. The client is a blocking facade over Beast's asynchronous
// operations, run on its own io_context: beast::tcp_stream times out asynchronous
// operations only, and every step of a call must end by the integration's deadline.
#include "sender/mail_send.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <simdjson.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <string_view>

#include "common/text.h"
#include "http/message.h"

namespace mailhook::sender {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

constexpr std::string_view mail_send_path = "/v3/mail/send";
// Custom args mailhook adds to every email, so that webhook events name their request.
constexpr std::string_view request_id_arg = "mailhook_request_id";
constexpr std::string_view tenant_arg = "mailhook_tenant";
// SendGrid's answers are a few hundred bytes; anything near this is not SendGrid.
constexpr std::uint64_t max_answer_body = 1024 * 1024;

// ---- text helpers ----

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool contains_ci(std::string_view haystack, std::string_view needle) {
  return lower(haystack).find(lower(needle)) != std::string::npos;
}

bool valid_utf8(std::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

// ---- JSON ----

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  http::append_json_escaped(out, text);
  out += '"';
}

// `text` compacted, if it is a JSON object; nullopt otherwise (with why in `why`).
std::optional<std::string> compact_json_object(std::string_view text, std::string* why) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto e = parser.parse(text.data(), text.size()).get(doc); e != simdjson::SUCCESS) {
    if (why != nullptr) *why = std::string("not valid JSON (") + simdjson::error_message(e) + ")";
    return std::nullopt;
  }
  if (!doc.is_object()) {
    if (why != nullptr) *why = "not a JSON object";
    return std::nullopt;
  }
  // Minifying the validated text keeps every token as written (numbers are not reprinted).
  std::string out(text.size(), '\0');
  std::size_t size = 0;
  if (simdjson::minify(text.data(), text.size(), out.data(), size) != simdjson::SUCCESS) {
    return std::string(text);
  }
  out.resize(size);
  return out;
}

// SendGrid requires text/plain first, then text/html, then any other type.
int content_rank(std::string_view type) {
  const std::string media = lower(trim(type.substr(0, type.find(';'))));
  if (media == "text/plain") return 0;
  if (media == "text/html") return 1;
  return 2;
}

void append_address(std::string& out, std::string_view email, std::string_view name) {
  out += "{\"email\":";
  append_json_string(out, email);
  if (!name.empty()) {
    out += ",\"name\":";
    append_json_string(out, name);
  }
  out += '}';
}

std::size_t custom_args_bytes(const mailhook::v1::SendRequest& request) {
  std::size_t total = request_id_arg.size() + request.request_id().size() + tenant_arg.size() +
                      request.tenant().size();
  for (const auto& [key, value] : request.custom_args()) total += key.size() + value.size();
  return total;
}

// ---- the API URL ----

struct api_endpoint {
  bool tls = true;
  std::string host;  // without brackets
  std::uint16_t port = 443;
  std::string target;       // base path + /v3/mail/send
  std::string host_header;  // host[:port], bracketed when IPv6
  std::string origin;       // scheme://host:port, for messages
};

bool is_ip_address(const std::string& host) {
  beast::error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

result<api_endpoint> parse_api_url(const config::integration_config& integration) {
  const std::string& text = integration.api_url;
  const auto bad = [&](std::string_view why) {
    return failure(
        std::make_error_code(std::errc::invalid_argument),
        "integration '" + integration.name + "': api_url '" + text + "': " + std::string(why));
  };
  api_endpoint url;
  std::string_view rest = text;
  const auto scheme_end = rest.find("://");
  if (scheme_end == std::string_view::npos) return bad("expected https://HOST[:PORT][/PATH]");
  const std::string scheme = lower(rest.substr(0, scheme_end));
  if (scheme == "https") {
    url.tls = true;
    url.port = 443;
  } else if (scheme == "http") {
    url.tls = false;
    url.port = 80;
  } else {
    return bad("the scheme must be https (or http for a loopback test server)");
  }
  rest.remove_prefix(scheme_end + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return bad("a query or fragment is not allowed");
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  while (path.ends_with('/')) path.remove_suffix(1);
  if (authority.find('@') != std::string_view::npos) {
    return bad(
        "user information is not allowed (the key is read from api_key_file or "
        "api_key_env)");
  }

  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 host needs a closing ']'");
    url.host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("expected ':PORT' after the IPv6 host");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("the port is empty");
    }
  } else {
    const auto colon = authority.find(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("the port is empty");
    }
  }
  if (url.host.empty()) return bad("the host is missing");
  for (char c : url.host) {
    if (c == ' ' || static_cast<unsigned char>(c) < 0x20) return bad("the host is malformed");
  }
  // The configuration refuses it too; this client carries the key either way.
  if (!url.tls && !config::is_loopback_host(url.host)) {
    return bad(
        "http:// is allowed only for a loopback host (127.0.0.0/8, [::1], localhost); any other "
        "host needs https://");
  }
  const bool default_port = port_text.empty();
  if (!default_port) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return bad("the port must be a number from 1 to 65535");
    }
    url.port = static_cast<std::uint16_t>(port);
  }
  const bool ipv6 = url.host.find(':') != std::string::npos;
  const std::string bracketed = ipv6 ? "[" + url.host + "]" : url.host;
  url.host_header = default_port ? bracketed : bracketed + ":" + std::to_string(url.port);
  url.origin = scheme + "://" + bracketed + ":" + std::to_string(url.port);
  url.target = std::string(path) + std::string(mail_send_path);
  return url;
}

// ---- the client ----

// Boost's host name check, recording why it refused where OpenSSL keeps verify errors,
// so that a mismatch reads "hostname mismatch" rather than "unspecified error".
class host_check {
 public:
  explicit host_check(const std::string& host) : check_(host), ip_(is_ip_address(host)) {}

  bool operator()(bool preverified, ssl::verify_context& ctx) const {
    if (check_(preverified, ctx)) return true;
    // Refused although OpenSSL accepted the chain: the leaf does not name the host.
    if (preverified) {
      X509_STORE_CTX_set_error(ctx.native_handle(),
                               ip_ ? X509_V_ERR_IP_ADDRESS_MISMATCH : X509_V_ERR_HOSTNAME_MISMATCH);
    }
    return false;
  }

 private:
  ssl::host_name_verification check_;
  bool ip_;
};

class beast_client final : public mail_send_client {
 public:
  beast_client(const config::integration_config& integration, api_endpoint url, std::string api_key,
               std::shared_ptr<ssl::context> tls)
      : url_(std::move(url)),
        timeout_(integration.timeout),
        api_key_(std::move(api_key)),
        tls_context_(std::move(tls)) {}

  ~beast_client() override { close(); }
  beast_client(const beast_client&) = delete;
  beast_client& operator=(const beast_client&) = delete;

  api_answer send(const std::string& body) override {
    api_answer answer;
    try {
      send_once(body, answer);
    } catch (const std::exception& e) {
      // Beast and Asio report failures as error codes here; only allocation can throw.
      close();
      const bool started = answer.request_started;
      answer = api_answer{};
      answer.request_started = started;  // what may have gone out stays so
      answer.transport_error = std::string("cannot call ") + url_.origin + ": " + e.what();
    }
    return answer;
  }

 private:
  using tls_stream = beast::ssl_stream<beast::tcp_stream>;

  void send_once(const std::string& body, api_answer& answer) {
    const steady::time_point deadline = steady::now() + timeout_;
    bhttp::request<bhttp::span_body<const char>> req{bhttp::verb::post, url_.target, 11};
    req.set(bhttp::field::host, url_.host_header);
    req.set(bhttp::field::authorization, "Bearer " + api_key_);
    req.set(bhttp::field::content_type, "application/json");
    req.set(bhttp::field::accept, "application/json");
    req.set(bhttp::field::user_agent, "mailhook");
    req.keep_alive(true);
    req.body() = beast::span<const char>(body.data(), body.size());
    req.prepare_payload();

    // A kept-alive connection the server has closed since the last call is replaced
    // before any byte of this request is written, which is safe. Nothing after the first
    // byte is ever written again: a server that read the request before the connection
    // broke may have accepted it, and a second copy would be a second email.
    if (connected() && !reusable()) close();
    if (!connected()) {
      if (std::string error = connect(deadline); !error.empty()) {
        answer.transport_error = std::move(error);
        return;
      }
    }
    if (tls_context_) {
      exchange(*secure_, req, deadline, answer);
    } else {
      exchange(*plain_, req, deadline, answer);
    }
  }

  [[nodiscard]] bool connected() const { return plain_.has_value() || secure_.has_value(); }

  beast::tcp_stream& lowest() { return plain_ ? *plain_ : beast::get_lowest_layer(*secure_); }

  void close() {
    if (!connected()) return;
    beast::error_code ignored;
    // No TLS close_notify: every answer is length-delimited, and a clean shutdown would
    // cost a round trip on a connection we are done with.
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
    plain_.reset();
    secure_.reset();
    buffer_.clear();
  }

  // Whether the idle connection can take a request. Nothing is expected from the server
  // between answers, so bytes left over from the last answer, TLS records not yet read, or
  // a readable socket (its end, a reset, stray bytes) all mean it cannot; so does a
  // failed poll. A wrong "no" costs a new connection; a wrong "yes" an indeterminate call.
  bool reusable() {
    if (buffer_.size() != 0) return false;
    if (secure_) {
      SSL* ssl = secure_->native_handle();
      // (What the macro BIO_pending expands to, without its C cast.)
      if (SSL_has_pending(ssl) != 0 ||
          BIO_ctrl(SSL_get_rbio(ssl), BIO_CTRL_PENDING, 0, nullptr) > 0)
        return false;
    }
    pollfd p{};
    p.fd = lowest().socket().native_handle();
    p.events = POLLIN;
    return ::poll(&p, 1, 0) == 0;
  }

  // Runs one asynchronous operation to completion on io_; returns its error.
  template <class Start>
  beast::error_code run(Start&& start) {
    beast::error_code result = asio::error::would_block;
    std::forward<Start>(start)([&result](beast::error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run();
    return result;
  }

  std::string step_error(std::string_view step, const beast::error_code& ec) const {
    if (ec == beast::error::timeout || ec == asio::error::timed_out) {
      return std::string(step) + " " + url_.origin + ": no answer within " +
             std::to_string(timeout_.count()) + " ms";
    }
    return std::string(step) + " " + url_.origin + ": " + ec.message();
  }

  // Resolves, connects and (for https) shakes hands; "" on success, else why not.
  std::string connect(steady::time_point deadline) {
    tcp::resolver resolver(io_);
    asio::steady_timer timer(io_, deadline);
    beast::error_code resolve_ec = asio::error::would_block;
    tcp::resolver::results_type endpoints;
    bool timed_out = false;
    resolver.async_resolve(url_.host, std::to_string(url_.port),
                           [&](beast::error_code ec, tcp::resolver::results_type r) {
                             resolve_ec = ec;
                             endpoints = std::move(r);
                             timer.cancel();
                           });
    timer.async_wait([&](beast::error_code ec) {
      if (ec) return;
      timed_out = true;
      resolver.cancel();
    });
    io_.restart();
    io_.run();
    if (timed_out) return step_error("cannot resolve the host of", beast::error::timeout);
    if (resolve_ec) return step_error("cannot resolve the host of", resolve_ec);

    if (tls_context_) {
      secure_.emplace(io_, *tls_context_);
    } else {
      plain_.emplace(io_);
    }
    lowest().expires_at(deadline);
    if (auto ec = run([&](auto handler) { lowest().async_connect(endpoints, handler); })) {
      close();
      return step_error("cannot connect to", ec);
    }
    beast::error_code ignored;
    lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (!tls_context_) return {};

    // SNI only for names: RFC 6066 does not allow an IP address there. (What the macro
    // SSL_set_tlsext_host_name expands to, without its C cast.)
    if (!is_ip_address(url_.host) &&
        SSL_ctrl(secure_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(url_.host.c_str())) != 1) {
      close();
      return "cannot set the TLS server name for " + url_.origin;
    }
    secure_->set_verify_callback(host_check(url_.host));
    lowest().expires_at(deadline);
    if (auto ec = run(
            [&](auto handler) { secure_->async_handshake(ssl::stream_base::client, handler); })) {
      const long verify = SSL_get_verify_result(secure_->native_handle());
      std::string error = step_error("TLS handshake failed with", ec);
      if (verify != X509_V_OK) {
        error += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
      }
      close();
      return error;
    }
    return {};
  }

  // Writes the request and reads the answer. From the first write on, SendGrid may have
  // the request whatever happens next (even a write that fails may have put part or all
  // of it on the wire), so the answer says request_started and nothing here retries.
  template <class Stream, class Request>
  void exchange(Stream& stream, Request& req, steady::time_point deadline, api_answer& answer) {
    const steady::time_point started = steady::now();
    lowest().expires_at(deadline);
    answer.request_started = true;
    if (auto ec = run([&](auto handler) { bhttp::async_write(stream, req, handler); })) {
      close();
      answer.transport_error = step_error("cannot send the request to", ec);
      return;
    }

    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(max_answer_body);
    lowest().expires_at(deadline);
    if (auto ec = run(
            [&](auto handler) { bhttp::async_read_header(stream, buffer_, parser, handler); })) {
      close();
      answer.transport_error = step_error("cannot read the answer of", ec);
      return;
    }
    // From here on the status is known: a 202 stays a 202 even if its body is lost, or
    // the caller would send the email again.
    answer.transport_error.clear();
    const auto& res = parser.get();
    answer.status = static_cast<int>(res.result_int());
    if (auto it = res.find("X-Message-Id"); it != res.end()) {
      answer.message_id =
          std::string(trim(std::string_view(it->value().data(), it->value().size())));
    }
    if (auto it = res.find("X-RateLimit-Reset"); it != res.end()) {
      const auto text = trim(std::string_view(it->value().data(), it->value().size()));
      std::int64_t reset = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), reset);
      if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) {
        answer.rate_limit_reset = reset;
      }
    }

    lowest().expires_at(deadline);
    auto ec = run([&](auto handler) { bhttp::async_read(stream, buffer_, parser, handler); });
    answer.latency = std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - started);
    if (ec) {
      close();
      answer.transport_error = step_error("cannot read the body of the answer of", ec);
      return;
    }
    read_errors(parser.get().body(), answer.errors);
    if (!parser.get().keep_alive()) close();
  }

  // SendGrid's {"errors":[{"message","field","help"}]}; anything else is ignored.
  static void read_errors(const std::string& body, std::vector<mailhook::v1::ApiError>& out) {
    if (trim(body).empty()) return;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(body).get(doc) != simdjson::SUCCESS) return;
    simdjson::dom::array errors;
    if (doc["errors"].get_array().get(errors) != simdjson::SUCCESS) return;
    for (simdjson::dom::element item : errors) {
      simdjson::dom::object object;
      if (item.get_object().get(object) != simdjson::SUCCESS) continue;
      mailhook::v1::ApiError error;
      error.set_message(text_of(object["message"]));
      error.set_field(text_of(object["field"]));
      error.set_help(text_of(object["help"]));
      out.push_back(std::move(error));
    }
  }

  // A member's text: strings as they are, null or absent as "", anything else as JSON.
  static std::string text_of(simdjson::simdjson_result<simdjson::dom::element> member) {
    simdjson::dom::element value;
    if (member.get(value) != simdjson::SUCCESS || value.is_null()) return {};
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
    return simdjson::minify(value);
  }

  api_endpoint url_;
  std::chrono::milliseconds timeout_;
  std::string api_key_;
  std::shared_ptr<ssl::context> tls_context_;  // null for http://
  asio::io_context io_{1};
  std::optional<beast::tcp_stream> plain_;  // the connection, when http:// and open
  std::optional<tls_stream> secure_;        // the connection, when https:// and open
  beast::flat_buffer buffer_;
};

}  // namespace

// ---- requests ----

std::optional<std::string> invalid_request(const mailhook::v1::SendRequest& request) {
  if (trim(request.request_id()).empty()) return "request_id is missing";
  if (trim(request.tenant()).empty()) return "tenant is missing";
  if (request.to_size() == 0) return "no recipient in to";
  if (static_cast<std::size_t>(request.to_size()) > max_recipients) {
    return std::to_string(request.to_size()) + " recipients in to, more than Mail Send's " +
           std::to_string(max_recipients);
  }
  for (int i = 0; i < request.to_size(); ++i) {
    const auto& r = request.to(i);
    const std::string where = "to[" + std::to_string(i) + "]";
    if (trim(r.email()).empty()) return where + " has no email";
    if (!valid_utf8(r.email()) || !valid_utf8(r.name())) return where + " is not valid UTF-8";
  }
  const bool templated = !request.template_id().empty();
  if (!templated && request.subject().empty()) {
    return "subject is missing (required without template_id)";
  }
  if (!valid_utf8(request.subject())) return "subject is not valid UTF-8";
  if (!templated && request.content_size() == 0) {
    return "content is missing (required without template_id)";
  }
  for (int i = 0; i < request.content_size(); ++i) {
    const auto& c = request.content(i);
    const std::string where = "content[" + std::to_string(i) + "]";
    if (trim(c.type()).empty()) return where + " has no type";
    if (c.value().empty()) return where + " has no value";
    if (!valid_utf8(c.type()) || !valid_utf8(c.value())) return where + " is not valid UTF-8";
  }
  if (!valid_utf8(request.template_id())) return "template_id is not valid UTF-8";
  if (!request.dynamic_template_data_json().empty()) {
    std::string why;
    if (!compact_json_object(request.dynamic_template_data_json(), &why)) {
      return "dynamic_template_data_json is " + why;
    }
  }
  if (request.asm_group_id() < 0) return "asm_group_id is negative";
  if (static_cast<std::size_t>(request.categories_size()) > max_categories) {
    return std::to_string(request.categories_size()) + " categories, more than Mail Send's " +
           std::to_string(max_categories);
  }
  for (int i = 0; i < request.categories_size(); ++i) {
    const std::string& category = request.categories(i);
    const std::string where = "categories[" + std::to_string(i) + "]";
    if (category.empty()) return where + " is empty";
    if (category.size() > max_category_bytes) {
      return where + " is " + std::to_string(category.size()) + " bytes, more than Mail Send's " +
             std::to_string(max_category_bytes);
    }
    if (!valid_utf8(category)) return where + " is not valid UTF-8";
  }
  for (const auto& [key, value] : request.custom_args()) {
    if (key == request_id_arg || key == tenant_arg) {
      return "custom_args key '" + key + "' is reserved for mailhook";
    }
    if (!valid_utf8(key) || !valid_utf8(value)) return "custom_args are not valid UTF-8";
  }
  if (const std::size_t bytes = custom_args_bytes(request); bytes >= max_custom_args_bytes) {
    return "custom_args are " + std::to_string(bytes) +
           " bytes with mailhook's own, Mail Send allows less than " +
           std::to_string(max_custom_args_bytes);
  }
  return std::nullopt;
}

std::string mail_send_body(const mailhook::v1::SendRequest& request,
                           const std::vector<mailhook::v1::Recipient>& to,
                           const config::integration_config& integration) {
  const bool templated = !request.template_id().empty();
  std::optional<std::string> template_data;
  if (templated && !request.dynamic_template_data_json().empty()) {
    template_data = compact_json_object(request.dynamic_template_data_json(), nullptr);
  }

  std::size_t expected = 512 + request.subject().size();
  for (const auto& c : request.content()) expected += c.value().size() + c.value().size() / 8;
  for (const auto& r : to) {
    expected +=
        32 + r.email().size() + r.name().size() + (template_data ? template_data->size() : 0);
  }
  std::string out;
  out.reserve(expected);

  out += "{\"personalizations\":[";
  for (std::size_t i = 0; i < to.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"to\":[";
    append_address(out, to[i].email(), to[i].name());
    out += ']';
    if (template_data) {
      out += ",\"dynamic_template_data\":";
      out += *template_data;
    }
    out += '}';
  }
  out += "],\"from\":";
  append_address(out, integration.from_email, integration.from_name);
  if (!integration.reply_to_email.empty()) {
    out += ",\"reply_to\":";
    append_address(out, integration.reply_to_email, integration.reply_to_name);
  }
  if (!request.subject().empty()) {
    out += ",\"subject\":";
    append_json_string(out, request.subject());
  }
  if (request.content_size() > 0) {
    std::vector<int> order(static_cast<std::size_t>(request.content_size()));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return content_rank(request.content(a).type()) < content_rank(request.content(b).type());
    });
    out += ",\"content\":[";
    for (std::size_t i = 0; i < order.size(); ++i) {
      const auto& c = request.content(order[i]);
      if (i > 0) out += ',';
      out += "{\"type\":";
      append_json_string(out, c.type());
      out += ",\"value\":";
      append_json_string(out, c.value());
      out += '}';
    }
    out += ']';
  }
  if (templated) {
    out += ",\"template_id\":";
    append_json_string(out, request.template_id());
  }
  const int group =
      request.asm_group_id() != 0 ? request.asm_group_id() : integration.default_asm_group;
  if (group != 0) {
    out += ",\"asm\":{\"group_id\":";
    out += std::to_string(group);
    out += '}';
  }
  if (request.categories_size() > 0) {
    out += ",\"categories\":[";
    for (int i = 0; i < request.categories_size(); ++i) {
      if (i > 0) out += ',';
      append_json_string(out, request.categories(i));
    }
    out += ']';
  }
  // Sorted, so that the same request always makes the same body.
  std::map<std::string_view, std::string_view> args;
  for (const auto& [key, value] : request.custom_args()) {
    if (key != request_id_arg && key != tenant_arg) args.emplace(key, value);
  }
  out += ",\"custom_args\":{";
  for (const auto& [key, value] : args) {
    append_json_string(out, key);
    out += ':';
    append_json_string(out, value);
    out += ',';
  }
  append_json_string(out, request_id_arg);
  out += ':';
  append_json_string(out, request.request_id());
  out += ',';
  append_json_string(out, tenant_arg);
  out += ':';
  append_json_string(out, request.tenant());
  out += "}}";
  return out;
}

// ---- the API key ----

result<std::string> load_api_key(const config::integration_config& integration) {
  const std::string who = "integration '" + integration.name + "'";
  const auto invalid = [](std::string message) {
    return failure(std::make_error_code(std::errc::invalid_argument), std::move(message));
  };
  if (!integration.api_key_file.empty() && !integration.api_key_env.empty()) {
    return invalid(who + ": set api_key_file or api_key_env, not both");
  }
  if (!integration.api_key_file.empty()) {
    const std::string& path = integration.api_key_file;
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) {
      const int error = errno;
      return failure(std::error_code(error, std::generic_category()),
                     who + ": cannot open the API key file " + path + ": " + std::strerror(error));
    }
    std::string line;
    int c = 0;
    // A key is ~70 bytes; stop reading what cannot be one.
    while ((c = std::fgetc(file)) != EOF && c != '\n' && line.size() < 64 * 1024) {
      line += static_cast<char>(c);
    }
    const bool failed = std::ferror(file) != 0;
    const int error = errno;
    std::fclose(file);
    if (failed) {
      return failure(std::error_code(error, std::generic_category()),
                     who + ": cannot read the API key file " + path + ": " + std::strerror(error));
    }
    std::string key(trim(line));
    if (key.empty()) {
      return invalid(who + ": the API key file " + path + " is empty (the key is its first line)");
    }
    return key;
  }
  if (!integration.api_key_env.empty()) {
    const std::string& name = integration.api_key_env;
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) {
      return invalid(who + ": the environment variable " + name + " (api_key_env) is not set");
    }
    std::string key(trim(value));
    if (key.empty()) {
      return invalid(who + ": the environment variable " + name + " (api_key_env) is empty");
    }
    return key;
  }
  return invalid(who + ": no API key: set api_key_file or api_key_env");
}

// ---- answers ----

answer_kind classify(const api_answer& answer) {
  const int s = answer.status;
  // Without a status, only a call that never began to write its request provably left
  // SendGrid without it.
  if (s == 0) return answer.request_started ? answer_kind::indeterminate : answer_kind::retryable;
  if (s >= 200 && s < 300) return answer_kind::accepted;
  // SendGrid's documented "not taken, try again" answers. An explicit answer is kept to
  // its word even when its body was cut off: the status line is the server's decision.
  if (s == 429) return answer_kind::rate_limited;
  if (s >= 500 && s < 600) return answer_kind::retryable;
  return answer_kind::rejected;
}

std::string explain(const api_answer& answer) {
  const int s = answer.status;
  if (s == 0) {
    const std::string why =
        answer.transport_error.empty() ? std::string("no answer") : answer.transport_error;
    return (answer.request_started ? "no answer after the request was sent: " : "unreachable: ") +
           why;
  }
  std::string headline;
  if (s >= 200 && s < 300) {
    headline = answer.message_id.empty() ? "sent" : "sent, message id " + answer.message_id;
  } else if (s == 401) {
    headline = "API key rejected";
  } else if (s == 403) {
    const bool about_from =
        std::any_of(answer.errors.begin(), answer.errors.end(), [](const auto& e) {
          return lower(e.field()).starts_with("from") ||
                 contains_ci(e.message(), "sender identity") ||
                 contains_ci(e.message(), "from address") || contains_ci(e.message(), "from email");
        });
    headline = about_from ? "From address is not a verified sender" : "access forbidden";
  } else if (s == 400) {
    headline = "request refused";
  } else if (s == 413) {
    headline = "content too large";
  } else if (s == 429) {
    headline = "rate limited";
  } else if (s >= 500 && s < 600) {
    headline = "SendGrid error";
  } else if (s >= 400 && s < 500) {
    headline = "refused by SendGrid";
  } else {
    headline = "unexpected answer";
  }
  if (s >= 200 && s < 300 && answer.errors.empty()) return headline;

  std::string detail;
  for (const auto& e : answer.errors) {
    std::string one = one_line(e.message(), 500);
    if (!e.field().empty())
      one += (one.empty() ? "field: " : "; field: ") + one_line(e.field(), 100);
    if (one.empty()) continue;
    if (!detail.empty()) detail += " | ";
    detail += one;
  }
  return headline + " (" + std::to_string(s) + (detail.empty() ? "" : ": " + detail) + ")";
}

// ---- the client ----

result<std::unique_ptr<mail_send_client>> mail_send_client::create(
    const config::integration_config& integration, std::string api_key) {
  const std::string who = "integration '" + integration.name + "'";
  auto url = parse_api_url(integration);
  if (!url) return url.error();
  const auto invalid = [](std::string message) {
    return failure(std::make_error_code(std::errc::invalid_argument), std::move(message));
  };
  if (api_key.empty()) return invalid(who + ": the API key is empty");
  // Only visible ASCII can go into the Authorization header unchanged (and CR or LF
  // there would inject headers).
  if (std::any_of(api_key.begin(), api_key.end(), [](char c) {
        return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f;
      })) {
    return invalid(who + ": the API key contains characters an HTTP header cannot carry");
  }
  if (integration.timeout.count() <= 0) return invalid(who + ": the timeout must be positive");

  std::shared_ptr<ssl::context> tls;
  if (url->tls) {
    tls = std::make_shared<ssl::context>(ssl::context::tls_client);
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls->set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    if (!integration.ca_file.empty()) {
      tls->load_verify_file(integration.ca_file, ec);
      if (ec) {
        return failure(
            static_cast<std::error_code>(ec),
            who + ": cannot load the CA file " + integration.ca_file + ": " + ec.message());
      }
    } else {
      tls->set_default_verify_paths(ec);
      if (ec) {
        return failure(static_cast<std::error_code>(ec),
                       who + ": cannot load the system's trusted certificates: " + ec.message());
      }
    }
  }
  return std::unique_ptr<mail_send_client>(std::make_unique<beast_client>(
      integration, std::move(*url), std::move(api_key), std::move(tls)));
}

}  // namespace mailhook::sender
