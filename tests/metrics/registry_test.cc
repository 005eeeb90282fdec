// Tests for the metrics registry and its text exposition format 0.0.4.
#include "metrics/registry.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "metrics/process_metrics.h"
#include "support/temp_dir.h"

namespace mailhook::metrics {
namespace {

TEST(registry, exposes_counters_with_help_type_and_samples) {
  registry r;
  r.counter("mailhook_events_total", "Events received.", {"tenant", "kind"})
      .with({"acme", "open"})
      .inc(3);
  r.counter("mailhook_events_total", "Events received.", {"tenant", "kind"})
      .with({"acme", "click"})
      .inc();
  r.counter("mailhook_batches_total", "Batches received.").get().inc(2.5);

  EXPECT_EQ(r.expose(),
            "# HELP mailhook_batches_total Batches received.\n"
            "# TYPE mailhook_batches_total counter\n"
            "mailhook_batches_total 2.5\n"
            "# HELP mailhook_events_total Events received.\n"
            "# TYPE mailhook_events_total counter\n"
            "mailhook_events_total{tenant=\"acme\",kind=\"click\"} 1\n"
            "mailhook_events_total{tenant=\"acme\",kind=\"open\"} 3\n");
}

TEST(registry, exposes_gauges_with_integers_plain_and_special_values_spelled_for_prometheus) {
  registry r;
  auto& g = r.gauge("mailhook_value", "Values.", {"case"});
  g.with({"int"}).set(42);
  g.with({"negative"}).set(-7);
  g.with({"fraction"}).set(0.1);
  g.with({"big_int"}).set(1e15);
  g.with({"huge"}).set(1e20);
  g.with({"tiny"}).set(1.5e-7);
  g.with({"small"}).set(0.0005);
  g.with({"enormous"}).set(1.25e300);
  g.with({"pos_inf"}).set(std::numeric_limits<double>::infinity());
  g.with({"neg_inf"}).set(-std::numeric_limits<double>::infinity());
  g.with({"nan"}).set(std::numeric_limits<double>::quiet_NaN());

  EXPECT_EQ(r.expose(),
            "# HELP mailhook_value Values.\n"
            "# TYPE mailhook_value gauge\n"
            "mailhook_value{case=\"big_int\"} 1000000000000000\n"
            "mailhook_value{case=\"enormous\"} 1.25e+300\n"
            "mailhook_value{case=\"fraction\"} 0.1\n"
            "mailhook_value{case=\"huge\"} 100000000000000000000\n"
            "mailhook_value{case=\"int\"} 42\n"
            "mailhook_value{case=\"nan\"} NaN\n"
            "mailhook_value{case=\"neg_inf\"} -Inf\n"
            "mailhook_value{case=\"negative\"} -7\n"
            "mailhook_value{case=\"pos_inf\"} +Inf\n"
            "mailhook_value{case=\"small\"} 0.0005\n"
            "mailhook_value{case=\"tiny\"} 1.5e-07\n");
}

TEST(registry, gauge_set_inc_dec_and_add) {
  registry r;
  auto& g = r.gauge("mailhook_queue_depth", "Queue depth.").get();
  g.set(10);
  g.inc();
  g.dec();
  g.dec();
  g.add(0.5);
  g.add(-2);
  EXPECT_DOUBLE_EQ(g.value(), 7.5);
}

TEST(registry, counter_adds_whole_and_fractional_increments) {
  registry r;
  auto& c = r.counter("mailhook_seconds_total", "Seconds.").get();
  c.inc();
  c.inc(2);
  c.inc(0.25);
  c.inc(0.5);
  EXPECT_DOUBLE_EQ(c.value(), 3.75);
}

TEST(registry, exposes_histograms_with_cumulative_buckets_inf_sum_and_count) {
  registry r;
  auto& h = r.histogram("mailhook_latency_seconds", "Latency.", {0.1, 0.5, 1}, {"route"});
  auto& post = h.with({"post"});
  post.observe(0.05);
  post.observe(0.1);  // A bound is inclusive: "le" means less than or equal.
  post.observe(0.3);
  post.observe(2);
  h.with({"get"});

  EXPECT_EQ(r.expose(),
            "# HELP mailhook_latency_seconds Latency.\n"
            "# TYPE mailhook_latency_seconds histogram\n"
            "mailhook_latency_seconds_bucket{route=\"get\",le=\"0.1\"} 0\n"
            "mailhook_latency_seconds_bucket{route=\"get\",le=\"0.5\"} 0\n"
            "mailhook_latency_seconds_bucket{route=\"get\",le=\"1\"} 0\n"
            "mailhook_latency_seconds_bucket{route=\"get\",le=\"+Inf\"} 0\n"
            "mailhook_latency_seconds_sum{route=\"get\"} 0\n"
            "mailhook_latency_seconds_count{route=\"get\"} 0\n"
            "mailhook_latency_seconds_bucket{route=\"post\",le=\"0.1\"} 2\n"
            "mailhook_latency_seconds_bucket{route=\"post\",le=\"0.5\"} 3\n"
            "mailhook_latency_seconds_bucket{route=\"post\",le=\"1\"} 3\n"
            "mailhook_latency_seconds_bucket{route=\"post\",le=\"+Inf\"} 4\n"
            "mailhook_latency_seconds_sum{route=\"post\"} 2.45\n"
            "mailhook_latency_seconds_count{route=\"post\"} 4\n");
}

TEST(registry, histogram_without_labels_and_explicit_inf_bound) {
  registry r;
  auto& h =
      r.histogram("mailhook_size_bytes", "Size.", {100, std::numeric_limits<double>::infinity()});
  h.get().observe(50);
  h.get().observe(std::numeric_limits<double>::quiet_NaN());  // Counted in +Inf, like Go.

  EXPECT_EQ(r.expose(),
            "# HELP mailhook_size_bytes Size.\n"
            "# TYPE mailhook_size_bytes histogram\n"
            "mailhook_size_bytes_bucket{le=\"100\"} 1\n"
            "mailhook_size_bytes_bucket{le=\"+Inf\"} 2\n"
            "mailhook_size_bytes_sum NaN\n"
            "mailhook_size_bytes_count 2\n");
}

TEST(registry, escapes_label_values) {
  registry r;
  r.counter("mailhook_odd_total", "Odd labels.", {"value"})
      .with({"back\\slash \"quoted\"\nnew line"})
      .inc();
  EXPECT_EQ(r.expose(),
            "# HELP mailhook_odd_total Odd labels.\n"
            "# TYPE mailhook_odd_total counter\n"
            "mailhook_odd_total{value=\"back\\\\slash \\\"quoted\\\"\\nnew line\"} 1\n");
}

TEST(registry, escapes_help_backslash_and_newline_but_not_quotes) {
  registry r;
  r.gauge("mailhook_help", "A \\ \"help\"\nsecond line").get();
  EXPECT_EQ(r.expose(),
            "# HELP mailhook_help A \\\\ \"help\"\\nsecond line\n"
            "# TYPE mailhook_help gauge\n"
            "mailhook_help 0\n");
}

TEST(registry, replaces_invalid_utf8_in_label_values_and_keeps_valid_utf8) {
  registry r;
  auto& f = r.gauge("mailhook_utf8", "UTF-8.", {"v"});
  f.with({"caf\xC3\xA9 \xE2\x82\xAC"}).set(1);  // é and the euro sign stay.
  f.with({"bad\xFFgood\xC3"}).set(2);           // A stray byte and a cut sequence.
  f.with({"\xED\xA0\x80surrogate"}).set(3);     // UTF-16 surrogates are not UTF-8.
  EXPECT_EQ(r.expose(),
            "# HELP mailhook_utf8 UTF-8.\n"
            "# TYPE mailhook_utf8 gauge\n"
            "mailhook_utf8{v=\"bad\xEF\xBF\xBDgood\xEF\xBF\xBD\"} 2\n"
            "mailhook_utf8{v=\"caf\xC3\xA9 \xE2\x82\xAC\"} 1\n"
            "mailhook_utf8{v=\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDsurrogate\"} 3\n");
}

TEST(registry, same_name_type_and_labels_returns_the_same_family_and_child) {
  registry r;
  auto& first = r.counter("mailhook_events_total", "Events.", {"tenant"});
  auto& second = r.counter("mailhook_events_total", "Other help is ignored.", {"tenant"});
  EXPECT_EQ(&first, &second);
  EXPECT_EQ(&first.with({"a"}), &second.with({"a"}));

  auto& h1 = r.histogram("mailhook_latency_seconds", "L.", default_latency_buckets());
  auto& h2 = r.histogram("mailhook_latency_seconds", "L.", default_latency_buckets());
  EXPECT_EQ(&h1, &h2);
}

TEST(registry, with_accepts_initializer_lists_vectors_of_strings_and_string_views) {
  registry r;
  auto& f = r.counter("mailhook_events_total", "Events.", {"tenant", "kind"});
  const std::vector<std::string> strings{"acme", "open"};
  const std::vector<std::string_view> views{"acme", "open"};
  auto& child = f.with({"acme", "open"});
  EXPECT_EQ(&child, &f.with(strings));
  EXPECT_EQ(&child, &f.with(views));
  EXPECT_NE(&child, &f.with({"acme", "click"}));
}

TEST(registry, child_references_stay_valid_while_the_family_grows) {
  registry r;
  auto& f = r.counter("mailhook_events_total", "Events.", {"tenant"});
  auto& kept = f.with({"kept"});
  kept.inc();
  for (int i = 0; i < 1000; ++i) f.with({std::to_string(i)}).inc();
  kept.inc();
  EXPECT_EQ(&kept, &f.with({"kept"}));
  EXPECT_EQ(kept.value(), 2);
}

TEST(registry, children_are_cache_line_aligned) {
  registry r;
  auto& f = r.gauge("mailhook_aligned", "Aligned.", {"i"});
  for (int i = 0; i < 8; ++i) {
    const auto address = reinterpret_cast<std::uintptr_t>(&f.with({std::to_string(i)}));
    EXPECT_EQ(address % cache_line_size, 0u);
  }
  EXPECT_EQ(alignof(counter), cache_line_size);
  EXPECT_EQ(alignof(histogram), cache_line_size);
}

TEST(registry, unlabelled_family_is_exported_at_zero_but_labelled_family_waits_for_a_child) {
  registry r;
  r.counter("mailhook_a_total", "A.");
  r.counter("mailhook_b_total", "B.", {"tenant"});
  EXPECT_EQ(r.expose(),
            "# HELP mailhook_a_total A.\n"
            "# TYPE mailhook_a_total counter\n"
            "mailhook_a_total 0\n");
}

TEST(registry, empty_registry_exposes_nothing) {
  registry r;
  EXPECT_EQ(r.expose(), "");
}

TEST(registry, concurrent_increments_from_several_threads_sum_exactly) {
  registry r;
  auto& whole = r.counter("mailhook_whole_total", "W.").get();
  auto& fraction = r.counter("mailhook_fraction_total", "F.").get();
  auto& g = r.gauge("mailhook_gauge", "G.").get();
  auto& h = r.histogram("mailhook_hist", "H.", {1, 2});
  auto& labelled = r.counter("mailhook_labelled_total", "L.", {"i"});

  constexpr int threads = 4;
  constexpr int per_thread = 100000;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto& mine = labelled.with({t % 2 == 0 ? "even" : "odd"});
      for (int i = 0; i < per_thread; ++i) {
        whole.inc();
        fraction.inc(0.5);  // Exact in binary, so the sum must be exact too.
        g.add(1);
        h.get().observe(static_cast<double>(i % 3));
        mine.inc();
      }
    });
  }
  for (auto& w : workers) w.join();

  constexpr double total = double{threads} * per_thread;
  EXPECT_EQ(whole.value(), total);
  EXPECT_EQ(fraction.value(), total / 2);
  EXPECT_EQ(g.value(), total);
  EXPECT_EQ(labelled.with({"even"}).value() + labelled.with({"odd"}).value(), total);
  const auto snap = h.get().collect();
  EXPECT_EQ(snap.count, static_cast<std::uint64_t>(total));
  EXPECT_EQ(snap.cumulative_counts.back(), snap.count);
}

