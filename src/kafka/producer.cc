#include "kafka/producer.h"

#include <spdlog/spdlog.h>

#include <array>

#include "common/thread_name.h"
#include "kafka/key_partitioner.h"

namespace mailhook::kafka {
namespace {

// How often the partition counts are read again: often enough that records follow new
// partitions within the minute, as librdkafka's own metadata refresh does at most every
// topic.metadata.refresh.interval.ms; every second while a count is unknown.
constexpr auto partition_count_refresh = std::chrono::seconds(30);
constexpr auto partition_count_retry = std::chrono::seconds(1);
constexpr auto metadata_timeout = std::chrono::milliseconds(5000);

// The configured partitioner, read back from the configuration before it is consumed.
// murmur2 and murmur2_random differ only for records without a key, which mailhook never
// produces.
bool partitions_by_murmur2(rd_kafka_conf_t* conf) {
  std::array<char, 64> value{};
  std::size_t size = value.size();
  if (rd_kafka_conf_get(conf, "partitioner", value.data(), &size) != RD_KAFKA_CONF_OK) {
    return false;
  }
  const std::string_view name(value.data());
  return name == "murmur2" || name == "murmur2_random";
}

// Fails every record `handle` still holds and serves their delivery reports, so that each
// record set completes (rd_kafka_destroy would drop reports not served yet); waits at
// most `limit` for the ones in flight.
void fail_what_is_left(rd_kafka_t* handle, std::chrono::milliseconds limit) {
  rd_kafka_purge(handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  const auto give_up = std::chrono::steady_clock::now() + limit;
  rd_kafka_poll(handle, 0);
  while (rd_kafka_outq_len(handle) > 0 && std::chrono::steady_clock::now() < give_up) {
    rd_kafka_poll(handle, 10);
  }
}

}  // namespace

struct producer_topic {
  std::string name;
  std::size_t index = 0;                    // of its object in every client
  std::atomic<std::int32_t> partitions{0};  // 0 = not known yet
};

struct producer::client {
  handle_ptr handle;
  std::vector<rd_kafka_topic_t*> topics;  // by producer_topic::index

