// The real `mailhook serve` against the shared broker: the admin listener's probes and
// a metrics exposition that Prometheus' own promtool accepts; a clean exit on SIGTERM;
// threads that tell what they do.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "support/daemon.h"

namespace mailhook::testing {
namespace {

using namespace std::chrono_literals;

TEST(daemon_admin, healthz_answers_ok) {
  daemon d(shared_kafka_bootstrap());
  auto r = d.admin_get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ok"})");
}

TEST(daemon_admin, readyz_turns_ready_once_kafka_answers_and_topics_exist) {
  daemon d(shared_kafka_bootstrap());
  ASSERT_TRUE(d.wait_for_readyz(200, 60s)) << d.admin_get("/readyz").body << "\n" << d.output();
  auto r = d.admin_get("/readyz");
  EXPECT_EQ(r.body, R"({"ready":true,"checks":{"kafka":"ok","topics":"ok","index":"ok",)"
                    R"("policy":"ok","sender":"ok","ingest":"ok"}})");
}

TEST(daemon_admin, readyz_lists_only_the_roles_that_run) {
  daemon d(shared_kafka_bootstrap(), "", {"--roles", "ingest"});
  ASSERT_TRUE(d.wait_for_readyz(200, 60s)) << d.admin_get("/readyz").body << "\n" << d.output();
  auto r = d.admin_get("/readyz");
  EXPECT_EQ(r.body, R"({"ready":true,"checks":{"kafka":"ok","topics":"ok","ingest":"ok"}})");
  // Without the index role there is no suppression API.
  EXPECT_EQ(d.admin_get("/v1/suppressions/check?tenant=a&email=b@c").status, 404);
}

TEST(daemon_admin, metrics_pass_promtool_check) {
  daemon d(shared_kafka_bootstrap());
  ASSERT_TRUE(d.wait_for_readyz(200, 60s));
  auto r = d.admin_get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  for (const char* expected :
       {"mailhook_kafka_up 1", "mailhook_build_info{version=", "process_resident_memory_bytes",
        "process_open_fds", "process_start_time_seconds",
        "mailhook_http_connections_open{listener=\"admin\"}"}) {
    EXPECT_NE(r.body.find(expected), std::string::npos) << "missing " << expected << " in\n"
                                                        << r.body;
  }
  temp_dir dir;
  auto file = dir.write("metrics.txt", r.body);
  auto check = run({"/bin/sh", "-c", "promtool check metrics < '" + file.string() + "'"});
  EXPECT_EQ(check.status, 0) << check.output;
  EXPECT_EQ(check.output, "") << "promtool complained:\n" << check.output;
}

// The kernel's names of a process's threads (what top -H, ps -L and perf show), counted.
std::map<std::string, int> thread_names(pid_t pid) {
  std::map<std::string, int> names;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name)) ++names[name];
  }
  return names;
}

TEST(daemon_admin, every_thread_says_what_it_does) {
  daemon d(shared_kafka_bootstrap());
  ASSERT_TRUE(d.wait_for_readyz(200, 60s)) << d.admin_get("/readyz").body << "\n" << d.output();
  const auto names = thread_names(d.proc().pid());
  std::string listing;
  for (const auto& [name, count] : names) listing += name + " x" + std::to_string(count) + "\n";
  // The threads mailhook makes (librdkafka's are "rdk:...", RocksDB's "rocksdb:..."): a
  // profile by thread (perf --sort comm) or top -H then tells the listener from the
  // delivery reports from the roles.
  for (const char* expected :
       {"ingest-io-0", "app-io-0", "app-io-1", "kafka-reports", "kafka-partcount", "kafka-monitor",
        "kafka-follower", "policy", "send-requests"}) {
    EXPECT_TRUE(names.contains(expected)) << "no thread named " << expected << " in\n" << listing;
  }
}

TEST(daemon_admin, unknown_paths_and_methods_get_json_errors) {
  daemon d(shared_kafka_bootstrap());
  auto missing = d.admin_get("/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.headers["content-type"], "application/json");
  http_client client("127.0.0.1", d.admin_port());
  auto wrong_method = client.post("/metrics", "x");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.headers["allow"], "GET");
}

TEST(daemon_admin, sigterm_stops_cleanly_with_exit_0) {
  daemon d(shared_kafka_bootstrap());
  auto status = d.stop(30s);
  ASSERT_TRUE(status.has_value()) << "did not exit within 30 s\n" << d.output();
  EXPECT_EQ(*status, 0) << d.output();
  EXPECT_NE(d.output().find("stopped"), std::string::npos);
}

}  // namespace
}  // namespace mailhook::testing
