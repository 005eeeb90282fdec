// mailhook_chaos_sender, the sender-kill scenario's tools (tests/chaos/scenarios/sender_kill.sh):
//
//   simulate  runs the Mail Send simulator (tests/support) until SIGTERM or SIGINT, answering
//             every call --delay-ms after reading it, so that a kill finds calls in flight;
//             writes its port to --port-file once it listens, and one line per accepted
//             call to --calls, flushed as it comes:
//               REQUEST_ID MESSAGE_ID READ_MS ANSWERED_MS RECIPIENT[,RECIPIENT...]
//             (unix ms; READ_MS is the answer's time less the delay). The simulator decides
//             on a call when it has read it and answers after the delay whether or not the
//             caller is still there, as SendGrid keeps an email whose caller died waiting:
//             an accepted call is an email sent.
//   produce   puts SendRequests with unique request ids on the requests topic at --rate per
//             second until --requests or SIGTERM, and writes every request Kafka
//             acknowledged to --produced: REQUEST_ID CREATED_MS
//   audit     reads the results topic back (read_committed) against the produced ids and the
//             accepted calls; prints
//               requests=N calls=C results=R sent=S indeterminate=I indeterminate_called=A
//               duplicates=D sent_twice=T lost_without_result=L wrong_results=W
//               longest_wait=Ts [kills=K kills_mid_call=M]
//   repeat    writes a copy of one committed result of the results topic again, outside any
//             transaction, and prints its request id: a second result for the check
//
// The promise (docs/sending.md) is at most once, with the unknown case named, and one
// result per request:
// - sent_twice: request ids the simulator accepted more than one call for; must be 0.
// - lost_without_result: produced requests without exactly one committed result: none, or
//   more than one. Results and request offsets commit in one transaction, so a request
//   whose batch was cut off by a kill has no visible result and is read again (its result
//   then comes from the ledger: the recorded one, or INDETERMINATE); any count but 1 breaks
//   the promise. Must be 0. duplicates says how many results came beyond the first per id.
// - indeterminate: INDETERMINATE results, allowed: the sender died after writing
//   "attempting" to the ledger and before its "done" entry reached Kafka. Such a request
//   is never called again; indeterminate_called says how many of them the simulator did
//   accept (the rest were queued in the killed batch, or cut off before the simulator had
//   read them).
// - wrong_results: results that contradict the simulator: SENT with a message id the
//   simulator did not give that request, FAILED, SKIPPED or DUPLICATE for a request it
//   accepted, a result for a request never produced, or a call for one; must be 0.
// - longest_wait: the longest time from a request's creation to the commit of its first
//   result (the result record's timestamp, taken when the sender produced it in the
//   transaction that committed it): how long a kill or a takeover held requests up.
// - kills_mid_call (with --kills, a file of kill times in unix ms): kills that came while
//   a call the killed sender never learned the answer of was in flight: a request with an
//   INDETERMINATE result whose call the simulator had read before the kill and answered
//   after it.
//
// Single-threaded but for the simulator's own threads; the audit exits 0 when it could read
// the results topic to its end, whatever the counts say.
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mailhook/v1/send.pb.h"
#include "support/kafka_reader.h"
#include "support/mail_send_simulator.h"

namespace {

using namespace std::chrono_literals;

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Blocked in every thread (so called before any starts) and taken with sigwait: the
// simulator's threads must not be the ones a SIGTERM interrupts.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// True when a stop signal came within `wait`.
bool stopped_within(const sigset_t& set, std::chrono::milliseconds wait) {
  wait = std::max(wait, 0ms);
  timespec timeout{static_cast<time_t>(wait.count() / 1000),
                   static_cast<long>(wait.count() % 1000) * 1'000'000};
  for (;;) {
    if (sigtimedwait(&set, nullptr, &timeout) > 0) return true;
    if (errno != EINTR) return false;
  }
}

int simulate(const std::string& port_file, const std::string& calls_file,
             const std::string& api_key, int delay_ms) {
  const auto stop = block_stop_signals();
  std::ofstream calls(calls_file, std::ios::trunc);
  if (!calls) {
    std::fprintf(stderr, "simulate: cannot write %s\n", calls_file.c_str());
    return 1;
  }
  mailhook::testing::mail_send_simulator_options options;
  options.api_keys = {api_key};
  options.response_delay = std::chrono::milliseconds(delay_ms);
  // On the simulator's one callback thread, in order, right after each answer.
  options.on_accepted = [&](const mailhook::testing::mail_send_call& call) {
    const auto answered = unix_now_ms();
    auto id = call.custom_args.find("mailhook_request_id");
    std::string recipients;
    for (const auto& r : call.recipients) recipients += (recipients.empty() ? "" : ",") + r;
    calls << (id == call.custom_args.end() ? "-" : id->second) << ' ' << call.message_id << ' '
          << answered - delay_ms << ' ' << answered << ' ' << recipients << std::endl;
  };
  // Destroyed before `calls`: it runs the callbacks still pending first.
  mailhook::testing::mail_send_simulator sim(options);
  // Whole or not at all: the scenario reads the port as soon as the file is there.
  const std::string partial = port_file + ".partial";
  std::ofstream(partial) << sim.port() << "\n";
  std::filesystem::rename(partial, port_file);
  int caught = 0;
  sigwait(&stop, &caught);
  std::fprintf(stderr, "simulate: %zu requests read, %zu answered\n", sim.requests_received(),
               sim.call_count());
  return 0;
}

struct producer_deleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};

