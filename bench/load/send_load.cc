// mailhook_send_load: the sender's throughput end to end. It starts a Mail Send simulator
// (tests/support, answering 202 after --api-latency, as SendGrid would after its own
// processing), the real `mailhook serve` with one integration pointing at it, puts
// --requests SendRequests on a fresh requests topic of the given broker, and waits for
// every result on the results topic.
//
// Two modes: a backlog (--rate 0, the default) measures how fast the sender drains
// requests that are already waiting; --rate R produces R requests/s and measures each
// request's latency, from its created_at_ms to its result's finished_at_ms.
//
// Prints requests/s, API calls/s, latency quantiles, and the daemon's CPU per request.
#include <librdkafka/rdkafka.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

#include "common/clock.h"
#include "load/daemon_monitor.h"
#include "load/latency_histogram.h"
#include "mailhook/v1/send.pb.h"
#include "support/daemon.h"
#include "support/kafka_reader.h"
#include "support/mail_send_simulator.h"

namespace {

using namespace std::chrono_literals;
using namespace mailhook;

struct options {
  std::string kafka;
  int requests = 20'000;
  int recipients = 1;
  double rate = 0;
  int api_latency_ms = 100;
  int concurrency = 32;
  int max_batch = 500;
  int timeout_s = 600;
};

mailhook::v1::SendRequest make_request(int n, int recipients) {
  mailhook::v1::SendRequest r;
  r.set_request_id("load-" + std::to_string(n));
  r.set_tenant("acme");
  for (int i = 0; i < recipients; ++i) {
    r.add_to()->set_email("reader" + std::to_string(n) + "." + std::to_string(i) + "@example.com");
  }
  r.set_subject("Your weekly digest");
  auto* content = r.add_content();
  content->set_type("text/html");
  content->set_value(std::string(2000, 'x'));
  (*r.mutable_custom_args())["campaign"] = "digest-48";
  return r;
}

int run(const options& o) {
  testing::mail_send_simulator_options sim_options;
  sim_options.api_keys = {"SG.load"};
  sim_options.response_delay = std::chrono::milliseconds(o.api_latency_ms);
  testing::mail_send_simulator sim(sim_options);

  testing::temp_dir dir;
  auto key_file = dir.path() / "key";
  std::ofstream(key_file) << "SG.load\n";
  auto requests_topic = testing::unique_topic("load-requests");
  auto results_topic = testing::unique_topic("load-results");
  // A sender identity of its own: a static member that rejoins under an old identity gets
  // its old assignment back, whatever topic it now subscribes to.
  auto identity = testing::unique_topic("load-sender");
  std::string toml =
      "[topics.send_requests]\nname = \"" + requests_topic +
      "\"\npartitions = 12\n"
      "[topics.send_results]\nname = \"" +
      results_topic +
      "\"\npartitions = 12\n"
      "[topics.send_ledger]\nname = \"" +
      testing::unique_topic("load-ledger") +
      "\"\npartitions = 12\n"
      "[topics.suppressions]\nname = \"" +
      testing::unique_topic("load-suppressions") +
      "\"\npartitions = 12\ncompacted = true\n"
      "[sender]\ngroup_id = \"" +
      identity + "\"\ntransactional_id = \"" + identity +
      "\"\nmax_batch = " + std::to_string(o.max_batch) +
      "\nmax_batch_wait = \"20ms\"\n"
      "[integrations.load]\ntenant = \"acme\"\napi_key_file = \"" +
      key_file.string() +
      "\"\nfrom_email = \"news@acme.example\"\nreply_to_email = \"help@acme.example\"\n"
      "concurrency = " +
      std::to_string(o.concurrency) + "\napi_url = \"" + sim.url() + "\"\n";
  testing::daemon d(o.kafka, toml, {"--roles", "index,sender"});
  if (!d.wait_for_readyz(200, 120s)) {
    std::fprintf(stderr, "the daemon did not become ready:\n%s\n", d.output().c_str());
    return 1;
  }

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", o.kafka.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  rd_kafka_topic_t* topic = rd_kafka_topic_new(producer, requests_topic.c_str(), nullptr);

  std::vector<std::int64_t> created(static_cast<std::size_t>(o.requests));
  auto produce_all = [&] {
    auto start = std::chrono::steady_clock::now();
    for (int n = 0; n < o.requests; ++n) {
      if (o.rate > 0) {
        std::this_thread::sleep_until(
            start + std::chrono::microseconds(static_cast<std::int64_t>(n * 1e6 / o.rate)));
      }
      auto request = make_request(n, o.recipients);
      request.set_created_at_ms(unix_ms());
      created[static_cast<std::size_t>(n)] = request.created_at_ms();
      auto value = request.SerializeAsString();
      while (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value.data(),
                              value.size(), request.request_id().data(),
                              request.request_id().size(), nullptr) != 0) {
        rd_kafka_poll(producer, 10);
      }
      rd_kafka_poll(producer, 0);
    }
    rd_kafka_flush(producer, 60'000);
  };
  // A backlog is in Kafka before the clock starts; a rate runs alongside.
  if (o.rate <= 0) produce_all();
  auto started = std::chrono::steady_clock::now();
  load::daemon_monitor monitor(d.proc().pid(), started);
  std::thread paced;
  if (o.rate > 0) paced = std::thread(produce_all);

  load::latency_histogram latency;
  std::set<std::string> seen;
  std::size_t sent = 0;
  auto records = testing::read_topic_until(
      o.kafka, results_topic,
      [&](const std::vector<testing::kafka_record>& so_far) {
        return so_far.size() >= static_cast<std::size_t>(o.requests);
      },
      std::chrono::seconds(o.timeout_s));
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auto usage = monitor.finish();
  if (paced.joinable()) paced.join();
  for (const auto& record : records) {
    mailhook::v1::SendResult result;
    if (!result.ParseFromString(record.value) || !seen.insert(result.request_id()).second) continue;
    if (result.status() == mailhook::v1::SEND_STATUS_SENT) ++sent;
    auto n = std::stoul(result.request_id().substr(5));  // "load-N"
    if (n < created.size() && result.finished_at_ms() >= created[n]) {
      latency.record(static_cast<std::uint64_t>(result.finished_at_ms() - created[n]) * 1'000'000);
    }
  }
  rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(producer);

  if (seen.size() < static_cast<std::size_t>(o.requests)) {
    std::fprintf(stderr, "only %zu results of %d; the daemon's output:\n%s\n", seen.size(),
                 o.requests, d.output().c_str());
  }
  std::printf("requests: %d (%d recipients each), results: %zu, sent: %zu, API calls: %zu\n",
              o.requests, o.recipients, seen.size(), sent, sim.call_count());
  std::printf("elapsed: %.2f s, %.0f requests/s, %.0f recipients/s\n", elapsed,
              static_cast<double>(seen.size()) / elapsed,
              static_cast<double>(seen.size()) * o.recipients / elapsed);
  std::printf("daemon CPU: %.1f µs per request, peak RSS %.0f MiB\n",
              static_cast<double>(usage.cpu.count()) / static_cast<double>(seen.size()),
              static_cast<double>(usage.peak_rss_bytes) / (1024.0 * 1024.0));
  if (o.rate > 0) {
    std::printf("latency, request created to result: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
                static_cast<double>(latency.quantile(0.5)) / 1e6,
                static_cast<double>(latency.quantile(0.99)) / 1e6,
                static_cast<double>(latency.max()) / 1e6);
  }
  return seen.size() == static_cast<std::size_t>(o.requests) && sent == seen.size() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App cli{"mailhook_send_load: sender throughput against a Mail Send simulator"};
  cli.add_option("--kafka", o.kafka, "Bootstrap servers of a running broker")->required();
  cli.add_option("--requests", o.requests, "Send requests to produce")->capture_default_str();
  cli.add_option("--recipients", o.recipients, "Recipients per request")->capture_default_str();
  cli.add_option("--rate", o.rate, "Requests per second; 0 = all at once, before the clock")
      ->capture_default_str();
  cli.add_option("--api-latency", o.api_latency_ms, "Simulated Mail Send latency, ms")
      ->capture_default_str();
  cli.add_option("--concurrency", o.concurrency, "The integration's concurrency")
      ->capture_default_str();
  cli.add_option("--max-batch", o.max_batch, "sender.max_batch")->capture_default_str();
  cli.add_option("--timeout", o.timeout_s, "Seconds to wait for every result")
      ->capture_default_str();
  CLI11_PARSE(cli, argc, argv);
  return run(o);
}
