// mailhook_load: the end-to-end load generator of the ingest role. It signs a pool of
// SendGrid Event Webhook batches before the run (so signing and JSON building cost nothing
// while measuring), then posts them to POST /webhooks/sendgrid/{source} over keep-alive
// HTTP/1.1 connections, closed loop or on a paced schedule, and reports throughput,
// answers by status, latency and, with --daemon-pid, the daemon's CPU and memory.
// Loopback targets only. bench/load/run-load.sh runs it against a fresh daemon and broker.
//
// With --acked-ids FILE it also writes the sg_event_id of every event whose request was
// answered 2xx, for an audit that reads the topic back (tests/chaos/); --each-body-once
// then keeps every event id to one request, so a second copy in Kafka is a duplicate.
//
// Threads: --threads I/O threads run one io_context. Each connection lives on its own
// strand and owns its statistics; main() merges them after the I/O threads have joined.
// The only state the connections share is two atomic counters (schedule slot, requests).
// Over 600 lines: one self-contained tool (options, signing, the connection loop, the
// report), kept in one file so that it builds and reads on its own.
#include <fmt/format.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/result.h"
#include "load/daemon_monitor.h"
#include "load/latency_histogram.h"
#include "support/sendgrid_events.h"
#include "webhook/signature.h"

namespace mailhook::load {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

// Bounds on what one run may do; the workplace rules ask for load that ends by itself.
constexpr milliseconds max_duration = std::chrono::hours(1);
constexpr std::size_t max_connections = 1024;
constexpr std::size_t max_events_per_batch = 10000;
constexpr double max_rate = 1'000'000;
// A pool that is cycled through stops growing here: cycling a smaller pool measures the
// same thing. With --each-body-once every request needs a body of its own, so the pool may
// grow further (the overload scenario's five minutes: about 2.8 GiB).
constexpr std::size_t max_pool_bytes = std::size_t{512} << 20;
constexpr std::size_t max_pool_bytes_each_body_once = std::size_t{4} << 30;
// A connect that fails at once (nothing listens) is retried after this, not in a spin.
constexpr milliseconds connect_backoff{50};

// SIGTERM ends the run early but in order: no new request starts, the ones in flight get
// their answers, and the results (--acked-ids above all) are written. A fault-injection
// run that cannot know its length in advance (tests/chaos/) stops the load this way.
std::atomic<bool> stop_requested{false};
extern "C" void on_stop_signal(int) {
  stop_requested.store(true, std::memory_order_relaxed);
}

failure usage_error(std::string message) {
  return failure(std::make_error_code(std::errc::invalid_argument), std::move(message));
}

// "10s", "500ms", "2m", "0", or a bare number of seconds ("10").
result<milliseconds> parse_duration(std::string_view text, std::string_view option) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  if (ec != std::errc() || value > 10'000'000) {
    return usage_error(
        fmt::format("{}: expected a duration like 10s, 500ms or 2m; got '{}'", option, text));
  }
  const auto v = static_cast<std::int64_t>(value);
  if (unit == "ms") return milliseconds(v);
  if (unit == "s" || unit.empty()) return milliseconds(v * 1000);
  if (unit == "m") return milliseconds(v * 60'000);
  return usage_error(fmt::format("{}: unknown unit '{}' (ms, s or m)", option, unit));
}

struct target {
  tcp::endpoint endpoint;
  std::string host_header;  // "127.0.0.1:8080", as sent in Host
  std::string path;         // "/webhooks/sendgrid/load"
};

// http://HOST[:PORT]/PATH where HOST is a loopback address: 127.0.0.0/8, [::1] or
// "localhost" (read as 127.0.0.1, so no resolver can point it elsewhere).
result<target> parse_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, scheme.size()) != scheme) {
    return usage_error(fmt::format("--url: only http:// URLs are supported; got '{}'", url));
  }
  auto rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  const auto authority = rest.substr(0, slash);
  target t;
  t.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string_view host = authority;
  std::string_view port_text;
  if (authority.substr(0, 1) == "[") {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return usage_error("--url: unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return usage_error("--url: expected ':PORT' after ']'");
      port_text = after.substr(1);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  std::uint16_t port = 80;
  if (!port_text.empty()) {
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0) {
      return usage_error(fmt::format("--url: bad port '{}'", port_text));
    }
  }
  boost::system::error_code ec;
  auto address = host == "localhost" ? asio::ip::make_address("127.0.0.1")
                                     : asio::ip::make_address(std::string(host), ec);
  if (ec) {
    return usage_error(fmt::format(
        "--url: the host must be a loopback IP address (127.0.0.0/8, [::1]) or localhost; got '{}'",
        host));
  }
  if (!address.is_loopback()) {
    return usage_error(fmt::format(
        "--url: {} is not a loopback address; load may only be sent to 127.0.0.0/8 or ::1", host));
  }
  t.endpoint = tcp::endpoint(address, port);
  t.host_header = address.is_v6() ? fmt::format("[{}]:{}", address.to_string(), port)
                                  : fmt::format("{}:{}", address.to_string(), port);
  return t;
}

// Complete requests (header and body), written to the socket as they are.
struct request_pool {
  std::vector<std::string> requests;
  std::vector<std::vector<std::string>> event_ids;  // per request; empty for --body-file
  std::size_t events_per_batch = 0;
  std::size_t body_bytes_total = 0;
  [[nodiscard]] double mean_body_bytes() const {
    return static_cast<double>(body_bytes_total) / static_cast<double>(requests.size());
  }
};

// make_events() stamps events in 2023; SendGrid posts events seconds old. Only the
// "timestamp" member changes, so the wire format stays the shared generator's.
void stamp(testing::generated_event& e, std::int64_t unix_seconds) {
  const std::string old = "\"timestamp\":" + std::to_string(e.timestamp);
  if (const auto at = e.json.find(old); at != std::string::npos) {
    e.json.replace(at, old.size(), "\"timestamp\":" + std::to_string(unix_seconds));
    e.timestamp = unix_seconds;
  }
}

