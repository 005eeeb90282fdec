// mailhook_chaos_audit, the chaos suite's view of the cluster (tests/chaos/lib.sh):
//
//   events   reads the events topic back, whole, and compares it with the sg_event_ids the
//            load generator recorded as acknowledged (mailhook_load --acked-ids); prints
//            acked=N in_kafka=M lost=L duplicates=D. With --after-group and --of, first
//            waits until that consumer group has committed the whole of that topic: for
//            the deduplicated topic (--topic), once the dedup role has read every event.
//   changelog
//            waits until each policy consumer group named has decided on the whole events
//            topic, then compares two suppression changelogs key by key, by their compacted
//            view (the last record of each key): the one written under faults (--topic) and
//            a clean run's (--reference). A key's verdict is suppressed or cleared, reason
//            and scope; prints keys=N reference_keys=M wrong_verdicts=W repeated=R
//            aborted=A
//   leader   prints the node id of a partition's leader (the node to fail)
//
//
// acked: distinct ids answered 2xx; in_kafka: records carrying an id; lost: acknowledged
// ids with no record (the promise says 0); duplicates: records beyond the first per id
// (the events topic is at least once, so these are counted, not refused). An id is the
// event's sg_event_id, read from the mailhook-event-id header where ingest writes one
// (record_format = "headers"), else from the decoded EmailEvent.
//
// wrong_verdicts: keys whose verdict differs, or that only one changelog holds (the promise
// says 0); repeated: records of the tested changelog that repeat a change (key and event
// id) it already held: an event decided twice, by an instance that had not yet seen its
// first change (a restart forgets changes its replica has not applied; the events topic
// is at least once). Counted, not refused: the verdict is the same. aborted: records of
// the tested changelog in aborted transactions (read once more, uncommitted): what a kill
// inside a transaction leaves, or a transaction the daemon aborted on an error.
//
// Every partition is assigned directly (no consumer group) and read from its start until
// librdkafka reports its end, so the audit sees all that the brokers hold at that moment.
// Single-threaded; exits 0 when it could read the topic, whatever the counts say.
// Node ids are scripts/kafka's node numbers.
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "kafka/email_event_record.h"
#include "mailhook/v1/email_event.pb.h"
#include "mailhook/v1/suppression_record.pb.h"
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

// `committed_only` false: also the records of aborted transactions, to count them.
consumer_ptr make_consumer(const std::string& bootstrap,
                           const std::string& group = "mailhook-chaos-audit",
                           bool committed_only = true) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::pair<const char*, const char*> settings[] = {
      {"bootstrap.servers", bootstrap.c_str()},
      // Required by the API; nothing is committed. Another group only to read its offsets.
      {"group.id", group.c_str()},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "true"},
      // Only what the producers committed: the changelog is written in transactions, and
      // the records of an aborted one (a killed policy instance's) never happened.
      {"isolation.level", committed_only ? "read_committed" : "read_uncommitted"},
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

// Reads every partition of `topic` from its start to its end, handing each record to
// `take`; false if the topic could not be read whole before the deadline.
bool read_whole(const std::string& bootstrap, const std::string& topic,
                std::chrono::seconds timeout,
                const std::function<void(const rd_kafka_message_t&)>& take,
                bool committed_only = true) {
  auto rk = make_consumer(bootstrap, "mailhook-chaos-audit", committed_only);
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
      take(*m);
    } else {
      // Transient errors (a broker restarting) are retried by librdkafka; say what they were.
      std::fprintf(stderr, "reading %s: %s\n", topic.c_str(), rd_kafka_message_errstr(m));
    }
    rd_kafka_message_destroy(m);
  }
  return true;
}

// Occurrences of each event id in the topic; false if it could not be read whole.
bool read_ids(const std::string& bootstrap, const std::string& topic, std::chrono::seconds timeout,
              std::unordered_map<std::string, int>& seen) {
  return read_whole(bootstrap, topic, timeout, [&](const rd_kafka_message_t& m) {
    rd_kafka_headers_t* headers = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(headers, event_id_header, &value, &size) ==
            RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++seen[std::string(static_cast<const char*>(value), size)];
      return;
    }
    mailhook::v1::EmailEvent event;
    if (mailhook::kafka::decode_email_event(&m, event) && !event.sg_event_id().empty()) {
      ++seen[event.sg_event_id()];
    }
  });
}

// Waits until consumer group `group` has committed, on every partition of `topic`, the
// partition's end: the group has decided on every event. False at the deadline.
bool wait_caught_up(const std::string& bootstrap, const std::string& topic,
                    const std::string& group, std::chrono::steady_clock::time_point deadline) {
  auto rk = make_consumer(bootstrap, group);
  if (!rk) return false;
  const int partitions = describe(rk.get(), topic, 0).partitions;
  std::int64_t behind = -1;
  while (partitions > 0 && std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<rd_kafka_topic_partition_list_t,
                    decltype(&rd_kafka_topic_partition_list_destroy)>
        list(rd_kafka_topic_partition_list_new(partitions), &rd_kafka_topic_partition_list_destroy);
    for (int p = 0; p < partitions; ++p)
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
    behind = rd_kafka_committed(rk.get(), list.get(), 10000) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
    for (int i = 0; behind >= 0 && i < list->cnt; ++i) {
      std::int64_t low = 0;
      std::int64_t high = 0;
      if (rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), list->elems[i].partition, &low,
                                           &high, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        behind = -1;
      } else {
        // Nothing committed yet reads as an offset below zero: the whole partition is ahead.
        behind += high - std::max(list->elems[i].offset, low);
      }
    }
    if (behind == 0) return true;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  std::fprintf(stderr, "group %s: %lld events of %s not committed by the deadline\n", group.c_str(),
               static_cast<long long>(behind), topic.c_str());
  return false;
}

