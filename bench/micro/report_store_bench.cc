// Micro-benchmark of the bounce report's store (src/report/store.h): the rate at which it
// counts events (one WriteBatch per batch of records: the seen-set lookups, the counts'
// read-modify-write and the offsets), which bounds how fast the report role reads the
// events topic, and the bytes on disk per counted event (write-ahead log and table files
// together). Events: 10 tenants, the seven kinds, over 2 days, with SendGrid-like ids
// (22 base64url characters), every id new; the store in a fresh temporary directory.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "report/store.h"

namespace mailhook::report {
namespace {

// 22 characters, unique per n: n in base 64 (11 characters), then filler that varies.
std::string event_id(std::uint64_t n) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string id(22, 'A');
  std::uint64_t rest = n;
  for (std::size_t i = 0; i < 11; ++i, rest /= 64) id[i] = alphabet[rest % 64];
  for (std::size_t i = 11; i < 22; ++i) id[i] = alphabet[(n * 31 + i * 7) % 64];
  return id;
}

std::uint64_t bytes_under(const std::filesystem::path& dir) {
  std::uint64_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

void count_batches(benchmark::State& state) {
  const auto batch_size = static_cast<std::size_t>(state.range(0));
  auto dir = std::filesystem::temp_directory_path() / "mailhook-report-bench";
  std::filesystem::remove_all(dir);
  store_options options;
  options.dir = dir;
  options.topic = "sendgrid.events";
  auto opened = store::open(options);
  if (!opened) {
    state.SkipWithError(opened.error().describe().c_str());
    return;
  }
  auto db = std::move(*opened);
  const day_number first_day = *parse_day("2026-12-01");
  std::vector<std::string> tenants, ids(batch_size);
  for (int t = 0; t < 10; ++t) tenants.push_back("tenant" + std::to_string(t));
  std::vector<consumed_record> records(batch_size);
  std::uint64_t n = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < batch_size; ++i, ++n) {
      ids[i] = event_id(n);
      auto day = first_day + static_cast<day_number>(n / 500'000 % 2);
      records[i] = {static_cast<std::int32_t>(n % 12), static_cast<std::int64_t>(n / 12),
                    consumed_record::counted{tenants[n % 10], ids[i],
                                             all_event_kinds[n % event_kind_count], day, day}};
    }
    auto outcome = db->apply(records);
    if (!outcome || outcome->counted != batch_size) {
      state.SkipWithError("a batch did not count every event");
      return;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
  db.reset();
  state.counters["disk_bytes_per_event"] =
      n == 0 ? 0 : static_cast<double>(bytes_under(dir)) / static_cast<double>(n);
  std::filesystem::remove_all(dir);
}
BENCHMARK(count_batches)->Arg(1000)->Arg(10'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mailhook::report

BENCHMARK_MAIN();