// Mostly for TSan: scrapes, registrations, lookups and updates all at once.
TEST(registry, scrapes_while_other_threads_register_look_up_and_update) {
  registry r;
  r.add_collector([](collector_sink& sink) { sink.gauge("mailhook_collected", "C.").set(1); });
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < 2; ++t) {
    workers.emplace_back([&r, &stop, t] {
      for (int i = 0; !stop.load(); ++i) {
        r.counter("mailhook_events_total", "E.", {"tenant"}).with({std::to_string(i % 50)}).inc();
        r.histogram("mailhook_latency_seconds", "L.", {0.1, 1}).get().observe(0.01 * t);
        r.gauge("mailhook_gauge_" + std::to_string(i % 20), "G.").get().set(i);
      }
    });
  }
  std::string last;
  for (int scrape = 0; scrape < 50; ++scrape) last = r.expose();
  stop = true;
  for (auto& w : workers) w.join();
  EXPECT_NE(last.find("# TYPE mailhook_collected gauge\n"), std::string::npos);
}

TEST(registry, exponential_linear_and_default_buckets) {
  EXPECT_EQ(exponential_buckets(0.001, 2, 4), (std::vector<double>{0.001, 0.002, 0.004, 0.008}));
  EXPECT_EQ(linear_buckets(1, 2, 3), (std::vector<double>{1, 3, 5}));
  EXPECT_TRUE(exponential_buckets(1, 2, 0).empty());
  const auto defaults = default_latency_buckets();
  ASSERT_FALSE(defaults.empty());
  EXPECT_TRUE(std::is_sorted(defaults.begin(), defaults.end()));
  EXPECT_LE(defaults.front(), 0.001);
  EXPECT_GE(defaults.back(), 10);
}

