// librdkafka handles for mailhook: configuration from [kafka], RAII ownership, and
// librdkafka's logs routed into the daemon's log. The C API is used throughout: it is
// what lets the hot path produce without copies and in batches.
//
// A handle is thread-safe as librdkafka documents; the helpers here hold no state.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error_category.h"
#include "common/result.h"
#include "config/daemon_config.h"

namespace mailhook::kafka {

enum class errc {
  bad_property = 1,  // librdkafka refused a configuration property
  create_failed,     // rd_kafka_new failed
  unreachable,       // no broker answered in time
  topic_creation,    // a topic could not be created or has the wrong settings
  unknown_topic,     // the cluster does not know the topic (yet)
  produce_failed,
  consume_failed,
  timed_out,
};

struct handle_deleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct partition_list_deleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
struct conf_deleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using handle_ptr = std::unique_ptr<rd_kafka_t, handle_deleter>;
using conf_ptr = std::unique_ptr<rd_kafka_conf_t, conf_deleter>;
using partition_list_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t, partition_list_deleter>;

using property_list = std::vector<std::pair<std::string, std::string>>;

// A configuration with bootstrap.servers, client.id, [kafka.properties] and the password of
// kafka.sasl_password_file applied, then `overrides` (the role's own settings, which win).
// Every client mailhook makes starts here, so all of them connect alike. Logs go to spdlog.
[[nodiscard]] result<conf_ptr> make_conf(const config::kafka_config& kafka,
                                         const property_list& overrides = {});

// Creates a handle of `type` from `conf` (which it consumes).
[[nodiscard]] result<handle_ptr> make_handle(rd_kafka_type_t type, conf_ptr conf);

// Sends a metadata request and waits for a broker to answer. Returns how many brokers the
// cluster reports. This is the readiness probe: it fails while no broker is reachable.
[[nodiscard]] result<std::size_t> probe_cluster(rd_kafka_t* handle,
                                                std::chrono::milliseconds timeout);

// The partition ids of `topic`, from one metadata request: errc::unknown_topic while the
// cluster does not have the topic, errc::unreachable when no broker answers in `timeout`.
[[nodiscard]] result<std::vector<std::int32_t>> partitions_of(rd_kafka_t* handle,
                                                              const std::string& topic,
                                                              std::chrono::milliseconds timeout);

// Records of `partition` from `next_offset` (or the partition's start, when later) to the
// high watermark that `consumer` last saw; no request is made. 0 when it has seen none.
[[nodiscard]] std::int64_t records_behind(rd_kafka_t* consumer, const std::string& topic,
                                          std::int32_t partition, std::int64_t next_offset);

// The messages of one rd_kafka_consume_batch_queue() call, destroyed with the batch (or
// earlier, by clear()).
class message_batch {
 public:
  // Up to `max` messages from `queue`, waiting up to `wait` for them.
  [[nodiscard]] static message_batch consume(rd_kafka_queue_t* queue, std::size_t max,
                                             std::chrono::milliseconds wait);
  // The same from the queue of `consumer`'s assigned or subscribed partitions.
  [[nodiscard]] static message_batch consume(rd_kafka_t* consumer, std::size_t max,
                                             std::chrono::milliseconds wait);
  message_batch() = default;
  message_batch(message_batch&& other) noexcept : messages_(std::exchange(other.messages_, {})) {}
  message_batch& operator=(message_batch&&) = delete;
  message_batch(const message_batch&) = delete;
  message_batch& operator=(const message_batch&) = delete;
  ~message_batch() { clear(); }

  [[nodiscard]] bool empty() const { return messages_.empty(); }
  [[nodiscard]] std::size_t size() const { return messages_.size(); }
  [[nodiscard]] auto begin() const { return messages_.begin(); }
  [[nodiscard]] auto end() const { return messages_.end(); }
  // Destroys the messages now; what pointed into them is no longer valid.
  void clear();

 private:
  std::vector<rd_kafka_message_t*> messages_;
};

// A failure carrying librdkafka's error code name and text.
[[nodiscard]] failure kafka_failure(errc code, rd_kafka_resp_err_t err, std::string_view what);

}  // namespace mailhook::kafka

MAILHOOK_DECLARE_ERRC(mailhook::kafka, errc)
