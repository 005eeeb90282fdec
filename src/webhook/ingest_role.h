// The ingest role: the public webhook listener, its I/O threads, and the producer that
// publishes events. Built by the application when "ingest" is among the roles.
//
// Stopping follows the contract that a 2xx means "in Kafka": intake stops first, the
// requests already accepted are answered (up to the request deadline), the producer
// flushes, and only then do the threads stop.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "common/result.h"
#include "config/daemon_config.h"
#include "http/server.h"
#include "kafka/cluster_monitor.h"
#include "kafka/producer.h"
#include "metrics/registry.h"
#include "webhook/ingest_handler.h"

namespace mailhook::webhook {

class ingest_role {
 public:
  [[nodiscard]] static result<std::unique_ptr<ingest_role>> start(
      const config::daemon_config& config, const kafka::cluster_monitor& cluster,
      metrics::registry& registry);
  ~ingest_role();
  ingest_role(const ingest_role&) = delete;
  ingest_role& operator=(const ingest_role&) = delete;

  [[nodiscard]] std::uint16_t port() const { return server_->port(); }
  [[nodiscard]] const http::server& server() const { return *server_; }
  // Stops accepting connections and waits up to `timeout` for accepted requests to be
  // answered. Called before destruction; safe to call twice.
  void stop(std::chrono::milliseconds timeout);

 private:
  ingest_role() = default;

  std::unique_ptr<kafka::producer> producer_;
  // One io_context per I/O thread, each run by that thread alone, with a connection's
  // work all on one of them (the acceptor's on the first): no scheduler queue, lock or
  // epoll set is shared between them, and no I/O thread wakes another to run a handler.
  // Kept busy by work_ until the role is destroyed, also while one has no connection.
  std::vector<std::unique_ptr<boost::asio::io_context>> io_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::unique_ptr<ingest_handler> handler_;
  std::unique_ptr<http::server> server_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

// librdkafka settings of the events producer before [ingest.producer] is applied.
[[nodiscard]] kafka::property_list ingest_producer_defaults();

}  // namespace mailhook::webhook
