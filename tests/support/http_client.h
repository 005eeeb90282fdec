// A blocking HTTP/1.1 client for tests (Boost.Beast), one request per call or several on
// one keep-alive connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <map>
#include <string>

namespace mailhook::testing {

struct http_reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

class http_client {
 public:
  http_client(std::string host, std::uint16_t port);
  ~http_client();

  http_reply get(const std::string& target);
  http_reply post(const std::string& target, const std::string& body,
                  const std::map<std::string, std::string>& headers = {});
  http_reply request(boost::beast::http::verb method, const std::string& target,
                     const std::string& body, const std::map<std::string, std::string>& headers);

 private:
  void connect();

  std::string host_;
  std::uint16_t port_;
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  bool connected_ = false;
};

// One request on a fresh connection; status 0 when the connection failed.
http_reply http_get(std::uint16_t port, const std::string& target);

}  // namespace mailhook::testing