  ~client() {
    if (handle) fail_what_is_left(handle.get(), std::chrono::seconds(5));
    for (auto* t : topics) rd_kafka_topic_destroy(t);
  }
  rd_kafka_topic_t* object_of(const producer_topic* t) const { return topics[t->index]; }
};

// One publish() call. Counted down by delivery reports; the last one reports the outcome
// and frees the set (and with it the caller's bytes).
struct producer::record_set {
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

result<std::unique_ptr<producer>> producer::create(const config::kafka_config& kafka,
                                                   const property_list& overrides,
                                                   metrics::registry& registry) {
  auto conf = make_conf(kafka, overrides);
  if (!conf) return conf.error();
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &producer::on_delivery);
  const bool murmur2 = partitions_by_murmur2(conf->get());
  auto first = make_client(conf->get(), {});
  if (!first) return first.error();
  std::unique_ptr<producer> p(new producer(std::move(*conf), std::move(*first), murmur2, registry));
  auto* raw = p.get();
  registry.add_collector([raw](metrics::collector_sink& sink) {
    sink.gauge("mailhook_kafka_producer_queue_depth", "Records in librdkafka's queues or in flight",
               {})
        .set({}, static_cast<double>(raw->queue_depth()));
  });
  p->poller_ = std::thread([raw] {
    name_current_thread("kafka-reports");
    raw->poll_loop();
  });
  if (murmur2) {
    p->partition_counter_ = std::thread([raw] {
      name_current_thread("kafka-partcount");
      raw->partition_count_loop();
    });
  }
  return p;
}

producer::producer(conf_ptr client_conf, std::shared_ptr<client> first, bool partition_by_murmur2,
                   metrics::registry& registry)
    : client_conf_(std::move(client_conf)),
      client_(std::move(first)),
      partition_by_murmur2_(partition_by_murmur2),
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
                       .get()),
      fatal_errors_(registry
                        .counter("mailhook_kafka_producer_fatal_errors_total",
                                 "Fatal producer errors, each followed by a new producer")
                        .get()) {}

producer::~producer() {
  flush(std::chrono::seconds(10));
  {
    std::lock_guard lock(refresh_mutex_);
    stopping_.store(true);
  }
  refresh_wake_.notify_all();
  if (partition_counter_.joinable()) partition_counter_.join();
  if (poller_.joinable()) poller_.join();
  // Records that never finished fail when the last client goes (~client), so every set
  // still completes and frees itself.
}

result<std::shared_ptr<producer::client>> producer::make_client(
    const rd_kafka_conf_t* conf, const std::vector<producer_topic*>& topics) {
  auto handle = make_handle(RD_KAFKA_PRODUCER, conf_ptr(rd_kafka_conf_dup(conf)));
  if (!handle) return handle.error();
  auto fresh = std::make_shared<client>();
  fresh->handle = std::move(*handle);
  for (const auto* t : topics) {
    rd_kafka_topic_t* object = rd_kafka_topic_new(fresh->handle.get(), t->name.c_str(), nullptr);
    if (object == nullptr) {
      return failure(errc::create_failed, "cannot make the producer's topic object for " + t->name);
    }
    fresh->topics.push_back(object);
  }
  return fresh;
}

void producer::replace_client(const std::shared_ptr<client>& broken) {
  std::array<char, 512> reason{};
  const auto err = rd_kafka_fatal_error(broken->handle.get(), reason.data(), reason.size());
  {
    // Under the topics' lock, so that the new client has an object for every topic.
    std::lock_guard lock(topics_mutex_);
    auto fresh = make_client(client_conf_.get(), topics_in_order_);
    if (!fresh) {
      spdlog::error("kafka: the producer has a fatal error ({}: {}) and no new one can be made: {}",
                    rd_kafka_err2name(err), reason.data(), fresh.error().describe());
      return;
    }
    client_.store(std::move(*fresh));
  }
  fatal_errors_.inc();
  spdlog::error(
      "kafka: the producer had a fatal error ({}: {}); a new producer took its place, and the "
      "batches the old one held fail (503, sent again by their senders)",
      rd_kafka_err2name(err), reason.data());
  // The old client's records fail now, each set through its delivery reports. It is
  // destroyed by whoever lets go of it last: this thread, or a publish() that took it
  // just before (whose records a fatally broken client refuses).
  fail_what_is_left(broken->handle.get(), std::chrono::seconds(5));
}

const producer_topic* producer::topic(const std::string& name) {
  producer_topic* made = nullptr;
  {
    std::lock_guard lock(topics_mutex_);
    auto it = topics_.find(name);
    if (it != topics_.end()) return it->second.get();
    auto current = client_.load();
    rd_kafka_topic_t* object = rd_kafka_topic_new(current->handle.get(), name.c_str(), nullptr);
    MAILHOOK_CHECK(object != nullptr, "rd_kafka_topic_new failed for " + name);
    auto t = std::make_unique<producer_topic>();
    t->name = name;
    t->index = topics_in_order_.size();
    current->topics.push_back(object);
    topics_in_order_.push_back(t.get());
    made = t.get();
    topics_.emplace(name, std::move(t));
  }
  // Learnt by the refresh thread, not here: a cluster that is down at start must not hold
  // up the start. Until then librdkafka partitions the topic's records (the same murmur2).
  {
    std::lock_guard lock(refresh_mutex_);
    refresh_now_ = true;
  }
  refresh_wake_.notify_all();
  return made;
}

std::int32_t producer::partitions_of(const producer_topic* topic) const {
  return topic->partitions.load(std::memory_order_relaxed);
}

bool producer::refresh_partition_counts(std::chrono::milliseconds timeout) {
  // The metadata requests block: ask them outside the lock, over a copy of the list.
  // Taken together under the lock: the client has an object for each of these topics.
  std::vector<producer_topic*> topics;
  std::shared_ptr<client> current;
  {
    std::lock_guard lock(topics_mutex_);
    topics = topics_in_order_;
    current = client_.load();
  }
  bool all_known = true;
  for (auto* topic : topics) {
    const std::string& name = topic->name;
    const rd_kafka_metadata_t* metadata = nullptr;
    const auto err = rd_kafka_metadata(current->handle.get(), 0, current->object_of(topic),
                                       &metadata, static_cast<int>(timeout.count()));
    std::int32_t partitions = 0;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && metadata->topic_cnt == 1 &&
        metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      partitions = metadata->topics[0].partition_cnt;
    }
    if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
    // A count that cannot be read keeps the last one: partitions are never taken away.
    if (partitions > 0) {
      const auto before = topic->partitions.exchange(partitions, std::memory_order_relaxed);
      if (before != 0 && before != partitions) {
        spdlog::info("kafka: topic {} now has {} partitions (was {})", name, partitions, before);
      }
    } else if (topic->partitions.load(std::memory_order_relaxed) == 0) {
      all_known = false;
    }
  }
  return all_known;
}

