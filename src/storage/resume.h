// Writing again after a write that failed, for the stores of the index and the report. A
// flush or compaction that found the disk full leaves RocksDB refusing every write. Its
// own recovery resumes them once the volume has room for its memtables again (it looks
// every few seconds, and Resume() answers Busy meanwhile); Resume() clears other errors.
//
// Threading: from the store's one writing thread.
#pragma once

#include <rocksdb/db.h>

#include <optional>
#include <string>

namespace mailhook::storage {

// nullopt when `db` may be written again; else why not, from `failed_write` (what the
// failed write said) or from RocksDB.
[[nodiscard]] std::optional<std::string> resume_writing(rocksdb::DB& db,
                                                        const std::string& failed_write);

}  // namespace mailhook::storage
