#include "kafka/client.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace mailhook::kafka {
namespace {

std::string describe(errc e) {
  switch (e) {
    case errc::bad_property:
      return "invalid Kafka client property";
    case errc::create_failed:
      return "cannot create Kafka client";
    case errc::unreachable:
      return "Kafka is unreachable";
    case errc::topic_creation:
      return "cannot create Kafka topic";
    case errc::unknown_topic:
      return "unknown Kafka topic";
    case errc::produce_failed:
      return "Kafka produce failed";
    case errc::consume_failed:
      return "Kafka consume failed";
    case errc::timed_out:
      return "Kafka operation timed out";
  }
  return "unknown Kafka error";
}

// A client that could not be made is this process's fault; everything else is the
// cluster not being there (yet).
error_class classify(errc e) noexcept {
  switch (e) {
    case errc::bad_property:
    case errc::create_failed:
      return {error_kind::internal, "kafka_client"};
    case errc::unreachable:
    case errc::topic_creation:
    case errc::unknown_topic:
    case errc::timed_out:
      return {error_kind::unavailable, "kafka_unavailable"};
    case errc::produce_failed:
    case errc::consume_failed:
      return {error_kind::unavailable, "kafka_failed"};
  }
  return {};
}

// librdkafka syslog levels to spdlog levels. Connection churn is logged by librdkafka at
// level 3-4 and repeats while a broker is down, so it is kept at warn, not error.
void log_to_spdlog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  auto spd_level = level <= 4   ? spdlog::level::warn
                   : level <= 6 ? spdlog::level::info
                                : spdlog::level::debug;
  spdlog::log(spd_level, "kafka {} [{}]: {}", rd_kafka_name(rk), facility, message);
}

}  // namespace

failure kafka_failure(errc code, rd_kafka_resp_err_t err, std::string_view what) {
  return failure(
      code, std::string(what) + ": " + rd_kafka_err2name(err) + " (" + rd_kafka_err2str(err) + ")");
}

result<conf_ptr> make_conf(const config::kafka_config& kafka, const property_list& overrides) {
  conf_ptr conf(rd_kafka_conf_new());
  char err[512];
  auto set = [&](const std::string& name, const std::string& value) -> result<void> {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
      return failure(errc::bad_property, "kafka property '" + name + "': " + err);
    }
    return {};
  };
  property_list all{{"bootstrap.servers", kafka.bootstrap_servers}, {"client.id", kafka.client_id}};
  all.insert(all.end(), kafka.properties.begin(), kafka.properties.end());
  if (!kafka.sasl_password.empty()) all.emplace_back("sasl.password", kafka.sasl_password);
  all.insert(all.end(), overrides.begin(), overrides.end());
  for (const auto& [name, value] : all) {
    if (auto ok = set(name, value); !ok) return ok.error();
  }
  rd_kafka_conf_set_log_cb(conf.get(), log_to_spdlog);
  return conf;
}

result<handle_ptr> make_handle(rd_kafka_type_t type, conf_ptr conf) {
  char err[512];
  // rd_kafka_new takes ownership of conf only on success.
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (rk == nullptr) return failure(errc::create_failed, err);
  (void)conf.release();
  return handle_ptr(rk);
}

message_batch message_batch::consume(rd_kafka_queue_t* queue, std::size_t max,
                                     std::chrono::milliseconds wait) {
  message_batch batch;
  batch.messages_.resize(max);
  auto n = rd_kafka_consume_batch_queue(queue, static_cast<int>(wait.count()),
                                        batch.messages_.data(), max);
  batch.messages_.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return batch;
}

message_batch message_batch::consume(rd_kafka_t* consumer, std::size_t max,
                                     std::chrono::milliseconds wait) {
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(consumer);
  auto batch = consume(queue, max, wait);
  rd_kafka_queue_destroy(queue);
  return batch;
}

void message_batch::clear() {
  for (auto* m : messages_) rd_kafka_message_destroy(m);
  messages_.clear();
}

result<std::size_t> probe_cluster(rd_kafka_t* handle, std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* metadata = nullptr;
  // all_topics=0 with no topic: a metadata request that lists brokers only.
  auto err = rd_kafka_metadata(handle, 0, nullptr, &metadata, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return kafka_failure(errc::unreachable, err, "metadata request");
  std::size_t brokers = static_cast<std::size_t>(metadata->broker_cnt);
  rd_kafka_metadata_destroy(metadata);
  if (brokers == 0) return failure(errc::unreachable, "the cluster reports no brokers");
  return brokers;
}

result<std::vector<std::int32_t>> partitions_of(rd_kafka_t* handle, const std::string& topic,
                                                std::chrono::milliseconds timeout) {
  rd_kafka_topic_t* wanted = rd_kafka_topic_new(handle, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  auto err = rd_kafka_metadata(handle, 0, wanted, &metadata, static_cast<int>(timeout.count()));
  rd_kafka_topic_destroy(wanted);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_failure(errc::unreachable, err, "metadata of " + topic);
  }
  std::vector<std::int32_t> partitions;
  if (metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < metadata->topics[0].partition_cnt; ++i) {
      partitions.push_back(metadata->topics[0].partitions[i].id);
    }
  }
  rd_kafka_metadata_destroy(metadata);
  if (partitions.empty())
    return failure(errc::unknown_topic, "topic " + topic + " does not exist yet");
  return partitions;
}

std::int64_t records_behind(rd_kafka_t* consumer, const std::string& topic, std::int32_t partition,
                            std::int64_t next_offset) {
  std::int64_t low = 0;
  std::int64_t high = 0;
  if (rd_kafka_get_watermark_offsets(consumer, topic.c_str(), partition, &low, &high) !=
          RD_KAFKA_RESP_ERR_NO_ERROR ||
      high < 0) {
    return 0;
  }
  return std::max<std::int64_t>(0, high - std::max(low, next_offset));
}

}  // namespace mailhook::kafka

MAILHOOK_DEFINE_ERRC(mailhook::kafka, errc, "kafka", describe, classify)
