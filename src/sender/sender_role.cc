#include "sender/sender_role.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>

#include "common/check.h"
#include "common/clock.h"
#include "common/thread_name.h"
#include "kafka/transactions.h"

namespace mailhook::sender {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds transaction_timeout{60'000};
constexpr std::chrono::milliseconds kafka_timeout{30'000};
// Request ids remembered per partition for spotting duplicates, at most.
constexpr std::size_t remembered_ids = 100'000;

// Collects the delivery reports of one batch of ledger entries.
struct ledger_writes {
  std::mutex mutex;
  std::map<std::int32_t, std::int64_t> end;  // partition → offset after its last entry
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
};

void on_ledger_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* writes = static_cast<ledger_writes*>(m->_private);
  if (writes == nullptr) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
      spdlog::warn("sender: ledger entry lost: {}", rd_kafka_err2str(m->err));
    return;
  }
  std::lock_guard lock(writes->mutex);
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    writes->error = m->err;
    return;
  }
  auto& end = writes->end[m->partition];
  end = std::max(end, m->offset + 1);
}

}  // namespace

// Counts the calls of one batch still running.
struct batch_tracker {
  std::mutex mutex;
  std::condition_variable finished;
  std::size_t remaining = 0;
};

struct sender_role::job {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  mailhook::v1::SendRequest request;
  delivery_plan plan;
  integration_lane* lane = nullptr;
  bool needs_call = false;
  std::string_view refusal;  // why no integration may send it (delivery_plan::refusal)
  batch_tracker* tracker = nullptr;
  mailhook::v1::SendResult result;  // written by the worker, read once tracker says done
};

struct sender_role::integration_lane {
  const config::integration_config* integration = nullptr;
  std::string api_key;
  rate_limiter limiter;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<job*> queue;
  bool closing = false;
  std::vector<std::thread> workers;

  explicit integration_lane(double rate) : limiter(rate) {}
};

result<std::unique_ptr<sender_role>> sender_role::start(const config::daemon_config& config,
                                                        const index::store& index,
                                                        const index::replica& follower,
                                                        metrics::registry& registry) {
  std::unique_ptr<sender_role> role(new sender_role(config, index, follower, registry));
  for (const auto& integration : role->config_.integrations) {
    auto key = load_api_key(integration);
    if (!key) return key.error();
    auto lane = std::make_unique<integration_lane>(integration.rate_limit);
    lane->integration = &integration;
    lane->api_key = std::move(*key);
    // At zero from the start, so that an alert on its rate sees the first one.
    (void)role->indeterminate_.with({integration.name});
    role->lanes_.push_back(std::move(lane));
  }
  for (std::string_view reason :
       {"no_integration", "unknown_integration", "other_tenant", "no_default"}) {
    (void)role->refused_requests_.with({reason});
  }
  if (role->lanes_.empty()) {
    spdlog::warn("sender: no [integrations] configured: every request will fail");
  }
  for (auto& lane : role->lanes_) {
    for (int i = 0; i < lane->integration->concurrency; ++i) {
      lane->workers.emplace_back([raw = role.get(), l = lane.get()] {
        name_current_thread("send-worker");
        raw->work(*l);
      });
    }
  }
  role->thread_ = std::thread([raw = role.get()] {
    name_current_thread("send-requests");
    raw->run_loop();
  });
  return role;
}

