// The composition root: builds every part of the daemon from its configuration, runs
// until SIGINT or SIGTERM, and stops in the reverse order of building, intake first,
// so that nothing accepted is left unfinished.
//
// Threading: run() blocks the calling thread; the io_context runs on its own threads;
// request_stop() may be called from any thread (and from the signal handler's strand).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/admin_access.h"
#include "app/admin_handler.h"
#include "app/readiness.h"
#include "app/report_api.h"
#include "app/suppression_api.h"
#include "common/result.h"
#include "config/daemon_config.h"
#include "dedup/dedup_role.h"
#include "dedup/seen_window.h"
#include "http/server.h"
#include "index/changelog_writer.h"
#include "index/replica.h"
#include "index/store.h"
#include "kafka/cluster_monitor.h"
#include "metrics/registry.h"
#include "policy/policy_role.h"
#include "report/report_role.h"
#include "report/store.h"
#include "sender/sender_role.h"
#include "webhook/ingest_role.h"

namespace mailhook::app {

class application {
 public:
  [[nodiscard]] static result<std::unique_ptr<application>> create(config::daemon_config config);
  ~application();
  application(const application&) = delete;
  application& operator=(const application&) = delete;

  // Serves until a stop is requested; returns the process exit code.
  int run();
  void request_stop();

 private:
  explicit application(config::daemon_config config);
  result<void> build();
  result<void> start_admin();
  result<void> start_index();
  result<void> start_report();
  void shutdown();

  struct stop_signal;

  config::daemon_config config_;
  std::unique_ptr<stop_signal> stop_;
  bool stopped_ = false;
  std::atomic<bool> topics_ready_{false};
  mutable std::mutex topics_error_mutex_;
  std::string topics_error_;
  metrics::registry registry_;
  readiness readiness_;
  std::unique_ptr<kafka::cluster_monitor> kafka_monitor_;
  std::unique_ptr<webhook::ingest_role> ingest_;
  // The local suppression index: built when the index or policy role runs (the policy
  // decides last-writer-wins against it). Declared in the order they start; stopped in
  // reverse by shutdown().
  std::unique_ptr<index::store> index_store_;
  std::unique_ptr<index::replica> index_replica_;
  std::unique_ptr<index::changelog_writer> changelog_writer_;
  std::unique_ptr<policy::policy_role> policy_;
  std::unique_ptr<sender::sender_role> sender_;
  std::unique_ptr<suppression_api> suppression_api_;
  // The bounce report's counts and their follower of the events topic (report role).
  std::unique_ptr<report::store> report_store_;
  std::unique_ptr<report::report_role> report_role_;
  std::unique_ptr<dedup::seen_window> dedup_window_;
  std::unique_ptr<dedup::dedup_role> dedup_role_;
  std::unique_ptr<report_api> report_api_;

  // Declared before the servers so that it is destroyed after them: the servers' sockets
  // belong to it.
  boost::asio::io_context io_;
  // Installed before any listener opens, so that a SIGTERM that comes early is still a
  // clean stop and not the default action.
  std::unique_ptr<boost::asio::signal_set> signals_;
  // The monitoring listener (when configured) opens before the admin listener and closes
  // after it, so that probes and scrapes see the whole drain.
  std::unique_ptr<monitoring_handler> monitoring_handler_;
  std::unique_ptr<http::server> monitoring_server_;
  std::unique_ptr<admin_access> admin_access_;
  std::unique_ptr<admin_handler> admin_handler_;
  std::unique_ptr<http::server> admin_server_;
  std::vector<std::thread> io_threads_;
};

}  // namespace mailhook::app
