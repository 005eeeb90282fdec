// RocksDB options for a store whose reads are point lookups of keys it mostly does not
// hold (the report's seen event ids, the deduplicator's window): bloom filters answer
// those without reading a block. LZ4, two background threads, 256 open files, and
// RocksDB's own log sent to the daemon's (rocksdb_log.h). The index, with its column
// families and block cache, sets its own.
#pragma once

#include <rocksdb/options.h>

#include <cstddef>
#include <string>

namespace mailhook::storage {

// `store` names the store in log lines ("report", "dedup"); `write_buffer` is the
// memtable size in bytes.
[[nodiscard]] rocksdb::Options seen_set_options(std::string store, std::size_t write_buffer);

}  // namespace mailhook::storage
