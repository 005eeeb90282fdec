#include "storage/seen_set_options.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include "storage/rocksdb_log.h"

namespace mailhook::storage {

rocksdb::Options seen_set_options(std::string store, std::size_t write_buffer) {
  rocksdb::Options db;
  db.create_if_missing = true;
  db.info_log = rocksdb_log(std::move(store));
  db.IncreaseParallelism(2);
  db.max_open_files = 256;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  db.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  db.compression = rocksdb::kLZ4Compression;
  db.write_buffer_size = write_buffer;
  return db;
}

}  // namespace mailhook::storage
