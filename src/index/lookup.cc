// mailhook::open_replica, the one function of libmailhook_lookup beyond the interface of
// include/mailhook/suppression.h: a read-only index::store over a replica directory that
// an `index` role keeps. Only this file is compiled into the shared library itself; the
// rest comes from the module archives, and src/index/lookup.map keeps all of it local.
#include <exception>
#include <string>

#include "index/store.h"
#include "mailhook/suppression.h"

namespace mailhook {

opened_replica open_replica(const std::string& directory, const replica_options& options) {
  index::store_options store;
  store.dir = directory;
  store.read_only = true;  // any topic, no lock, nothing written
  store.block_cache_bytes = options.block_cache_bytes;
  store.expected_keys = 0;  // the table is sized for the keys the directory holds
  opened_replica opened;
  try {
    // The writer may compact away a file between our reading the list of files and
    // opening them; the next attempt reads the new list.
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto s = index::store::open(store);
      if (s) {
        opened.lookup = std::move(*s);
        opened.error.clear();
        return opened;
      }
      opened.error = s.error().describe();
      if (s.error().code != index::errc::open_failed &&
          s.error().code != index::errc::read_failed) {
        break;
      }
    }
  } catch (const std::exception& e) {  // memory for the table; nothing else throws
    opened.error = directory + ": " + e.what();
  }
  return opened;
}

}  // namespace mailhook