// `signer` null: unsigned requests. Distinct batches (distinct sg_event_ids); `seed` 0: a
// seed of its own per run, so runs post distinct events. The daemon does not dedupe, so
// cycling through them is fine.
result<request_pool> build_pool(const target& where, std::size_t events_per_batch,
                                std::size_t batches, const webhook::signer* signer,
                                const std::string& fixed_body, std::uint64_t fixed_seed,
                                std::size_t max_bytes) {
  const auto now = std::chrono::system_clock::now();
  const auto unix_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::string timestamp = std::to_string(unix_seconds);
  const std::uint64_t seed =
      fixed_seed != 0
          ? fixed_seed
          : std::random_device{}() ^ static_cast<std::uint64_t>(now.time_since_epoch().count());
  request_pool pool;
  pool.events_per_batch = events_per_batch;
  for (std::size_t b = 0; b < batches; ++b) {
    std::string body = fixed_body;
    if (body.empty()) {
      auto events = testing::make_events(seed, b * events_per_batch, events_per_batch);
      for (auto& e : events) stamp(e, unix_seconds);
      body = testing::batch_body(events);
      auto& ids = pool.event_ids.emplace_back();
      for (const auto& e : events) ids.push_back(e.sg_event_id);
    }
    std::string request = fmt::format(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mailhook_load\r\n"
        "Content-Type: application/json\r\nContent-Length: {}\r\n",
        where.path, where.host_header, body.size());
    if (signer != nullptr) {
      auto signature = signer->sign(timestamp, body);
      if (!signature) return signature.error();
      request += fmt::format("{}: {}\r\n{}: {}\r\n", webhook::signature_header_name, *signature,
                             webhook::timestamp_header_name, timestamp);
    }
    request += "\r\n";
    request += body;
    pool.body_bytes_total += body.size();
    pool.requests.push_back(std::move(request));
    if (pool.body_bytes_total >= max_bytes) break;
  }
  return pool;
}

struct run_plan {
  target where;
  clock_type::time_point start;         // the first request may go (warmup begins)
  clock_type::time_point measure_from;  // start + warmup
  clock_type::time_point stop_at;       // measure_from + duration: nothing starts after it
  double rate = 0;                      // requests/s over all connections; 0 = closed loop
  bool each_body_once = false;          // stop once every body of the pool was sent
  milliseconds timeout{0};              // per request, connect included
  std::uint64_t max_requests = 0;       // 0 = no cap

  // When schedule slot `k` is due, relative to `start`.
  [[nodiscard]] nanoseconds slot_offset(std::uint64_t k) const {
    return nanoseconds(static_cast<std::int64_t>(static_cast<double>(k) * 1e9 / rate));
  }
  // How many slots are due before `start + t`.
  [[nodiscard]] std::uint64_t slots_before(nanoseconds t) const {
    auto k = static_cast<std::uint64_t>(std::max(0.0, static_cast<double>(t.count()) * rate / 1e9));
    while (k > 0 && slot_offset(k - 1) >= t) --k;
    while (slot_offset(k) < t) ++k;
    return k;
  }
};

struct shared_counters {
  std::atomic<std::uint64_t> next_slot{0};  // rate mode: the next schedule slot to serve
  std::atomic<std::uint64_t> started{0};    // requests begun, for --max-requests
  std::atomic<std::size_t> next_body{0};    // --each-body-once: the next unsent body
  // Steady clock ns of the last 2xx answer, and the longest time without one: how long a
  // fault kept the daemon from acknowledging anything.
  std::atomic<std::int64_t> last_ack{0};
  std::atomic<std::int64_t> longest_without_ack{0};

  void note_ack(clock_type::time_point at) {
    const auto now = at.time_since_epoch().count();
    const auto gap = now - last_ack.exchange(now);
    auto longest = longest_without_ack.load();
    while (gap > longest && !longest_without_ack.compare_exchange_weak(longest, gap)) {
    }
  }
  std::atomic<bool> cap_reached{false};
  std::atomic<std::int64_t> cap_reached_at{0};  // steady clock ns since epoch, first time
};

// Counts of the measured requests only (those begun inside the measured window).
struct connection_stats {
  std::uint64_t started = 0;
  std::uint64_t ok = 0;  // 200
  std::uint64_t events_accepted = 0;
  std::uint64_t events_dead_lettered = 0;
  std::uint64_t unparsed_ok_bodies = 0;  // 200s whose body did not say how many were accepted
  std::uint64_t unavailable = 0;         // 503
  std::uint64_t unavailable_without_retry_after = 0;  // 503s that break SendGrid's contract
  std::map<unsigned, std::uint64_t> other_status;
  std::uint64_t connection_errors = 0;  // refused, reset or closed without an answer
  std::uint64_t timeouts = 0;           // no answer within --timeout
  std::uint64_t connects = 0;           // every connect, warmup included
  latency_histogram ok_latency;
  latency_histogram other_latency;  // answers other than 200

  void merge(const connection_stats& o) {
    started += o.started;
    ok += o.ok;
    events_accepted += o.events_accepted;
    events_dead_lettered += o.events_dead_lettered;
    unparsed_ok_bodies += o.unparsed_ok_bodies;
    unavailable += o.unavailable;
    unavailable_without_retry_after += o.unavailable_without_retry_after;
    for (const auto& [status, n] : o.other_status) other_status[status] += n;
    connection_errors += o.connection_errors;
    timeouts += o.timeouts;
    connects += o.connects;
    ok_latency.merge(o.ok_latency);
    other_latency.merge(o.other_latency);
  }
  [[nodiscard]] std::uint64_t answered() const {
    std::uint64_t n = ok + unavailable;
    for (const auto& [status, count] : other_status) n += count;
    return n;
  }
};

// The number after "key": in `{"accepted":N,"dead_lettered":M}`.
std::optional<std::uint64_t> json_count(std::string_view body, std::string_view key) {
  const std::string needle = fmt::format("\"{}\":", key);
  const auto at = body.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  auto digits = body.substr(at + needle.size());
  while (!digits.empty() && digits.front() == ' ') digits.remove_prefix(1);
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc()) return std::nullopt;
  return n;
}

