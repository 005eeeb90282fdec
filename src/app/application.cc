#include "app/application.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <string>

#include "app/version.h"
#include "common/cpu.h"
#include "common/thread_name.h"
#include "http/server_metrics.h"
#include "index/index_metrics.h"
#include "kafka/topics.h"
#include "metrics/process_metrics.h"

namespace mailhook::app {

struct application::stop_signal {
  std::mutex mutex;
  std::condition_variable cv;
  bool requested = false;
};

result<std::unique_ptr<application>> application::create(config::daemon_config config) {
  std::unique_ptr<application> app(new application(std::move(config)));
  if (auto built = app->build(); !built) return built.error();
  return app;
}

application::application(config::daemon_config config)
    : config_(std::move(config)), stop_(std::make_unique<stop_signal>()) {}

application::~application() {
  shutdown();
}

result<void> application::build() {
  signals_ = std::make_unique<boost::asio::signal_set>(io_, SIGINT, SIGTERM);
  signals_->async_wait([this](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    spdlog::info("received signal {}, stopping", signal_number);
    request_stop();
  });
  metrics::register_process_metrics(registry_);
  registry_.gauge("mailhook_build_info", "Build of the running mailhook", {"version"})
      .with({version})
      .set(1);

  // Topics are created once the cluster answers, at start or whenever it comes back.
  auto on_reachable = [this](rd_kafka_t* handle) {
    if (!config_.kafka.create_topics || topics_ready_.load()) return;
    auto ensured = kafka::ensure_topics(handle, kafka::all_topics(config_.topics),
                                        config_.kafka.health_timeout * 5);
    if (ensured) {
      topics_ready_.store(true);
    } else {
      std::lock_guard lock(topics_error_mutex_);
      topics_error_ = ensured.error().describe();
      spdlog::warn("kafka: {}", topics_error_);
    }
  };
  auto monitor = kafka::cluster_monitor::start(config_.kafka, registry_, on_reachable);
  if (!monitor) return monitor.error();
  kafka_monitor_ = std::move(*monitor);
  if (!kafka_monitor_->reachable()) {
    spdlog::warn("kafka: {} is unreachable ({}); not ready until it answers",
                 config_.kafka.bootstrap_servers, kafka_monitor_->last_error());
  }
  readiness_.add("kafka", [this]() -> std::optional<std::string> {
    if (kafka_monitor_->reachable()) return std::nullopt;
    return "unreachable: " + kafka_monitor_->last_error();
  });
  if (config_.kafka.create_topics) {
    readiness_.add("topics", [this]() -> std::optional<std::string> {
      if (topics_ready_.load()) return std::nullopt;
      std::lock_guard lock(topics_error_mutex_);
      return topics_error_.empty() ? "not created yet" : topics_error_;
    });
  }

  using config::role;
  // The index replica first: the policy and the sender decide against it.
  if (config_.runs(role::index) || config_.runs(role::policy) || config_.runs(role::sender)) {
    if (auto started = start_index(); !started) return started.error();
  }
  if (config_.runs(role::ingest)) {
    auto ingest = webhook::ingest_role::start(config_, *kafka_monitor_, registry_);
    if (!ingest) return ingest.error();
    ingest_ = std::move(*ingest);
    http::register_server_metrics(registry_, ingest_->server());
    readiness_.add("ingest", [] { return std::optional<std::string>(); });
  }
  if (config_.runs(role::report)) {
    if (auto started = start_report(); !started) return started.error();
  }
  if (config_.runs(role::dedup)) {
    auto window = dedup::seen_window::open(config_.dedup.dir, config_.dedup.window);
    if (!window) return window.error();
    dedup_window_ = std::move(*window);
    auto dedup = dedup::dedup_role::start(config_, *dedup_window_, registry_);
    if (!dedup) return dedup.error();
    dedup_role_ = std::move(*dedup);
    readiness_.add("dedup", [this] { return dedup_role_->not_ready(); });
  }

  return start_admin();
}

// The listeners of the admin side, last: every readiness check is registered by now, so
// the first probe answered is a true one. Monitoring first, then the admin API.
result<void> application::start_admin() {
  const auto& admin = config_.admin;
  if (admin.monitoring_listen) {
    monitoring_handler_ = std::make_unique<monitoring_handler>(readiness_, registry_);
    http::server_options options;
    options.name = "monitoring";
    options.host = admin.monitoring_listen->host;
    options.port = admin.monitoring_listen->port;
    options.max_body_bytes = 64 * 1024;  // GET only
    options.max_connections = 64;
    monitoring_server_ = std::make_unique<http::server>(io_, options, *monitoring_handler_);
    if (auto listening = monitoring_server_->listen(); !listening) return listening.error();
    http::register_server_metrics(registry_, *monitoring_server_);
    spdlog::info("monitoring listener on {}:{} (/metrics /healthz /readyz, no token)", options.host,
                 monitoring_server_->port());
  }

  admin_access_ = std::make_unique<admin_access>(admin);
  if (!admin.tokens.empty()) {
    std::string names;
    for (const auto& token : admin.tokens) {
      names += (names.empty() ? "" : ", ") + token.name +
               (token.scope == config::admin_scope::write ? " (write)" : " (read)");
    }
    spdlog::info("admin: /v1 takes {} token{}: {}", admin.tokens.size(),
                 admin.tokens.size() == 1 ? "" : "s", names);
  } else if (admin.allow_unauthenticated) {
    spdlog::warn(
        "admin: /v1 is open, with write scope, to anyone who reaches {} "
        "(admin.allow_unauthenticated: for development only)",
        config::to_string(admin.listen));
  } else {
    spdlog::warn(
        "admin: /v1 is closed (403): no admin.tokens are configured and "
        "admin.allow_unauthenticated is false (docs/security.md)");
  }
  admin_handler_ = std::make_unique<admin_handler>(readiness_, registry_, *admin_access_,
                                                   suppression_api_.get(), report_api_.get());
  http::server_options options;
  options.name = "admin";
  options.host = admin.listen.host;
  options.port = admin.listen.port;
  options.max_body_bytes = 1024 * 1024;
  options.max_connections = 256;
  // The same TLS as the ingest listener's.
  options.tls_cert_file = admin.tls.certificate;
  options.tls_key_file = admin.tls.private_key;
  admin_server_ = std::make_unique<http::server>(io_, options, *admin_handler_);
  if (auto listening = admin_server_->listen(); !listening) return listening.error();
  http::register_server_metrics(registry_, *admin_server_);
  spdlog::info("admin listener on {}:{} ({})", options.host, admin_server_->port(),
               options.tls_cert_file.empty() ? "http" : "https");
  return {};
}

result<void> application::start_index() {
  index::store_options options;
  options.dir = config_.index.dir;
  options.topic = config_.topics.suppressions.name;
  options.block_cache_bytes = config_.index.block_cache;
  options.expected_keys = static_cast<std::uint64_t>(config_.index.expected_keys);
  options.write_buffer_bytes = config_.index.write_buffer;
  options.max_disk_bytes = config_.index.max_disk;
  auto started = std::chrono::steady_clock::now();
  auto store = index::store::open(options);
  if (!store) return store.error();
  index_store_ = std::move(*store);
  spdlog::info("index: opened {} with {} keys in {} ms", config_.index.dir, index_store_->keys(),
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count());
  auto replica = index::replica::start(config_, *index_store_, registry_);
  if (!replica) return replica.error();
  index_replica_ = std::move(*replica);
  auto writer = index::changelog_writer::create(config_, registry_);
  if (!writer) return writer.error();
  changelog_writer_ = std::move(*writer);
  suppression_api_ = std::make_unique<suppression_api>(
      *index_store_, changelog_writer_.get(), [this] { return index_replica_->not_current(); },
      registry_);
  index::register_index_metrics(registry_, *index_store_, *index_replica_);
  readiness_.add("index", [this]() -> std::optional<std::string> {
    auto why = index_replica_->not_current();
    if (!why || index_replica_->stalled()) return why;
    auto error = index_replica_->last_error();
    return error.empty() ? "catching up with the changelog" : error;
  });

  if (config_.runs(config::role::policy)) {
    auto policy = policy::policy_role::start(config_, *index_store_, *index_replica_, registry_);
    if (!policy) return policy.error();
    policy_ = std::move(*policy);
    readiness_.add("policy", [this] { return policy_->not_ready(); });
  }
  if (config_.runs(config::role::sender)) {
    auto sender = sender::sender_role::start(config_, *index_store_, *index_replica_, registry_);
    if (!sender) return sender.error();
    sender_ = std::move(*sender);
    readiness_.add("sender", [this] { return sender_->not_ready(); });
  }
  return {};
}

result<void> application::start_report() {
  report::store_options options;
  options.dir = config_.report.dir;
  options.topic = config_.topics.events.name;
  options.seen_days = config_.report.seen_days;
  auto store = report::store::open(options);
  if (!store) return store.error();
  report_store_ = std::move(*store);
  auto role = report::report_role::start(config_, *report_store_, registry_);
  if (!role) return role.error();
  report_role_ = std::move(*role);
  auto incomplete = [role = report_role_.get()]() -> std::optional<std::string> {
    if (role->caught_up()) return std::nullopt;
    auto error = role->last_error();
    return error.empty() ? "counting the events topic" : error;
  };
  report_api_ = std::make_unique<report_api>(*report_store_, incomplete, registry_);
  readiness_.add("report", incomplete);
  return {};
}

int application::run() {
  auto work = boost::asio::make_work_guard(io_);
  const unsigned threads = std::max(2u, usable_cores());
  for (unsigned i = 0; i < threads; ++i) {
    io_threads_.emplace_back([this, i] {
      name_current_thread("app-io-" + std::to_string(i));
      io_.run();
    });
  }
  spdlog::info("mailhook {} serving", version);

  {
    std::unique_lock lock(stop_->mutex);
    stop_->cv.wait(lock, [this] { return stop_->requested; });
  }
  signals_->cancel();
  work.reset();
  shutdown();
  spdlog::info("stopped");
  return 0;
}

void application::request_stop() {
  {
    std::lock_guard lock(stop_->mutex);
    stop_->requested = true;
  }
  stop_->cv.notify_all();
}

void application::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  // The reverse of the start, but for one thing: intake first, so that the admin port
  // and the monitoring port (kept to the end of the drain) let probes see it.
  if (ingest_) {
    // Accepted batches are answered before anything else stops: up to the request
    // deadline for Kafka to confirm them.
    ingest_->stop(config_.ingest.request_deadline + std::chrono::seconds(1));
    ingest_.reset();
  }
  // Then the admin API (a change in flight gets its answer), then the monitoring listener,
  // the reverse of their start: probes and scrapes see the drain to its end.
  for (http::server* server : {admin_server_.get(), monitoring_server_.get()}) {
    if (server == nullptr) continue;
    server->stop_accepting();
    server->close_idle_connections();
    // Give in-flight requests (a change, a scrape, a probe) a moment to finish.
    for (int i = 0; i < 50 && server->open_connections() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  io_.stop();
  for (auto& t : io_threads_) t.join();
  io_threads_.clear();
  // Nothing answers requests any more: the listeners and the handlers, which hold
  // references to the stores and the writer below, go before them.
  admin_server_.reset();
  admin_handler_.reset();
  monitoring_server_.reset();
  monitoring_handler_.reset();
  report_api_.reset();
  suppression_api_.reset();
  // Then the roles, the reverse of their start: the report, then the sender and the
  // policy (their batches in hand commit or abort), then what they read and write with.
  // The registry's collectors still point at these, but nothing scrapes once the
  // listeners are gone.
  if (dedup_role_) dedup_role_->stop();
  dedup_role_.reset();
  dedup_window_.reset();
  report_role_.reset();
  report_store_.reset();
  if (sender_) sender_->stop();
  sender_.reset();
  policy_.reset();
  changelog_writer_.reset();
  index_replica_.reset();
  index_store_.reset();

  kafka_monitor_.reset();
}

}  // namespace mailhook::app