TEST(registry, collectors_appear_in_output_sorted_with_registered_families) {
  registry r;
  r.gauge("mailhook_b", "Registered.").get().set(1);
  r.add_collector([](collector_sink& sink) {
    sink.gauge("mailhook_c", "Collected gauge.", {"queue"}).set({"retry"}, 3).set({"main"}, 2);
    sink.counter("mailhook_a_total", "Collected counter.").set(5);
  });
  // A second collector adding to the same family: one HELP/TYPE, both samples.
  r.add_collector([](collector_sink& sink) {
    sink.gauge("mailhook_c", "Collected gauge.", {"queue"}).set({"dead"}, 1);
  });

  EXPECT_EQ(r.expose(),
            "# HELP mailhook_a_total Collected counter.\n"
            "# TYPE mailhook_a_total counter\n"
            "mailhook_a_total 5\n"
            "# HELP mailhook_b Registered.\n"
            "# TYPE mailhook_b gauge\n"
            "mailhook_b 1\n"
            "# HELP mailhook_c Collected gauge.\n"
            "# TYPE mailhook_c gauge\n"
            "mailhook_c{queue=\"dead\"} 1\n"
            "mailhook_c{queue=\"main\"} 2\n"
            "mailhook_c{queue=\"retry\"} 3\n");
}

