#include "storage/resume.h"

namespace mailhook::storage {

std::optional<std::string> resume_writing(rocksdb::DB& db, const std::string& failed_write) {
  auto status = db.Resume();
  if (status.ok()) return std::nullopt;
  if (status.IsBusy()) return failed_write + "; RocksDB resumes once the disk has room again";
  return "cannot resume: " + status.ToString();
}

}  // namespace mailhook::storage
