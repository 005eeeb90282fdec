#include "dedup/dedup_role.h"

#include <spdlog/spdlog.h>

#include <unordered_set>
#include <vector>

#include "common/thread_name.h"
#include "kafka/email_event_record.h"
#include "kafka/partition_reader.h"
#include "kafka/transactions.h"

namespace mailhook::dedup {
namespace {

constexpr std::chrono::milliseconds transaction_timeout{30'000};
// A rebuild reads up to dedup.window records per partition, and first waits for a
// transaction the partition's previous owner left open (the transaction timeout, then
// the broker's abort).
constexpr std::chrono::milliseconds rebuild_timeout{300'000};
// Ids written to the window per RocksDB write during a rebuild.
constexpr std::size_t rebuild_chunk = 10'000;

// The record's sg_event_id, or empty when it has none or cannot be read.
std::string event_id_of(const rd_kafka_message_t& record, mailhook::v1::EmailEvent& event) {
  event.Clear();
  if (!kafka::decode_email_event(&record, event)) return {};
  return event.sg_event_id();
}

}  // namespace

result<std::unique_ptr<dedup_role>> dedup_role::start(const config::daemon_config& config,
                                                      seen_window& window,
                                                      metrics::registry& registry) {
  std::unique_ptr<dedup_role> role(new dedup_role(config, window, registry));
  role->thread_ = std::thread([raw = role.get()] {
    name_current_thread("dedup");
    raw->run_loop();
  });
  return role;
}

dedup_role::dedup_role(const config::daemon_config& config, seen_window& window,
                       metrics::registry& registry)
    : kafka::transactional_loop(
          "dedup", "deduplicating events",
          registry
              .gauge("mailhook_dedup_assigned_partitions",
                     "Partitions of the events topic that the consumer group has assigned to this "
                     "member (0 while it is not connected)",
                     {})
              .get()),
      config_(config),
      transactional_id_(config.dedup.transactional_id.empty() ? kafka::host_identity("dedup")
                                                              : config.dedup.transactional_id),
      window_(window),
      events_(registry.counter("mailhook_dedup_events_total",
                               "Events read by the deduplicator, by outcome: copied, duplicate "
                               "(its sg_event_id was in the window), or copied_without_id (none "
                               "could be read from it)",
                               {"result"})),
      transactions_(registry.counter("mailhook_dedup_transactions_total",
                                     "Kafka transactions of the deduplicator, by outcome",
                                     {"result"})),
      rebuilt_ids_(registry
                       .counter("mailhook_dedup_rebuilt_ids_total",
                                "Ids read back from the deduplicated topic to rebuild the "
                                "window of newly assigned partitions",
                                {})
                       .get()),
      window_ids_(registry
                      .gauge("mailhook_dedup_window_ids",
                             "Ids in the windows of the partitions assigned to this member", {})
                      .get()) {}

dedup_role::~dedup_role() {
  stop();
}

void dedup_role::stop() {
  request_stop();
  if (thread_.joinable()) thread_.join();
  disconnect();
}

result<void> dedup_role::connect() {
  auto producer =
      kafka::make_transactional_producer(config_.kafka, transactional_id_, transaction_timeout);
  if (!producer) return producer.error();
  auto consumer = join_group(config_.kafka, config_.dedup.group_id, transactional_id_,
                             config_.topics.events.name);
  if (!consumer) return consumer.error();
  producer_ = std::move(*producer);
  consumer_ = std::move(*consumer);
  output_ =
      rd_kafka_topic_new(producer_.get(), config_.topics.events_deduplicated.name.c_str(), nullptr);
  spdlog::info("dedup: transactional.id {}, group {}", transactional_id_, config_.dedup.group_id);
  return {};
}

void dedup_role::disconnect() {
  if (output_ != nullptr) rd_kafka_topic_destroy(output_);
  output_ = nullptr;
  if (consumer_) rd_kafka_consumer_close(consumer_.get());
  consumer_.reset();
  producer_.reset();
}

void dedup_role::on_revoked(const rd_kafka_topic_partition_list_t& partitions) {
  // The next owner rebuilds its own; this one frees the space. A failure here is left
  // for the next assignment's reset to meet.
  for (int i = 0; i < partitions.cnt; ++i) (void)window_.reset(partitions.elems[i].partition);
  window_ids_.set(static_cast<double>(window_.ids()));
}

// Before the first record of a partition is read: the ids its previous owner copied.
result<void> dedup_role::on_assigned(const rd_kafka_topic_partition_list_t& partitions) {
  std::map<std::int32_t, std::optional<std::int64_t>> from;
  for (int i = 0; i < partitions.cnt; ++i) {
    const auto& p = partitions.elems[i];
    if (auto reset = window_.reset(p.partition); !reset) return reset;
    from[p.partition] = std::nullopt;
  }
  auto started = std::chrono::steady_clock::now();
  std::map<std::int32_t, std::vector<std::string>> pending;
  std::map<std::int32_t, std::size_t> read;
  result<void> kept;
  mailhook::v1::EmailEvent event;
  auto ends = kafka::read_partitions(
      config_.kafka, config_.topics.events_deduplicated.name, from, rebuild_timeout,
      [&](const rd_kafka_message_t& m) {
        auto id = event_id_of(m, event);
        if (id.empty() || !kept) return;
        auto& ids = pending[m.partition];
        ids.push_back(std::move(id));
        ++read[m.partition];
        if (ids.size() < rebuild_chunk) return;
        kept = window_.add(m.partition, ids);
        ids.clear();
      },
      config_.dedup.window);
  if (!ends) return ends.error();
  for (auto& [partition, ids] : pending) {
    if (kept && !ids.empty()) kept = window_.add(partition, ids);
  }
  if (!kept) return kept;
  std::size_t total = 0;
  for (const auto& [partition, count] : read) total += count;
  rebuilt_ids_.inc(static_cast<double>(total));
  window_ids_.set(static_cast<double>(window_.ids()));
  spdlog::info("dedup: windows of {} partitions rebuilt from {}: {} ids in {:.1f} s", from.size(),
               config_.topics.events_deduplicated.name, total,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return {};
}

rd_kafka_resp_err_t dedup_role::copy(const rd_kafka_message_t& record) {
  rd_kafka_headers_t* headers = nullptr;
  rd_kafka_headers_t* copied_headers = nullptr;
  if (rd_kafka_message_headers(&record, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR)
    copied_headers = rd_kafka_headers_copy(headers);
  rd_kafka_timestamp_type_t timestamp_type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  std::int64_t timestamp = rd_kafka_message_timestamp(&record, &timestamp_type);
  rd_kafka_vu_t fields[7];
  std::size_t count = 0;
  fields[count].vtype = RD_KAFKA_VTYPE_RKT;
  fields[count++].u.rkt = output_;
  fields[count].vtype = RD_KAFKA_VTYPE_PARTITION;
  fields[count++].u.i32 = record.partition;
  fields[count].vtype = RD_KAFKA_VTYPE_KEY;
  fields[count++].u.mem = {record.key, record.key_len};
  fields[count].vtype = RD_KAFKA_VTYPE_VALUE;
  fields[count++].u.mem = {record.payload, record.len};
  fields[count].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  fields[count++].u.i = RD_KAFKA_MSG_F_COPY;
  if (timestamp_type == RD_KAFKA_TIMESTAMP_CREATE_TIME) {
    fields[count].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    fields[count++].u.i64 = timestamp;
  }
  if (copied_headers != nullptr) {
    fields[count].vtype = RD_KAFKA_VTYPE_HEADERS;
    fields[count++].u.headers = copied_headers;  // the record owns them once produced
  }
  for (;;) {
    rd_kafka_error_t* error = rd_kafka_produceva(producer_.get(), fields, count);
    if (error == nullptr) return RD_KAFKA_RESP_ERR_NO_ERROR;
    auto err = rd_kafka_error_code(error);
    rd_kafka_error_destroy(error);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      if (copied_headers != nullptr) rd_kafka_headers_destroy(copied_headers);
      return err;
    }
    rd_kafka_poll(producer_.get(), 10);
  }
}

result<void> dedup_role::run_one_batch() {
  auto committed = transact_one_batch();
  // A window that could not learn a committed batch's ids fails the batch after its
  // commit, and the rebalance's read of the window fails outside any transaction.
  if (!committed &&
      committed.error().code.category() != make_error_code(errc::write_failed).category())
    transactions_.with({"aborted"}).inc();
  return committed;
}

result<void> dedup_role::transact_one_batch() {
  auto messages = kafka::message_batch::consume(consumer_.get(),
                                                static_cast<std::size_t>(config_.dedup.max_batch),
                                                config_.dedup.max_batch_wait);
  rd_kafka_poll(producer_.get(), 0);
  if (auto prepared = take_rebalance_failure(); !prepared) return prepared;
  if (messages.empty()) return {};

  if (auto* error = rd_kafka_begin_transaction(producer_.get())) {
    return kafka::take_error(error, "begin transaction");
  }
  std::map<std::int32_t, std::int64_t> next_offsets;
  // The ids this batch copies, per partition, oldest first; and as a set, for an event
  // delivered twice within the batch.
  std::map<std::int32_t, std::vector<std::string>> copied;
  std::unordered_set<std::string> in_batch;
  std::size_t duplicates = 0;
  std::size_t without_id = 0;
  mailhook::v1::EmailEvent event;
  for (auto* m : messages) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        spdlog::warn("dedup: consume: {}", rd_kafka_message_errstr(m));
      continue;
    }
    next_offsets[m->partition] = m->offset + 1;
    auto id = event_id_of(*m, event);
    if (!id.empty()) {
      // Ids are per partition; the key in the batch set says which.
      auto batch_key = std::to_string(m->partition) + '/' + id;
      bool seen = in_batch.contains(batch_key);
      if (!seen) {
        auto held = window_.contains(m->partition, id);
        if (!held) {
          kafka::abort_transaction(producer_.get(), transaction_timeout);
          return held.error();
        }
        seen = *held;
      }
      if (seen) {
        ++duplicates;
        continue;
      }
      in_batch.insert(std::move(batch_key));
      copied[m->partition].push_back(std::move(id));
    } else {
      ++without_id;
    }
    if (auto err = copy(*m); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      kafka::abort_transaction(producer_.get(), transaction_timeout);
      return kafka::kafka_failure(kafka::errc::produce_failed, err, "produce a copy");
    }
  }
  messages.clear();

  kafka::partition_list_ptr offsets(
      rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size())));
  for (const auto& [partition, offset] : next_offsets) {
    rd_kafka_topic_partition_list_add(offsets.get(), config_.topics.events.name.c_str(), partition)
        ->offset = offset;
  }
  if (auto committed = kafka::commit_transaction(producer_.get(), consumer_.get(), offsets.get(),
                                                 transaction_timeout);
      !committed) {
    return committed;
  }
  transactions_.with({"committed"}).inc();
  std::size_t copied_with_id = 0;
  for (const auto& [partition, ids] : copied) {
    copied_with_id += ids.size();
    // Committed: a window that cannot learn them would let them through again, so the
    // role reconnects and rebuilds it from the topic instead.
    if (auto kept = window_.add(partition, ids); !kept) return kept;
  }
  window_ids_.set(static_cast<double>(window_.ids()));
  events_.with({"copied"}).inc(static_cast<double>(copied_with_id));
  if (duplicates > 0) events_.with({"duplicate"}).inc(static_cast<double>(duplicates));
  if (without_id > 0) events_.with({"copied_without_id"}).inc(static_cast<double>(without_id));
  return {};
}

}  // namespace mailhook::dedup