sender_role::sender_role(const config::daemon_config& config, const index::store& index,
                         const index::replica& follower, metrics::registry& registry)
    : kafka::transactional_loop("sender", "processing send requests",
                                registry
                                    .gauge("mailhook_sender_assigned_partitions",
                                           "Partitions of the send requests topic that the "
                                           "consumer group has assigned to this "
                                           "member (0 while it is not connected)",
                                           {})
                                    .get()),
      config_(config),
      transactional_id_(config.sender.transactional_id.empty() ? kafka::host_identity("sender")
                                                               : config.sender.transactional_id),
      index_(index),
      follower_(follower),
      requests_(registry.counter("mailhook_sender_requests_total",
                                 "Send requests with a committed result, by result: sent, "
                                 "skipped, failed, indeterminate, duplicate",
                                 {"result"})),
      skipped_recipients_(registry.counter(
          "mailhook_sender_skipped_recipients_total",
          "Recipients not sent to, by why: a suppression reason, or invalid", {"reason"})),
      refused_requests_(registry.counter(
          "mailhook_sender_refused_requests_total",
          "Send requests failed without a call because no integration of their tenant may send "
          "them, by why: no_integration, unknown_integration, other_tenant, no_default",
          {"reason"})),
      api_calls_(registry.counter("mailhook_sender_api_calls_total",
                                  "Mail Send API calls by HTTP status (\"none\" when no answer)",
                                  {"status"})),
      api_seconds_(registry
                       .histogram("mailhook_sender_api_seconds",
                                  "Mail Send API call latency, request sent to answer read",
                                  {0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})
                       .get()),
      retries_(registry
                   .counter("mailhook_sender_retries_total",
                            "Mail Send API calls made again after a 429, a 5xx or a connection "
                            "that could not be opened")
                   .get()),
      indeterminate_(registry.counter(
          "mailhook_sender_indeterminate_total",
          "Mail Send calls left without an answer after their request began to go out, by "
          "integration: SendGrid may have the email, so it is not sent again",
          {"integration"})),
      rate_limit_waits_(registry
                            .counter("mailhook_sender_rate_limit_waits_total",
                                     "429 answers that held an integration's calls back")
                            .get()),
      rate_limit_wait_seconds_(
          registry
              .counter("mailhook_sender_rate_limit_wait_seconds_total",
                       "Time integrations' calls were held back by 429 answers")
              .get()),
      batch_seconds_(registry
                         .histogram("mailhook_sender_batch_seconds",
                                    "From reading a batch of requests to committing its results",
                                    {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60})
                         .get()) {}

sender_role::~sender_role() {
  stop();
}

void sender_role::stop(std::chrono::milliseconds drain_timeout) {
  if (!stop_requested() && thread_.joinable()) {
    request_stop();
    // The batch in hand may be waiting on retries; past the drain timeout it gives up,
    // and its unfinished requests are left to the ledger (indeterminate after restart).
    auto deadline = std::chrono::steady_clock::now() + drain_timeout;
    std::thread watchdog([this, deadline] {
      name_current_thread("send-drain");
      while (std::chrono::steady_clock::now() < deadline) {
        if (stopped()) return;
        std::this_thread::sleep_for(50ms);
      }
      abandon_.store(true);
    });
    thread_.join();
    watchdog.join();
  }
  for (auto& lane : lanes_) {
    {
      std::lock_guard lock(lane->mutex);
      lane->closing = true;
    }
    lane->wake.notify_all();
    for (auto& worker : lane->workers) worker.join();
    lane->workers.clear();
  }
  disconnect();
}

result<void> sender_role::connect() {
  auto producer =
      kafka::make_transactional_producer(config_.kafka, transactional_id_, transaction_timeout);
  if (!producer) return producer.error();
  // The ledger is written outside transactions: its entries must survive an abort.
  auto ledger_conf = kafka::make_conf(
      config_.kafka, {{"enable.idempotence", "true"}, {"acks", "all"}, {"linger.ms", "1"}});
  if (!ledger_conf) return ledger_conf.error();
  rd_kafka_conf_set_dr_msg_cb(ledger_conf->get(), on_ledger_delivery);
  auto ledger = kafka::make_handle(RD_KAFKA_PRODUCER, std::move(*ledger_conf));
  if (!ledger) return ledger.error();
  auto consumer = join_group(config_.kafka, config_.sender.group_id, transactional_id_,
                             config_.topics.send_requests.name);
  if (!consumer) return consumer.error();
  producer_ = std::move(*producer);
  ledger_ = std::move(*ledger);
  consumer_ = std::move(*consumer);
  results_topic_ =
      rd_kafka_topic_new(producer_.get(), config_.topics.send_results.name.c_str(), nullptr);
  ledger_topic_ =
      rd_kafka_topic_new(ledger_.get(), config_.topics.send_ledger.name.c_str(), nullptr);
  spdlog::info("sender: transactional.id {}, group {}", transactional_id_, config_.sender.group_id);
  return {};
}

void sender_role::disconnect() {
  if (results_topic_ != nullptr) rd_kafka_topic_destroy(results_topic_);
  results_topic_ = nullptr;
  if (ledger_topic_ != nullptr) rd_kafka_topic_destroy(ledger_topic_);
  ledger_topic_ = nullptr;
  if (consumer_) rd_kafka_consumer_close(consumer_.get());
  consumer_.reset();
  producer_.reset();
  if (ledger_) rd_kafka_flush(ledger_.get(), static_cast<int>(kafka_timeout.count()));
  ledger_.reset();
  partitions_.clear();
}

