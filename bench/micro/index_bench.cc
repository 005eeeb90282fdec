// Micro-benchmarks of the suppression index (src/index/store.h): the "may I send?" lookup
// at scale, as a send worker makes it before every delivery, and the rate at which the
// store applies changelog records (what bounds a bootstrap from Kafka).
//
// The store is built once per run in a directory kept between runs
// (MAILHOOK_BENCH_INDEX_DIR, default $TMPDIR/mailhook-index-bench-<entries>) with
// MAILHOOK_BENCH_INDEX_ENTRIES suppressed addresses (default 10,000,000) over 10 tenants.
// Lookups are 99% addresses that are not suppressed and 1% that are, as on a real send
// path. The latency benchmark times each lookup on its own and reports p50/p99/p999. The
// sender's pre-delivery step (sender/delivery.h) is measured here too, on the same store.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "index/store.h"
#include "sender/delivery.h"

namespace mailhook::index {
namespace {

std::uint64_t entries_wanted() {
  const char* text = std::getenv("MAILHOOK_BENCH_INDEX_ENTRIES");
  return text != nullptr ? std::strtoull(text, nullptr, 10) : 10'000'000;
}

std::string tenant_of(std::uint64_t n) {
  return "tenant" + std::to_string(n % 10);
}
std::string suppressed_address(std::uint64_t n) {
  return "bounced.user" + std::to_string(n) + "@example" + std::to_string(n % 997) + ".com";
}
std::string clean_address(std::uint64_t n) {
  return "happy.reader" + std::to_string(n) + "@example" + std::to_string(n % 997) + ".com";
}

suppression::record make_change(std::uint64_t n) {
  suppression::record r;
  r.set_tenant(tenant_of(n));
  r.set_scope(mailhook::v1::SUPPRESSION_SCOPE_GLOBAL);
  r.set_email(suppressed_address(n));
  r.set_email_normalized(suppressed_address(n));
  r.set_suppressed(true);
  r.set_reason(mailhook::v1::SUPPRESSION_REASON_BOUNCE);
  r.set_detail("Invalid Address 5.1.1");
  r.set_event_time_ms(1'700'000'000'000 + static_cast<std::int64_t>(n));
  r.set_event_id("ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRr" + std::to_string(n));
  r.set_origin(mailhook::v1::SUPPRESSION_ORIGIN_EVENT);
  r.set_source("main");
  r.set_received_at_ms(r.event_time_ms() + 500);
  r.set_recorded_at_ms(r.event_time_ms() + 900);
  return r;
}

// Applies records [first, first + count) in batches of `batch`, at offsets from `first`.
void fill(store& s, std::uint64_t first, std::uint64_t count, std::size_t batch) {
  std::vector<std::string> keys;
  std::vector<std::string> values;
  std::vector<changelog_message> messages;
  for (std::uint64_t start = first; start < first + count; start += batch) {
    keys.clear();
    values.clear();
    messages.clear();
    auto end = std::min(first + count, start + batch);
    for (auto n = start; n < end; ++n) {
      auto r = make_change(n);
      keys.push_back(suppression::key_of(r));
      values.push_back(r.SerializeAsString());
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      messages.push_back({keys[i], values[i], 0, static_cast<std::int64_t>(start + i)});
    }
    auto applied = s.apply(messages);
    if (!applied) std::abort();
  }
}

store& shared_store() {
  static std::unique_ptr<store> instance = [] {
    auto entries = entries_wanted();
    std::filesystem::path dir;
    if (const char* d = std::getenv("MAILHOOK_BENCH_INDEX_DIR")) {
      dir = d;
    } else {
      dir = std::filesystem::temp_directory_path() /
            ("mailhook-index-bench-" + std::to_string(entries));
    }
    store_options options;
    options.dir = dir;
    options.topic = "bench.suppressions";
    options.expected_keys = entries;
    auto opened = store::open(options);
    if (!opened) std::abort();
    auto s = std::move(*opened);
    if (s->keys() < entries) {
      auto started = std::chrono::steady_clock::now();
      fill(*s, s->keys(), entries - s->keys(), 50'000);
      auto seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::fprintf(stderr, "built %s: %llu entries in %.1f s\n", dir.c_str(),
                   static_cast<unsigned long long>(entries), seconds);
      // Reopen, as a restarted replica would: the filter and counts come from a scan.
      s.reset();
      started = std::chrono::steady_clock::now();
      auto reopened = store::open(options);
      if (!reopened) std::abort();
      s = std::move(*reopened);
      std::fprintf(
          stderr, "reopened in %.1f s\n",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    return s;
  }();
  return *instance;
}

struct lookup {
  std::string_view tenant;
  std::string_view address;
};

// 99 addresses that are not suppressed for every one that is, shuffled, with their text
// laid out in one buffer in the order they are looked up: the caller's own data streams
// from memory as a send worker's would, and the misses measured are the index's own.
struct lookup_set {
  std::string text;
  std::vector<lookup> lookups;
};

lookup_set make_lookups(std::size_t count, std::uint64_t entries) {
  std::mt19937_64 rng(42);
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto n = rng() % entries;
    pairs.emplace_back(tenant_of(n), i % 100 == 0 ? suppressed_address(n) : clean_address(n));
  }
  std::shuffle(pairs.begin(), pairs.end(), rng);
  lookup_set set;
  for (const auto& [tenant, address] : pairs) set.text += tenant + address;
  std::size_t at = 0;
  for (const auto& [tenant, address] : pairs) {
    set.lookups.push_back({std::string_view(set.text).substr(at, tenant.size()),
                           std::string_view(set.text).substr(at + tenant.size(), address.size())});
    at += tenant.size() + address.size();
  }
  return set;
}

void BM_check_99_percent_allowed(benchmark::State& state) {
  auto& s = shared_store();
  auto set = make_lookups(1 << 20, entries_wanted());
  const auto& lookups = set.lookups;
  std::size_t i = 0;
  std::size_t suppressed = 0;
  for (auto _ : state) {
    const auto& l = lookups[i++ & (lookups.size() - 1)];
    auto v = s.check(l.tenant, l.address);
    if (!v.allowed()) ++suppressed;
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["suppressed_share"] =
      static_cast<double>(suppressed) / static_cast<double>(state.iterations());
  state.counters["entries"] = static_cast<double>(s.keys());
}
BENCHMARK(BM_check_99_percent_allowed);

// The same lookups, each timed on its own (the clock reads add ~40 ns to each).
void BM_check_latency(benchmark::State& state) {
  auto& s = shared_store();
  auto set = make_lookups(1 << 20, entries_wanted());
  const auto& lookups = set.lookups;
  std::vector<double> nanos;
  nanos.reserve(std::size_t{1} << 22);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& l = lookups[i++ & (lookups.size() - 1)];
    auto started = std::chrono::steady_clock::now();
    auto v = s.check(l.tenant, l.address);
    auto elapsed = std::chrono::steady_clock::now() - started;
    benchmark::DoNotOptimize(v);
    if (nanos.size() < nanos.capacity()) {
      nanos.push_back(std::chrono::duration<double, std::nano>(elapsed).count());
    }
  }
  std::sort(nanos.begin(), nanos.end());
  auto at = [&](double q) {
    return nanos.empty()
               ? 0.0
               : nanos[static_cast<std::size_t>(q * static_cast<double>(nanos.size() - 1))];
  };
  state.counters["p50_ns"] = at(0.50);
  state.counters["p99_ns"] = at(0.99);
  state.counters["p999_ns"] = at(0.999);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_check_latency);

// With an unsubscribe group: two keys probed per allowed address.
void BM_check_with_group(benchmark::State& state) {
  auto& s = shared_store();
  auto set = make_lookups(1 << 20, entries_wanted());
  const auto& lookups = set.lookups;
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& l = lookups[i++ & (lookups.size() - 1)];
    benchmark::DoNotOptimize(s.check(l.tenant, l.address, 42));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_check_with_group);

// Changelog records applied per second into a fresh store, records already serialized
// (as they come from Kafka): what bounds a bootstrap once Kafka delivers faster. The
// batches are built before the timed loop (40 of 10,000 records).
// The sender's whole pre-delivery step for one request of 10 recipients, one of them
// suppressed: validation, integration lookup, a check per recipient (with the group of
// the request) and the result's bookkeeping. Items are recipients.
void BM_plan_delivery_10_recipients(benchmark::State& state) {
  auto& s = shared_store();
  auto entries = entries_wanted();
  config::integration_config integration;
  integration.name = "main";
  integration.tenant = tenant_of(0);
  integration.from_email = "orders@example.com";
  std::vector<mailhook::v1::SendRequest> requests(64);
  for (std::uint64_t r = 0; r < requests.size(); ++r) {
    auto& request = requests[r];
    request.set_request_id("request-" + std::to_string(r));
    request.set_tenant(tenant_of(0));
    request.set_subject("Your receipt");
    request.set_asm_group_id(3);
    auto* content = request.add_content();
    content->set_type("text/plain");
    content->set_value("Thanks for your order.");
    for (std::uint64_t i = 0; i < 10; ++i) {
      // Tenant 0 holds every tenth suppressed address.
      auto n = (r * 10 + i) * 10 % entries;
      request.add_to()->set_email(i == 0 ? suppressed_address(n) : clean_address(n));
    }
  }
  std::size_t next = 0;
  std::size_t allowed = 0;
  for (auto _ : state) {
    auto plan = sender::plan_delivery(requests[next++ & 63], &integration, s);
    allowed += plan.allowed.size();
    benchmark::DoNotOptimize(plan);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 10);
  state.counters["allowed_share"] =
      static_cast<double>(allowed) / static_cast<double>(state.iterations() * 10);
}
BENCHMARK(BM_plan_delivery_10_recipients);

void BM_apply_changelog(benchmark::State& state) {
  constexpr std::size_t batches = 40;
  const auto batch = static_cast<std::uint64_t>(state.range(0));
  std::vector<std::vector<std::string>> keys(batches);
  std::vector<std::vector<std::string>> values(batches);
  std::vector<std::vector<changelog_message>> messages(batches);
  for (std::size_t b = 0; b < batches; ++b) {
    for (std::uint64_t n = b * batch; n < (b + 1) * batch; ++n) {
      auto r = make_change(n);
      keys[b].push_back(suppression::key_of(r));
      values[b].push_back(r.SerializeAsString());
    }
    for (std::size_t i = 0; i < keys[b].size(); ++i) {
      messages[b].push_back(
          {keys[b][i], values[b][i], 0, static_cast<std::int64_t>(b * batch + i)});
    }
  }
  auto dir = std::filesystem::temp_directory_path() / "mailhook-index-bench-apply";
  std::filesystem::remove_all(dir);
  store_options options;
  options.dir = dir;
  options.topic = "bench.apply";
  auto opened = store::open(options);
  if (!opened) std::abort();
  std::size_t next = 0;
  for (auto _ : state) {
    if (!(*opened)->apply(messages[next++])) std::abort();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(next * batch));
  opened->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_apply_changelog)->Arg(10'000)->Iterations(40)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mailhook::index

BENCHMARK_MAIN();
