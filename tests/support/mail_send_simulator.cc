// The Mail Send simulator: an http::handler on its own io_context thread. Checks run in
// SendGrid's order as far as it is known: the key (401), scripted faults, the size (413),
// the body's rules (400), the sender identity (403), then 202.
// Over 600 lines: it mirrors Mail Send's checks one by one, each a few lines.
#include "support/mail_send_simulator.h"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include "common/json_writer.h"
#include "http/server.h"
#include "support/process.h"

namespace mailhook::testing {
namespace {

namespace asio = boost::asio;
namespace dom = simdjson::dom;
using namespace std::chrono_literals;

constexpr std::size_t max_personalizations = 1000;
constexpr std::size_t max_recipients = 1000;
constexpr std::size_t max_categories = 10;
constexpr std::size_t max_category_bytes = 255;
constexpr std::size_t max_custom_args_bytes = 10'000;
constexpr int rate_limit = 600;  // per minute, as the X-RateLimit-* headers tell

constexpr std::string_view errors_help =
    "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.";

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// What the simulator answers.
struct reply {
  int status = 202;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string error_message;
  std::string error_field;
};

// SendGrid's error body: {"errors":[{"message":..,"field":..|null,"help":..|null}]}.
reply error_reply(int status, std::string message, std::string field = {}, std::string help = {}) {
  reply r;
  r.status = status;
  json_writer json(r.body);
  json.begin_object().key("errors").begin_array().begin_object().field("message", message);
  for (const auto& [name, text] : {std::pair{"field", &field}, std::pair{"help", &help}}) {
    if (text->empty()) {
      json.key(name).null();
    } else {
      json.field(name, *text);
    }
  }
  json.end_object().end_array().end_object();
  r.error_message = std::move(message);
  r.error_field = std::move(field);
  return r;
}

reply bad_request(std::string message, std::string field) {
  std::string help = field.empty() ? std::string() : std::string(errors_help) + field;
  return error_reply(400, std::move(message), std::move(field), std::move(help));
}

reply unauthorized() {
  return error_reply(401, "The provided authorization grant is invalid, expired, or revoked");
}

reply unverified_sender() {
  return error_reply(403,
                     "The from address does not match a verified Sender Identity. Mail cannot be "
                     "sent until this error is resolved. Visit "
                     "https://sendgrid.com/docs/for-developers/sending-email/sender-identity/ to "
                     "see the Sender Identity requirements",
                     "from");
}

reply too_large() {
  return error_reply(413, "content too large");
}

reply too_many_requests() {
  reply r;
  r.status = 429;
  r.body = R"({"errors":[{"field":null,"message":"too many requests"}]})";
  r.error_message = "too many requests";
  return r;
}

reply internal_error() {
  reply r;
  r.status = 500;
  r.body = R"({"errors":[{"message":"internal server error"}]})";
  r.error_message = "internal server error";
  return r;
}

// The canned answer of a scripted status.
reply scripted_reply(int status) {
  switch (status) {
    case 400:
      return bad_request("invalid request", "");
    case 401:
      return unauthorized();
    case 403:
      return unverified_sender();
    case 413:
      return too_large();
    case 429:
      return too_many_requests();
    case 500:
      return internal_error();
    default:
      return error_reply(status, "simulated status " + std::to_string(status));
  }
}

std::string bearer_token(std::string_view header) {
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  if (header.size() < 7 || lower(header.substr(0, 7)) != "bearer ") return {};
  header.remove_prefix(7);
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  return std::string(header);
}

// A value as text: strings as they are, null as "", anything else as JSON.
std::string text_of(dom::element value) {
  if (value.is_null()) return {};
  std::string_view text;
  if (value.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
  return simdjson::minify(value);
}

// The same for a member that may be absent ("").
std::string text_of(simdjson::simdjson_result<dom::element> member) {
  dom::element value;
  if (member.get(value) != simdjson::SUCCESS) return {};
  return text_of(value);
}

bool has_member(dom::object object, std::string_view key) {
  dom::element ignored;
  return object[key].get(ignored) == simdjson::SUCCESS;
}

std::string media_type(std::string_view type) {
  return lower(type.substr(0, type.find(';')));
}

// The fields tests look at, as far as the body has them.
void read_fields(dom::object root, mail_send_call& call) {
  call.from_email = text_of(root["from"]["email"]);
  call.reply_to_email = text_of(root["reply_to"]["email"]);
  call.subject = text_of(root["subject"]);
  call.template_id = text_of(root["template_id"]);
  dom::array personalizations;
  if (root["personalizations"].get_array().get(personalizations) == simdjson::SUCCESS) {
    for (dom::element p : personalizations) {
      ++call.personalizations;
      dom::array to;
      if (p["to"].get_array().get(to) != simdjson::SUCCESS) continue;
      for (dom::element r : to) call.recipients.push_back(text_of(r["email"]));
    }
  }
  dom::array content;
  if (root["content"].get_array().get(content) == simdjson::SUCCESS) {
    for (dom::element c : content) call.content_types.push_back(text_of(c["type"]));
  }
  dom::array categories;
  if (root["categories"].get_array().get(categories) == simdjson::SUCCESS) {
    for (dom::element c : categories) call.categories.push_back(text_of(c));
  }
  dom::object args;
  if (root["custom_args"].get_object().get(args) == simdjson::SUCCESS) {
    for (auto field : args) call.custom_args[std::string(field.key)] = text_of(field.value);
  }
  std::int64_t group = 0;
  if (root["asm"]["group_id"].get_int64().get(group) == simdjson::SUCCESS) {
    call.asm_group_id = group;
  }
}

// SendGrid's body rules (DOC-MS and its errors page), the first one broken.
std::optional<reply> check_body(dom::object root) {
  dom::array personalizations;
  if (root["personalizations"].get_array().get(personalizations) != simdjson::SUCCESS ||
      personalizations.size() == 0) {
    return bad_request(
        "The personalizations field is required and must have at least one personalization.",
        "personalizations");
  }
  if (personalizations.size() > max_personalizations) {
    return bad_request(
        "The personalizations field is limited to 1000 personalizations per request.",
        "personalizations");
  }
  if (text_of(root["from"]["email"]).empty()) {
    return bad_request(
        "The from object must be provided for every email send. It is an object that requires "
        "the email parameter, but may also contain a name parameter.",
        "from.email");
  }
  if (has_member(root, "reply_to") && has_member(root, "reply_to_list")) {
    return bad_request("The reply_to and reply_to_list parameters cannot be used together.",
                       "reply_to");
  }

  const bool templated = !text_of(root["template_id"]).empty();
  bool every_personalization_has_subject = true;
  std::size_t recipients = 0;
  std::size_t index = 0;
  for (dom::element p : personalizations) {
    const std::string where = "personalizations." + std::to_string(index++);
    dom::array to;
    if (p["to"].get_array().get(to) != simdjson::SUCCESS || to.size() == 0) {
      return bad_request(
          "The to array is required for all personalization objects, and must have at least one "
          "email object with a valid email address.",
          where + ".to");
    }
    if (text_of(p["subject"]).empty()) every_personalization_has_subject = false;
    std::set<std::string> seen;
    for (std::string_view list : {"to", "cc", "bcc"}) {
      dom::array addresses;
      if (p[list].get_array().get(addresses) != simdjson::SUCCESS) continue;
      std::size_t k = 0;
      for (dom::element a : addresses) {
        const std::string field = where + "." + std::string(list) + "." + std::to_string(k++);
        const std::string email = text_of(a["email"]);
        if (email.empty() || email.find('@') == std::string::npos) {
          return bad_request("Does not contain a valid address.", field + ".email");
        }
        if (!seen.insert(lower(email)).second) {
          return bad_request(
              "Each email address in the personalization block should be unique between to, cc, "
              "and bcc. We found the first duplicate instance of [" +
                  email + "] in the " + where + "." + std::string(list) + " field.",
              field);
        }
        ++recipients;
      }
    }
  }
  if (recipients > max_recipients) {
    return bad_request("The recipients of a request (to, cc and bcc) are limited to 1000.",
                       "personalizations");
  }
  if (!templated && text_of(root["subject"]).empty() && !every_personalization_has_subject) {
    return bad_request(
        "The subject is required. You can get around this requirement if you use a template with "
        "a subject defined or if every personalization has a subject defined.",
        "subject");
  }

  dom::array content;
  const bool has_content =
      root["content"].get_array().get(content) == simdjson::SUCCESS && content.size() > 0;
  if (!templated && !has_content) {
    return bad_request(
        "Unless a valid template_id is provided, the content parameter is required. There must "
        "be at least one defined content block.",
        "content");
  }
  if (has_content) {
    std::size_t k = 0;
    for (dom::element c : content) {
      const std::string where = "content." + std::to_string(k);
      if (text_of(c["type"]).empty()) {
        return bad_request("The content type cannot be blank.", where + ".type");
      }
      if (text_of(c["value"]).empty()) {
        return bad_request("The content value must be a string at least one character in length.",
                           where + ".value");
      }
      const std::string type = media_type(text_of(c["type"]));
      const bool plain_first =
          k == 0 || (k == 1 && type == "text/html" &&
                     media_type(text_of(content.at(0)["type"])) == "text/plain");
      if ((type == "text/plain" || type == "text/html") && !plain_first) {
        return bad_request(
            "If present, text/plain and text/html may only be provided in the order of text/plain "
            "first, then text/html.",
            "content");
      }
      ++k;
    }
  }

  dom::array categories;
  if (root["categories"].get_array().get(categories) == simdjson::SUCCESS) {
    if (categories.size() > max_categories) {
      return bad_request(
          "Too many categories on this message. The maximum number of categories "
          "is 10.",
          "categories");
    }
    for (dom::element c : categories) {
      if (text_of(c).size() > max_category_bytes) {
        return bad_request("A category cannot have more than 255 characters.", "categories");
      }
    }
  }
  dom::object args;
  if (root["custom_args"].get_object().get(args) == simdjson::SUCCESS) {
    std::size_t bytes = 0;
    for (auto field : args) bytes += field.key.size() + text_of(field.value).size();
    if (bytes >= max_custom_args_bytes) {
      return bad_request("The custom_args must be less than 10000 bytes.", "custom_args");
    }
  }
  return std::nullopt;
}

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

class mail_send_simulator::impl final : public http::handler {
 public:
  explicit impl(mail_send_simulator_options options)
      : options_(std::move(options)),
        delay_(options_.response_delay),
        random_(std::random_device{}()) {
    http::server_options server;
    server.name = "mail-send-simulator";
    server.host = "127.0.0.1";
    server.port = 0;
    // Bodies up to SendGrid's limit and a little more are read, so that the 413 is
    // SendGrid's (after the body, which a client is still writing when it is refused);
    // larger ones get the server's own 413.
    server.max_body_bytes = simulated_max_body + 1024 * 1024;
    server.idle_timeout = options_.idle_timeout;
    server.tls_cert_file = options_.tls_cert_file;
    server.tls_key_file = options_.tls_key_file;
    server_ = std::make_unique<http::server>(io_, server, *this);
    if (auto listening = server_->listen(); !listening) {
      throw std::runtime_error("mail send simulator: " + listening.error().describe());
    }
    auto done = std::make_shared<std::promise<void>>();
    io_done_ = done->get_future();
    io_thread_ = std::thread([this, done] {
      io_.run();
      done->set_value();
    });
    if (options_.on_accepted) callback_thread_ = std::thread([this] { run_callbacks(); });
  }

  ~impl() override {
    server_->stop_accepting();
    asio::post(io_, [this] {
      server_->close_idle_connections();
      std::lock_guard lock(mutex_);
      for (const auto& timer : timers_) timer->cancel();
    });
    work_.reset();
    // Every connection closes once answered; a client stuck mid-request is cut off.
    if (io_done_.wait_for(5s) != std::future_status::ready) io_.stop();
    io_thread_.join();
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    if (callback_thread_.joinable()) callback_thread_.join();
  }

  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  std::optional<http::response> on_header(const http::request_header& header) override {
    std::string_view target(header.target().data(), header.target().size());
    target = target.substr(0, target.find('?'));
    if (header.method() != http::verb::post || target != "/v3/mail/send") {
      return http::make_response(http::status::not_found,
                                 R"({"errors":[{"field":null,"message":"not found"}]})");
    }
    return std::nullopt;
  }

  void on_request(http::request&& req, http::responder res) override {
    received_.fetch_add(1);
    mail_send_call call;
    const auto authorization = req[http::field::authorization];
    call.api_key = bearer_token(std::string_view(authorization.data(), authorization.size()));
    for (const auto& f : req) {
      const auto name = f.name_string();
      call.headers[lower(std::string_view(name.data(), name.size()))] =
          std::string(f.value().data(), f.value().size());
    }
    call.body = std::move(req.body());
    reply r = decide(call);

    std::chrono::milliseconds delay;
    {
      std::lock_guard lock(mutex_);
      delay = delay_;
    }
    if (delay <= 0ms) return deliver(std::move(call), std::move(r), std::move(res));
    auto timer = std::make_shared<asio::steady_timer>(io_, delay);
    {
      std::lock_guard lock(mutex_);
      timers_.insert(timer);
    }
    timer->async_wait([this, timer, c = std::move(call), rep = std::move(r),
                       responder = std::move(res)](boost::system::error_code ec) mutable {
      {
        std::lock_guard lock(mutex_);
        timers_.erase(timer);
      }
      // Cancelled: the simulator is going away; the dropped responder answers 500.
      if (ec) return;
      deliver(std::move(c), std::move(rep), std::move(responder));
    });
  }

  // On the I/O thread, like every other use of the server here.
  void close_idle_connections() {
    asio::post(io_, [this] { server_->close_idle_connections(); });
  }

  reply decide(mail_send_call& call) {
    const bool known_key =
        !call.api_key.empty() && std::find(options_.api_keys.begin(), options_.api_keys.end(),
                                           call.api_key) != options_.api_keys.end();
    if (!known_key) return unauthorized();

    dom::parser parser;
    dom::element doc;
    dom::object root;
    const bool parsed = call.body.size() <= simulated_max_body &&
                        parser.parse(call.body).get(doc) == simdjson::SUCCESS &&
                        doc.get_object().get(root) == simdjson::SUCCESS;
    if (parsed) read_fields(root, call);

    std::optional<int> scripted;
    {
      std::lock_guard lock(mutex_);
      if (!scripted_.empty()) {
        scripted = scripted_.front();
        scripted_.pop_front();
      }
    }
    if (scripted && (*scripted < 200 || *scripted >= 300))
      return with_rate_limit(scripted_reply(*scripted));

    if (call.body.size() > simulated_max_body) return with_rate_limit(too_large());
    if (!parsed) return with_rate_limit(bad_request("Bad Request", ""));
    if (auto refused = check_body(root)) return with_rate_limit(std::move(*refused));
    if (!options_.verified_senders.empty() &&
        std::none_of(options_.verified_senders.begin(), options_.verified_senders.end(),
                     [&](const std::string& s) { return lower(s) == lower(call.from_email); })) {
      return with_rate_limit(unverified_sender());
    }
    reply accepted;
    accepted.status = 202;
    {
      std::lock_guard lock(mutex_);
      char random[17];
      std::snprintf(random, sizeof random, "%016llx", static_cast<unsigned long long>(random_()));
      call.message_id = "sim-" + std::to_string(++accepted_count_) + "-" + random;
    }
    accepted.headers.emplace_back("X-Message-Id", call.message_id);
    return with_rate_limit(std::move(accepted));
  }

  // X-RateLimit-* as SendGrid sends them: a per-minute window of rate_limit calls.
  reply with_rate_limit(reply r) {
    const std::int64_t now = unix_seconds();
    std::lock_guard lock(mutex_);
    if (now / 60 != window_) {
      window_ = now / 60;
      used_in_window_ = 0;
    }
    ++used_in_window_;
    if (r.status == 429) {
      r.headers.emplace_back("X-RateLimit-Limit", std::to_string(rate_limit));
      r.headers.emplace_back("X-RateLimit-Remaining", "0");
      r.headers.emplace_back("X-RateLimit-Reset", std::to_string(now + 1));
      return r;
    }
    r.headers.emplace_back("X-RateLimit-Limit", std::to_string(rate_limit));
    r.headers.emplace_back("X-RateLimit-Remaining",
                           std::to_string(std::max(0, rate_limit - used_in_window_)));
    r.headers.emplace_back("X-RateLimit-Reset", std::to_string((window_ + 1) * 60));
    return r;
  }

  void deliver(mail_send_call call, reply r, http::responder res) {
    call.status = r.status;
    call.error_message = r.error_message;
    call.error_field = r.error_field;
    http::response response =
        http::make_response(static_cast<http::status>(r.status), std::move(r.body));
    for (const auto& [name, value] : r.headers) response.set(name, value);
    const bool accepted = r.status == 202;
    {
      // Recorded before the answer leaves, so a client that has it sees the call here.
      std::lock_guard lock(mutex_);
      calls_.push_back(call);
    }
    changed_.notify_all();
    res.send(std::move(response));
    if (accepted && options_.on_accepted) {
      {
        std::lock_guard lock(mutex_);
        pending_callbacks_.push_back(std::move(call));
      }
      changed_.notify_all();
    }
  }

  void run_callbacks() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return stopping_ || !pending_callbacks_.empty(); });
      if (pending_callbacks_.empty()) return;  // stopping, and nothing left
      mail_send_call call = std::move(pending_callbacks_.front());
      pending_callbacks_.pop_front();
      lock.unlock();
      options_.on_accepted(call);
      lock.lock();
    }
  }

  const mail_send_simulator_options options_;
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<http::server> server_;
  std::future<void> io_done_;
  std::thread io_thread_;
  std::thread callback_thread_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<mail_send_call> calls_;
  std::deque<mail_send_call> pending_callbacks_;
  std::deque<int> scripted_;
  std::chrono::milliseconds delay_;
  std::set<std::shared_ptr<asio::steady_timer>> timers_;
  std::mt19937_64 random_;
  std::uint64_t accepted_count_ = 0;
  std::atomic<std::size_t> received_{0};
  std::int64_t window_ = 0;
  int used_in_window_ = 0;
  bool stopping_ = false;
};