int audit_events(const std::string& bootstrap, const std::string& topic,
                 const std::vector<std::string>& acked_files, int timeout_s,
                 const std::string& after_group, const std::string& of_topic) {
  if (!after_group.empty() &&
      !wait_caught_up(bootstrap, of_topic, after_group,
                      std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s))) {
    return 1;
  }
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

// A changelog's compacted view: the last record of each key, and how many records
// repeated a change (key and event id) the topic already held.
struct changelog_view {
  std::unordered_map<std::string, mailhook::v1::SuppressionRecord> last;
  std::size_t records = 0;
  std::size_t repeated = 0;
};

bool read_changelog(const std::string& bootstrap, const std::string& topic,
                    std::chrono::seconds timeout, changelog_view& view) {
  std::unordered_set<std::string> changes;
  return read_whole(bootstrap, topic, timeout, [&](const rd_kafka_message_t& m) {
    ++view.records;
    if (m.key == nullptr) return;  // not a change of the policy's: every change has a key
    std::string key(static_cast<const char*>(m.key), m.key_len);
    mailhook::v1::SuppressionRecord record;
    if (!record.ParseFromArray(m.payload, static_cast<int>(m.len))) {
      std::fprintf(stderr, "%s: an unreadable record for key %s\n", topic.c_str(), key.c_str());
      return;
    }
    if (!changes.insert(key + '\n' + record.event_id()).second) ++view.repeated;
    view.last[key] = std::move(record);
  });
}

// What a key's final state says to a sender: suppressed or cleared, why, and where.
std::string verdict_of(const mailhook::v1::SuppressionRecord* r) {
  if (r == nullptr) return "absent";
  return fmt::format("{} reason={} scope={}", r->suppressed() ? "suppressed" : "cleared",
                     static_cast<int>(r->reason()), static_cast<int>(r->scope()));
}

int audit_changelog(const std::string& bootstrap, const std::string& topic,
                    const std::string& reference, const std::string& events,
                    const std::vector<std::string>& groups, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (const auto& group : groups) {
    if (!wait_caught_up(bootstrap, events, group, deadline)) return 1;
  }
  changelog_view tested;
  changelog_view clean;
  if (!read_changelog(bootstrap, topic, std::chrono::seconds(timeout_s), tested) ||
      !read_changelog(bootstrap, reference, std::chrono::seconds(timeout_s), clean)) {
    return 1;
  }
  // Records of aborted transactions: what killed instances had produced and not
  // committed. Above 0 shows that kills landed inside transactions.
  std::size_t all_records = 0;
  if (!read_whole(
          bootstrap, topic, std::chrono::seconds(timeout_s),
          [&](const rd_kafka_message_t&) { ++all_records; }, false)) {
    return 1;
  }
  std::set<std::string> keys;
  for (const auto& [key, record] : tested.last) keys.insert(key);
  for (const auto& [key, record] : clean.last) keys.insert(key);
  std::size_t wrong = 0;
  for (const auto& key : keys) {
    auto in_tested = tested.last.find(key);
    auto in_clean = clean.last.find(key);
    auto got = verdict_of(in_tested == tested.last.end() ? nullptr : &in_tested->second);
    auto want = verdict_of(in_clean == clean.last.end() ? nullptr : &in_clean->second);
    if (got == want) continue;
    if (++wrong <= 5)
      std::fprintf(stderr, "wrong verdict: %s is %s, clean run: %s\n", key.c_str(), got.c_str(),
                   want.c_str());
  }
  std::printf("%s\n",
              fmt::format("keys={} reference_keys={} wrong_verdicts={} repeated={} aborted={}",
                          tested.last.size(), clean.last.size(), wrong, tested.repeated,
                          all_records - tested.records)
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
  std::string after_group;
  std::string of_topic;
  auto* after = events->add_option(
      "--after-group", after_group,
      "A consumer group that must first have committed the whole of the --of topic");
  events->add_option("--of", of_topic, "The topic --after-group reads")->needs(after);
  after->needs("--of");

  auto* leader = cli.add_subcommand("leader", "The node id of a partition's leader");
  int partition = 0;
  leader->add_option("--partition", partition, "The partition")->capture_default_str();
  auto* changelog = cli.add_subcommand(
      "changelog", "The changelog (--topic) against a clean run's, key by key, final state");
  std::string reference;
  std::string events_topic;
  std::vector<std::string> groups;
  changelog->add_option("--reference", reference, "The clean run's changelog topic")->required();
  changelog->add_option("--events", events_topic, "The events topic both runs read")->required();
  changelog
      ->add_option("--group", groups,
                   "Policy consumer groups to wait for: each must have committed the events "
                   "topic's end before the changelogs are read")
      ->required();
  changelog->add_option("--timeout", timeout_s, "Seconds to wait and to read each topic")
      ->capture_default_str();
  CLI11_PARSE(cli, argc, argv);

  if (*events) return audit_events(bootstrap, topic, acked_files, timeout_s, after_group, of_topic);
  if (*changelog)
    return audit_changelog(bootstrap, topic, reference, events_topic, groups, timeout_s);
  return print_leader(bootstrap, topic, partition);
}
