// The attack matrix (docs/security.md): requests from someone who is not SendGrid and
// holds no admin token, sent to the real daemon (ingest, policy and index roles) over
// loopback. Every case asserts its answer and that the daemon is still healthy after it;
// at the end, the events topic holds exactly the genuine events, the dead-letter topic
// exactly the authentic bodies that were unusable, and the suppression changelog nothing.
// The floods also bound the daemon's memory. Each case prints one line, the table
// docs/security.md shows.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <thread>

#include "mailhook/v1/email_event.pb.h"
#include "support/daemon.h"
#include "support/http_client.h"
#include "support/kafka_reader.h"
#include "support/temp_dir.h"
#include "webhook/signature.h"

namespace mailhook::testing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::beast::http::verb;

constexpr int closed = 0;  // the daemon closed the connection without an answer

std::string now_text(std::chrono::seconds offset = 0s) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            (std::chrono::system_clock::now() + offset).time_since_epoch())
                            .count());
}

std::string event_json(const std::string& email, const std::string& id,
                       const std::string& event = "delivered") {
  return R"({"email":")" + email + R"(","event":")" + event + R"(","sg_event_id":")" + id +
         R"(","timestamp":1700000000})";
}

// The daemon's resident memory, from /proc.
std::uint64_t rss_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// The s -> n - s twin of a DER ECDSA signature (base64): it verifies just as well.
std::string twin_signature(const std::string& signature) {
  auto der = webhook::base64_decode(signature);
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der->size()));
  EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  BIGNUM* s = BN_dup(ECDSA_SIG_get0_s(sig));
  BIGNUM* r = BN_dup(ECDSA_SIG_get0_r(sig));
  BN_sub(s, EC_GROUP_get0_order(group), s);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* out = nullptr;
  int size = i2d_ECDSA_SIG(sig, &out);
  std::string twin(reinterpret_cast<char*>(out), static_cast<std::size_t>(size));
  OPENSSL_free(out);
  ECDSA_SIG_free(sig);
  EC_GROUP_free(group);
  return webhook::base64_encode(twin);
}

