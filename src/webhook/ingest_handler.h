// POST /webhooks/sendgrid/{source}: authenticate, parse, publish every event to Kafka,
// and answer 2xx only once Kafka holds the whole batch.
//
// SendGrid retries any non-2xx for 24 hours, so the answer is the commit point:
//   200  every event (and every dead letter) has a successful delivery report;
//   503  Kafka is unreachable, too slow (request_deadline) or the in-flight budget is
//        spent; Retry-After says when to come back. Never a 2xx for data not in Kafka.
//   401/403  the request is not from SendGrid; nothing of it is kept.
// An authenticated body that is not a JSON array, and single bad events inside a good
// one, go to the dead-letter topic with the reason, so nothing authentic is lost.
//
// Threading: on_header/on_request run on the connection's I/O thread (any of them); the
// answer is posted there from the producer's delivery thread or the deadline timer. Parsers
// are per thread. The handler must outlive every batch it started (the ingest role
// flushes the producer before destroying it).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "config/daemon_config.h"
#include "email/event_type.h"
#include "http/server.h"
#include "kafka/cluster_monitor.h"
#include "kafka/producer.h"
#include "metrics/registry.h"
#include "webhook/replay_guard.h"
#include "webhook/sources.h"

namespace mailhook::webhook {

inline constexpr std::string_view route_prefix = "/webhooks/sendgrid/";

class ingest_handler final : public http::handler {
 public:
  ingest_handler(const config::ingest_config& config, const config::topics_config& topics,
                 source_table sources, kafka::producer& producer,
                 const kafka::cluster_monitor& cluster, metrics::registry& registry);

  std::optional<http::response> on_header(const http::request_header& header) override;
  void on_request(http::request&& req, http::responder res) override;
  // A chunked body grows: it may while the bytes being read and the batches waiting for
  // Kafka fit the in-flight budget together.
  bool admit_body_bytes(std::uint64_t bytes_reading) override;

  // Bytes of bodies being read, by the server, so the budget can count them.
  void set_server(const http::server* server) { server_ = server; }
  // Requests between on_request and their answer; the role drains these at shutdown.
  [[nodiscard]] std::int64_t requests_in_flight() const { return in_flight_requests_.load(); }
  // From now on complete requests get 503 instead of reaching the producer, which is
  // about to be flushed and destroyed.
  void refuse_new_batches() { refusing_.store(true); }
  [[nodiscard]] std::uint64_t bytes_in_flight() const { return budget_->used.load(); }

  struct budget {
    std::atomic<std::uint64_t> used{0};
  };

 private:
  // The children a request that Kafka took touches, for one source, looked up once at
  // start: with() takes its family's mutex, which every listener thread would share.
  struct source_metrics {
    std::string_view name;                                            // the source's, in sources_
    metrics::counter* answered_ok = nullptr;                          // requests_total, status 200
    std::array<metrics::counter*, email::event_type_count> events{};  // events_total, by type
  };
  struct batch;

  [[nodiscard]] http::response unavailable(std::string_view code, std::string_view message) const;
  [[nodiscard]] const source* source_of(std::string_view target) const;
  void publish(std::shared_ptr<batch> b, const std::vector<kafka::outgoing_record>& records,
               http::responder res);
  void finish(const std::shared_ptr<batch>& b, http::response r);
  void count_published(const batch& b);

  const config::ingest_config config_;
  source_table sources_;
  kafka::producer& producer_;
  const kafka::cluster_monitor& cluster_;
  const kafka::producer_topic* events_topic_;
  const kafka::producer_topic* dlq_topic_;
  std::string schema_;  // the mailhook-schema header of record_format = "headers"
  // The Confluent framing before each value (record_format = "confluent"), else empty.
  std::string event_value_prefix_;
  std::string dead_letter_value_prefix_;
  const http::server* server_ = nullptr;
  std::shared_ptr<budget> budget_ = std::make_shared<budget>();
  std::atomic<std::int64_t> in_flight_requests_{0};
  std::atomic<bool> refusing_{false};
  // Null when ingest.replay_cache_entries = 0. Shared with the metrics collector, which
  // may outlive the handler.
  std::shared_ptr<replay_guard> replays_;

  // Metrics, looked up once.
  metrics::counter_family& requests_;
  metrics::counter_family& events_;  // counted once Kafka confirmed them
  metrics::counter_family& rejected_events_;
  metrics::counter_family& auth_failures_;
  metrics::counter_family& replays_seen_;
  metrics::histogram& body_bytes_;
  metrics::histogram& request_seconds_;
  std::map<const source*, source_metrics> source_metrics_;  // one per source, made at start
};

}  // namespace mailhook::webhook
