// mailhook_chaos_audit, the chaos suite's view of the cluster (tests/chaos/lib.sh):
//
//   events   reads the events topic back, whole, and compares it with the sg_event_ids the
//            load generator recorded as acknowledged (mailhook_load --acked-ids); prints
//            acked=N in_kafka=M lost=L duplicates=D
//   leader   prints the node id of a partition's leader (the node to fail)
//
//
// acked: distinct ids answered 2xx; in_kafka: records carrying an id; lost: acknowledged
// ids with no record (the promise says 0); duplicates: records beyond the first per id
// (the events topic is at least once, so these are counted, not refused). An id comes
// from the mailhook-event-id header, which ingest sets from the event's sg_event_id.
//
// Every partition is assigned directly (no consumer group) and read from its start until
// librdkafka reports its end, so the audit sees all that the brokers hold at that moment.
// Single-threaded; exits 0 when it could read the topic, whatever the counts say.
// Node ids are scripts/kafka's node numbers.
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "support/kafka_reader.h"

namespace {

constexpr const char* event_id_header = "mailhook-event-id";

struct consumer_deleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};
using consumer_ptr = std::unique_ptr<rd_kafka_t, consumer_deleter>;

consumer_ptr make_consumer(const std::string& bootstrap) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::pair<const char*, const char*> settings[] = {
      {"bootstrap.servers", bootstrap.c_str()},
      {"group.id", "mailhook-chaos-audit"},  // required by the API; nothing is committed
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "true"},
      // Only what the producers confirmed: the events topic has no transactions, but a
      // reader of what mailhook acknowledged must not count aborted data elsewhere.
      {"isolation.level", "read_committed"},
  };
  for (const auto& [name, value] : settings) {
    if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "consumer property %s: %s\n", name, err);
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  consumer_ptr rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err));
  if (!rk) std::fprintf(stderr, "consumer: %s\n", err);
  return rk;
}

// The partition count of `topic` and the leader of `partition` (-1 when none is known).
struct topic_shape {
  int partitions = 0;
  int leader = -1;
};

topic_shape describe(rd_kafka_t* rk, const std::string& topic, int partition) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  topic_shape shape;
  if (rd_kafka_metadata(rk, 0, t, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      shape.partitions = md->topics[0].partition_cnt;
      for (int p = 0; p < shape.partitions; ++p) {
        if (md->topics[0].partitions[p].id == partition)
          shape.leader = md->topics[0].partitions[p].leader;
      }
    }
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(t);
  return shape;
}

// Occurrences of each event id in the topic; false if the topic could not be read whole
// before the deadline.
bool read_ids(const std::string& bootstrap, const std::string& topic, std::chrono::seconds timeout,
              std::unordered_map<std::string, int>& seen) {
  auto rk = make_consumer(bootstrap);
  if (!rk) return false;
  const int partitions = describe(rk.get(), topic, 0).partitions;
  if (partitions == 0) {
    std::fprintf(stderr, "topic %s: no partitions found\n", topic.c_str());
    return false;
  }
  mailhook::testing::assign_from_beginning(rk.get(), topic, partitions);

  std::set<int> at_end;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (static_cast<int>(at_end.size()) < partitions) {
    if (std::chrono::steady_clock::now() >= deadline) {
      std::fprintf(stderr, "topic %s: only %zu of %d partitions read to their end in %llds\n",
                   topic.c_str(), at_end.size(), partitions,
                   static_cast<long long>(timeout.count()));
      return false;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 500);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(m->partition);
    } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      // A record after an end seen earlier: that partition is not at its end after all.
      at_end.erase(m->partition);
      rd_kafka_headers_t* headers = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          rd_kafka_header_get_last(headers, event_id_header, &value, &size) ==
              RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++seen[std::string(static_cast<const char*>(value), size)];
      }
    } else {
      // Transient errors (a broker restarting) are retried by librdkafka; say what they were.
      std::fprintf(stderr, "reading %s: %s\n", topic.c_str(), rd_kafka_message_errstr(m));
    }
    rd_kafka_message_destroy(m);
  }
  return true;
}

int audit_events(const std::string& bootstrap, const std::string& topic,
                 const std::vector<std::string>& acked_files, int timeout_s) {
  std::unordered_set<std::string> acked;
  for (const auto& file : acked_files) {
    std::ifstream in(file);
    for (std::string id; std::getline(in, id);) {
      if (!id.empty()) acked.insert(id);
    }
  }
  std::unordered_map<std::string, int> seen;
  if (!read_ids(bootstrap, topic, std::chrono::seconds(timeout_s), seen)) return 1;

  std::size_t records = 0;
  std::size_t duplicates = 0;
  for (const auto& [id, count] : seen) {
    records += static_cast<std::size_t>(count);
    duplicates += static_cast<std::size_t>(count - 1);
  }
  std::size_t lost = 0;
  for (const auto& id : acked) {
    if (seen.contains(id)) continue;
    // The first few, to start an investigation from.
    if (++lost <= 5) std::fprintf(stderr, "lost after ack: %s\n", id.c_str());
  }
  std::printf("%s\n", fmt::format("acked={} in_kafka={} lost={} duplicates={}", acked.size(),
                                  records, lost, duplicates)
                          .c_str());
  return 0;
}

int print_leader(const std::string& bootstrap, const std::string& topic, int partition) {
  auto rk = make_consumer(bootstrap);
  if (!rk) return 1;
  const auto shape = describe(rk.get(), topic, partition);
  if (shape.leader < 0) {
    std::fprintf(stderr, "topic %s partition %d: no leader known\n", topic.c_str(), partition);
    return 1;
  }
  std::printf("%d\n", shape.leader);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"mailhook_chaos_audit: the chaos suite's view of the cluster"};
  cli.require_subcommand(1);
  std::string bootstrap;
  std::string topic = "sendgrid.events";
  cli.add_option("--bootstrap", bootstrap, "Kafka bootstrap servers")->required();
  cli.add_option("--topic", topic, "The events topic")->capture_default_str();

  auto* events = cli.add_subcommand("events", "The topic against the acknowledged event ids");
  std::vector<std::string> acked_files;
  int timeout_s = 120;
  events
      ->add_option("--acked", acked_files, "Files of acknowledged ids (mailhook_load --acked-ids)")
      ->required()
      ->check(CLI::ExistingFile);
  events->add_option("--timeout", timeout_s, "Seconds to read the topic to its end")
      ->capture_default_str();

  auto* leader = cli.add_subcommand("leader", "The node id of a partition's leader");
  int partition = 0;
  leader->add_option("--partition", partition, "The partition")->capture_default_str();
  CLI11_PARSE(cli, argc, argv);

  if (*events) return audit_events(bootstrap, topic, acked_files, timeout_s);
  return print_leader(bootstrap, topic, partition);
}