void producer::partition_count_loop() {
  bool all_known = true;
  std::unique_lock lock(refresh_mutex_);
  for (;;) {
    const auto wait = all_known ? partition_count_refresh : partition_count_retry;
    refresh_wake_.wait_for(lock, wait, [this] { return stopping_.load() || refresh_now_; });
    if (stopping_.load()) return;
    refresh_now_ = false;
    lock.unlock();
    all_known = refresh_partition_counts(metadata_timeout);
    lock.lock();
  }
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

  // Runs of records of one topic without headers go in per-partition calls; records with
  // headers one by one. Order between runs is kept, and within a run each key's records
  // keep theirs (they share a partition, and the sort is stable).
  std::size_t taken = 0;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  const std::span<const outgoing_record> all(records);
  const auto current = client_.load();
  for (std::size_t i = 0; i < all.size() && err == RD_KAFKA_RESP_ERR_NO_ERROR;) {
    if (!all[i].headers.empty()) {
      err = enqueue_one(*current, all[i], set);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) ++taken;
      ++i;
      continue;
    }
    std::size_t end = i + 1;
    while (end < all.size() && all[end].headers.empty() && all[end].topic == all[i].topic) ++end;
    err = enqueue_partitioned(*current, all.subspan(i, end - i), set, taken);
    i = end;
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // The queue is full or the producer is fatally broken: what is left would fail the
    // same way. Records librdkafka took still finish through their delivery reports.
    const std::size_t left = records.size() - taken;
    failed_.with({rd_kafka_err2name(err)}).inc(static_cast<double>(left));
    set->fail(left, std::string("enqueue: ") + rd_kafka_err2str(err));
    set->finish(left + 1);
    return;
  }
  set->finish(1);
}

rd_kafka_resp_err_t producer::enqueue_one(client& c, const outgoing_record& r, record_set* set) {
  rd_kafka_headers_t* headers = rd_kafka_headers_new(r.headers.size());
  for (const auto& h : r.headers) {
    rd_kafka_header_add(headers, h.name.data(), static_cast<ssize_t>(h.name.size()), h.value.data(),
                        static_cast<ssize_t>(h.value.size()));
  }
  // No RD_KAFKA_MSG_F_COPY: the bytes live in the set's owner until the set completes.
  rd_kafka_vu_t fields[6];
  std::size_t count = 0;
  fields[count].vtype = RD_KAFKA_VTYPE_RKT;
  fields[count++].u.rkt = c.object_of(r.topic);
  fields[count].vtype = RD_KAFKA_VTYPE_KEY;
  fields[count++].u.mem = {const_cast<char*>(r.key.data()), r.key.size()};
  fields[count].vtype = RD_KAFKA_VTYPE_VALUE;
  fields[count++].u.mem = {const_cast<char*>(r.value.data()), r.value.size()};
  fields[count].vtype = RD_KAFKA_VTYPE_OPAQUE;
  fields[count++].u.ptr = set;
  fields[count].vtype = RD_KAFKA_VTYPE_HEADERS;
  fields[count++].u.headers = headers;
  if (r.timestamp_ms != 0) {
    // Given a timestamp, librdkafka does not read the clock for the record.
    fields[count].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    fields[count++].u.i64 = r.timestamp_ms;
  }
  rd_kafka_error_t* error = rd_kafka_produceva(c.handle.get(), fields, count);
  if (error == nullptr) return RD_KAFKA_RESP_ERR_NO_ERROR;
  const auto err = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  rd_kafka_headers_destroy(headers);  // still ours when the record was refused
  return err;
}

