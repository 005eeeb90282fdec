// Writes suppression changes made outside the policy role (the admin API, the CLI's add,
// remove and import) to the changelog topic, so that every replica applies them the same
// way as the policy's own. Idempotent producer, acks=all; a write is done when Kafka has
// confirmed every record of it.
//
// Threading: write() from any thread; `done` runs on the producer's poll thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "common/result.h"
#include "config/daemon_config.h"
#include "kafka/producer.h"
#include "metrics/registry.h"
#include "suppression/record.h"

namespace mailhook::index {

class changelog_writer {
 public:
  [[nodiscard]] static result<std::unique_ptr<changelog_writer>> create(
      const config::daemon_config& config, metrics::registry& registry);

  void write(std::vector<suppression::record> records,
             std::function<void(const kafka::publish_outcome&)> done);
  // Blocks until Kafka confirms all of `records` (or `timeout` passes), writing them in
  // chunks so that memory stays bounded for large imports.
  [[nodiscard]] result<void> write_all(const std::vector<suppression::record>& records,
                                       std::chrono::milliseconds timeout);

 private:
  changelog_writer(std::unique_ptr<kafka::producer> producer, const kafka::producer_topic* topic)
      : producer_(std::move(producer)), topic_(topic) {}

  std::unique_ptr<kafka::producer> producer_;
  const kafka::producer_topic* topic_;
};

}  // namespace mailhook::index