// Writes each request Kafka acknowledged to the file in the opaque; from rd_kafka_poll and
// rd_kafka_flush, on the producing thread.
void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto& produced = *static_cast<std::ofstream*>(opaque);
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "produce: a request lost: %s\n", rd_kafka_err2str(m->err));
    return;
  }
  mailhook::v1::SendRequest request;
  if (!request.ParseFromArray(m->payload, static_cast<int>(m->len))) return;  // ours: cannot be
  produced << request.request_id() << ' ' << request.created_at_ms() << '\n';
}

int produce(const std::string& bootstrap, const std::string& topic, int requests, double rate,
            const std::string& produced_file, const std::string& tenant,
            const std::string& prefix) {
  const auto stop = block_stop_signals();
  std::ofstream produced(produced_file, std::ios::trunc);
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::pair<const char*, const char*> settings[] = {
      {"bootstrap.servers", bootstrap.c_str()},
      // Each request once: a retry of the producer's own must not make a second one.
      {"enable.idempotence", "true"},
      {"linger.ms", "5"},
  };
  for (const auto& [name, value] : settings) {
    if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "producer property %s: %s\n", name, err);
      rd_kafka_conf_destroy(conf);
      return 1;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &produced);
  std::unique_ptr<rd_kafka_t, producer_deleter> producer(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
  if (!producer) {
    std::fprintf(stderr, "producer: %s\n", err);
    return 1;
  }
  rd_kafka_topic_t* target = rd_kafka_topic_new(producer.get(), topic.c_str(), nullptr);
  const auto start = std::chrono::steady_clock::now();
  int made = 0;
  for (; made < requests; ++made) {
    const auto due =
        start + std::chrono::microseconds(static_cast<std::int64_t>(made * 1e6 / rate));
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        due - std::chrono::steady_clock::now());
    if (stopped_within(stop, wait)) break;
    mailhook::v1::SendRequest request;
    request.set_request_id(fmt::format("{}-{}", prefix, made));
    request.set_tenant(tenant);
    request.add_to()->set_email(fmt::format("reader{}@example.com", made));
    request.set_subject("Your receipt");
    auto* content = request.add_content();
    content->set_type("text/plain");
    content->set_value("Thanks for your order.");
    request.set_created_at_ms(unix_now_ms());
    const auto value = request.SerializeAsString();
    const auto& key = request.request_id();
    while (rd_kafka_produce(target, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                            const_cast<char*>(value.data()), value.size(), key.data(), key.size(),
                            nullptr) != 0) {
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::fprintf(stderr, "produce: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
        break;
      }
      rd_kafka_poll(producer.get(), 10);
    }
    rd_kafka_poll(producer.get(), 0);
  }
  const auto left = rd_kafka_flush(producer.get(), 60'000);
  rd_kafka_topic_destroy(target);
  produced.flush();
  std::fprintf(stderr, "produce: %d requests made%s\n", made,
               left == RD_KAFKA_RESP_ERR_NO_ERROR ? "" : ", some unacknowledged at the end");
  return 0;
}

struct accepted_call {
  std::string message_id;
  std::int64_t read_ms = 0;
  std::int64_t answered_ms = 0;
};

struct consumer_deleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};