class attack_matrix : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pair = webhook::generate_p256_key();
    ASSERT_TRUE(pair);
    key_ = std::make_unique<webhook::p256_key_pair>(std::move(*pair));
    auto other = webhook::generate_p256_key();
    ASSERT_TRUE(other);
    stranger_ = std::make_unique<webhook::p256_key_pair>(std::move(*other));
    events_ = unique_topic("attack.events");
    dlq_ = unique_topic("attack.dlq");
    changelog_ = unique_topic("attack.suppressions");
    const std::string identity = unique_topic("attack.policy");
    const std::string toml =
        // Small limits, so that floods meet them within seconds.
        std::string(
            "[ingest]\nmax_body = \"1MiB\"\ninflight_budget = \"16MiB\"\nmax_header = \"8KiB\"\n"
            "header_timeout = \"2s\"\nerror_idle_timeout = \"200ms\"\n"
            "max_body_bytes_per_client = \"4MiB\"\nmax_connections_per_client = 256\n\n") +
        "[topics.events]\nname = \"" + events_ + "\"\npartitions = 1\n\n" +
        "[topics.dlq]\nname = \"" + dlq_ + "\"\npartitions = 1\n\n" +
        "[topics.suppressions]\nname = \"" + changelog_ + "\"\npartitions = 1\n\n" +
        "[index]\ndir = \"" + (state_.path() / "index").string() + "\"\n\n" +
        "[policy]\ngroup_id = \"" + identity + "\"\ntransactional_id = \"" + identity +
        "\"\nmax_batch_wait = \"20ms\"\n\n" + "[sources.signed]\ntenant = \"acme\"\n" +
        "public_keys = [\"" + key_->public_key_base64 + "\"]\n";
    daemon_ = std::make_unique<daemon>(shared_kafka_bootstrap(), toml,
                                       std::vector<std::string>{"--roles", "ingest,policy,index"});
    ASSERT_TRUE(daemon_->wait_for_readyz(200, 60s)) << daemon_->output();
  }

  // A POST to the signed source, as raw bytes, with the given signature headers.
  std::string post(const std::string& body, const std::string& headers,
                   const std::string& target = "/webhooks/sendgrid/signed") const {
    return "POST " + target + " HTTP/1.1\r\nHost: mailhook\r\nContent-Type: application/json\r\n" +
           headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  std::string signature_headers(const std::string& body, const std::string& timestamp,
                                const webhook::p256_key_pair& key) const {
    auto signature = key.private_key.sign(timestamp, body);
    return "X-Twilio-Email-Event-Webhook-Signature: " + *signature +
           "\r\nX-Twilio-Email-Event-Webhook-Timestamp: " + timestamp + "\r\n";
  }
  std::string signed_post(const std::string& body,
                          const std::string& timestamp = now_text()) const {
    return post(body, signature_headers(body, timestamp, *key_));
  }
  // Well-formed signature headers that no key verifies: they pass every header-time check.
  std::string forged_headers() const {
    return signature_headers("something else", now_text(), *stranger_);
  }

  tcp::socket connect_from(asio::io_context& io, const std::string& from = "127.0.0.1") const {
    tcp::socket socket(io);
    socket.open(tcp::v4());
    socket.bind({asio::ip::make_address(from), 0});
    socket.connect({asio::ip::make_address("127.0.0.1"), daemon_->webhook_port()});
    return socket;
  }

  // Sends `bytes` and reads answers until the daemon closes or `deadline` passes; the
  // status of each answer, in order.
  std::vector<int> exchange(const std::string& bytes, const std::string& from = "127.0.0.1",
                            std::chrono::milliseconds deadline = 5s) const {
    asio::io_context io;
    auto socket = connect_from(io, from);
    boost::system::error_code ec;
    asio::write(socket, asio::buffer(bytes), ec);
    return statuses(socket, deadline);
  }

  static std::vector<int> statuses(tcp::socket& socket, std::chrono::milliseconds deadline) {
    std::string received;
    const auto until = std::chrono::steady_clock::now() + deadline;
    socket.non_blocking(true);
    char buffer[8192];
    while (std::chrono::steady_clock::now() < until) {
      boost::system::error_code ec;
      auto n = socket.read_some(asio::buffer(buffer), ec);
      if (ec == asio::error::would_block) {
        std::this_thread::sleep_for(5ms);
        continue;
      }
      if (ec) break;
      received.append(buffer, n);
    }
    std::vector<int> found;
    for (std::size_t at = received.find("HTTP/1.1 "); at != std::string::npos;
         at = received.find("HTTP/1.1 ", at + 1)) {
      found.push_back(std::stoi(received.substr(at + 9, 3)));
    }
    return found;
  }

  bool healthy() const { return http_get(daemon_->admin_port(), "/healthz").status == 200; }

  // One row of the matrix: the answers it expects, the ones it got, and health after it.
  void expect_case(const std::string& name, const std::vector<int>& expected,
                   const std::vector<int>& got) {
    const bool ok = got == expected && healthy();
    std::string answers;
    for (int s : got) answers += (answers.empty() ? "" : ",") + std::to_string(s);
    std::printf("attack %-58s %-9s %s\n", name.c_str(),
                answers.empty() ? "closed" : answers.c_str(), ok ? "ok" : "FAILED");
    EXPECT_EQ(got, expected) << name;
    EXPECT_TRUE(healthy()) << name << "\n" << daemon_->output();
  }

  temp_dir state_;
  std::unique_ptr<webhook::p256_key_pair> key_;
  std::unique_ptr<webhook::p256_key_pair> stranger_;
  std::string events_;
  std::string dlq_;
  std::string changelog_;
  std::unique_ptr<daemon> daemon_;
};

