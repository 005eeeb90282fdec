#include "kafka/transactional_loop.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>
#include <utility>

#include "kafka/transactions.h"

namespace mailhook::kafka {

using namespace std::chrono_literals;

transactional_loop::transactional_loop(std::string name, std::string working,
                                       metrics::gauge& assigned_partitions)
    : name_(std::move(name)),
      working_(std::move(working)),
      assigned_partitions_(assigned_partitions) {}

std::optional<std::string> transactional_loop::not_ready() const {
  std::lock_guard lock(state_mutex_);
  if (not_ready_.empty()) return std::nullopt;
  return not_ready_;
}

void transactional_loop::set_state(std::string why_not) {
  std::lock_guard lock(state_mutex_);
  if (why_not != not_ready_ && !why_not.empty()) spdlog::warn("{}: {}", name_, why_not);
  if (why_not.empty() && !not_ready_.empty()) spdlog::info("{}: {}", name_, working_);
  not_ready_ = std::move(why_not);
}

result<handle_ptr> transactional_loop::join_group(const config::kafka_config& kafka,
                                                  const std::string& group_id,
                                                  const std::string& instance_id,
                                                  const std::string& topic) {
  subscribed_topic_ = topic;
  instance_id_ = instance_id;
  rebalance_failure_ = {};
  return make_transactional_consumer(kafka, group_id, instance_id, topic,
                                     &transactional_loop::rebalance, this);
}

result<void> transactional_loop::take_rebalance_failure() {
  return std::exchange(rebalance_failure_, result<void>{});
}

void transactional_loop::rebalance(rd_kafka_t* consumer, rd_kafka_resp_err_t err,
                                   rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* self = static_cast<transactional_loop*>(opaque);
  if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    self->on_revoked(*partitions);
    rd_kafka_assign(consumer, nullptr);
    return;
  }
  for (int i = 0; i < partitions->cnt; ++i) {
    const char* topic = partitions->elems[i].topic;
    if (topic == self->subscribed_topic_) continue;
    // A static member rejoining under an identity that subscribed to another topic gets
    // its old assignment back; processing it would mix two topics' records.
    self->rebalance_failure_ =
        failure(errc::consume_failed, std::string("assigned a partition of '") + topic +
                                          "', not of '" + self->subscribed_topic_ +
                                          "': " + self->name_ + ".transactional_id '" +
                                          self->instance_id_ + "' was used with another topic");
    rd_kafka_assign(consumer, partitions);
    return;
  }
  if (auto prepared = self->on_assigned(*partitions); !prepared) {
    self->rebalance_failure_ = std::move(prepared);
  }
  rd_kafka_assign(consumer, partitions);
}

void transactional_loop::note_assignment() {
  auto now = std::chrono::steady_clock::now();
  if (now < next_assignment_check_) return;
  next_assignment_check_ = now + 1s;
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  auto* consumer = group_consumer();
  if (consumer == nullptr ||
      rd_kafka_assignment(consumer, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    assigned_partitions_.set(0);
    return;
  }
  assigned_partitions_.set(assigned->cnt);
  rd_kafka_topic_partition_list_destroy(assigned);
}

void transactional_loop::run_loop() {
  while (!stopping_.load()) {
    if (auto why = blocked()) {
      set_state(*why);
      std::this_thread::sleep_for(100ms);
      continue;
    }
    if (!connected()) {
      if (auto made = connect(); !made) {
        set_state(made.error().describe());
        disconnect();
        for (int i = 0; i < 20 && !stopping_.load(); ++i) std::this_thread::sleep_for(100ms);
        continue;
      }
      set_state("");
    }
    if (auto batch = run_one_batch(); !batch) {
      // The transaction was aborted: reconnecting rejoins the group, which resumes from
      // the committed offsets, so the same records are processed again.
      set_state("batch not committed: " + batch.error().describe());
      disconnect();
      assigned_partitions_.set(0);
      std::this_thread::sleep_for(500ms);
    } else {
      set_state("");
      note_assignment();
    }
  }
  assigned_partitions_.set(0);
  std::lock_guard lock(state_mutex_);
  not_ready_ = "stopped";
  stopped_.store(true);
}

}  // namespace mailhook::kafka