TEST(registry, collectors_run_on_every_scrape_and_latest_value_wins) {
  registry r;
  int scrapes = 0;
  r.add_collector([&scrapes](collector_sink& sink) {
    ++scrapes;
    sink.gauge("mailhook_scrapes", "Scrapes.").set(0).set(scrapes);
  });
  (void)r.expose();
  EXPECT_EQ(r.expose(),
            "# HELP mailhook_scrapes Scrapes.\n"
            "# TYPE mailhook_scrapes gauge\n"
            "mailhook_scrapes 2\n");
}

TEST(registry, collected_family_without_samples_is_left_out) {
  registry r;
  r.add_collector([](collector_sink& sink) { (void)sink.gauge("mailhook_unread", "Unread."); });
  EXPECT_EQ(r.expose(), "");
}

TEST(registry, content_type_is_text_format_0_0_4) {
  EXPECT_EQ(content_type, "text/plain; version=0.0.4; charset=utf-8");
}

// Bugs in metric definitions abort; these names and counts all come from code.
class registry_death : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(registry_death, reregistering_with_another_type_aborts) {
  registry r;
  r.gauge("mailhook_thing", "T.");
  EXPECT_DEATH(r.histogram("mailhook_thing", "T.", {1}), "registered again as histogram");
}

TEST_F(registry_death, reregistering_with_other_labels_or_buckets_aborts) {
  registry r;
  r.counter("mailhook_events_total", "E.", {"tenant"});
  EXPECT_DEATH(r.counter("mailhook_events_total", "E.", {"kind"}), "different labels");
  r.histogram("mailhook_latency_seconds", "L.", {1, 2});
  EXPECT_DEATH(r.histogram("mailhook_latency_seconds", "L.", {1, 3}), "different buckets");
}

TEST_F(registry_death, invalid_metric_and_label_names_abort) {
  registry r;
  EXPECT_DEATH(r.gauge("9lives", "N."), "invalid metric name");
  EXPECT_DEATH(r.gauge("has-dash", "N."), "invalid metric name");
  EXPECT_DEATH(r.gauge("", "N."), "invalid metric name");
  EXPECT_DEATH(r.gauge("mailhook_ok", "N.", {"__reserved"}), "invalid label name");
  EXPECT_DEATH(r.gauge("mailhook_ok", "N.", {"has:colon"}), "invalid label name");
  EXPECT_DEATH(r.gauge("mailhook_ok", "N.", {"a", "a"}), "duplicate label name");
  EXPECT_DEATH(r.histogram("mailhook_ok", "N.", {1}, {"le"}), "reserved");
  r.gauge("mailhook:recorded_rule", "Colons are valid in metric names.", {"_underscore"});
}

