// Micro-benchmarks for the metrics hot paths: a counter increment and a histogram
// observation on a child looked up once, single-threaded and with two threads sharing
// the child (the contended case a busy route sees).
#include <benchmark/benchmark.h>

#include "metrics/registry.h"

namespace mailhook::metrics {
namespace {

registry& shared_registry() {
  static registry r;
  return r;
}

counter& shared_counter() {
  static counter& c =
      shared_registry().counter("bench_events_total", "Events.", {"tenant"}).with({"acme"});
  return c;
}

histogram& shared_histogram() {
  static histogram& h =
      shared_registry()
          .histogram("bench_latency_seconds", "Latency.", default_latency_buckets(), {"route"})
          .with({"/v1/events"});
  return h;
}

void counter_inc(benchmark::State& state) {
  counter& c = shared_counter();
  for (auto _ : state) c.inc();
  benchmark::DoNotOptimize(c.value());
}
BENCHMARK(counter_inc);
BENCHMARK(counter_inc)->Threads(2);

void counter_inc_fraction(benchmark::State& state) {
  counter& c = shared_counter();
  for (auto _ : state) c.inc(0.5);
  benchmark::DoNotOptimize(c.value());
}
BENCHMARK(counter_inc_fraction);
BENCHMARK(counter_inc_fraction)->Threads(2);

void histogram_observe(benchmark::State& state) {
  histogram& h = shared_histogram();
  // Spread over the buckets so the search is not always the same branch path.
  double v = 0.0001;
  for (auto _ : state) {
    h.observe(v);
    v = v > 20 ? 0.0001 : v * 1.7;
  }
}
BENCHMARK(histogram_observe);
BENCHMARK(histogram_observe)->Threads(2);

// The cold path, for scale: what a handler pays if it calls with() per request.
void family_with_lookup(benchmark::State& state) {
  auto& family = shared_registry().counter("bench_lookups_total", "Lookups.", {"tenant", "kind"});
  for (auto _ : state) benchmark::DoNotOptimize(&family.with({"acme", "open"}));
}
BENCHMARK(family_with_lookup);

}  // namespace
}  // namespace mailhook::metrics

BENCHMARK_MAIN();