TEST_F(attack_matrix, nothing_unauthenticated_is_published_changes_a_suppression_or_costs_memory) {
  using v = std::vector<int>;
  const std::string body = "[" + event_json("alex@example.com", "genuine-1") + "]\r\n";
  const std::string ts = now_text();
  const auto sig = key_->private_key.sign(ts, body);  // ECDSA is randomized: sign once
  const auto sig_header = [](const std::string& s) {
    return "X-Twilio-Email-Event-Webhook-Signature: " + s + "\r\n";
  };
  const auto ts_header = [](const std::string& t) {
    return "X-Twilio-Email-Event-Webhook-Timestamp: " + t + "\r\n";
  };
  const std::string good = sig_header(*sig) + ts_header(ts);

  // --- the signature and the timestamp, refused at header time ---
  expect_case("no signature headers", v{401}, exchange(post(body, "")));
  expect_case("signature without timestamp", v{401}, exchange(post(body, sig_header(*sig))));
  expect_case("timestamp without signature", v{401}, exchange(post(body, ts_header(ts))));
  expect_case("signature not base64", v{401},
              exchange(post(body, sig_header("not*base64!") + ts_header(ts))));
  expect_case("signature base64 but not DER", v{401},
              exchange(post(body, sig_header("aGVsbG8gd29ybGQ=") + ts_header(ts))));
  expect_case("timestamp not decimal (1e9)", v{401},
              exchange(post(body, sig_header(*sig) + ts_header("1e9"))));
  expect_case("timestamp with a sign (+1700000000)", v{401},
              exchange(post(body, sig_header(*sig) + ts_header("+" + ts))));
  expect_case("stale timestamp, correctly signed (26 h old)", v{403},
              exchange(signed_post(body, now_text(-26h))));
  expect_case("future timestamp, correctly signed (+10 min)", v{403},
              exchange(signed_post(body, now_text(10min))));
  expect_case("duplicate signature header", v{400}, exchange(post(body, good + sig_header(*sig))));
  expect_case("duplicate timestamp header", v{400}, exchange(post(body, good + ts_header(ts))));
  // --- refused once the body is read ---
  expect_case("tampered body under a genuine signature", v{403},
              exchange(post("[" + event_json("mallory@example.com", "x") + "]\r\n", good)));
  expect_case("another key's signature", v{403},
              exchange(post(body, signature_headers(body, ts, *stranger_))));
  expect_case(
      "signature over another timestamp", v{403},
      exchange(post(body, sig_header(*sig) + ts_header(std::to_string(std::stoll(ts) - 100)))));
  // --- routing and framing ---
  expect_case("unknown source", v{404}, exchange(post(body, good, "/webhooks/sendgrid/nope")));
  expect_case("GET on the webhook", v{405},
              exchange("GET /webhooks/sendgrid/signed HTTP/1.1\r\nHost: m\r\n\r\n"));
  expect_case("text/plain body", v{415},
              exchange("POST /webhooks/sendgrid/signed HTTP/1.1\r\nHost: m\r\nContent-Type: "
                       "text/plain\r\n" +
                       good + "Content-Length: 2\r\n\r\n[]"));
  expect_case("neither Content-Length nor chunked", v{411},
              exchange("POST /webhooks/sendgrid/signed HTTP/1.1\r\nHost: m\r\n" + good + "\r\n"));
  expect_case("header larger than max_header (8 KiB)", v{431},
              exchange(post(body, good + "X-Padding: " + std::string(10'000, 'p') + "\r\n")));
  expect_case("Content-Length over max_body (1 MiB)", v{413},
              exchange("POST /webhooks/sendgrid/signed HTTP/1.1\r\nHost: m\r\n" + good +
                       "Content-Length: 2000000\r\n\r\n"));
  expect_case("smuggling: Content-Length and chunked", v{400},
              exchange("POST /webhooks/sendgrid/signed HTTP/1.1\r\nHost: m\r\n" + good +
                       "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
  expect_case("smuggling: two different Content-Lengths", v{400},
              exchange("POST /webhooks/sendgrid/signed HTTP/1.1\r\nHost: m\r\n" + good +
                       "Content-Length: 2\r\nContent-Length: 40\r\n\r\n[]"));
  expect_case("smuggling: Transfer-Encoding xchunked", v{400},
              exchange("POST /webhooks/sendgrid/signed HTTP/1.1\r\nHost: m\r\n" + good +
                       "Transfer-Encoding: xchunked\r\n\r\n"));
  expect_case("pipelined: unsigned then signed on one connection", v{401},
              exchange(post(body, "") +
                       signed_post("[" + event_json("pipe@example.com", "pipelined") + "]")));

  // --- replay: the genuine request once, then again, and its s -> n - s twin ---
  expect_case("genuine signed request (accepted)", v{200}, exchange(post(body, good)));
  expect_case("replay of the genuine request (200, nothing published)", v{200},
              exchange(post(body, good)));
  expect_case("replay with the s -> n - s twin signature", v{200},
              exchange(post(body, sig_header(twin_signature(*sig)) + ts_header(ts))));

  // --- authentic but hostile bodies: dead-lettered, never events ---
  const auto signed_body = [&](const std::string& b) { return exchange(signed_post(b)); };
  expect_case("JSON nested 100000 deep (signed)", v{200},
              signed_body(std::string(100'000, '[') + std::string(100'000, ']')));
  expect_case("number bomb (signed)", v{200},
              signed_body(R"([{"email":"a@example.com","event":"open","sg_event_id":"n1",)"
                          R"("timestamp":1e999999}])"));
  expect_case("invalid UTF-8 (signed)", v{200},
              signed_body("[" + event_json("a\xc3@example.com", "u1") + "]"));
  for (const std::string& bypass :
       {std::string("Alex <victim@example.com>"), std::string("victim\\u00a0@example.com"),
        std::string("victim\\u200b@example.com"), std::string("victim@exa\\u00admple.com")}) {
    expect_case("bounce for a bypass spelling: " + bypass, v{200},
                signed_body("[" + event_json(bypass, "b-" + bypass, "bounce") + "]"));
  }

  // --- the admin API without the right token ---
  const auto admin = [&](verb method, const std::string& target, const std::string& payload,
                         std::map<std::string, std::string> headers) {
    http_client client("127.0.0.1", daemon_->admin_port());
    return v{client.request(method, target, payload, headers).status};
  };
  const std::string add =
      R"({"tenant":"acme","email":"victim@example.com","reason":"spam_report"})";
  const std::map<std::string, std::string> json{{"Content-Type", "application/json"},
                                                {"X-Mailhook-Reason", "x"}};
  auto with_token = [&](std::string_view token, std::map<std::string, std::string> h) {
    for (auto& [k, val] : bearer(token)) h[k] = val;
    return h;
  };
  expect_case("admin: add a suppression without a token", v{401},
              admin(verb::post, "/v1/suppressions", add, json));
  expect_case("admin: lift a suppression with a read token", v{403},
              admin(verb::delete_, "/v1/suppressions?tenant=acme&email=victim@example.com&note=x",
                    "", with_token(daemon::read_token, {})));
  expect_case("admin: export without a token", v{401},
              admin(verb::get, "/v1/suppressions/export?tenant=acme", "", {}));
  auto foreign = with_token(daemon::write_token, json);
  foreign["Host"] = "attacker.example";
  expect_case("admin: write token, foreign Host (DNS rebinding)", v{421},
              admin(verb::post, "/v1/suppressions", add, foreign));
  auto form = with_token(daemon::write_token, json);
  form["Content-Type"] = "text/plain";
  expect_case("admin: write token, browser-style text/plain POST", v{415},
              admin(verb::post, "/v1/suppressions", add, form));
  // A lookup of a bypass spelling is never "allowed".
  auto check = daemon_->admin_get(
      "/v1/suppressions/check?tenant=acme&email=Alex%20%3Cvictim%40example.com%3E");
  EXPECT_EQ(check.status, 200) << check.body;
  EXPECT_NE(check.body.find("\"allowed\":false"), std::string::npos) << check.body;

  // --- floods ---
  const std::uint64_t rss_before = rss_bytes(daemon_->proc().pid());
  {
    // 256 unsigned chunked bodies that never end: refused at header time, nothing read.
    asio::io_context io;
    std::vector<tcp::socket> sockets;
    for (int i = 0; i < 256; ++i) {
      sockets.push_back(connect_from(io, "127.0.0." + std::to_string(10 + i / 200)));
      boost::system::error_code ec;  // refused at once: the write may find the socket closed
      asio::write(
          sockets.back(),
          asio::buffer("POST /webhooks/sendgrid/signed HTTP/1.1\r\nHost: m\r\n"
                       "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "10000\r\n" +
                       std::string(65536, '[')),
          ec);
    }
    // Each is answered 401 and closed with its body unread; the kernel may then reset the
    // connection before the client reads the answer, so "closed" counts as refused too.
    std::size_t refused = 0;
    std::size_t answered = 0;
    for (auto& s : sockets) {
      auto got = statuses(s, 2s);
      refused += got.empty() || got == v{401} ? 1u : 0u;
      answered += got == v{401} ? 1u : 0u;
    }
    expect_case("256 unsigned endless chunked bodies (401 or closed)", v{256},
                v{static_cast<int>(refused)});
    EXPECT_GT(answered, 0u);
  }
  {
    // 64 chunked bodies with well-formed forged signatures: read, counted against the
    // budget byte by byte, refused when it or the client's share is spent.
    asio::io_context io;
    std::vector<tcp::socket> sockets;
    const std::string forged = forged_headers();
    for (int i = 0; i < 64; ++i) {
      sockets.push_back(connect_from(io, "127.0.1." + std::to_string(1 + i / 8)));
      boost::system::error_code ec;
      asio::write(sockets.back(),
                  asio::buffer("POST /webhooks/sendgrid/signed HTTP/1.1\r\nHost: m\r\n"
                               "Content-Type: application/json\r\n" +
                               forged + "Transfer-Encoding: chunked\r\n\r\n"),
                  ec);
    }
    const std::string piece = "40000\r\n" + std::string(0x40000, ' ') + "\r\n";  // 256 KiB
    for (int round = 0; round < 5; ++round) {
      for (auto& s : sockets) {
        boost::system::error_code ec;  // a refused connection is closed: the write fails
        asio::write(s, asio::buffer(piece), ec);
      }
    }
    const std::uint64_t rss_during = rss_bytes(daemon_->proc().pid());
    std::vector<int> refused;
    for (auto& s : sockets) {
      auto got = statuses(s, 1s);
      if (!got.empty()) refused.push_back(got.front());
    }
    std::size_t limited = 0;
    for (int s : refused) limited += (s == 503 || s == 429 || s == 413) ? 1u : 0u;
    std::printf(
        "attack %-58s rss +%llu MiB (budget 16 MiB)\n",
        "64 endless chunked bodies with forged signatures",
        static_cast<unsigned long long>((rss_during - std::min(rss_during, rss_before)) >> 20));
    EXPECT_EQ(limited, refused.size());
    EXPECT_GT(limited, 0u);
    // The in-flight budget plus what each connection's buffers may hold, with a margin.
    EXPECT_LT(rss_during, rss_before + 64 * 1024 * 1024);
    EXPECT_TRUE(healthy());
  }
  {
    // 100 announced 1 MiB bodies from one address that never send a byte must not block a
    // genuine request from another address.
    asio::io_context io;
    std::vector<tcp::socket> sockets;
    const std::string forged = forged_headers();
    for (int i = 0; i < 100; ++i) {
      sockets.push_back(connect_from(io, "127.0.2.1"));
      asio::write(sockets.back(),
                  asio::buffer("POST /webhooks/sendgrid/signed HTTP/1.1\r\nHost: m\r\n"
                               "Content-Type: application/json\r\n" +
                               forged + "Content-Length: 1048576\r\n\r\n"));
    }
    std::this_thread::sleep_for(300ms);
    const std::string other = "[" + event_json("ann@example.com", "genuine-2") + "]\r\n";
    expect_case("genuine request while 100 announced bodies hang", v{200},
                exchange(signed_post(other), "127.0.2.2"));
  }
  {
    // 10000 idle connections from 40 addresses: at most max_connections are kept, each
    // address at most 256, and the daemon stays healthy and small.
    asio::io_context io;
    std::vector<tcp::socket> sockets;
    sockets.reserve(10'000);
    for (int i = 0; i < 10'000; ++i) {
      boost::system::error_code ec;
      tcp::socket s(io);
      s.open(tcp::v4(), ec);
      s.bind({asio::ip::make_address("127.0.3." + std::to_string(1 + i / 250)), 0}, ec);
      s.connect({asio::ip::make_address("127.0.0.1"), daemon_->webhook_port()}, ec);
      if (!ec) sockets.push_back(std::move(s));
    }
    std::this_thread::sleep_for(500ms);
    const std::uint64_t rss_idle = rss_bytes(daemon_->proc().pid());
    std::printf("attack %-58s rss +%llu MiB, %zu sockets opened\n", "10000 idle connections",
                static_cast<unsigned long long>((rss_idle - std::min(rss_idle, rss_before)) >> 20),
                sockets.size());
    EXPECT_LT(rss_idle, rss_before + 128 * 1024 * 1024);
    EXPECT_TRUE(healthy());
  }
  // The idle connections time out (header_timeout 2 s): the listener serves again.
  std::this_thread::sleep_for(3s);
  const std::string last = "[" + event_json("bo@example.com", "genuine-3") + "]\r\n";
  expect_case("genuine request after the idle flood", v{200},
              exchange(signed_post(last), "127.0.4.1"));
  {
    // A body that trickles in below min_upload_rate is cut off.
    asio::io_context io;
    auto s = connect_from(io, "127.0.5.1");
    asio::write(s, asio::buffer("POST /webhooks/sendgrid/signed HTTP/1.1\r\nHost: m\r\n"
                                "Content-Type: application/json\r\n" +
                                forged_headers() + "Content-Length: 100000\r\n\r\n"));
    const auto started = std::chrono::steady_clock::now();
    boost::system::error_code ec;
    while (!ec && std::chrono::steady_clock::now() - started < 12s) {
      asio::write(s, asio::buffer(std::string(10, ' ')), ec);
      std::this_thread::sleep_for(200ms);
    }
    std::vector<int> cut = ec ? v{} : v{-1};
    expect_case("slowloris body (50 bytes/s, minimum 16 KiB/s)", v{}, cut);
  }

  // --- what reached Kafka: the three genuine events, nothing else ---
  auto events = read_topic(shared_kafka_bootstrap(), events_, 3, 30s);
  auto extra = read_topic(shared_kafka_bootstrap(), events_, 4, 3s);
  std::string ids;
  for (const auto& e : extra) {
    v1::EmailEvent event;
    ids += " " + e.key + "=" + (event.ParseFromString(e.value) ? event.sg_event_id() : "?");
  }
  EXPECT_EQ(events.size(), 3u) << ids;
  EXPECT_EQ(extra.size(), 3u) << ids;
  // Dead letters: the three hostile bodies and the four bypass spellings, all authentic.
  auto dead = read_topic(shared_kafka_bootstrap(), dlq_, 7, 30s);
  EXPECT_EQ(dead.size(), 7u);
  // The changelog: nothing at all (the genuine events are deliveries).
  auto changes = read_topic(shared_kafka_bootstrap(), changelog_, 0, 3s);
  EXPECT_EQ(changes.size(), 0u);
  EXPECT_TRUE(healthy());
}

}  // namespace
}  // namespace mailhook::testing
