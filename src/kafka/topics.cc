#include "kafka/topics.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <thread>

#include "kafka/client.h"

namespace mailhook::kafka {
namespace {

struct queue_deleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct event_deleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct new_topic_deleter {
  void operator()(rd_kafka_NewTopic_t* t) const { rd_kafka_NewTopic_destroy(t); }
};
struct options_deleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
struct config_resource_deleter {
  void operator()(rd_kafka_ConfigResource_t* r) const { rd_kafka_ConfigResource_destroy(r); }
};
using event_ptr = std::unique_ptr<rd_kafka_event_t, event_deleter>;

// Waits for the admin result on `queue`; admin calls time out on their own.
event_ptr wait_for_result(rd_kafka_queue_t* queue, std::chrono::milliseconds timeout) {
  return event_ptr(rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()) + 1000));
}

result<void> create_missing(rd_kafka_t* handle, const std::vector<config::topic_spec>& topics,
                            std::chrono::milliseconds timeout) {
  char err[512];
  std::vector<std::unique_ptr<rd_kafka_NewTopic_t, new_topic_deleter>> owned;
  std::vector<rd_kafka_NewTopic_t*> requests;
  for (const auto& spec : topics) {
    owned.emplace_back(rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions,
                                             spec.replication_factor, err, sizeof err));
    if (!owned.back()) return failure(errc::topic_creation, "topic '" + spec.name + "': " + err);
    if (spec.compacted)
      rd_kafka_NewTopic_set_config(owned.back().get(), "cleanup.policy", "compact");
    if (spec.min_insync_replicas > 0) {
      rd_kafka_NewTopic_set_config(owned.back().get(), "min.insync.replicas",
                                   std::to_string(spec.min_insync_replicas).c_str());
    }
    if (spec.retention.count() > 0) {
      rd_kafka_NewTopic_set_config(owned.back().get(), "retention.ms",
                                   std::to_string(spec.retention.count()).c_str());
    }
    requests.push_back(owned.back().get());
  }
  std::unique_ptr<rd_kafka_queue_t, queue_deleter> queue(rd_kafka_queue_new(handle));
  std::unique_ptr<rd_kafka_AdminOptions_t, options_deleter> options(
      rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), static_cast<int>(timeout.count()), err,
                                              sizeof err);
  rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout.count()), err,
                                            sizeof err);
  rd_kafka_CreateTopics(handle, requests.data(), requests.size(), options.get(), queue.get());

  auto event = wait_for_result(queue.get(), timeout);
  if (!event) return failure(errc::timed_out, "creating topics: no answer from the cluster");
  if (auto e = rd_kafka_event_error(event.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_failure(errc::topic_creation, e, "creating topics");
  }
  const auto* res = rd_kafka_event_CreateTopics_result(event.get());
  std::size_t count = 0;
  const auto** results = rd_kafka_CreateTopics_result_topics(res, &count);
  for (std::size_t i = 0; i < count; ++i) {
    auto e = rd_kafka_topic_result_error(results[i]);
    std::string name = rd_kafka_topic_result_name(results[i]);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::info("created topic {}", name);
    } else if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      const char* msg = rd_kafka_topic_result_error_string(results[i]);
      return failure(errc::topic_creation, "topic '" + name + "': " + rd_kafka_err2name(e) + " (" +
                                               (msg ? msg : rd_kafka_err2str(e)) + ")");
    }
  }
  return {};
}

result<void> check_compacted(rd_kafka_t* handle, const config::topic_spec& spec,
                             std::chrono::milliseconds timeout) {
  std::unique_ptr<rd_kafka_ConfigResource_t, config_resource_deleter> resource(
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, spec.name.c_str()));
  rd_kafka_ConfigResource_t* resources[] = {resource.get()};
  std::unique_ptr<rd_kafka_queue_t, queue_deleter> queue(rd_kafka_queue_new(handle));
  std::unique_ptr<rd_kafka_AdminOptions_t, options_deleter> options(
      rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS));
  char err[512];
  rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout.count()), err,
                                            sizeof err);
  rd_kafka_DescribeConfigs(handle, resources, 1, options.get(), queue.get());
  auto event = wait_for_result(queue.get(), timeout);
  if (!event) return failure(errc::timed_out, "describing topic '" + spec.name + "': no answer");
  if (auto e = rd_kafka_event_error(event.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_failure(errc::topic_creation, e, "describing topic '" + spec.name + "'");
  }
  std::size_t count = 0;
  const auto** described = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(event.get()), &count);
  for (std::size_t i = 0; i < count; ++i) {
    if (auto e = rd_kafka_ConfigResource_error(described[i]); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka_failure(
          e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ? errc::unknown_topic : errc::topic_creation,
          e, "describing topic '" + spec.name + "'");
    }
    std::size_t entries = 0;
    const auto** configs = rd_kafka_ConfigResource_configs(described[i], &entries);
    for (std::size_t j = 0; j < entries; ++j) {
      if (std::string_view(rd_kafka_ConfigEntry_name(configs[j])) != "cleanup.policy") continue;
      const char* value = rd_kafka_ConfigEntry_value(configs[j]);
      if (value != nullptr && std::string_view(value).find("compact") != std::string_view::npos)
        return {};
      return failure(errc::topic_creation, "topic '" + spec.name + "' exists with cleanup.policy=" +
                                               (value ? value : "") + "; it must be compacted");
    }
  }
  return failure(errc::topic_creation, "topic '" + spec.name + "': cleanup.policy not reported");
}

}  // namespace

std::vector<config::topic_spec> all_topics(const config::topics_config& topics) {
  std::vector<config::topic_spec> all = {
      topics.events,       topics.dlq,         topics.suppressions, topics.send_requests,
      topics.send_results, topics.send_ledger, topics.soft_bounces, topics.events_deduplicated};
  // A configuration built in code rather than loaded has the followers of the events
  // topic unresolved.
  for (auto& spec : all) {
    if (spec.partitions == 0) spec.partitions = topics.events.partitions;
  }
  return all;
}

result<void> ensure_topics(rd_kafka_t* handle, const std::vector<config::topic_spec>& topics,
                           std::chrono::milliseconds timeout) {
  if (auto created = create_missing(handle, topics, timeout); !created) return created;
  for (const auto& spec : topics) {
    if (!spec.compacted) continue;
    // A topic created a moment ago may not be known to the broker that answers yet.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto checked = check_compacted(handle, spec, timeout);
      if (checked) break;
      if (checked.error().code != errc::unknown_topic ||
          std::chrono::steady_clock::now() >= deadline)
        return checked;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return {};
}

}  // namespace mailhook::kafka
