#include "index/index_metrics.h"

#include <string>

namespace mailhook::index {

void register_index_metrics(metrics::registry& registry, const store& local,
                            const replica& follower) {
  registry.add_collector([store = &local](metrics::collector_sink& sink) {
    auto& entries = sink.gauge("mailhook_index_entries",
                               "Suppressed entries in the local index, by tenant, scope and reason",
                               {"tenant", "scope", "reason"});
    for (const auto& [key, count] : store->counts()) {
      const auto& [tenant, scope, reason] = key;
      entries.set({tenant, std::string(to_string(scope)), std::string(to_string(reason))},
                  static_cast<double>(count));
    }
    sink.gauge("mailhook_index_keys", "Keys in the local index, suppressed or cleared", {})
        .set({}, static_cast<double>(store->keys()));
    sink.gauge("mailhook_index_table_bytes",
               "Memory of the in-memory verdict table in front of RocksDB", {})
        .set({}, static_cast<double>(store->table_bytes()));
    sink.gauge("mailhook_index_rocksdb_level0_files",
               "RocksDB level-0 files of the local index (they pile up while a catch-up pauses "
               "compactions)",
               {})
        .set({}, static_cast<double>(store->level0_files()));
    sink.gauge("mailhook_index_rocksdb_pending_compaction_bytes",
               "RocksDB's estimate of the bytes its compactions still have to rewrite", {})
        .set({}, static_cast<double>(store->pending_compaction_bytes()));
    sink.gauge("mailhook_index_disk_bytes",
               "What the local index takes on disk, or will once flushed: SST files and "
               "memtables (index.max_disk limits it)",
               {})
        .set({}, static_cast<double>(store->disk_bytes()));

    auto lookups = store->lookups();
    auto& verdicts = sink.counter("mailhook_index_lookups_total", "Suppression lookups, by verdict",
                                  {"verdict"});
    verdicts.set({"allowed"}, static_cast<double>(lookups.allowed));
    verdicts.set({"suppressed"}, static_cast<double>(lookups.suppressed));
  });
  registry.add_collector([replica = &follower](metrics::collector_sink& sink) {
    sink.gauge("mailhook_index_changelog_lag",
               "Changelog records not yet applied to the local index, over all partitions", {})
        .set({}, static_cast<double>(replica->lag()));
    sink.gauge("mailhook_index_stalled",
               "1 while the local index cannot keep the changelog's changes (a full disk, "
               "index.max_disk): it is not ready and answers no lookup with \"allowed\"",
               {})
        .set({}, replica->stalled() ? 1.0 : 0.0);
  });
}

}  // namespace mailhook::index
