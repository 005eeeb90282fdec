// The index replica's metrics (mailhook_index_*): entries by tenant, scope and reason,
// keys, the verdict table's memory, RocksDB's level-0 files and pending compaction,
// lookups by verdict, and the changelog lag. Read at scrape time; `local` and `follower`
// must outlive the registry's scrapes (the application stops scraping first).
#pragma once

#include "index/replica.h"
#include "index/store.h"
#include "metrics/registry.h"

namespace mailhook::index {

void register_index_metrics(metrics::registry& registry, const store& local,
                            const replica& follower);

}  // namespace mailhook::index