void sender_role::on_revoked(const rd_kafka_topic_partition_list_t& partitions) {
  for (int i = 0; i < partitions.cnt; ++i) partitions_.erase(partitions.elems[i].partition);
}

// Before the first request of a partition is read: what its previous owner sent.
result<void> sender_role::on_assigned(const rd_kafka_topic_partition_list_t& partitions) {
  kafka::partition_list_ptr committed(rd_kafka_topic_partition_list_copy(&partitions));
  if (auto err = rd_kafka_committed(consumer_.get(), committed.get(),
                                    static_cast<int>(kafka_timeout.count()))) {
    return kafka::kafka_failure(kafka::errc::consume_failed, err, "read committed offsets");
  }
  // Where each partition's ledger tail starts: the position committed with its offsets.
  std::map<std::int32_t, std::optional<std::int64_t>> from;
  for (int i = 0; i < committed->cnt; ++i) {
    const auto& p = committed->elems[i];
    auto& position = from[p.partition];
    if (p.metadata != nullptr && p.metadata_size > 0) {
      position = parse_ledger_metadata(
          std::string_view(static_cast<const char*>(p.metadata), p.metadata_size));
    }
  }
  auto tails = read_ledger(config_.kafka, config_.topics.send_ledger.name, from, kafka_timeout);
  if (!tails) return tails.error();
  for (auto& [partition, tail] : *tails) {
    spdlog::info("sender: {} [{}]: {} ledger entries after position {}",
                 config_.topics.send_requests.name, partition, tail.by_request_offset.size(),
                 from[partition].value_or(0));
    auto& state = partitions_[partition];
    state.ledger = std::move(tail.by_request_offset);
    state.ledger_position = tail.end;
  }
  return {};
}

std::optional<std::string> sender_role::blocked() const {
  return follower_.not_current();
}

result<void> sender_role::run_one_batch() {
  auto messages = kafka::message_batch::consume(consumer_.get(),
                                                static_cast<std::size_t>(config_.sender.max_batch),
                                                config_.sender.max_batch_wait);
  rd_kafka_poll(producer_.get(), 0);
  rd_kafka_poll(ledger_.get(), 0);
  if (auto prepared = take_rebalance_failure(); !prepared) return prepared;
  if (messages.empty()) return {};
  auto started = std::chrono::steady_clock::now();

  // 1. Plan every request of the batch.
  std::vector<job> jobs;
  jobs.reserve(messages.size());
  std::map<std::int32_t, std::int64_t> next_offsets;
  for (auto* m : messages) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        spdlog::warn("sender: consume: {}", rd_kafka_message_errstr(m));
      continue;
    }
    next_offsets[m->partition] = m->offset + 1;
    auto& j = jobs.emplace_back();
    j.partition = m->partition;
    j.offset = m->offset;
    auto& state = partitions_[m->partition];
    auto& result = j.plan.result;
    bool decoded =
        m->payload != nullptr && j.request.ParseFromArray(m->payload, static_cast<int>(m->len));
    if (!decoded) {
      if (m->key != nullptr) result.set_request_id(static_cast<const char*>(m->key), m->key_len);
      result.set_status(mailhook::v1::SEND_STATUS_FAILED);
      result.set_detail("not a mailhook.v1.SendRequest (partition " + std::to_string(m->partition) +
                        ", offset " + std::to_string(m->offset) + ")");
      result.add_errors()->set_message(result.detail());
      j.plan.final = true;
      continue;
    }
    if (auto recorded = state.ledger.find(m->offset); recorded != state.ledger.end()) {
      // Handled before a crash or a rebalance: never call SendGrid for it again.
      if (recorded->second.done()) {
        result = recorded->second.result();
      } else {
        result.set_request_id(j.request.request_id());
        result.set_tenant(j.request.tenant());
        result.set_status(mailhook::v1::SEND_STATUS_INDETERMINATE);
        result.set_detail(
            "the sender stopped while calling SendGrid for this request; it is not called "
            "again (look for mailhook_request_id in the webhook events)");
        for (const auto& to : j.request.to()) {
          auto* r = result.add_recipients();
          r->set_email(to.email());
          r->set_status(mailhook::v1::RECIPIENT_STATUS_INDETERMINATE);
        }
      }
      j.plan.final = true;
    } else if (!j.request.request_id().empty() && state.seen_ids.contains(j.request.request_id())) {
      result.set_request_id(j.request.request_id());
      result.set_tenant(j.request.tenant());
      result.set_status(mailhook::v1::SEND_STATUS_DUPLICATE);
      result.set_detail("request_id already handled by this sender; not sent again");
      j.plan.final = true;
    } else {
      // The request's tenant decides which integrations it may use; plan_delivery refuses
      // any other, so a request never travels with another tenant's API key.
      const auto choice = choose_integration(config_.integrations, j.request);
      j.plan = plan_delivery(j.request, choice, index_);
      j.refusal = j.plan.refusal;
      for (auto& lane : lanes_) {
        if (lane->integration == choice.integration) j.lane = lane.get();
      }
      j.needs_call = !j.plan.final;
      // Every configured integration has a lane (start()).
      MAILHOOK_CHECK(!j.needs_call || j.lane != nullptr, "no lane for a chosen integration");
    }
    if (!j.request.request_id().empty() && state.seen_ids.insert(j.request.request_id()).second) {
      state.seen_order.push_back(j.request.request_id());
      if (state.seen_order.size() > remembered_ids) {
        state.seen_ids.erase(state.seen_order.front());
        state.seen_order.pop_front();
      }
    }
  }
  messages.clear();

  // 2. Call SendGrid, once the ledger holds an "attempting" entry for every call.
  if (auto written = write_attempts(jobs); !written) return written;
  batch_tracker tracker;
  for (auto& j : jobs) {
    if (!j.needs_call) {
      j.result = std::move(j.plan.result);
      continue;
    }
    j.tracker = &tracker;
    ++tracker.remaining;
  }
  for (auto& j : jobs) {
    if (!j.needs_call) continue;
    {
      std::lock_guard lock(j.lane->mutex);
      j.lane->queue.push_back(&j);
    }
    j.lane->wake.notify_one();
  }
  {
    std::unique_lock lock(tracker.mutex);
    while (tracker.remaining > 0) {
      tracker.finished.wait_for(lock, 10ms);
      rd_kafka_poll(ledger_.get(), 0);  // delivery reports of the "done" entries
    }
  }
  if (abandon_.load()) return failure(kafka::errc::timed_out, "stopped before the batch finished");

  // 3. Commit the results and the offsets together.
  auto committed = commit(jobs, next_offsets);
  if (!committed) return committed;
  for (const auto& j : jobs) count(j);
  batch_seconds_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return {};
}

