// The suppression index end to end: the real mailhook binary (ingest, policy, index),
// the real shared broker. What SendGrid reports through the webhook becomes a verdict
// of the admin API; the index survives restarts and rebuilds from the changelog alone;
// the policy role applies every change exactly once through a kill -9 and through being
// fenced by another producer with its transactional id; soft-bounce counts survive a
// kill -9 and a move to another member; an index that cannot write is not ready and
// answers no lookup with "allowed".
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <set>
#include <thread>

#include "kafka/client.h"
#include "support/daemon.h"
#include "support/eventually.h"
#include "support/kafka_reader.h"

namespace mailhook::testing {
namespace {

using namespace std::chrono_literals;

std::string bounce(const std::string& email, std::int64_t timestamp, const std::string& id) {
  return R"({"email":")" + email + R"(","event":"bounce","type":"bounce","status":"5.1.1",)" +
         R"("bounce_classification":"Invalid Address","timestamp":)" + std::to_string(timestamp) +
         R"(,"sg_event_id":")" + id + R"("})";
}

std::string group_event(const std::string& name, const std::string& email, int group,
                        std::int64_t timestamp, const std::string& id) {
  return R"({"email":")" + email + R"(","event":")" + name + R"(","asm_group_id":)" +
         std::to_string(group) + R"(,"timestamp":)" + std::to_string(timestamp) +
         R"(,"sg_event_id":")" + id + R"("})";
}

std::string batch(const std::vector<std::string>& events) {
  std::string body = "[";
  for (std::size_t i = 0; i < events.size(); ++i) body += (i ? ",\r\n" : "") + events[i];
  return body + "]\r\n";
}

// Topics, state directory and policy identity of one test, shared by every daemon the
// test starts (a restart is a new process with the same configuration).
class suppression_index : public ::testing::Test {
 protected:
  void SetUp() override {
    events_ = unique_topic("events");
    changelog_ = unique_topic("suppressions");
    identity_ = unique_topic("policy");
    member_ = identity_;
    soft_bounces_ = unique_topic("soft-bounces");
  }

  std::string toml(const std::string& policy_extra = "") const {
    return "[topics.events]\nname = \"" + events_ + "\"\npartitions = 3\n\n" +
           "[topics.suppressions]\nname = \"" + changelog_ + "\"\npartitions = 3\n\n" +
           "[topics.soft_bounces]\nname = \"" + soft_bounces_ + "\"\n\n" + kafka_extra_ + "\n" +
           "[index]\ndir = \"" + (state_.path() / "index").string() + "\"\n" + index_extra_ + "\n" +
           "[policy]\ngroup_id = \"" + identity_ + "\"\ntransactional_id = \"" + member_ +
           "\"\nmax_batch_wait = \"20ms\"\n" + policy_extra + "\n" +
           "[sources.open]\ntenant = \"acme\"\nallow_unauthenticated = true\n";
  }

  std::unique_ptr<daemon> start(const std::vector<std::string>& args = {},
                                const std::string& policy_extra = "") const {
    auto d = std::make_unique<daemon>(shared_kafka_bootstrap(), toml(policy_extra), args);
    EXPECT_TRUE(d->wait_for_readyz(200, 60s)) << d->admin_get("/readyz").body << d->output();
    return d;
  }

