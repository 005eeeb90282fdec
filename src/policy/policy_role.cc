#include "policy/policy_role.h"

#include <spdlog/spdlog.h>

#include <map>
#include <vector>

#include "common/clock.h"
#include "common/thread_name.h"
#include "kafka/email_event_record.h"
#include "kafka/partition_reader.h"
#include "kafka/transactions.h"

namespace mailhook::policy {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds transaction_timeout{30'000};
// Reading a partition's soft-bounce history waits for a transaction its previous owner
// left open: at most the transaction timeout, then the broker's abort.
constexpr std::chrono::milliseconds restore_timeout{60'000};
// Addresses tracked per events partition; see soft_bounce_counter.
constexpr std::size_t soft_bounce_addresses_per_partition = 250'000;

}  // namespace

result<std::unique_ptr<policy_role>> policy_role::start(const config::daemon_config& config,
                                                        const index::store& state,
                                                        const index::replica& follower,
                                                        metrics::registry& registry) {
  std::unique_ptr<policy_role> role(new policy_role(config, state, follower, registry));
  role->thread_ = std::thread([raw = role.get()] {
    name_current_thread("policy");
    raw->run_loop();
  });
  return role;
}

policy_role::policy_role(const config::daemon_config& config, const index::store& state,
                         const index::replica& follower, metrics::registry& registry)
    : kafka::transactional_loop(
          "policy", "processing events",
          registry
              .gauge("mailhook_policy_assigned_partitions",
                     "Partitions of the events topic that the consumer group has assigned to this "
                     "member (0 while it is not connected)",
                     {})
              .get()),
      config_(config),
      transactional_id_(config.policy.transactional_id.empty() ? kafka::host_identity("policy")
                                                               : config.policy.transactional_id),
      state_(state),
      follower_(follower),
      events_(registry.counter("mailhook_policy_events_total",
                               "Events read by the policy role, by outcome: changed, "
                               "superseded (a duplicate or older than the key's state), or why "
                               "they changed nothing",
                               {"result"})),
      changes_(registry.counter("mailhook_policy_changes_total",
                                "Suppression changes committed to the changelog, by reason and "
                                "by whether they suppress or clear",
                                {"reason", "state"})),
      transactions_(registry.counter("mailhook_policy_transactions_total",
                                     "Kafka transactions of the policy role, by outcome",
                                     {"result"})),
      transaction_seconds_(
          registry
              .histogram("mailhook_policy_transaction_seconds",
                         "From the first event of a batch to its transaction's commit",
                         {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5})
              .get()),
      soft_bounce_addresses_(registry
                                 .gauge("mailhook_policy_soft_bounce_addresses",
                                        "Addresses whose recent soft bounces this member counts, "
                                        "over its assigned partitions (0 without a threshold)",
                                        {})
                                 .get()) {}

policy_role::~policy_role() {
  stop();
}

void policy_role::stop() {
  request_stop();
  if (thread_.joinable()) thread_.join();
  disconnect();
}

result<void> policy_role::connect() {
  auto producer =
      kafka::make_transactional_producer(config_.kafka, transactional_id_, transaction_timeout);
  if (!producer) return producer.error();
  auto consumer = join_group(config_.kafka, config_.policy.group_id, transactional_id_,
                             config_.topics.events.name);
  if (!consumer) return consumer.error();
  producer_ = std::move(*producer);
  consumer_ = std::move(*consumer);
  changelog_ =
      rd_kafka_topic_new(producer_.get(), config_.topics.suppressions.name.c_str(), nullptr);
  soft_bounce_topic_ =
      rd_kafka_topic_new(producer_.get(), config_.topics.soft_bounces.name.c_str(), nullptr);
  spdlog::info("policy: transactional.id {}, group {}", transactional_id_, config_.policy.group_id);
  return {};
}

void policy_role::disconnect() {
  if (changelog_ != nullptr) rd_kafka_topic_destroy(changelog_);
  changelog_ = nullptr;
  if (soft_bounce_topic_ != nullptr) rd_kafka_topic_destroy(soft_bounce_topic_);
  soft_bounce_topic_ = nullptr;
  if (consumer_) rd_kafka_consumer_close(consumer_.get());
  consumer_.reset();
  producer_.reset();
  // What was produced but may not have committed is forgotten: the replica's state and
  // the soft-bounces topic are the truth again.
  pending_.clear();
  soft_bounces_.clear();
  soft_bounce_addresses_.set(0);
}

void policy_role::on_revoked(const rd_kafka_topic_partition_list_t& partitions) {
  for (int i = 0; i < partitions.cnt; ++i) soft_bounces_.erase(partitions.elems[i].partition);
}

// Before the first event of a partition is read: the counts its previous owner kept.
result<void> policy_role::on_assigned(const rd_kafka_topic_partition_list_t& partitions) {
  std::map<std::int32_t, std::optional<std::int64_t>> from;
  for (int i = 0; i < partitions.cnt; ++i) {
    const auto& p = partitions.elems[i];
    soft_bounces_.try_emplace(p.partition, soft_bounce_addresses_per_partition);
    from[p.partition] = std::nullopt;
  }
  if (config_.policy.soft_bounce_threshold == 0) return {};
  std::map<std::int32_t, std::size_t> restored;
  mailhook::v1::SoftBounceHistory history;
  auto read = kafka::read_partitions(
      config_.kafka, config_.topics.soft_bounces.name, from, restore_timeout,
      [&](const rd_kafka_message_t& m) {
        if (m.key == nullptr) return;
        std::string key(static_cast<const char*>(m.key), m.key_len);
        history.Clear();
        if (m.payload != nullptr && !history.ParseFromArray(m.payload, static_cast<int>(m.len))) {
          spdlog::warn("policy: {} [{}] offset {}: not a SoftBounceHistory; skipped",
                       config_.topics.soft_bounces.name, m.partition, m.offset);
          return;
        }
        soft_bounces_[m.partition].restore(key, history);
        ++restored[m.partition];
      });
  if (!read) return read.error();
  for (const auto& [partition, end] : *read) {
    spdlog::info("policy: {} [{}]: {} soft-bounce histories read, to offset {}",
                 config_.topics.soft_bounces.name, partition, restored[partition], end);
  }
  return {};
}

rd_kafka_resp_err_t policy_role::produce_soft_bounce_histories() {
  std::size_t tracked = 0;
  for (auto& [partition, counter] : soft_bounces_) {
    tracked += counter.tracked_addresses();
    for (const auto& key : counter.take_changed_keys()) {
      auto history = counter.history(key);
      if (history.bounces().empty()) continue;  // forgotten since: nothing to keep
      auto err = kafka::produce_copy(producer_.get(), soft_bounce_topic_, partition, key,
                                     history.SerializeAsString());
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return err;
    }
  }
  soft_bounce_addresses_.set(static_cast<double>(tracked));
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

std::optional<std::string> policy_role::blocked() const {
  return follower_.not_current();
}

std::optional<suppression::record> policy_role::current_state(const std::string& key) const {
  auto stored = state_.get(key);
  auto pending = pending_.find(key);
  if (pending == pending_.end()) return stored;
  if (!stored || suppression::wins_over(pending->second, *stored)) return pending->second;
  return stored;
}

// Drops the pending changes the replica shows by now (or has something newer for).
void policy_role::forget_applied_changes() {
  auto now = std::chrono::steady_clock::now();
  if (now < next_sweep_ || pending_.empty()) return;
  next_sweep_ = now + 1s;
  std::erase_if(pending_, [&](const auto& entry) {
    auto stored = state_.get(entry.first);
    return stored && !suppression::wins_over(entry.second, *stored);
  });
}

result<void> policy_role::run_one_batch() {
  auto committed = transact_one_batch();
  if (!committed) transactions_.with({"aborted"}).inc();
  return committed;
}

result<void> policy_role::transact_one_batch() {
  auto messages = kafka::message_batch::consume(consumer_.get(),
                                                static_cast<std::size_t>(config_.policy.max_batch),
                                                config_.policy.max_batch_wait);
  rd_kafka_poll(producer_.get(), 0);
  if (auto prepared = take_rebalance_failure(); !prepared) return prepared;
  forget_applied_changes();
  if (messages.empty()) return {};
  auto started = std::chrono::steady_clock::now();

  if (auto* error = rd_kafka_begin_transaction(producer_.get())) {
    return kafka::take_error(error, "begin transaction");
  }
  std::map<std::int32_t, std::int64_t> next_offsets;
  std::map<std::string, std::size_t> outcomes;
  std::vector<suppression::record> produced;
  std::unordered_map<std::string, suppression::record> batch_pending;
  auto stamp = unix_ms();
  mailhook::v1::EmailEvent event;
  for (auto* m : messages) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        spdlog::warn("policy: consume: {}", rd_kafka_message_errstr(m));
      }
      continue;
    }
    next_offsets[m->partition] = m->offset + 1;
    event.Clear();
    if (!kafka::decode_email_event(m, event)) {
      ++outcomes["undecodable"];
      continue;
    }
    auto decision = suppression::decide(
        event, config_.policy,
        soft_bounces_.try_emplace(m->partition, soft_bounce_addresses_per_partition).first->second,
        stamp);
    if (!decision.change) {
      ++outcomes[std::string(suppression::to_string(decision.why_not))];
      continue;
    }
    auto key = suppression::key_of(*decision.change);
    auto in_batch = batch_pending.find(key);
    auto current = in_batch != batch_pending.end()
                       ? std::optional<suppression::record>(in_batch->second)
                       : current_state(key);
    if (current && !suppression::wins_over(*decision.change, *current)) {
      ++outcomes["superseded"];
      continue;
    }
    std::string value = decision.change->SerializeAsString();
    auto err = kafka::produce_copy(producer_.get(), changelog_, RD_KAFKA_PARTITION_UA, key, value);

    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      kafka::abort_transaction(producer_.get(), transaction_timeout);
      return kafka::kafka_failure(kafka::errc::produce_failed, err, "produce a change");
    }
    ++outcomes["changed"];
    batch_pending[key] = *decision.change;
    produced.push_back(std::move(*decision.change));
  }
  messages.clear();
  if (auto err = produce_soft_bounce_histories(); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    kafka::abort_transaction(producer_.get(), transaction_timeout);
    return kafka::kafka_failure(kafka::errc::produce_failed, err, "produce a soft-bounce history");
  }

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
  transaction_seconds_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  for (const auto& [result, count] : outcomes) {
    events_.with({result}).inc(static_cast<double>(count));
  }
  for (auto& change : produced) {
    changes_
        .with({std::string(to_string(static_cast<suppression_reason>(change.reason()))),
               change.suppressed() ? "suppressed" : "cleared"})
        .inc();
  }
  for (auto& [key, change] : batch_pending) pending_[key] = std::move(change);
  return {};
}

}  // namespace mailhook::policy