result<void> sender_role::write_attempts(std::vector<job>& jobs) {
  ledger_writes writes;
  std::size_t written = 0;
  mailhook::v1::SendLedgerEntry entry;
  for (const auto& j : jobs) {
    if (!j.needs_call) continue;
    entry.Clear();
    entry.set_request_id(j.request.request_id());
    entry.set_request_offset(j.offset);
    auto value = entry.SerializeAsString();
    if (auto err = kafka::produce_copy(ledger_.get(), ledger_topic_, j.partition,
                                       j.request.request_id(), value, &writes)) {
      rd_kafka_flush(ledger_.get(), static_cast<int>(kafka_timeout.count()));
      return kafka::kafka_failure(kafka::errc::produce_failed, err, "write the send ledger");
    }
    ++written;
  }
  if (written == 0) return {};
  if (auto err = rd_kafka_flush(ledger_.get(), static_cast<int>(kafka_timeout.count()))) {
    return kafka::kafka_failure(kafka::errc::produce_failed, err, "write the send ledger");
  }
  std::lock_guard lock(writes.mutex);
  if (writes.error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::kafka_failure(kafka::errc::produce_failed, writes.error, "write the send ledger");
  }
  for (const auto& [partition, end] : writes.end) {
    auto& position = partitions_[partition].ledger_position;
    position = std::max(position, end);
  }
  return {};
}

void sender_role::write_done(const job& j) {
  mailhook::v1::SendLedgerEntry entry;
  entry.set_request_id(j.request.request_id());
  entry.set_request_offset(j.offset);
  entry.set_done(true);
  *entry.mutable_result() = j.result;
  auto value = entry.SerializeAsString();
  // Its delivery is not awaited: if it is lost, a restart reports the request as
  // indeterminate instead of sent, and still does not send it again.
  if (auto err = kafka::produce_copy(ledger_.get(), ledger_topic_, j.partition,
                                     j.request.request_id(), value)) {
    spdlog::warn("sender: ledger entry for {} not written: {}", j.request.request_id(),
                 rd_kafka_err2str(err));
  }
}