std::unique_ptr<rd_kafka_t, consumer_deleter> make_reader(const std::string& bootstrap) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::pair<const char*, const char*> settings[] = {
      {"bootstrap.servers", bootstrap.c_str()},
      // Required by the API; nothing is committed.
      {"group.id", "mailhook-chaos-sender-audit"},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "true"},
      // What the platform sees: the results of a transaction a kill left open never count.
      {"isolation.level", "read_committed"},
  };
  for (const auto& [name, value] : settings) {
    if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "consumer property %s: %s\n", name, err);
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  std::unique_ptr<rd_kafka_t, consumer_deleter> rk(
      rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err));
  if (!rk) std::fprintf(stderr, "consumer: %s\n", err);
  return rk;
}

int partition_count(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  int partitions = 0;
  if (rd_kafka_metadata(rk, 0, t, &md, 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
      partitions = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(t);
  return partitions;
}

// Every committed result of `topic`, by request id, read to the end of every partition;
// while some id in `expected` has none, reading goes on for up to `wait`. False if the
// topic could not be read to its end.
// `committed` gets the timestamp of each id's first result.
bool read_results(const std::string& bootstrap, const std::string& topic,
                  const std::unordered_map<std::string, std::int64_t>& expected,
                  std::chrono::seconds wait,
                  std::unordered_map<std::string, std::vector<mailhook::v1::SendResult>>& results,
                  std::unordered_map<std::string, std::int64_t>& committed, std::size_t& records) {
  auto rk = make_reader(bootstrap);
  if (!rk) return false;
  const int partitions = partition_count(rk.get(), topic);
  if (partitions == 0) {
    std::fprintf(stderr, "topic %s: no partitions found\n", topic.c_str());
    return false;
  }
  mailhook::testing::assign_from_beginning(rk.get(), topic, partitions);
  const auto patience = std::chrono::steady_clock::now() + wait;
  // Reading the whole topic once is bounded on its own: a cluster that cannot serve it in
  // two minutes is the failure to report.
  const auto give_up = patience + 120s;
  std::set<int> at_end;
  for (;;) {
    if (static_cast<int>(at_end.size()) == partitions) {
      std::size_t missing = 0;
      for (const auto& [id, created] : expected) missing += results.contains(id) ? 0u : 1u;
      if (missing == 0) return true;
      if (std::chrono::steady_clock::now() >= patience) {
        std::fprintf(stderr, "%s: %zu requests still without a result after %llds\n", topic.c_str(),
                     missing, static_cast<long long>(wait.count()));
        return true;
      }
    }
    if (std::chrono::steady_clock::now() >= give_up) {
      std::fprintf(stderr, "topic %s: only %zu of %d partitions read to their end\n", topic.c_str(),
                   at_end.size(), partitions);
      return false;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 500);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(m->partition);
    } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      at_end.erase(m->partition);
      ++records;
      mailhook::v1::SendResult result;
      if (m->payload != nullptr && result.ParseFromArray(m->payload, static_cast<int>(m->len))) {
        committed.try_emplace(result.request_id(), rd_kafka_message_timestamp(m, nullptr));
        results[result.request_id()].push_back(std::move(result));
      } else {
        std::fprintf(stderr, "%s [%d] offset %lld: not a SendResult\n", topic.c_str(), m->partition,
                     static_cast<long long>(m->offset));
      }
    } else {
      std::fprintf(stderr, "reading %s: %s\n", topic.c_str(), rd_kafka_message_errstr(m));
    }
    rd_kafka_message_destroy(m);
  }
}

