// The standard process_* metrics of the official Prometheus client libraries (CPU time,
// memory, file descriptors, start time), read from Linux /proc by a registry collector at
// scrape time. A value that cannot be read is left out of that scrape, never fatal.
// Thread-safety: the collector keeps no state and runs on the scraping thread.
#pragma once

#include <filesystem>

#include "metrics/registry.h"

namespace mailhook::metrics {

void register_process_metrics(registry& r);

// Reads <proc_root>/self/stat, <proc_root>/self/fd and <proc_root>/stat instead of /proc's,
// so tests can feed a fake /proc. The fd limit still comes from getrlimit().
void register_process_metrics(registry& r, std::filesystem::path proc_root);

}  // namespace mailhook::metrics
