#include "webhook/ingest_role.h"

#include <spdlog/spdlog.h>

#include <string>

#include "common/cpu.h"
#include "common/thread_name.h"

namespace mailhook::webhook {

kafka::property_list ingest_producer_defaults() {
  return {
      // 2xx means "in Kafka": every replica in sync has the record, written once.
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"compression.type", "lz4"},
      {"linger.ms", "5"},
      // The same key → partition mapping as Kafka's Java clients, so Kafka Streams and
      // other consumers can co-partition with the events topic.
      {"partitioner", "murmur2_random"},
      // A record not delivered by then fails its batch (503); the in-flight budget, not
      // librdkafka's queue limits, bounds the memory.
      {"message.timeout.ms", "60000"},
      {"queue.buffering.max.messages", "2000000"},
      {"queue.buffering.max.kbytes", "2097151"},
  };
}

result<std::unique_ptr<ingest_role>> ingest_role::start(const config::daemon_config& config,
                                                        const kafka::cluster_monitor& cluster,
                                                        metrics::registry& registry) {
  auto sources = source_table::build(config.sources);
  if (!sources) return sources.error();
  if (config.sources.empty()) {
    spdlog::warn("ingest: no [sources.*] configured; every webhook will get 404");
  }

  std::unique_ptr<ingest_role> role(new ingest_role());
  auto overrides = ingest_producer_defaults();
  overrides.insert(overrides.end(), config.ingest.producer.begin(), config.ingest.producer.end());
  auto producer = kafka::producer::create(config.kafka, overrides, registry);
  if (!producer) return producer.error();
  role->producer_ = std::move(*producer);

  role->handler_ = std::make_unique<ingest_handler>(
      config.ingest, config.topics, std::move(*sources), *role->producer_, cluster, registry);
  http::server_options options;
  options.name = "webhook";
  options.host = config.ingest.listen.host;
  options.port = config.ingest.listen.port;
  options.max_header_bytes = static_cast<std::size_t>(config.ingest.max_header);
  options.max_body_bytes = config.ingest.max_body;
  options.header_timeout = config.ingest.header_timeout;
  options.body_timeout = config.ingest.body_timeout;
  options.idle_timeout = config.ingest.idle_timeout;
  options.error_idle_timeout = config.ingest.error_idle_timeout;
  options.max_connections = static_cast<std::size_t>(config.ingest.max_connections);
  options.max_connections_per_client =
      static_cast<std::size_t>(config.ingest.max_connections_per_client);
  options.max_body_bytes_per_client = config.ingest.max_body_bytes_per_client;
  options.min_upload_rate = config.ingest.min_upload_rate;
  options.tls_cert_file = config.ingest.tls_cert_file;
  options.tls_key_file = config.ingest.tls_key_file;
  const unsigned threads =
      config.ingest.threads > 0 ? static_cast<unsigned>(config.ingest.threads) : usable_cores();
  std::vector<boost::asio::io_context*> contexts;
  for (unsigned i = 0; i < threads; ++i) {
    // Concurrency hint 1: the context knows one thread runs it, and queues the handlers
    // that thread posts to itself without a lock.
    auto& io = role->io_.emplace_back(std::make_unique<boost::asio::io_context>(1));
    role->work_.push_back(boost::asio::make_work_guard(*io));
    contexts.push_back(io.get());
  }
  role->server_ =
      std::make_unique<http::server>(*contexts.front(), options, *role->handler_, contexts);
  role->handler_->set_server(role->server_.get());
  if (auto listening = role->server_->listen(); !listening) return listening.error();

  for (std::size_t i = 0; i < contexts.size(); ++i) {
    role->threads_.emplace_back([io = contexts[i], i] {
      name_current_thread("ingest-io-" + std::to_string(i));
      io->run();
    });
  }
  spdlog::info("webhook listener on {}:{} ({}, {} threads, {} sources)", options.host,
               role->server_->port(), options.tls_cert_file.empty() ? "http" : "https", threads,
               config.sources.size());
  return role;
}

void ingest_role::stop(std::chrono::milliseconds timeout) {
  if (stopped_) return;
  stopped_ = true;
  server_->stop_accepting();
  server_->close_idle_connections();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (handler_->requests_in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  handler_->refuse_new_batches();
  while (handler_->requests_in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (auto left = handler_->requests_in_flight(); left > 0) {
    spdlog::warn("ingest: {} requests still waited for Kafka at shutdown; they get 503", left);
  }
  // Everything enqueued is delivered or fails now; the batches' answers are posted to the
  // I/O threads, which still run.
  producer_->flush(std::chrono::seconds(5));
  producer_.reset();
  for (int i = 0; i < 100 && handler_->requests_in_flight() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server_->close_idle_connections();
}

ingest_role::~ingest_role() {
  if (server_ && handler_ && producer_) stop(std::chrono::seconds(0));
  work_.clear();
  for (auto& io : io_) io->stop();
  for (auto& t : threads_) t.join();
  server_.reset();
  handler_.reset();
  // The acceptor's context, the first, goes first: its pending accept holds a socket of
  // another context (http/server.h).
  for (auto& io : io_) io.reset();
}

}  // namespace mailhook::webhook
