#include "support/kafka_reader.h"

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>

#include "kafka/record_framing.h"

namespace mailhook::testing {
namespace {

struct handle_deleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};

// Partition count of `topic`; waits for it to exist (mailhook may still be creating it).
int partitions_of(rd_kafka_t* rk, const std::string& topic,
                  std::chrono::steady_clock::time_point deadline) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  int count = 0;
  while (count == 0 && std::chrono::steady_clock::now() < deadline) {
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 0, t, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        count = md->topics[0].partition_cnt;
      rd_kafka_metadata_destroy(md);
    }
    if (count == 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  rd_kafka_topic_destroy(t);
  return count;
}

}  // namespace

std::vector<kafka_record> read_topic(const std::string& bootstrap, const std::string& topic,
                                     std::size_t expected, std::chrono::milliseconds timeout,
                                     const client_properties& properties) {
  return read_topic_until(
      bootstrap, topic,
      [expected](const std::vector<kafka_record>& records) {
        return expected != 0 && records.size() >= expected;
      },
      timeout, properties);
}

std::vector<kafka_record> read_topic_until(
    const std::string& bootstrap, const std::string& topic,
    const std::function<bool(const std::vector<kafka_record>&)>& done,
    std::chrono::milliseconds timeout, const client_properties& properties) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "mailhook-test-reader", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.partition.eof", "false", err, sizeof err);
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error("consumer property " + name + ": " + err);
    }
  }
  std::unique_ptr<rd_kafka_t, handle_deleter> rk(
      rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err));
  if (!rk) throw std::runtime_error(std::string("consumer: ") + err);

  int partitions = partitions_of(rk.get(), topic, deadline);
  if (partitions == 0) return {};
  assign_from_beginning(rk.get(), topic, partitions);

  std::vector<kafka_record> records;
  while (!done(records) && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 200);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      kafka_record r;
      if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload != nullptr) r.raw_value.assign(static_cast<const char*>(m->payload), m->len);
      if (const auto value = kafka::read_record_value(r.raw_value)) {
        r.value = value->payload;
        if (value->framed) r.schema_id = value->schema_id;
      } else {
        r.value = r.raw_value;  // a malformed frame: left for the test to see
      }
      r.partition = m->partition;
      r.timestamp_ms = rd_kafka_message_timestamp(m, nullptr);
      rd_kafka_headers_t* headers = nullptr;
      if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* value;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          r.headers[name] = std::string(static_cast<const char*>(value), size);
        }
      }
      records.push_back(std::move(r));
    }
    rd_kafka_message_destroy(m);
  }
  return records;
}

void assign_from_beginning(rd_kafka_t* consumer, const std::string& topic, int partitions) {
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(assignment, topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(consumer, assignment);
  rd_kafka_topic_partition_list_destroy(assignment);
}

std::string unique_topic(const std::string& stem) {
  static std::atomic<int> counter{0};
  return "test." + stem + "." + std::to_string(::getpid()) + "." + std::to_string(counter++) + "." +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007);
}

}  // namespace mailhook::testing