void sender_role::work(integration_lane& lane) {
  std::unique_ptr<mail_send_client> client;
  for (;;) {
    job* j = nullptr;
    {
      std::unique_lock lock(lane.mutex);
      lane.wake.wait(lock, [&] { return lane.closing || !lane.queue.empty(); });
      if (lane.queue.empty()) return;
      j = lane.queue.front();
      lane.queue.pop_front();
    }
    if (!client) {
      auto made = mail_send_client::create(*lane.integration, lane.api_key);
      if (made) client = std::move(*made);
      if (!made) {
        j->result = std::move(j->plan.result);
        j->result.set_status(mailhook::v1::SEND_STATUS_FAILED);
        j->result.set_detail(made.error().describe());
      }
    }
    if (client) {
      j->result = deliver(
          std::move(j->plan), j->request, *lane.integration, config_.sender, *client, lane.limiter,
          abandon_, [&](const call_report& report) {
            const auto& answer = report.answer;
            api_calls_
                .with({answer.status == 0 ? std::string("none") : std::to_string(answer.status)})
                .inc();
            if (answer.status != 0) {
              api_seconds_.observe(std::chrono::duration<double>(answer.latency).count());
            }
            if (report.waited.count() > 0) retries_.inc();
            if (report.kind == answer_kind::indeterminate) {
              indeterminate_.with({lane.integration->name}).inc();
            }
            if (report.rate_limit_wait) {
              rate_limit_waits_.inc();
              rate_limit_wait_seconds_.inc(std::chrono::duration<double>(report.waited).count());
            }
          });
    }
    // A delivery cut short by the drain timeout is left to the ledger's "attempting".
    if (!abandon_.load()) write_done(*j);
    std::lock_guard lock(j->tracker->mutex);
    if (--j->tracker->remaining == 0) j->tracker->finished.notify_all();
  }
}

result<void> sender_role::commit(std::vector<job>& jobs,
                                 const std::map<std::int32_t, std::int64_t>& next) {
  if (auto* error = rd_kafka_begin_transaction(producer_.get())) {
    return kafka::take_error(error, "begin transaction");
  }
  for (auto& j : jobs) {
    if (j.result.finished_at_ms() == 0) j.result.set_finished_at_ms(unix_ms());
    auto value = j.result.SerializeAsString();
    if (auto err = kafka::produce_copy(producer_.get(), results_topic_, RD_KAFKA_PARTITION_UA,
                                       j.result.request_id(), value)) {
      kafka::abort_transaction(producer_.get(), transaction_timeout);
      return kafka::kafka_failure(kafka::errc::produce_failed, err, "produce a result");
    }
  }
  kafka::partition_list_ptr offsets(
      rd_kafka_topic_partition_list_new(static_cast<int>(next.size())));
  for (const auto& [partition, offset] : next) {
    auto* p = rd_kafka_topic_partition_list_add(
        offsets.get(), config_.topics.send_requests.name.c_str(), partition);
    p->offset = offset;
    // The list frees its metadata with free().
    auto metadata = ledger_metadata(partitions_[partition].ledger_position);
    p->metadata = std::malloc(metadata.size());
    std::memcpy(p->metadata, metadata.data(), metadata.size());
    p->metadata_size = metadata.size();
  }
  if (auto committed = kafka::commit_transaction(producer_.get(), consumer_.get(), offsets.get(),
                                                 transaction_timeout);
      !committed) {
    return committed;
  }
  // The ledger tails read at assignment are behind the committed offsets now.
  for (const auto& [partition, offset] : next) {
    std::erase_if(partitions_[partition].ledger,
                  [offset = offset](const auto& entry) { return entry.first < offset; });
  }
  return {};
}

void sender_role::count(const job& j) {
  const auto& result = j.result;
  requests_.with({to_string(result.status())}).inc();
  if (!j.refusal.empty()) refused_requests_.with({j.refusal}).inc();
  for (const auto& recipient : result.recipients()) {
    if (recipient.status() == mailhook::v1::RECIPIENT_STATUS_SUPPRESSED) {
      skipped_recipients_.with({recipient.suppression_reason()}).inc();
    } else if (recipient.status() == mailhook::v1::RECIPIENT_STATUS_INVALID) {
      skipped_recipients_.with({"invalid"}).inc();
    }
  }
}

}  // namespace mailhook::sender
