#include "index/changelog_writer.h"

#include <future>

namespace mailhook::index {
namespace {

// The serialized form of a set of records, kept alive until Kafka has confirmed them.
struct encoded_set {
  std::vector<std::string> keys;
  std::vector<std::string> values;
};

}  // namespace

result<std::unique_ptr<changelog_writer>> changelog_writer::create(
    const config::daemon_config& config, metrics::registry& registry) {
  auto producer = kafka::producer::create(config.kafka,
                                          {{"enable.idempotence", "true"},
                                           {"acks", "all"},
                                           {"linger.ms", "5"},
                                           {"compression.codec", "lz4"}},
                                          registry);
  if (!producer) return producer.error();
  auto* topic = (*producer)->topic(config.topics.suppressions.name);
  return std::unique_ptr<changelog_writer>(new changelog_writer(std::move(*producer), topic));
}

void changelog_writer::write(std::vector<suppression::record> records,
                             std::function<void(const kafka::publish_outcome&)> done) {
  auto set = std::make_shared<encoded_set>();
  set->keys.reserve(records.size());
  set->values.reserve(records.size());
  for (const auto& r : records) {
    set->keys.push_back(suppression::key_of(r));
    set->values.push_back(r.SerializeAsString());
  }
  std::vector<kafka::outgoing_record> outgoing;
  outgoing.reserve(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    outgoing.push_back({topic_, set->keys[i], set->values[i], {}});
  }
  producer_->publish(outgoing, set, std::move(done));
}

result<void> changelog_writer::write_all(const std::vector<suppression::record>& records,
                                         std::chrono::milliseconds timeout) {
  constexpr std::size_t chunk = 10'000;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (std::size_t start = 0; start < records.size(); start += chunk) {
    std::vector<suppression::record> part(
        records.begin() + static_cast<std::ptrdiff_t>(start),
        records.begin() + static_cast<std::ptrdiff_t>(std::min(records.size(), start + chunk)));
    auto promise = std::make_shared<std::promise<kafka::publish_outcome>>();
    auto future = promise->get_future();
    write(std::move(part),
          [promise](const kafka::publish_outcome& outcome) { promise->set_value(outcome); });
    if (future.wait_until(deadline) != std::future_status::ready) {
      return failure(kafka::errc::timed_out, "Kafka did not confirm the changes in time");
    }
    auto outcome = future.get();
    if (!outcome.ok()) {
      return failure(kafka::errc::produce_failed,
                     std::to_string(outcome.failed) + " of " + std::to_string(outcome.records) +
                         " changes were not written: " + outcome.first_error);
    }
  }
  return {};
}

}  // namespace mailhook::index