  static void post(const daemon& d, const std::string& body) {
    http_client client("127.0.0.1", d.webhook_port());
    auto r = client.post("/webhooks/sendgrid/open", body, {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  static std::string check(const daemon& d, const std::string& email,
                           const std::string& group = "") {
    return d
        .admin_get("/v1/suppressions/check?tenant=acme&email=" + email +
                   (group.empty() ? "" : "&group=" + group))
        .body;
  }

  static bool suppressed(const daemon& d, const std::string& email, const std::string& group = "") {
    return check(d, email, group).find(R"("allowed":false)") != std::string::npos;
  }

  static std::string export_all(const daemon& d) {
    return d.admin_get("/v1/suppressions/export?tenant=acme&state=all").body;
  }

  temp_dir state_;
  std::string index_extra_;  // lines added to [index]
  std::string events_;
  std::string changelog_;
  std::string identity_;  // the policy's consumer group
  std::string member_;    // the policy's transactional id and group.instance.id
  std::string soft_bounces_;
  std::string kafka_extra_;  // a [kafka.properties] table
};

TEST_F(suppression_index, a_hard_bounce_posted_to_the_webhook_is_suppressed_within_seconds) {
  auto d = start();
  EXPECT_FALSE(suppressed(*d, "bob@example.com"));
  post(*d, batch({bounce("Bob@Example.com", 1'700'000'000, "b1")}));
  ASSERT_TRUE(eventually([&] { return suppressed(*d, "bob@example.com"); }, 10s))
      << check(*d, "bob@example.com") << d->output();
  auto verdict = check(*d, "BOB@example.com");
  EXPECT_NE(verdict.find(R"("scope":"global","reason":"bounce","origin":"event")"),
            std::string::npos)
      << verdict;
  EXPECT_NE(verdict.find(R"("detail":"Invalid Address 5.1.1","since_ms":1700000000000)"),
            std::string::npos)
      << verdict;
  // Another tenant's address of the same name is not touched.
  EXPECT_NE(d->admin_get("/v1/suppressions/check?tenant=other&email=bob@example.com")
                .body.find(R"("allowed":true)"),
            std::string::npos);
  // The bounce count per tenant: the stats endpoint and the metric.
  EXPECT_NE(d->admin_get("/v1/suppressions/stats?tenant=acme").body.find(R"("bounce":1)"),
            std::string::npos);
  EXPECT_EQ(d->metric(R"(mailhook_index_entries{tenant="acme",scope="global",reason="bounce"})"),
            1);
  EXPECT_EQ(d->metric(R"(mailhook_policy_changes_total{reason="bounce",state="suppressed"})"), 1);
  // The policy's transaction left a commit marker after its change; a replica that has
  // read to the end is not behind by it.
  EXPECT_TRUE(eventually([&] { return d->metric("mailhook_index_changelog_lag") == 0; }, 10s))
      << d->metric("mailhook_index_changelog_lag");
  // The only member of its group holds every partition of the events topic.
  EXPECT_TRUE(
      eventually([&] { return d->metric("mailhook_policy_assigned_partitions") == 3; }, 10s))
      << d->metric("mailhook_policy_assigned_partitions");
}

TEST_F(suppression_index, group_resubscribe_clears_only_its_group_and_late_events_lose) {
  auto d = start();
  post(*d, batch({group_event("group_unsubscribe", "c@x.com", 1, 1000, "u1"),
                  group_event("group_unsubscribe", "c@x.com", 2, 1000, "u2")}));
  ASSERT_TRUE(eventually([&] { return suppressed(*d, "c@x.com", "2"); }, 10s)) << d->output();
  ASSERT_TRUE(suppressed(*d, "c@x.com", "1"));
  EXPECT_FALSE(suppressed(*d, "c@x.com"));  // no global suppression

  // The resubscribe to group 1, and an unsubscribe from group 1 older than it that
  // arrives after it (SendGrid does not keep order).
  post(*d, batch({group_event("group_resubscribe", "c@x.com", 1, 2000, "r1")}));
  post(*d, batch({group_event("group_unsubscribe", "c@x.com", 1, 1500, "late")}));
  ASSERT_TRUE(eventually([&] { return !suppressed(*d, "c@x.com", "1"); }, 10s)) << d->output();
  // Give the late event time to be processed, then check it changed nothing.
  ASSERT_TRUE(eventually(
      [&] { return d->metric(R"(mailhook_policy_events_total{result="superseded"})") >= 1; }, 10s));
  EXPECT_FALSE(suppressed(*d, "c@x.com", "1"));
  EXPECT_TRUE(suppressed(*d, "c@x.com", "2"));
}

TEST_F(suppression_index, a_restarted_index_resumes_and_a_deleted_one_rebuilds_the_same) {
  std::vector<std::string> events;
  for (int i = 0; i < 50; ++i) {
    events.push_back(
        bounce("user" + std::to_string(i) + "@x.com", 1000 + i, "e" + std::to_string(i)));
  }
  events.push_back(group_event("group_unsubscribe", "g@x.com", 9, 1000, "g1"));
  events.push_back(group_event("group_resubscribe", "g@x.com", 9, 2000, "g2"));
  std::string before;
  {
    auto d = start();
    post(*d, batch(events));
    ASSERT_TRUE(eventually([&] { return d->metric("mailhook_index_keys") == 51; }, 15s))
        << d->output();
    auto manual = d->admin_write(boost::beast::http::verb::post, "/v1/suppressions",
                                 R"({"tenant":"acme","email":"m@x.com"})");
    ASSERT_EQ(manual.status, 202) << manual.body;
    ASSERT_TRUE(eventually([&] { return d->metric("mailhook_index_keys") == 52; }, 10s));
    before = export_all(*d);
    ASSERT_EQ(d->stop(), 0);
  }
  ASSERT_EQ(std::count(before.begin(), before.end(), '\n'), 52) << before;

  {
    // Restart: the replica opens with its keys and resumes from its stored offsets.
    auto d = start({"--roles", "index"});
    EXPECT_NE(d->output().find("with 52 keys"), std::string::npos) << d->output();
    EXPECT_EQ(d->output().find("from the beginning"), std::string::npos) << d->output();
    // Nothing applied again (the sample is absent until something is).
    EXPECT_LE(d->metric(R"(mailhook_index_records_total{result="applied"})"), 0);
    EXPECT_TRUE(suppressed(*d, "user7@x.com"));
    EXPECT_EQ(export_all(*d), before);
    ASSERT_EQ(d->stop(), 0);
  }

  std::filesystem::remove_all(state_.path() / "index");
  {
    // Deleted: rebuilt from the changelog alone, to the same contents.
    auto d = start({"--roles", "index"});
    EXPECT_NE(d->output().find("from the beginning"), std::string::npos) << d->output();
    EXPECT_EQ(d->metric("mailhook_index_keys"), 52);
    EXPECT_EQ(export_all(*d), before);
    EXPECT_TRUE(suppressed(*d, "m@x.com"));
    EXPECT_FALSE(suppressed(*d, "g@x.com", "9"));
  }
}

TEST_F(suppression_index, a_bootstrap_sizes_the_in_memory_table_once_for_the_whole_changelog) {
  constexpr int total = 20'000;
  std::string csv = "email,created,reason,status\n";
  for (int i = 0; i < total; ++i) {
    csv += "user" + std::to_string(i) + "@x.com,1700000000,mailbox does not exist,5.1.1\n";
  }
  auto files = state_.write("bounces.csv", csv);
  auto cli_config = state_.write(
      "cli.toml", "[kafka]\nbootstrap_servers = \"" + shared_kafka_bootstrap() + "\"\n\n" + toml());
  {
    auto d = start({"--roles", "index"});
    auto imported =
        run({mailhook_binary(), "suppressions", "import", "--config", cli_config.string(),
             "--tenant", "acme", "--kind", "bounces", "--note", "bootstrap test", files.string()});
    ASSERT_EQ(imported.status, 0) << imported.output;
    ASSERT_TRUE(eventually([&] { return d->metric("mailhook_index_keys") == total; }, 30s))
        << d->output();
  }

  // A new replica sized for 1000 keys reads the 20,000 records: it makes room for them
  // once, at the start, instead of doubling its table five times on the way.
  auto fresh = state_.path() / "fresh-index";
  auto d = std::make_unique<daemon>(
      shared_kafka_bootstrap(),
      std::regex_replace(toml(), std::regex("\\[index\\]\ndir = \"[^\"]*\""),
                         "[index]\ndir = \"" + fresh.string() + "\"\nexpected_keys = 1000"),
      std::vector<std::string>{"--roles", "index"});
  ASSERT_TRUE(d->wait_for_readyz(200, 60s)) << d->output();
  ASSERT_TRUE(eventually([&] { return d->metric("mailhook_index_keys") == total; }, 30s))
      << d->output();
  EXPECT_NE(d->output().find("20000 changelog records to read"), std::string::npos) << d->output();
  // Compactions paused for the catch-up and resumed once it was done.
  EXPECT_NE(d->output().find("index: compactions resume"), std::string::npos) << d->output();
  // 16-byte slots, a power of two at most 70% full: 2048 slots for 1000 keys, then 32768
  // for 20,000. Growing one doubling at a time would have made 2048 + 4096 + ... + 32768.
  EXPECT_EQ(d->metric("mailhook_index_table_bytes"), 16 * (2048 + 32768));
  EXPECT_TRUE(suppressed(*d, "user19999@x.com"));
}

TEST_F(suppression_index, kill_9_of_the_policy_mid_stream_applies_every_change_exactly_once) {
  constexpr int batches = 20;
  constexpr int per_batch = 250;
  constexpr int total = batches * per_batch;
  // The events go in through an ingest-only daemon, all of them before the policy runs.
  auto ingest = std::make_unique<daemon>(shared_kafka_bootstrap(), toml(),
                                         std::vector<std::string>{"--roles", "ingest"});
  ASSERT_TRUE(ingest->wait_for_readyz(200, 60s)) << ingest->output();
  std::vector<std::string> bodies;
  for (int b = 0; b < batches; ++b) {
    std::vector<std::string> events;
    for (int i = 0; i < per_batch; ++i) {
      int n = b * per_batch + i;
      events.push_back(
          bounce("u" + std::to_string(n) + "@x.com", 1000 + n, "e" + std::to_string(n)));
    }
    bodies.push_back(batch(events));
    post(*ingest, bodies.back());
  }
  // SendGrid retries: the first batches arrive twice.
  post(*ingest, bodies[0]);
  post(*ingest, bodies[1]);

  // Small transactions, so that the kill lands between and inside them.
  const std::string small = "max_batch = 50\n";
  {
    auto policy = std::make_unique<daemon>(shared_kafka_bootstrap(), toml(small),
                                           std::vector<std::string>{"--roles", "policy,index"});
    double keys_at_kill = 0;
    ASSERT_TRUE(eventually(
        [&] {
          keys_at_kill = policy->metric("mailhook_index_keys");
          return keys_at_kill >= 200;
        },
        60s))
        << policy->output();
    policy->proc().signal(SIGKILL);
    // Mid-stream: most of the changes were still to come.
    EXPECT_LT(keys_at_kill, total / 2);

    ASSERT_EQ(policy->proc().wait(10s), 128 + SIGKILL);
  }
  auto policy = std::make_unique<daemon>(shared_kafka_bootstrap(), toml(small),
                                         std::vector<std::string>{"--roles", "policy,index"});
  ASSERT_TRUE(eventually([&] { return policy->metric("mailhook_index_keys") == total; }, 90s))
      << policy->metric("mailhook_index_keys") << "\n"
      << policy->output();

  // The changelog, read committed: one record per address, none twice.
  auto records = read_topic(shared_kafka_bootstrap(), changelog_, total + 1, 5s);
  std::set<std::string> keys;
  for (const auto& r : records) keys.insert(r.key);
  EXPECT_EQ(keys.size(), static_cast<std::size_t>(total));
  EXPECT_EQ(records.size(), static_cast<std::size_t>(total));
  auto stats = policy->admin_get("/v1/suppressions/stats?tenant=acme").body;
  EXPECT_NE(stats.find(R"("bounce":)" + std::to_string(total)), std::string::npos) << stats;
}

// Another producer that takes the policy's transactional id (a second instance started
// with the same configuration) fences it: its next transaction cannot commit.
void fence_transactional_id(const std::string& transactional_id) {
  config::kafka_config kafka;
  kafka.bootstrap_servers = shared_kafka_bootstrap();
  auto conf = kafka::make_conf(kafka, {{"transactional.id", transactional_id}});
  ASSERT_TRUE(conf) << conf.error().describe();
  auto rival = kafka::make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  ASSERT_TRUE(rival) << rival.error().describe();
  rd_kafka_error_t* failed = rd_kafka_init_transactions(rival->get(), 30000);
  EXPECT_EQ(failed, nullptr) << rd_kafka_error_string(failed);
  if (failed != nullptr) rd_kafka_error_destroy(failed);
}

TEST_F(suppression_index, a_fenced_policy_aborts_its_batch_and_applies_it_once_after_rejoining) {
  constexpr int per_batch = 50;
  auto bounces = [](int first) {
    std::vector<std::string> events;
    for (int n = first; n < first + per_batch; ++n) {
      events.push_back(
          bounce("f" + std::to_string(n) + "@x.com", 1000 + n, "f" + std::to_string(n)));
    }
    return batch(events);
  };
  auto d = start({"--roles", "ingest,policy,index"});
  post(*d, bounces(0));
  ASSERT_TRUE(eventually([&] { return d->metric("mailhook_index_keys") == per_batch; }, 30s))
      << d->output();

  fence_transactional_id(identity_);
  post(*d, bounces(per_batch));
  ASSERT_TRUE(eventually([&] { return d->metric("mailhook_index_keys") == 2 * per_batch; }, 60s))
      << d->metric("mailhook_index_keys") << "\n"
      << d->output();
  EXPECT_GE(d->metric(R"(mailhook_policy_transactions_total{result="aborted"})"), 1) << d->output();
  EXPECT_NE(d->output().find("batch not committed"), std::string::npos) << d->output();

  // Read committed, the changelog holds each change once: the aborted attempt's records
  // are invisible, the retry's are there.
  auto records = read_topic(shared_kafka_bootstrap(), changelog_, 2 * per_batch + 1, 5s);
  std::set<std::string> keys;
  for (const auto& r : records) keys.insert(r.key);
  EXPECT_EQ(keys.size(), static_cast<std::size_t>(2 * per_batch));
  EXPECT_EQ(records.size(), static_cast<std::size_t>(2 * per_batch));
}

TEST_F(suppression_index, over_its_disk_limit_the_index_is_not_ready_and_never_answers_allowed) {
  {
    auto d = start({"--roles", "index"});
    auto manual = d->admin_write(boost::beast::http::verb::post, "/v1/suppressions",
                                 R"({"tenant":"acme","email":"m@x.com"})");
    ASSERT_EQ(manual.status, 202) << manual.body;
    ASSERT_TRUE(eventually([&] { return suppressed(*d, "m@x.com"); }, 10s)) << d->output();
    ASSERT_EQ(d->stop(), 0);
  }
  // A new replica whose limit its first write already passes: it cannot keep the one
  // change, so it knows nothing, and must not say "allowed" about anyone.
  std::filesystem::remove_all(state_.path() / "index");
  index_extra_ = "max_disk = 1\n";
  {
    daemon d(shared_kafka_bootstrap(), toml(), {"--roles", "index"});
    ASSERT_TRUE(eventually([&] { return d.metric("mailhook_index_stalled") == 1; }, 30s))
        << d.output();
    auto ready = d.admin_get("/readyz");
    EXPECT_EQ(ready.status, 503);
    EXPECT_NE(ready.body.find("over index.max_disk"), std::string::npos) << ready.body;
    for (const auto* email : {"m@x.com", "never-seen@x.com"}) {
      auto answer = d.admin_get(std::string("/v1/suppressions/check?tenant=acme&email=") + email);
      EXPECT_EQ(answer.status, 503) << answer.body;
      EXPECT_NE(answer.body.find("index_not_current"), std::string::npos) << answer.body;
    }
    auto batch_answer = d.admin_write(boost::beast::http::verb::post, "/v1/suppressions/check",
                                      R"({"tenant":"acme","emails":["m@x.com"]})");
    EXPECT_EQ(batch_answer.status, 503) << batch_answer.body;
    EXPECT_NE(d.output().find("tries again every second"), std::string::npos) << d.output();
    ASSERT_EQ(d.stop(), 0);
  }
  // Room again (here: the limit lifted): the same replica keeps the change and answers.
  index_extra_.clear();
  auto d = start({"--roles", "index"});
  EXPECT_TRUE(suppressed(*d, "m@x.com")) << check(*d, "m@x.com");
  EXPECT_EQ(d->metric("mailhook_index_stalled"), 0);
}

}  // namespace
}  // namespace mailhook::testing

namespace mailhook::testing {
namespace {

std::string soft_bounce(const std::string& email, std::int64_t timestamp, const std::string& id) {
  return R"({"email":")" + email + R"(","event":"bounce","type":"blocked","status":"4.7.1",)" +
         R"("timestamp":)" + std::to_string(timestamp) + R"(,"sg_event_id":")" + id + R"("})";
}

TEST_F(suppression_index, soft_bounce_counts_survive_a_kill_9_and_a_move_to_another_member) {
  // A member that dies holds its partitions until its session ends: 6 s, the broker's least.
  kafka_extra_ = "[kafka.properties]\n\"session.timeout.ms\" = \"6000\"\n";
  const std::string three_within_a_day =
      "soft_bounce_threshold = 3\nsoft_bounce_window = \"24h\"\n";
  auto ingest = std::make_unique<daemon>(shared_kafka_bootstrap(), toml(),
                                         std::vector<std::string>{"--roles", "ingest"});
  ASSERT_TRUE(ingest->wait_for_readyz(200, 60s)) << ingest->output();
  auto start_policy = [&] {
    auto p = std::make_unique<daemon>(shared_kafka_bootstrap(), toml(three_within_a_day),
                                      std::vector<std::string>{"--roles", "policy,index"});
    EXPECT_TRUE(p->wait_for_readyz(200, 60s)) << p->output();
    return p;
  };
  const std::string below = R"(mailhook_policy_events_total{result="below_threshold"})";

  // The first soft bounce, counted by member A, which is then killed.
  auto a = start_policy();
  post(*ingest, batch({soft_bounce("carol@example.com", 1'700'000'000, "s1")}));
  ASSERT_TRUE(eventually([&] { return a->metric(below) == 1; }, 30s)) << a->output();
  a->proc().signal(SIGKILL);
  ASSERT_EQ(a->proc().wait(10s), 128 + SIGKILL);

  // A again: it reads the history back; the second bounce makes two, still below.
  a = start_policy();
  post(*ingest, batch({soft_bounce("carol@example.com", 1'700'000'100, "s2")}));
  ASSERT_TRUE(eventually([&] { return a->metric(below) == 1; }, 30s)) << a->output();
  EXPECT_EQ(a->metric("mailhook_policy_soft_bounce_addresses"), 1) << a->output();
  EXPECT_FALSE(suppressed(*a, "carol@example.com"));
  a->proc().signal(SIGKILL);
  ASSERT_EQ(a->proc().wait(10s), 128 + SIGKILL);

  // Member B (another host) takes every partition once A's session has ended; the third
  // bounce is the third it counts.
  member_ = unique_topic("policy-b");
  auto b = start_policy();
  ASSERT_TRUE(
      eventually([&] { return b->metric("mailhook_policy_assigned_partitions") == 3; }, 60s))
      << b->output();
  post(*ingest, batch({soft_bounce("carol@example.com", 1'700'000'200, "s3")}));
  ASSERT_TRUE(eventually([&] { return suppressed(*b, "carol@example.com"); }, 30s))
      << check(*b, "carol@example.com") << b->output();
  auto verdict = check(*b, "carol@example.com");
  EXPECT_NE(verdict.find(R"("reason":"soft_bounce")"), std::string::npos) << verdict;
  EXPECT_NE(verdict.find("3 soft bounces"), std::string::npos) << verdict;
  EXPECT_EQ(b->metric(below), -1) << b->output();  // nothing of it was below the threshold
}

}  // namespace
}  // namespace mailhook::testing
