#include "support/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <cctype>
#include <chrono>

namespace mailhook::testing {

namespace beast = boost::beast;
namespace http = beast::http;

http_client::http_client(std::string host, std::uint16_t port)
    : host_(std::move(host)), port_(port), stream_(io_) {}

http_client::~http_client() {
  beast::error_code ignored;
  stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
}

void http_client::connect() {
  boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address(host_), port_);
  stream_.expires_after(std::chrono::seconds(10));
  stream_.connect(endpoint);
  connected_ = true;
}

http_reply http_client::get(const std::string& target) {
  return request(http::verb::get, target, "", {});
}

http_reply http_client::post(const std::string& target, const std::string& body,
                             const std::map<std::string, std::string>& headers) {
  return request(http::verb::post, target, body, headers);
}

http_reply http_client::request(http::verb method, const std::string& target,
                                const std::string& body,
                                const std::map<std::string, std::string>& headers) {
  if (!connected_) connect();
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, host_);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  if (method != http::verb::get || !body.empty()) req.prepare_payload();
  stream_.expires_after(std::chrono::seconds(60));
  // A server may answer before the body is read (413 at the header) and close: the write
  // then fails with a broken pipe or a reset, but the answer is there to read, as curl
  // reads it.
  beast::error_code write_error;
  http::write(stream_, req, write_error);
  if (write_error && write_error != boost::asio::error::broken_pipe &&
      write_error != boost::asio::error::connection_reset) {
    throw beast::system_error(write_error);
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(stream_, buffer, parser);
  auto res = parser.release();
  http_reply reply;
  reply.status = static_cast<int>(res.result_int());
  reply.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(f.value());
  }
  if (!res.keep_alive()) {
    beast::error_code ignored;
    stream_.socket().close(ignored);
    connected_ = false;
  }
  return reply;
}

http_reply http_get(std::uint16_t port, const std::string& target) {
  try {
    http_client client("127.0.0.1", port);
    return client.get(target);
  } catch (const std::exception& e) {
    http_reply failed;
    failed.body = e.what();
    return failed;
  }
}

}  // namespace mailhook::testing
