#include "kafka/producer.h"

#include <spdlog/spdlog.h>

#include <mutex>

namespace mailhook::kafka {
namespace {

// One publish() call. Counted down by delivery reports; the last one reports the outcome
// and frees the set (and with it the caller's bytes).
struct record_set {
  std::atomic<std::size_t> pending;
  std::atomic<std::size_t> failed{0};
  std::once_flag error_once;
  std::string first_error;
  std::size_t records = 0;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::shared_ptr<const void> owner;
  std::function<void(const publish_outcome&)> done;
  metrics::histogram* latency = nullptr;
  metrics::counter* delivered = nullptr;
  metrics::counter_family* failed_by_error = nullptr;

  explicit record_set(std::size_t n) : pending(n) {}

  void fail(std::size_t count, std::string_view why) {
    failed.fetch_add(count, std::memory_order_relaxed);
    std::call_once(error_once, [&] { first_error = std::string(why); });
  }

  // Counts `count` records as finished; the caller that finishes the last one completes
  // the set and must not touch it afterwards.
  void finish(std::size_t count) {
    if (pending.fetch_sub(count, std::memory_order_acq_rel) != count) return;
    publish_outcome outcome{records, failed.load(), first_error,
                            std::chrono::steady_clock::now() - started};
    latency->observe(std::chrono::duration<double>(outcome.elapsed).count());
    done(outcome);
    delete this;
  }
};

}  // namespace

result<std::unique_ptr<producer>> producer::create(const config::kafka_config& kafka,
                                                   const property_list& overrides,
                                                   metrics::registry& registry) {
  auto conf = make_conf(kafka, overrides);
  if (!conf) return conf.error();
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &producer::on_delivery);
  auto handle = make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!handle) return handle.error();
  std::unique_ptr<producer> p(new producer(std::move(*handle), registry));
  auto* raw = p.get();
  registry.add_collector([raw](metrics::collector_sink& sink) {
    sink.gauge("mailhook_kafka_producer_queue_depth", "Records in librdkafka's queues or in flight",
               {})
        .set({}, static_cast<double>(raw->queue_depth()));
  });
  p->poller_ = std::thread([raw] { raw->poll_loop(); });
  return p;
}

producer::producer(handle_ptr handle, metrics::registry& registry)
    : handle_(std::move(handle)),
      delivered_(
          registry.counter("mailhook_kafka_records_delivered_total", "Records Kafka confirmed")
              .get()),
      failed_(registry.counter("mailhook_kafka_records_failed_total",
                               "Records that could not be enqueued or were not confirmed",
                               {"error"})),
      set_latency_(registry
                       .histogram("mailhook_kafka_delivery_seconds",
                                  "From enqueueing a batch's records to the last delivery report",
                                  metrics::default_latency_buckets())
                       .get()) {}

producer::~producer() {
  flush(std::chrono::seconds(10));
  stopping_.store(true);
  if (poller_.joinable()) poller_.join();
  for (auto& [name, topic] : topics_) rd_kafka_topic_destroy(topic);
  // Reports of records that never finished fire from rd_kafka_destroy (purged), so every
  // set still completes and frees itself.
  rd_kafka_purge(handle_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(handle_.get(), 0);
}

rd_kafka_topic_t* producer::topic(const std::string& name) {
  auto it = topics_.find(name);
  if (it != topics_.end()) return it->second;
  rd_kafka_topic_t* t = rd_kafka_topic_new(handle_.get(), name.c_str(), nullptr);
  MAILHOOK_CHECK(t != nullptr, "rd_kafka_topic_new failed for " + name);
  topics_.emplace(name, t);
  return t;
}

void producer::publish(const std::vector<outgoing_record>& records,
                       std::shared_ptr<const void> owner,
                       std::function<void(const publish_outcome&)> done) {
  // One extra count guards the set while records are still being enqueued.
  auto* set = new record_set(records.size() + 1);
  set->records = records.size();
  set->owner = std::move(owner);
  set->done = std::move(done);
  set->latency = &set_latency_;
  set->delivered = &delivered_;
  set->failed_by_error = &failed_;

  std::size_t enqueued = 0;
  for (const auto& r : records) {
    rd_kafka_headers_t* headers = nullptr;
    if (!r.headers.empty()) {
      headers = rd_kafka_headers_new(r.headers.size());
      for (const auto& h : r.headers) {
        rd_kafka_header_add(headers, h.name.data(), static_cast<ssize_t>(h.name.size()),
                            h.value.data(), static_cast<ssize_t>(h.value.size()));
      }
    }
    // No RD_KAFKA_MSG_F_COPY: the bytes live in `owner` until the set completes.
    rd_kafka_vu_t fields[6];
    std::size_t count = 0;
    fields[count].vtype = RD_KAFKA_VTYPE_RKT;
    fields[count++].u.rkt = r.topic;
    fields[count].vtype = RD_KAFKA_VTYPE_KEY;
    fields[count++].u.mem = {const_cast<char*>(r.key.data()), r.key.size()};
    fields[count].vtype = RD_KAFKA_VTYPE_VALUE;
    fields[count++].u.mem = {const_cast<char*>(r.value.data()), r.value.size()};
    fields[count].vtype = RD_KAFKA_VTYPE_OPAQUE;
    fields[count++].u.ptr = set;
    if (headers != nullptr) {
      fields[count].vtype = RD_KAFKA_VTYPE_HEADERS;
      fields[count++].u.headers = headers;
    }
    if (r.timestamp_ms != 0) {
      // Given a timestamp, librdkafka does not read the clock for the record.
      fields[count].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
      fields[count++].u.i64 = r.timestamp_ms;
    }
    rd_kafka_error_t* error = rd_kafka_produceva(handle_.get(), fields, count);
    rd_kafka_resp_err_t err =
        error != nullptr ? rd_kafka_error_code(error) : RD_KAFKA_RESP_ERR_NO_ERROR;
    if (error != nullptr) rd_kafka_error_destroy(error);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (headers != nullptr) rd_kafka_headers_destroy(headers);
      // The queue is full or the producer is fatally broken: the rest would fail the same way.
      std::size_t left = records.size() - enqueued;
      failed_.with({rd_kafka_err2name(err)}).inc(static_cast<double>(left));
      set->fail(left, std::string("enqueue: ") + rd_kafka_err2str(err));
      set->finish(left + 1);
      return;
    }
    ++enqueued;
  }
  set->finish(1);
}

void producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  auto* set = static_cast<record_set*>(message->_private);
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    set->failed_by_error->with({rd_kafka_err2name(message->err)}).inc();
    set->fail(1, rd_kafka_err2str(message->err));
  } else {
    set->delivered->inc();
  }
  set->finish(1);
}

void producer::poll_loop() {
  while (!stopping_.load()) rd_kafka_poll(handle_.get(), 100);
}

void producer::flush(std::chrono::milliseconds timeout) {
  rd_kafka_flush(handle_.get(), static_cast<int>(timeout.count()));
}

int producer::queue_depth() const {
  return rd_kafka_outq_len(handle_.get());
}

}  // namespace mailhook::kafka