mail_send_simulator::mail_send_simulator(mail_send_simulator_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

mail_send_simulator::~mail_send_simulator() = default;

std::uint16_t mail_send_simulator::port() const {
  return impl_->server_->port();
}

std::string mail_send_simulator::url() const {
  const bool tls = !impl_->options_.tls_cert_file.empty();
  return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port());
}

void mail_send_simulator::answer_next(std::vector<int> statuses) {
  std::lock_guard lock(impl_->mutex_);
  impl_->scripted_.insert(impl_->scripted_.end(), statuses.begin(), statuses.end());
}

void mail_send_simulator::set_response_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(impl_->mutex_);
  impl_->delay_ = delay;
}

std::size_t mail_send_simulator::requests_received() const {
  return impl_->received_.load();
}

std::vector<mail_send_call> mail_send_simulator::calls() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->calls_;
}

std::size_t mail_send_simulator::call_count() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->calls_.size();
}

bool mail_send_simulator::wait_for_calls(std::size_t count,
                                         std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex_);
  return impl_->changed_.wait_for(lock, timeout, [&] { return impl_->calls_.size() >= count; });
}

std::uint64_t mail_send_simulator::connections_accepted() const {
  return impl_->server_->stats().connections_accepted.load();
}

std::int64_t mail_send_simulator::open_connections() const {
  return impl_->server_->open_connections();
}

bool mail_send_simulator::close_idle_connections(std::chrono::milliseconds timeout) {
  // A connection whose answer the client already has may still be finishing its write
  // (not idle yet), so the request to close is repeated until none is left.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    impl_->close_idle_connections();
    std::this_thread::sleep_for(5ms);
    if (impl_->server_->open_connections() == 0) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
  }
}

certificate_files make_self_signed_certificate(const std::filesystem::path& dir,
                                               const std::string& subject_alt_names) {
  static std::atomic<int> counter{0};
  const std::string n = std::to_string(counter.fetch_add(1));
  certificate_files files;
  files.cert_file = (dir / ("cert-" + n + ".pem")).string();
  files.key_file = (dir / ("key-" + n + ".pem")).string();
  auto made = run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:P-256", "-nodes", "-keyout", files.key_file, "-out",
                   files.cert_file, "-days", "1", "-subj", "/CN=mailhook test", "-addext",
                   "subjectAltName=" + subject_alt_names});
  if (made.status != 0) {
    throw std::runtime_error("openssl req failed (" + std::to_string(made.status) +
                             "): " + made.output);
  }
  return files;
}

}  // namespace mailhook::testing
