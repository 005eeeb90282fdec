#include "storage/rocksdb_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <string_view>

namespace mailhook::storage {
namespace {

class spdlog_logger final : public rocksdb::Logger {
 public:
  explicit spdlog_logger(std::string store)
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), store_(std::move(store)) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list args) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, args);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list args) override {
    if (level < GetInfoLogLevel() || level == rocksdb::InfoLogLevel::HEADER_LEVEL) return;
    char line[1024];
    int written = std::vsnprintf(line, sizeof line, format, args);
    std::size_t length = written < 0 ? 0 : static_cast<std::size_t>(written);
    std::string_view text(line, std::min(length, sizeof line - 1));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    spdlog::log(
        level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? spdlog::level::err : spdlog::level::warn,
        "{}: rocksdb: {}", store_, text);
  }

 private:
  std::string store_;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> rocksdb_log(std::string store) {
  return std::make_shared<spdlog_logger>(std::move(store));
}

}  // namespace mailhook::storage