int repeat_result(const std::string& bootstrap, const std::string& topic) {
  auto rk = make_reader(bootstrap);
  if (!rk) return 1;
  const int partitions = partition_count(rk.get(), topic);
  if (partitions == 0) return 1;
  mailhook::testing::assign_from_beginning(rk.get(), topic, partitions);
  std::string key;
  std::string value;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (value.empty() && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 500);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->key != nullptr && m->payload != nullptr) {
      key.assign(static_cast<const char*>(m->key), m->key_len);
      value.assign(static_cast<const char*>(m->payload), m->len);
    }
    rd_kafka_message_destroy(m);
  }
  if (value.empty()) {
    std::fprintf(stderr, "repeat: no result found in %s\n", topic.c_str());
    return 1;
  }
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err) !=
      RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return 1;
  }
  std::unique_ptr<rd_kafka_t, producer_deleter> producer(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
  if (!producer) return 1;
  rd_kafka_topic_t* target = rd_kafka_topic_new(producer.get(), topic.c_str(), nullptr);
  const int produced =
      rd_kafka_produce(target, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value.data(),
                       value.size(), key.data(), key.size(), nullptr);
  const auto flushed = rd_kafka_flush(producer.get(), 30'000);
  rd_kafka_topic_destroy(target);
  if (produced != 0 || flushed != RD_KAFKA_RESP_ERR_NO_ERROR) return 1;
  std::printf("%s\n", key.c_str());
  return 0;
}

// The first few of each kind of problem, to start an investigation from.
void tell(std::size_t count, const std::string& what) {
  if (count <= 5) std::fprintf(stderr, "%s\n", what.c_str());
}

int audit(const std::string& bootstrap, const std::string& results_topic,
          const std::vector<std::string>& produced_files,
          const std::vector<std::string>& calls_files, const std::string& kills_file, int wait_s) {
  std::unordered_map<std::string, std::int64_t> produced;  // id → created_at_ms, 0 unknown
  for (const auto& file : produced_files) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      std::istringstream fields(line);
      std::string id;
      std::int64_t created = 0;
      if (fields >> id) {
        fields >> created;
        produced.emplace(id, created);
      }
    }
  }
  std::unordered_map<std::string, std::vector<mailhook::v1::SendResult>> results;
  std::unordered_map<std::string, std::int64_t> committed;
  std::size_t records = 0;
  if (!read_results(bootstrap, results_topic, produced, std::chrono::seconds(wait_s), results,
                    committed, records)) {
    return 1;
  }
  // Read after the results: a call the results name was written before its result was
  // committed, and a wait for the results must not leave it out.
  std::unordered_map<std::string, std::vector<accepted_call>> calls;
  std::size_t call_count = 0;
  for (const auto& file : calls_files) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      std::istringstream fields(line);
      std::string id;
      accepted_call call;
      if (fields >> id >> call.message_id >> call.read_ms >> call.answered_ms) {
        calls[id].push_back(std::move(call));
        ++call_count;
      }
    }
  }
  std::vector<std::int64_t> kills;
  if (!kills_file.empty()) {
    std::ifstream in(kills_file);
    for (std::int64_t at = 0; in >> at;) kills.push_back(at);
  }

  std::size_t sent_twice = 0;
  std::size_t wrong = 0;
  for (const auto& [id, made] : calls) {
    if (made.size() > 1)
      tell(++sent_twice, fmt::format("sent twice: {} ({} calls accepted)", id, made.size()));
    if (!produced.contains(id)) tell(++wrong, fmt::format("a call for no request: {}", id));
  }
  std::size_t lost = 0;
  std::int64_t longest_wait_ms = 0;
  for (const auto& [id, created] : produced) {
    auto found = results.find(id);
    const std::size_t n = found == results.end() ? 0 : found->second.size();
    if (n != 1) tell(++lost, fmt::format("{} results for request {}", n, id));
    if (n > 0 && created > 0) longest_wait_ms = std::max(longest_wait_ms, committed[id] - created);
  }
  std::size_t duplicates = 0;
  std::size_t sent = 0;
  std::size_t indeterminate = 0;
  std::size_t indeterminate_called = 0;
  std::vector<const accepted_call*> unanswered;  // calls whose answer the sender never kept
  for (const auto& [id, all] : results) {
    duplicates += all.size() - 1;
    const auto made = calls.find(id);
    const bool called = made != calls.end() && !made->second.empty();
    if (!produced.contains(id)) tell(++wrong, fmt::format("a result for no request: {}", id));
    for (const auto& result : all) {
      switch (result.status()) {
        case mailhook::v1::SEND_STATUS_SENT: {
          ++sent;
          const bool matches =
              called && std::any_of(made->second.begin(), made->second.end(), [&](const auto& c) {
                return c.message_id == result.message_id();
              });
          if (!matches)
            tell(++wrong, fmt::format("{}: SENT as {}, not a message id the simulator gave it", id,
                                      result.message_id()));
          break;
        }
        case mailhook::v1::SEND_STATUS_INDETERMINATE:
          ++indeterminate;
          if (called) {
            ++indeterminate_called;
            for (const auto& c : made->second) unanswered.push_back(&c);
          }
          break;
        default:
          if (called)
            tell(++wrong, fmt::format("{}: {} though the simulator accepted it", id,
                                      mailhook::v1::SendStatus_Name(result.status())));
          break;
      }
    }
  }
  std::string kill_fields;
  if (!kills_file.empty()) {
    const auto mid_call = std::count_if(kills.begin(), kills.end(), [&](std::int64_t at) {
      return std::any_of(unanswered.begin(), unanswered.end(), [&](const accepted_call* c) {
        return c->read_ms <= at && at < c->answered_ms;
      });
    });
    kill_fields = fmt::format(" kills={} kills_mid_call={}", kills.size(), mid_call);
  }
  std::printf("%s\n", fmt::format("requests={} calls={} results={} sent={} indeterminate={} "
                                  "indeterminate_called={} duplicates={} sent_twice={} "
                                  "lost_without_result={} wrong_results={} longest_wait={:.1f}s{}",
                                  produced.size(), call_count, records, sent, indeterminate,
                                  indeterminate_called, duplicates, sent_twice, lost, wrong,
                                  static_cast<double>(longest_wait_ms) / 1000.0, kill_fields)
                          .c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"mailhook_chaos_sender: the sender-kill scenario's simulator, producer and audit"};
  cli.require_subcommand(1);

  auto* sim = cli.add_subcommand("simulate", "The Mail Send simulator, until SIGTERM");
  std::string port_file;
  std::string calls_file;
  std::string api_key = "SG.chaos";
  int delay_ms = 200;
  sim->add_option("--port-file", port_file, "Where to write the port, once listening")->required();
  sim->add_option("--calls", calls_file, "Where to write the accepted calls")->required();
  sim->add_option("--api-key", api_key, "The Bearer key accepted")->capture_default_str();
  sim->add_option("--delay-ms", delay_ms, "Milliseconds from reading a call to answering it")
      ->capture_default_str();

  std::string bootstrap;
  auto* prod = cli.add_subcommand("produce", "SendRequests on the requests topic, at a rate");
  std::string topic;
  int requests = 1000;
  double rate = 20;
  std::string produced_file;
  std::string tenant = "chaos";
  std::string prefix = "chaos-send";
  prod->add_option("--bootstrap", bootstrap, "Kafka bootstrap servers")->required();
  prod->add_option("--topic", topic, "The requests topic")->required();
  prod->add_option("--requests", requests, "Requests at most; SIGTERM stops sooner")
      ->capture_default_str();
  prod->add_option("--rate", rate, "Requests per second")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  prod->add_option("--produced", produced_file, "Where to write the acknowledged request ids")
      ->required();
  prod->add_option("--tenant", tenant, "The requests' tenant")->capture_default_str();
  prod->add_option("--prefix", prefix, "Request ids are PREFIX-N")->capture_default_str();

  auto* aud = cli.add_subcommand("audit", "The results topic against the requests and calls");
  std::string results_topic;
  std::vector<std::string> produced_files;
  std::vector<std::string> calls_files;
  std::string kills_file;
  int wait_s = 0;
  aud->add_option("--bootstrap", bootstrap, "Kafka bootstrap servers")->required();
  aud->add_option("--results", results_topic, "The results topic")->required();
  aud->add_option("--produced", produced_files, "Files of produced requests (produce --produced)")
      ->required()
      ->check(CLI::ExistingFile);
  aud->add_option("--calls", calls_files, "Files of accepted calls (simulate --calls)")
      ->required()
      ->check(CLI::ExistingFile);
  aud->add_option("--kills", kills_file, "A file of kill times, unix ms, one a line")
      ->check(CLI::ExistingFile);
  aud->add_option("--wait", wait_s,
                  "Seconds to keep reading while a produced request has no result")
      ->capture_default_str();
  auto* rep = cli.add_subcommand("repeat", "One committed result written again");
  rep->add_option("--bootstrap", bootstrap, "Kafka bootstrap servers")->required();
  rep->add_option("--results", results_topic, "The results topic")->required();
  CLI11_PARSE(cli, argc, argv);

  if (*sim) return simulate(port_file, calls_file, api_key, delay_ms);
  if (*prod) return produce(bootstrap, topic, requests, rate, produced_file, tenant, prefix);
  if (*rep) return repeat_result(bootstrap, results_topic);
  return audit(bootstrap, results_topic, produced_files, calls_files, kills_file, wait_s);
}