// One keep-alive connection sending one request at a time. Reconnects whenever the
// server closes (it does after a 503 sent before reading the body). Runs on its strand.
class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(asio::io_context& io, const run_plan& plan, const request_pool& pool,
             shared_counters& shared, std::size_t first_body)
      : plan_(plan),
        pool_(pool),
        shared_(shared),
        stream_(asio::make_strand(io)),
        timer_(stream_.get_executor()),
        next_body_(first_body % pool.requests.size()) {}

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->next(); });
  }

  // Read only after the I/O threads have joined.
  [[nodiscard]] const connection_stats& stats() const { return stats_; }
  // The pool index of every request answered 2xx, warmup included.
  [[nodiscard]] const std::vector<std::size_t>& acknowledged() const { return acknowledged_; }

 private:
  void next() {
    const auto now = clock_type::now();
    if (now >= plan_.stop_at || stop_requested.load(std::memory_order_relaxed)) return finish();
    if (now < plan_.start) {
      // Every connection's first request waits for the common start, so that with no
      // warmup the first requests are measured too.
      timer_.expires_at(plan_.start);
      return timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (ec) return self->finish();
        self->next();
      });
    }
    if (plan_.max_requests != 0 &&
        shared_.started.fetch_add(1, std::memory_order_relaxed) >= plan_.max_requests) {
      if (!shared_.cap_reached.exchange(true)) {
        shared_.cap_reached_at.store(now.time_since_epoch().count());
      }
      return finish();
    }
    if (plan_.each_body_once) {
      const auto body = shared_.next_body.fetch_add(1, std::memory_order_relaxed);
      if (body >= pool_.requests.size()) return finish();
      next_body_ = body;
    }
    if (plan_.rate == 0) {
      scheduled_ = false;
      measured_ = now >= plan_.measure_from;
      return begin();
    }
    // Open loop: the next slot of one schedule shared by all connections goes to whichever
    // connection is free first. Its latency counts from when it was due, so a daemon that
    // falls behind shows the queueing instead of slowing the schedule down.
    const auto slot = shared_.next_slot.fetch_add(1, std::memory_order_relaxed);
    intended_ = plan_.start + plan_.slot_offset(slot);
    if (intended_ >= plan_.stop_at) return finish();
    scheduled_ = true;
    measured_ = intended_ >= plan_.measure_from;
    if (intended_ <= now) return begin();
    timer_.expires_at(intended_);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->finish();
      self->begin();
    });
  }

  void begin() {
    if (measured_) ++stats_.started;
    if (stream_.socket().is_open()) return send();
    ++stats_.connects;
    buffer_.consume(buffer_.size());
    stream_.expires_after(plan_.timeout);
    stream_.async_connect(plan_.where.endpoint, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->on_connect_failed(ec);
      beast::error_code ignored;
      self->stream_.socket().set_option(tcp::no_delay(true), ignored);
      self->send();
    });
  }

  void on_connect_failed(beast::error_code ec) {
    count_failure(ec);
    close();
    timer_.expires_after(connect_backoff);
    timer_.async_wait([self = shared_from_this()](beast::error_code) { self->next(); });
  }

  void send() {
    if (!scheduled_) intended_ = clock_type::now();  // closed loop: from send to answer
    current_body_ = next_body_;
    const std::string& request = pool_.requests[next_body_];
    next_body_ = (next_body_ + 1) % pool_.requests.size();
    parser_.emplace();
    pending_ = 2;
    read_ec_ = {};
    write_ec_ = {};
    stream_.expires_after(plan_.timeout);
    // The read starts with the write, not after it: when the daemon is overloaded it
    // answers 503 before reading the body and closes, and a client still writing would
    // see only a reset and miss the answer.
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    asio::async_write(
        stream_, asio::buffer(request),
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_read(beast::error_code ec) {
    read_ec_ = ec;
    answered_at_ = clock_type::now();
    // No answer, or one that arrived before our body was all written: this connection's
    // state is unknown. Closing also ends the pending write.
    if (ec || pending_ == 2) close();
    if (--pending_ == 0) on_exchange_done();
  }

  void on_write(beast::error_code ec) {
    // A failed write (the server closed early) is not yet a failure: its answer may be
    // waiting in our receive buffer, and the pending read will get it.
    write_ec_ = ec;
    if (--pending_ == 0) on_exchange_done();
  }

  void on_exchange_done() {
    if (read_ec_) {
      count_failure(read_ec_);
      close();
      return next();
    }
    const auto& res = parser_->get();
    if (res.result_int() / 100 == 2) {
      acknowledged_.push_back(current_body_);
      shared_.note_ack(answered_at_);
    }
    if (measured_) record(res);
    if (write_ec_ || !res.keep_alive()) close();
    next();
  }

  void record(const http::response<http::string_body>& res) {
    const auto latency = static_cast<std::uint64_t>(
        std::chrono::duration_cast<nanoseconds>(answered_at_ - intended_).count());
    const unsigned status = res.result_int();
    if (status == 200) {
      ++stats_.ok;
      stats_.ok_latency.record(latency);
      const auto accepted = json_count(res.body(), "accepted");
      const auto dead_lettered = json_count(res.body(), "dead_lettered");
      if (accepted && dead_lettered) {
        stats_.events_accepted += *accepted;
        stats_.events_dead_lettered += *dead_lettered;
      } else {
        ++stats_.unparsed_ok_bodies;
      }
      return;
    }
    stats_.other_latency.record(latency);
    if (status == 503) {
      ++stats_.unavailable;
      if (res.find(http::field::retry_after) == res.end()) ++stats_.unavailable_without_retry_after;
    } else {
      ++stats_.other_status[status];
    }
  }

  void count_failure(beast::error_code ec) {
    if (!measured_) return;
    if (ec == beast::error::timeout) {
      ++stats_.timeouts;
    } else {
      ++stats_.connection_errors;
    }
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  void finish() { close(); }

  const run_plan& plan_;
  const request_pool& pool_;
  shared_counters& shared_;
  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::size_t next_body_;
  std::size_t current_body_ = 0;  // the pool index of the request in flight
  std::vector<std::size_t> acknowledged_;
  clock_type::time_point intended_;  // when the request was due (rate) or sent (closed)
  clock_type::time_point answered_at_;
  bool scheduled_ = false;
  bool measured_ = false;
  int pending_ = 0;  // of the read and the write of the current exchange
  beast::error_code read_ec_;
  beast::error_code write_ec_;
  connection_stats stats_;
};

struct options {
  std::string url;
  std::size_t connections = 8;
  std::size_t events_per_batch = 100;
  std::string duration = "10s";
  std::string warmup = "2s";
  std::string timeout = "30s";
  double rate = 0;
  unsigned threads = 1;
  std::string sign_key_pem;
  bool unsigned_requests = false;
  std::string body_file;
  int daemon_pid = 0;
  std::size_t pool = 64;
  std::uint64_t max_requests = 0;
  bool json = false;
  std::string acked_ids;
  bool each_body_once = false;
  std::uint64_t seed = 0;                 // of the pool's events; 0: one of its own
  std::string daemon_malloc_count;        // the counts file of a preloaded malloc_count.c
  std::vector<std::string> measure_pids;  // NAME=PID, CPU over the window
};

struct run_result {
  connection_stats totals;
  double warmup_seconds = 0;
  double measured_seconds = 0;  // the measured window (shorter if --max-requests cut it)
  double wall_seconds = 0;      // the whole run: warmup, window and the last answers
  double client_cpu_seconds = 0;
  std::uint64_t backlog = 0;  // rate mode: slots due in the window that were never sent
  bool cap_reached = false;
  std::vector<std::size_t> acknowledged;   // pool indexes answered 2xx, one per answer
  double longest_without_2xx_seconds = 0;  // from the start, between 2xx answers, to the end
  std::optional<daemon_usage> daemon;
  std::vector<watched_process> watched;  // in the order of daemon->others_cpu
};

double process_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double seconds(clock_type::duration d) {
  return std::chrono::duration<double>(d).count();
}

// --measure-pid's NAME=PID pairs, then this process itself as "load generator", then the
// whole machine's busy CPU and the hypervisor's steal (every CPU summed).
std::vector<watched_process> watched_processes(const options& opt) {
  std::vector<watched_process> out;
  for (const auto& item : opt.measure_pids) {
    const auto eq = item.find('=');
    watched_process p;
    p.name = item.substr(0, eq);
    p.pid = std::atoi(item.c_str() + eq + 1);
    out.push_back(std::move(p));
  }
  out.push_back({"load generator", static_cast<int>(::getpid())});
  out.push_back({"machine", 0});
  out.push_back({"steal", -1});
  return out;
}

// The allocation total over the window; nullopt without a counts file.
std::optional<std::uint64_t> allocations_total(const run_result& r) {
  if (!r.daemon || !r.daemon->allocations) return std::nullopt;
  std::uint64_t total = 0;
  for (const auto n : *r.daemon->allocations) total += n;
  return total;
}

double per(double amount, std::uint64_t n) {
  return n > 0 ? amount / static_cast<double>(n) : 0.0;
}

run_result run(const options& opt, const target& where, milliseconds warmup, milliseconds duration,
               milliseconds timeout, const request_pool& pool,
               std::optional<malloc_count_file> counts, std::vector<watched_process> others) {
  asio::io_context io(static_cast<int>(opt.threads));
  shared_counters shared;
  run_plan plan;
  plan.where = where;
  // A little time for the connections' first connects before the schedule starts.
  plan.start = clock_type::now() + milliseconds(20);
  plan.measure_from = plan.start + warmup;
  plan.stop_at = plan.measure_from + duration;
  plan.rate = opt.rate;
  plan.timeout = timeout;
  plan.max_requests = opt.max_requests;
  plan.each_body_once = opt.each_body_once;
  shared.last_ack = plan.start.time_since_epoch().count();

  std::optional<daemon_monitor> monitor;
  if (opt.daemon_pid > 0) {
    monitor.emplace(opt.daemon_pid, plan.measure_from, std::move(counts), std::move(others));
  }

  std::vector<std::shared_ptr<connection>> connections;
  for (std::size_t i = 0; i < opt.connections; ++i) {
    // Spread the connections' starting points over the pool.
    const std::size_t first_body = i * pool.requests.size() / opt.connections;
    connections.push_back(std::make_shared<connection>(io, plan, pool, shared, first_body));
    connections.back()->start();
  }
  const double cpu_before = process_cpu_seconds();
  const auto wall_start = clock_type::now();
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < opt.threads; ++t) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();

  run_result r;
  r.warmup_seconds = seconds(warmup);
  r.wall_seconds = seconds(clock_type::now() - wall_start);
  r.client_cpu_seconds = process_cpu_seconds() - cpu_before;
  // The last stretch counts too: a daemon that never recovered acknowledged nothing since.
  shared.note_ack(std::min(clock_type::now(), plan.stop_at));
  r.longest_without_2xx_seconds = seconds(nanoseconds(shared.longest_without_ack.load()));
  if (monitor) r.daemon = monitor->finish();
  r.watched = watched_processes(opt);
  for (const auto& c : connections) {
    r.totals.merge(c->stats());
    r.acknowledged.insert(r.acknowledged.end(), c->acknowledged().begin(), c->acknowledged().end());
  }

  auto window_end = plan.stop_at;
  if (stop_requested.load()) window_end = std::min(window_end, clock_type::now());
  if (shared.cap_reached.load()) {
    r.cap_reached = true;
    window_end = std::min(
        window_end, clock_type::time_point(clock_type::duration(shared.cap_reached_at.load())));
  }
  r.measured_seconds = std::max(0.0, seconds(window_end - plan.measure_from));
  if (plan.rate > 0 && !r.cap_reached) {
    const auto due = plan.slots_before(plan.stop_at - plan.start) -
                     plan.slots_before(plan.measure_from - plan.start);
    r.backlog = due > r.totals.started ? due - r.totals.started : 0;
  }
  return r;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

double ms(std::uint64_t nanos) {
  return static_cast<double>(nanos) / 1e6;
}

double per_second(std::uint64_t n, double window) {
  return window > 0 ? static_cast<double>(n) / window : 0.0;
}

struct percentile {
  const char* name;
  double q;
};
constexpr percentile percentiles[] = {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p99.9", 0.999}};

std::string latency_json(const latency_histogram& h) {
  std::string out = fmt::format("{{\"count\":{}", h.count());
  for (const auto& p : percentiles)
    out += fmt::format(",\"{}\":{:.3f}", p.name, ms(h.quantile(p.q)));
  return out + fmt::format(",\"max\":{:.3f},\"mean\":{:.3f}}}", ms(h.max()), h.mean() / 1e6);
}

void print_json(const options& opt, const request_pool& pool, const run_result& r) {
  const auto& t = r.totals;
  std::string other = "{";
  for (const auto& [status, n] : t.other_status) {
    other += fmt::format("{}\"{}\":{}", other.size() > 1 ? "," : "", status, n);
  }
  other += "}";
  std::string out = fmt::format(
      "{{\"url\":{},\"mode\":\"{}\",\"target_rate\":{},\"connections\":{},\"threads\":{},"
      "\"events_per_batch\":{},\"mean_body_bytes\":{:.0f},\"pool\":{},\"signed\":{},"
      "\"warmup_s\":{:.3f},\"duration_s\":{:.3f},\"wall_s\":{:.3f},\"stopped_by_max_requests\":{},"
      "\"requests\":{{\"started\":{},\"answered\":{},\"status_200\":{},\"status_503\":{},"
      "\"status_503_without_retry_after\":{},"
      "\"status_other\":{},\"connection_errors\":{},\"timeouts\":{},\"never_sent\":{},"
      "\"connects\":{}}},"
      "\"events\":{{\"accepted\":{},\"dead_lettered\":{},\"unparsed_200_bodies\":{}}},"
      "\"requests_per_s\":{:.1f},\"events_per_s\":{:.1f},"
      "\"latency_ms_200\":{},\"latency_ms_other\":{},\"client_cpu_s\":{:.3f},"
      "\"longest_without_2xx_s\":{:.3f}",
      json_string(opt.url), opt.rate > 0 ? "rate" : "closed_loop", opt.rate, opt.connections,
      opt.threads, pool.events_per_batch, pool.mean_body_bytes(), pool.requests.size(),
      opt.sign_key_pem.empty() ? "false" : "true", r.warmup_seconds, r.measured_seconds,
      r.wall_seconds, r.cap_reached ? "true" : "false", t.started, t.answered(), t.ok,
      t.unavailable, t.unavailable_without_retry_after, other, t.connection_errors, t.timeouts,
      r.backlog, t.connects, t.events_accepted, t.events_dead_lettered, t.unparsed_ok_bodies,
      per_second(t.ok, r.measured_seconds), per_second(t.events_accepted, r.measured_seconds),
      latency_json(t.ok_latency), latency_json(t.other_latency), r.client_cpu_seconds,
      r.longest_without_2xx_seconds);
  if (r.daemon) {
    const auto& d = *r.daemon;
    const double cpu_us = static_cast<double>(d.cpu.count());
    out += fmt::format(
        ",\"daemon\":{{\"pid\":{},\"cpu_s\":{:.3f},\"cpu_cores\":{:.3f},\"cpu_us_per_event\":{:.3f}"
        ","
        "\"cpu_us_per_request\":{:.1f},\"peak_rss_bytes\":{},\"max_sampled_rss_bytes\":{},"
        "\"complete\":{}",
        opt.daemon_pid, cpu_us / 1e6,
        r.measured_seconds > 0 ? cpu_us / 1e6 / r.measured_seconds : 0.0,
        t.events_accepted > 0 ? cpu_us / static_cast<double>(t.events_accepted) : 0.0,
        t.answered() > 0 ? cpu_us / static_cast<double>(t.answered()) : 0.0, d.peak_rss_bytes,
        d.max_sampled_rss, d.complete ? "true" : "false");
    if (const auto total = allocations_total(r)) {
      out +=
          fmt::format(",\"allocations\":{{\"total\":{},\"per_event\":{:.3f},\"per_request\":{:.1f}",
                      *total, per(static_cast<double>(*total), t.events_accepted),
                      per(static_cast<double>(*total), t.answered()));
      for (std::size_t k = 0; k < d.allocations->size(); ++k) {
        out += fmt::format(",\"{}\":{}", allocation_function_names[k], (*d.allocations)[k]);
      }
      out += "}";
    }
    out += ",\"cpu_by_thread\":{";
    for (std::size_t i = 0; i < d.cpu_by_thread.size(); ++i) {
      const double us = static_cast<double>(d.cpu_by_thread[i].second.count());
      out +=
          fmt::format("{}{}:{{\"cpu_s\":{:.3f},\"cpu_us_per_event\":{:.3f}}}", i == 0 ? "" : ",",
                      json_string(d.cpu_by_thread[i].first), us / 1e6, per(us, t.events_accepted));
    }
    out += "}}";
    out += ",\"window_cpu\":{";
    for (std::size_t i = 0; i < r.watched.size() && i < d.others_cpu.size(); ++i) {
      const auto& cpu = d.others_cpu[i];
      const double us = cpu ? static_cast<double>(cpu->count()) : 0.0;
      out += fmt::format(
          "{}{}:{{\"pid\":{},\"cpu_s\":{:.3f},\"cpu_us_per_event\":{:.3f},"
          "\"complete\":{}}}",
          i == 0 ? "" : ",", json_string(r.watched[i].name), r.watched[i].pid, us / 1e6,
          per(us, t.events_accepted), cpu ? "true" : "false");
    }
    out += "}";
  }
  std::printf("%s}\n", out.c_str());
}

std::string mib(std::uint64_t bytes) {
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

void print_table(const options& opt, const request_pool& pool, const run_result& r) {
  const auto& t = r.totals;
  const double window = r.measured_seconds;
  std::string out;
  auto line = [&out](std::string_view label, const std::string& value) {
    out += fmt::format("  {:<20} {}\n", label, value);
  };
  out += fmt::format("mailhook_load {}\n", opt.url);
  line("mode",
       opt.rate > 0
           ? fmt::format("open loop at {:g} requests/s (latency from the scheduled time)", opt.rate)
           : std::string("closed loop (latency from send)"));
  line("connections", fmt::format("{} on {} I/O thread{}", opt.connections, opt.threads,
                                  opt.threads == 1 ? "" : "s"));
  line("batch",
       fmt::format("{} event{}, {:.1f} KiB mean body, pool of {} {} bodies", pool.events_per_batch,
                   pool.events_per_batch == 1 ? "" : "s", pool.mean_body_bytes() / 1024.0,
                   pool.requests.size(), opt.sign_key_pem.empty() ? "unsigned" : "signed"));
  line("window",
       fmt::format("{:.2f} s measured after {} warmup{} ({:.2f} s wall in all)", window, opt.warmup,
                   r.cap_reached ? ", cut short by --max-requests" : "", r.wall_seconds));
  out += "requests (begun in the window)\n";
  line("started", std::to_string(t.started));
  line("200", fmt::format("{:<10} {:.1f} requests/s", t.ok, per_second(t.ok, window)));
  line("events accepted", fmt::format("{:<10} {:.1f} events/s", t.events_accepted,
                                      per_second(t.events_accepted, window)));
  if (t.events_dead_lettered > 0)
    line("events dead-lettered", std::to_string(t.events_dead_lettered));
  if (t.unparsed_ok_bodies > 0) line("200 without counts", std::to_string(t.unparsed_ok_bodies));
  line("503", t.unavailable_without_retry_after == 0
                  ? std::to_string(t.unavailable)
                  : fmt::format("{} ({} without Retry-After)", t.unavailable,
                                t.unavailable_without_retry_after));
  std::string other;
  for (const auto& [status, n] : t.other_status)
    other += fmt::format("{}{}: {}", other.empty() ? "" : ", ", status, n);
  line("other statuses", other.empty() ? "0" : other);
  line("connection errors", std::to_string(t.connection_errors));
  line("timeouts", fmt::format("{} (no answer within {})", t.timeouts, opt.timeout));
  if (opt.rate > 0) {
    line("never sent", r.backlog == 0
                           ? std::string("0")
                           : fmt::format("{} (target rate missed: slots due while every connection "
                                         "was busy; the latencies below leave them out)",
                                         r.backlog));
  }
  line("connects", std::to_string(t.connects));
  line("longest without 2xx", fmt::format("{:.2f} s", r.longest_without_2xx_seconds));

  auto latency = [&](std::string_view title, const latency_histogram& h) {
    if (h.count() == 0) return;
    out += fmt::format("latency of {} ({} answers, ms)\n", title, h.count());
    std::string row;
    for (const auto& p : percentiles)
      row += fmt::format("{}={:.3f}  ", p.name, ms(h.quantile(p.q)));
    row += fmt::format("max={:.3f}  mean={:.3f}", ms(h.max()), h.mean() / 1e6);
    out += "  " + row + "\n";
  };
  latency("200 answers", t.ok_latency);
  latency("other answers", t.other_latency);

  if (r.daemon) {
    const auto& d = *r.daemon;
    const double cpu_us = static_cast<double>(d.cpu.count());
    out += fmt::format("daemon (pid {}){}\n", opt.daemon_pid,
                       d.complete ? "" : " - /proc stopped answering, figures incomplete");
    line("CPU", fmt::format("{:.2f} s = {:.2f} cores over the window", cpu_us / 1e6,
                            window > 0 ? cpu_us / 1e6 / window : 0.0));
    line("CPU per event", t.events_accepted > 0
                              ? fmt::format("{:.2f} us (per accepted event)",
                                            cpu_us / static_cast<double>(t.events_accepted))
                              : std::string("-"));
    line("CPU per request", t.answered() > 0
                                ? fmt::format("{:.1f} us (per answered request)",
                                              cpu_us / static_cast<double>(t.answered()))
                                : std::string("-"));
    // The threads' shares, each pool that took a hundredth of the daemon's CPU or more.
    if (!d.cpu_by_thread.empty()) line("CPU by thread", "(pools with 1% of it or more)");
    for (const auto& [threads, cpu] : d.cpu_by_thread) {
      const double us = static_cast<double>(cpu.count());
      if (us * 100 < cpu_us) continue;
      line("  " + threads,
           fmt::format("{:.2f} s = {:.2f} cores, {:.2f} us per event", us / 1e6,
                       window > 0 ? us / 1e6 / window : 0.0, per(us, t.events_accepted)));
    }
    line("peak RSS (VmHWM)", mib(d.peak_rss_bytes));
    line("max sampled VmRSS", mib(d.max_sampled_rss));
    if (const auto total = allocations_total(r)) {
      line("allocations", *total == 0
                              ? std::string("0 counted in the window: the counter is not working")
                              : fmt::format("{} = {:.3f} per event, {:.1f} per request", *total,
                                            per(static_cast<double>(*total), t.events_accepted),
                                            per(static_cast<double>(*total), t.answered())));
      std::string kinds;
      for (std::size_t k = 0; k < d.allocations->size(); ++k) {
        if ((*d.allocations)[k] == 0) continue;
        kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", allocation_function_names[k],
                             (*d.allocations)[k]);
      }
      if (!kinds.empty()) line("  by function", kinds);
    }
    out += "CPU of the other processes over the same window\n";
    for (std::size_t i = 0; i < r.watched.size() && i < d.others_cpu.size(); ++i) {
      const auto& cpu = d.others_cpu[i];
      const double us = cpu ? static_cast<double>(cpu->count()) : 0.0;
      line(r.watched[i].pid > 0 ? fmt::format("{} (pid {})", r.watched[i].name, r.watched[i].pid)
                                : fmt::format("{} (all CPUs)", r.watched[i].name),
           cpu ? fmt::format("{:.2f} s = {:.2f} cores, {:.2f} us per event", us / 1e6,
                             window > 0 ? us / 1e6 / window : 0.0, per(us, t.events_accepted))
               : std::string("- (/proc did not answer)"));
    }
  }
  out += "client\n";
  line("CPU", fmt::format("{:.2f} s = {:.2f} cores over the whole run", r.client_cpu_seconds,
                          r.wall_seconds > 0 ? r.client_cpu_seconds / r.wall_seconds : 0.0));
  std::fputs(out.c_str(), stdout);
}

int keygen(const std::filesystem::path& dir) {
  auto pair = webhook::generate_p256_key();
  if (!pair) {
    std::fprintf(stderr, "keygen: %s\n", pair.error().describe().c_str());
    return exit_failure;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "keygen: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return exit_failure;
  }
  const auto private_path = dir / "private.pem";
  const auto public_path = dir / "public.txt";
  // Never overwrite: a daemon may already trust the public half of the existing key.
  if (std::filesystem::exists(private_path) || std::filesystem::exists(public_path)) {
    std::fprintf(stderr, "keygen: %s already holds a key; choose another --out\n", dir.c_str());
    return exit_failure;
  }
  {
    std::ofstream out(private_path);
    std::filesystem::permissions(
        private_path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
    out << pair->private_key.private_key_pem();
    if (!out.flush()) {
      std::fprintf(stderr, "keygen: cannot write %s\n", private_path.c_str());
      return exit_failure;
    }
  }
  {
    std::ofstream out(public_path);
    out << pair->public_key_base64 << "\n";
    if (!out.flush()) {
      std::fprintf(stderr, "keygen: cannot write %s\n", public_path.c_str());
      return exit_failure;
    }
  }
  // The public key on stdout, ready for [sources.NAME] public_keys.
  std::printf("%s\n", pair->public_key_base64.c_str());
  return exit_ok;
}

result<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return usage_error(fmt::format("--sign-key-pem: cannot read {}", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// One sg_event_id a line, for every event of every request answered 2xx (twice if it was
// answered twice).
bool write_acked_ids(const std::string& path, const request_pool& pool,
                     const std::vector<std::size_t>& acknowledged) {
  std::ofstream out(path);
  for (const auto body : acknowledged) {
    for (const auto& id : pool.event_ids[body]) out << id << '\n';
  }
  return static_cast<bool>(out.flush());
}

int run_load(const options& opt) {
  if (opt.url.empty()) {
    std::fprintf(stderr, "--url is required (or use the keygen subcommand); see --help\n");
    return exit_usage;
  }
  auto where = parse_url(opt.url);
  if (!where) {
    std::fprintf(stderr, "%s\n", where.error().describe().c_str());
    return exit_usage;
  }
  if (opt.sign_key_pem.empty() && !opt.unsigned_requests) {
    std::fprintf(
        stderr,
        "give --sign-key-pem FILE (make one with `mailhook_load keygen --out DIR` and put\n"
        "DIR/public.txt in the source's public_keys) or --unsigned\n");
    return exit_usage;
  }
  auto duration = parse_duration(opt.duration, "--duration");
  auto warmup = parse_duration(opt.warmup, "--warmup");
  auto timeout = parse_duration(opt.timeout, "--timeout");
  for (const auto* d : {&duration, &warmup, &timeout}) {
    if (!*d) {
      std::fprintf(stderr, "%s\n", d->error().describe().c_str());
      return exit_usage;
    }
  }
  if (*duration <= milliseconds(0) || *duration > max_duration || *warmup > max_duration) {
    std::fprintf(stderr, "--duration must be above 0 and, like --warmup, at most 1h\n");
    return exit_usage;
  }
  if (*timeout <= milliseconds(0) || *timeout > std::chrono::minutes(10)) {
    std::fprintf(stderr, "--timeout must be above 0 and at most 10m\n");
    return exit_usage;
  }
  if (opt.daemon_pid > 0 && !process_cpu_time(opt.daemon_pid)) {
    std::fprintf(stderr, "--daemon-pid: cannot read /proc/%d/stat\n", opt.daemon_pid);
    return exit_usage;
  }
  if (opt.daemon_pid <= 0 && (!opt.daemon_malloc_count.empty() || !opt.measure_pids.empty())) {
    std::fprintf(stderr, "--daemon-malloc-count and --measure-pid need --daemon-pid\n");
    return exit_usage;
  }
  std::optional<malloc_count_file> counts;
  if (!opt.daemon_malloc_count.empty()) {
    auto opened = malloc_count_file::open(opt.daemon_malloc_count, opt.daemon_pid);
    if (!opened) {
      std::fprintf(stderr, "--daemon-malloc-count: %s\n", opened.error().describe().c_str());
      return exit_usage;
    }
    counts.emplace(std::move(*opened));
  }
  for (const auto& item : opt.measure_pids) {
    const auto eq = item.find('=');
    const int pid = eq == std::string::npos ? 0 : std::atoi(item.c_str() + eq + 1);
    if (eq == 0 || pid <= 0 || !process_cpu_time(pid)) {
      std::fprintf(stderr,
                   "--measure-pid %s: expected NAME=PID of a process whose /proc/PID/stat "
                   "this user can read\n",
                   item.c_str());
      return exit_usage;
    }
  }

  std::optional<webhook::signer> signer;
  if (!opt.sign_key_pem.empty()) {
    auto pem = read_file(opt.sign_key_pem);
    if (!pem) {
      std::fprintf(stderr, "%s\n", pem.error().describe().c_str());
      return exit_usage;
    }
    auto parsed = webhook::signer::from_pem(*pem);
    if (!parsed) {
      std::fprintf(stderr, "--sign-key-pem %s: %s\n", opt.sign_key_pem.c_str(),
                   parsed.error().describe().c_str());
      return exit_usage;
    }
    signer.emplace(std::move(*parsed));
  }

  std::fprintf(stderr, "building %zu bodies of %zu events...\n", opt.pool, opt.events_per_batch);
  std::string fixed_body;
  if (!opt.body_file.empty()) {
    auto body = read_file(opt.body_file);
    if (!body) {
      std::fprintf(stderr, "%s\n", body.error().describe().c_str());
      return exit_usage;
    }
    fixed_body = std::move(*body);
  }
  // One fixed body needs one request in the pool.
  const std::size_t bodies = fixed_body.empty() ? opt.pool : 1;
  auto pool =
      build_pool(*where, opt.events_per_batch, bodies, signer ? &*signer : nullptr, fixed_body,
                 opt.seed, opt.each_body_once ? max_pool_bytes_each_body_once : max_pool_bytes);
  if (!pool) {
    std::fprintf(stderr, "signing failed: %s\n", pool.error().describe().c_str());
    return exit_failure;
  }
  if (opt.each_body_once && pool->requests.size() < bodies) {
    std::fprintf(stderr,
                 "the pool stopped at %zu bodies (%zu MiB): the run ends once they are sent\n",
                 pool->requests.size(), max_pool_bytes_each_body_once >> 20);
  }
  std::fprintf(stderr, "warming up %s, then measuring %s\n", opt.warmup.c_str(),
               opt.duration.c_str());

  std::signal(SIGTERM, on_stop_signal);
  const auto r = run(opt, *where, *warmup, *duration, *timeout, *pool, std::move(counts),
                     watched_processes(opt));
  if (!opt.acked_ids.empty() && !write_acked_ids(opt.acked_ids, *pool, r.acknowledged)) {
    std::fprintf(stderr, "--acked-ids: cannot write %s\n", opt.acked_ids.c_str());
    return exit_failure;
  }
  if (opt.json) {
    print_json(opt, *pool, r);
  } else {
    print_table(opt, *pool, r);
  }
  // A counter that saw nothing while the daemon accepted requests is broken, not a result.
  if (const auto total = allocations_total(r); total && *total == 0 && r.totals.ok > 0) {
    std::fprintf(stderr,
                 "--daemon-malloc-count: no allocation counted in the window although %llu "
                 "requests were answered 200: the counter is not working\n",
                 static_cast<unsigned long long>(r.totals.ok));
    return exit_failure;
  }
  return r.totals.ok > 0 ? exit_ok : exit_failure;
}

int run_cli(int argc, char** argv) {
  CLI::App cli{
      "mailhook_load: signed SendGrid Event Webhook batches against a mailhook ingest role on "
      "this machine (loopback only)"};
  cli.require_subcommand(0, 1);
  options opt;
  cli.add_option("--url", opt.url,
                 "http://127.0.0.1:PORT/webhooks/sendgrid/SOURCE (loopback only)");
  cli.add_option("--connections", opt.connections, "Keep-alive connections")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, max_connections));
  cli.add_option("--events-per-batch", opt.events_per_batch, "Events in each POST")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, max_events_per_batch));
  cli.add_option("--duration", opt.duration,
                 "Measured time after the warmup: 10s, 500ms, 2m (at most 1h)")
      ->capture_default_str();
  cli.add_option("--warmup", opt.warmup, "Load sent before measuring starts")
      ->capture_default_str();
  cli.add_option("--rate", opt.rate,
                 "Target requests/s over all connections (open loop, latency from the scheduled "
                 "time); 0 = closed loop, each connection sends as soon as it has its answer")
      ->capture_default_str()
      ->check(CLI::Range(0.0, max_rate));
  cli.add_option("--threads", opt.threads, "I/O threads (leave the cores to the daemon)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  auto* key_opt =
      cli.add_option("--sign-key-pem", opt.sign_key_pem,
                     "Sign with this P-256 private key (PEM; see the keygen subcommand)")
          ->check(CLI::ExistingFile);
  cli.add_flag("--unsigned", opt.unsigned_requests, "Send no signature headers")->excludes(key_opt);
  cli.add_option("--body-file", opt.body_file,
                 "Post this body (any JSON, e.g. a batch check to the admin API) instead of "
                 "generated events; --events-per-batch then says how many items it counts as")
      ->check(CLI::ExistingFile)
      ->excludes(key_opt);
  cli.add_option(
      "--daemon-pid", opt.daemon_pid,
      "Measure this process: CPU over the window (/proc/PID/stat), peak and sampled RSS");
  cli.add_option("--daemon-malloc-count", opt.daemon_malloc_count,
                 "The counts file of bench/load/malloc_count.c preloaded into the daemon "
                 "(MAILHOOK_MALLOC_COUNT_FILE): report its allocations over the window");
  cli.add_option("--measure-pid", opt.measure_pids,
                 "NAME=PID of another process (the broker) whose CPU over the window to report; "
                 "repeatable. The load generator's own is always reported with --daemon-pid");
  // With --each-body-once a long paced run needs rate x duration bodies (the overload
  // scenario's five minutes: about 200,000 of 5 KiB, 1 GiB).
  cli.add_option("--pool", opt.pool,
                 "Distinct signed bodies built before the run and cycled through")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  cli.add_option("--timeout", opt.timeout,
                 "Per request (connect included) before it counts as a timeout")
      ->capture_default_str();
  cli.add_option("--max-requests", opt.max_requests,
                 "Stop after this many requests in all (0 = no cap)")
      ->capture_default_str();
  cli.add_flag("--json", opt.json, "Print the results as one JSON object");
  auto* acked_opt = cli.add_option("--acked-ids", opt.acked_ids,
                                   "Write the sg_event_id of every event answered 2xx to this "
                                   "file, one a line (for an audit of the topic)");
  cli.add_flag("--each-body-once", opt.each_body_once,
               "Send each body of the pool at most once and stop when all were sent, so that "
               "no event id is posted twice (size --pool for the run)");
  cli.add_option("--seed", opt.seed,
                 "Seed of the pool's events (0: one of its own per run). Two runs with the same "
                 "seed, pool and batch size post the same events, as SendGrid's retries of a "
                 "batch to another instance would");
  // A fixed body has no generated ids to record.
  acked_opt->excludes("--body-file");

  std::string key_dir;
  auto* keygen_cmd = cli.add_subcommand(
      "keygen",
      "Write a new P-256 key pair: DIR/private.pem (for --sign-key-pem) and DIR/public.txt "
      "(base64, for the source's public_keys); prints the public key");
  keygen_cmd->add_option("--out", key_dir, "Directory to write the key pair to")->required();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? exit_ok : exit_usage;
  }
  if (*keygen_cmd) return keygen(key_dir);
  return run_load(opt);
}

}  // namespace
}  // namespace mailhook::load

int main(int argc, char** argv) {
  return mailhook::load::run_cli(argc, argv);
}