rd_kafka_resp_err_t producer::enqueue_partitioned(client& c, std::span<const outgoing_record> run,
                                                  record_set* set, std::size_t& enqueued) {
  // Per thread and reused, so that a request allocates nothing here once warm.
  thread_local std::vector<rd_kafka_message_t> messages;
  thread_local std::vector<std::int32_t> partition_of;
  thread_local std::vector<std::uint32_t> next;
  const producer_topic* topic = run.front().topic;
  rd_kafka_topic_t* object = c.object_of(topic);
  auto message_of = [set](const outgoing_record& r) {
    rd_kafka_message_t m{};
    // No RD_KAFKA_MSG_F_COPY or _FREE: the bytes live in the set's owner until it completes.
    m.payload = const_cast<char*>(r.value.data());
    m.len = r.value.size();
    m.key = const_cast<char*>(r.key.data());
    m.key_len = r.key.size();
    m._private = set;
    return m;
  };
  auto produce = [&](std::int32_t partition, rd_kafka_message_t* first, std::size_t count) {
    const int good = rd_kafka_produce_batch(object, partition, 0, first, static_cast<int>(count));
    enqueued += static_cast<std::size_t>(good);
    if (static_cast<std::size_t>(good) == count) return RD_KAFKA_RESP_ERR_NO_ERROR;
    for (std::size_t i = 0; i < count; ++i) {
      if (first[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) return first[i].err;
    }
    return RD_KAFKA_RESP_ERR__FAIL;  // fewer taken, yet none says why: cannot happen
  };

  messages.resize(run.size());
  const std::int32_t partitions = partition_by_murmur2_ ? partitions_of(topic) : 0;
  if (partitions <= 0) {
    // librdkafka runs its partitioner on each record.
    for (std::size_t i = 0; i < run.size(); ++i) messages[i] = message_of(run[i]);
    return produce(RD_KAFKA_PARTITION_UA, messages.data(), run.size());
  }
  // A stable counting sort of the run by partition.
  const auto slots = static_cast<std::size_t>(partitions);
  partition_of.resize(run.size());
  next.assign(slots + 1, 0);
  for (std::size_t i = 0; i < run.size(); ++i) {
    partition_of[i] = partition_for_key(run[i].key, partitions);
    ++next[static_cast<std::size_t>(partition_of[i]) + 1];
  }
  for (std::size_t p = 0; p < slots; ++p) next[p + 1] += next[p];
  // next[p] is now where partition p's records start; placing them moves it to where
  // they end, which is where partition p + 1's start.
  for (std::size_t i = 0; i < run.size(); ++i) {
    messages[next[static_cast<std::size_t>(partition_of[i])]++] = message_of(run[i]);
  }
  std::size_t start = 0;
  for (std::size_t p = 0; p < slots; ++p) {
    const std::size_t end = next[p];
    if (end == start) continue;
    const auto err = produce(static_cast<std::int32_t>(p), messages.data() + start, end - start);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return err;
    start = end;
  }
  return RD_KAFKA_RESP_ERR_NO_ERROR;
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
  while (!stopping_.load()) {
    const auto current = client_.load();
    rd_kafka_poll(current->handle.get(), 100);
    if (rd_kafka_fatal_error(current->handle.get(), nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      replace_client(current);
    }
  }
}

void producer::flush(std::chrono::milliseconds timeout) {
  rd_kafka_flush(client_.load()->handle.get(), static_cast<int>(timeout.count()));
}

int producer::queue_depth() const {
  return rd_kafka_outq_len(client_.load()->handle.get());
}

}  // namespace mailhook::kafka