TEST_F(registry_death, counter_names_must_end_in_total_and_others_must_not) {
  registry r;
  EXPECT_DEATH(r.counter("mailhook_events", "E."), "must end in _total");
  EXPECT_DEATH(r.gauge("mailhook_events_total", "E."), "only counter names end in _total");
}

TEST_F(registry_death, wrong_label_value_count_aborts) {
  registry r;
  auto& f = r.counter("mailhook_events_total", "E.", {"tenant", "kind"});
  EXPECT_DEATH(f.with({"only_one"}), "expected 2 label values, got 1");
  EXPECT_DEATH(f.get(), "expected 2 label values, got 0");
}

TEST_F(registry_death, negative_counter_increment_aborts) {
  registry r;
  auto& c = r.counter("mailhook_events_total", "E.").get();
  EXPECT_DEATH(c.inc(-1), "non-negative");
  EXPECT_DEATH(c.inc(std::numeric_limits<double>::quiet_NaN()), "non-negative");
}

TEST_F(registry_death, unsorted_histogram_buckets_abort) {
  registry r;
  EXPECT_DEATH(r.histogram("mailhook_h", "H.", {2, 1}), "strictly increasing");
}

TEST_F(registry_death, collector_clashing_with_a_registered_family_aborts_the_scrape) {
  registry r;
  r.gauge("mailhook_depth", "D.");
  r.add_collector([](collector_sink& sink) { sink.gauge("mailhook_depth", "D.").set(1); });
  EXPECT_DEATH((void)r.expose(), "has the name of a registered metric");
}

std::filesystem::path find_promtool() {
  if (const char* path = std::getenv("PATH")) {
    std::istringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
      const auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / "promtool";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  if (::access("/usr/bin/promtool", X_OK) == 0) return "/usr/bin/promtool";
  return {};
}

// The reference check: Prometheus' own parser and linter accept everything we emit.
TEST(exposition, passes_promtool_check_metrics) {
  const auto promtool = find_promtool();
  ASSERT_FALSE(promtool.empty())
      << "promtool not found on PATH. It comes from Debian's 'prometheus' package, which the "
         "project's setup script installs (apt-get install prometheus).";

  registry r;
  r.counter("mailhook_events_total", "Events \"received\" \\ per tenant.\nSecond line.",
            {"tenant", "kind"})
      .with({"we\"ird\\ten\nant", "open"})
      .inc(3);
  r.counter("mailhook_cpu_seconds_total", "Fractional counter.").get().inc(0.125);
  auto& g = r.gauge("mailhook_queue_depth", "Gauge.", {"queue"});
  g.with({"main"}).set(12);
  g.with({"nan"}).set(std::numeric_limits<double>::quiet_NaN());
  g.with({"inf"}).set(-std::numeric_limits<double>::infinity());
  g.with({"bad\xFFutf8"}).set(1e20);
  auto& h = r.histogram("mailhook_request_duration_seconds", "Histogram.",
                        default_latency_buckets(), {"route"});
  h.with({"/v1/events"}).observe(0.003);
  h.with({"/v1/events"}).observe(42);
  r.histogram("mailhook_batch_size_events", "Unlabelled histogram.", exponential_buckets(1, 4, 6))
      .get()
      .observe(17);
  r.add_collector([](collector_sink& sink) {
    sink.gauge("mailhook_kafka_outq_messages", "Collected gauge.", {"broker"})
        .set({"kafka-1:9092"}, 4)
        .set({"kafka-2:9092"}, 0);
    sink.counter("mailhook_kafka_tx_messages_total", "Collected counter.").set(1234);
  });
  register_process_metrics(r);

  const auto exposition = r.expose();
  ASSERT_NE(exposition.find("process_resident_memory_bytes"), std::string::npos) << exposition;

  testing::temp_dir dir;
  const auto input = dir.write("metrics.txt", exposition);
  const auto output = dir.path() / "promtool.out";
  const std::string command = "'" + promtool.string() + "' check metrics < '" + input.string() +
                              "' > '" + output.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream out_file(output);
  const std::string complaints((std::istreambuf_iterator<char>(out_file)),
                               std::istreambuf_iterator<char>());
  ASSERT_TRUE(WIFEXITED(status)) << command;
  EXPECT_EQ(WEXITSTATUS(status), 0) << complaints << "\n--- input ---\n" << exposition;
  EXPECT_EQ(complaints, "") << "\n--- input ---\n" << exposition;
}

}  // namespace
}  // namespace mailhook::metrics
