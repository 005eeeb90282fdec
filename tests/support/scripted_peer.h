// A bare HTTP/1.1 peer for the Mail Send client's tests where the wire matters: requests
// read and never answered, answers cut off, late or malformed, connections reset in the
// middle of a request or closed while idle. It listens on 127.0.0.1 (a port the kernel
// chooses) and plays one script per connection it accepts, in order; each step handles
// one request. After its script, a connection stays open until the client closes it.
//
// Threading: one thread of its own accepts connections and plays the scripts; the
// counters and wait_closed_idle() may be used from any thread.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace mailhook::testing {

struct scripted_peer_options {
  std::chrono::milliseconds late_by{2000};  // how late a late_answer comes
  // false: the port is bound but refuses connections until listen() is called.
  bool listening = true;
};

class scripted_peer {
 public:
  enum class step {
    answer,             // read the request, answer 202 (keep-alive), X-Message-Id "peer-N"
    answer_500,         // read the request, answer 500 (keep-alive)
    close,              // read the whole request, close without answering
    partial_answer,     // read the request, write "HTTP/1.1 20", close
    malformed_answer,   // read the request, write something that is not HTTP, close
    late_answer,        // read the request, answer 202 after late_by (if still connected)
    answer_then_close,  // read the request, answer 202 (keep-alive), then close as idle
    reset_mid_request,  // read the request's header only, then reset the connection
  };

  explicit scripted_peer(std::vector<std::vector<step>> connections,
                         scripted_peer_options options = {});
  ~scripted_peer();
  scripted_peer(const scripted_peer&) = delete;
  scripted_peer& operator=(const scripted_peer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  // Starts accepting connections, for a peer made with listening = false.
  void listen();

  [[nodiscard]] int connections() const { return connections_.load(); }
  // Requests whose header arrived, answered or not: what a server may have acted on.
  [[nodiscard]] int requests() const { return requests_.load(); }
  // Waits until `count` connections were closed by answer_then_close; false after `timeout`.
  [[nodiscard]] bool wait_closed_idle(int count, std::chrono::milliseconds timeout) const;

 private:
  void run();
  // Waits for `duration` or the peer's end; false at the end.
  bool pause(std::chrono::milliseconds duration);

  const std::vector<std::vector<step>> scripts_;
  const scripted_peer_options options_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> current_fd_{-1};
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  int closed_idle_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mailhook::testing
