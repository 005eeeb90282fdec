// A stand-in for SendGrid's v3 Mail Send endpoint, for tests: a real HTTP server
// (mailhook's own http::server, plain HTTP or TLS) on a loopback port chosen by the kernel,
// which checks what SendGrid checks (the Bearer key, the verified sender, the body's rules,
// its size), answers as SendGrid does, records every call, and can be told to fail the
// next calls or to answer late.
//
// Every request to POST /v3/mail/send is recorded, refused or not (other targets get 404
// and are not); a body larger than simulated_max_body + 1 MiB is cut off by the HTTP
// server itself (413, not recorded).
//
// Threading: the server runs on a thread of its own; every public method may be called
// from any thread. on_accepted callbacks run, in order, on another thread of the
// simulator's own, after the 202 was handed to the connection; they may block.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mailhook::testing {

// One request to POST /v3/mail/send, as the simulator saw and answered it.
struct mail_send_call {
  // The Bearer token presented ("" when there was none) and every request header, with
  // names lower-cased.
  std::string api_key;
  std::map<std::string, std::string> headers;
  std::string body;
  // What the simulator answered: the status, X-Message-Id of a 202, and the first error
  // of a refusal.
  int status = 0;
  std::string message_id;
  std::string error_message;
  std::string error_field;

  // Parsed from the body when it is a JSON object; empty otherwise.
  std::string from_email;
  std::string reply_to_email;           // "" when absent
  std::vector<std::string> recipients;  // the `to` emails of every personalization, in order
  std::size_t personalizations = 0;
  std::string subject;
  std::string template_id;
  std::vector<std::string> content_types;  // in order
  std::vector<std::string> categories;
  std::map<std::string, std::string> custom_args;  // message-level; non-strings as JSON text
  std::int64_t asm_group_id = 0;                   // 0 when absent
};

struct mail_send_simulator_options {
  std::vector<std::string> api_keys{"SG.test-key"};  // accepted Bearer keys
  std::vector<std::string> verified_senders;         // From emails accepted; empty: any
  // A PEM certificate chain and key: with both, the simulator speaks HTTPS.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::chrono::milliseconds response_delay{0};     // before every answer; see set_response_delay
  std::chrono::milliseconds idle_timeout{75'000};  // kept-alive connections close after it
  // Called for each 202 (on the simulator's callback thread), e.g. to post a webhook back.
  std::function<void(const mail_send_call&)> on_accepted;
};

// SendGrid's limit on a whole request ("total email < 30 MB"), taken as 30 MiB.
inline constexpr std::size_t simulated_max_body = 30 * 1024 * 1024;

class mail_send_simulator {
 public:
  // Listens on 127.0.0.1 at once; throws std::runtime_error if it cannot.
  explicit mail_send_simulator(mail_send_simulator_options options = {});
  ~mail_send_simulator();
  mail_send_simulator(const mail_send_simulator&) = delete;
  mail_send_simulator& operator=(const mail_send_simulator&) = delete;

  [[nodiscard]] std::uint16_t port() const;
  // "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT": an integration's api_url.
  [[nodiscard]] std::string url() const;

  // The next calls that pass the key check are answered with these statuses, in order,
  // whatever their body: 429 (X-RateLimit-Reset = now + 1 s, SendGrid's body), 500, 400,
  // 401, 403, 413 and others with SendGrid-like bodies. A 2xx in the list means "check
  // the call as usual".
  void answer_next(std::vector<int> statuses);
  // Delay before each answer from now on (a timer: other connections are not held up).
  void set_response_delay(std::chrono::milliseconds delay);

  // Requests to POST /v3/mail/send read in full, answered yet or not (calls() has only the
  // answered ones): what the server may have acted on.
  [[nodiscard]] std::size_t requests_received() const;
  [[nodiscard]] std::vector<mail_send_call> calls() const;
  [[nodiscard]] std::size_t call_count() const;
  // Waits until at least `count` calls were answered; false after `timeout`.
  [[nodiscard]] bool wait_for_calls(std::size_t count, std::chrono::milliseconds timeout) const;

  [[nodiscard]] std::uint64_t connections_accepted() const;
  [[nodiscard]] std::int64_t open_connections() const;
  // Closes the kept-alive connections that wait for a next request, as a server's idle
  // timeout would, and returns once they are closed (false if that takes over `timeout`).
  [[nodiscard]] bool close_idle_connections(
      std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

struct certificate_files {
  std::string cert_file;  // PEM, self-signed: trust it as its own CA (ca_file)
  std::string key_file;   // PEM, P-256
};

// A self-signed P-256 certificate valid for a day, written into `dir`, naming the hosts
// in `subject_alt_names` (OpenSSL syntax: "IP:127.0.0.1,DNS:localhost"). Uses the
// openssl command; throws std::runtime_error with its output if it fails.
certificate_files make_self_signed_certificate(
    const std::filesystem::path& dir, const std::string& subject_alt_names = "IP:127.0.0.1");

}  // namespace mailhook::testing
