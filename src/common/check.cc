#include "common/check.h"

#include <cstdio>
#include <cstdlib>

namespace mailhook {

void check_failed(std::string_view condition, std::string_view detail, std::source_location where) {
  std::fprintf(stderr, "mailhook: check failed at %s:%u: %.*s (%.*s)\n", where.file_name(),
               static_cast<unsigned>(where.line()), static_cast<int>(condition.size()),
               condition.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

}  // namespace mailhook
