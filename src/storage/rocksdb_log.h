// RocksDB's own log, written to the daemon's log instead of a LOG file in the store's
// directory, for the stores of the index and the report: what RocksDB warns about shows
// where operators look, and a full disk cannot break the log writer. (librocksdb 7.8 as
// Debian builds it keeps its assertions, and aborts the process when a LOG file writer is
// used again after a write that failed for lack of space: the first log line of a flush
// after the disk filled.)
//
// Threading: RocksDB's threads log through it at the same time; spdlog is thread-safe.
#pragma once

#include <rocksdb/env.h>

#include <memory>
#include <string>

namespace mailhook::storage {

// Warnings and errors, prefixed with `store` ("index", "report"); RocksDB's informational
// lines (every flush and compaction) are left out.
[[nodiscard]] std::shared_ptr<rocksdb::Logger> rocksdb_log(std::string store);

}  // namespace mailhook::storage
