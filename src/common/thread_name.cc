#include "common/thread_name.h"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace mailhook {

void name_current_thread(std::string_view name) noexcept {
  std::array<char, 16> bounded{};  // 15 bytes and the terminating zero: the kernel's limit
  const std::size_t size = std::min(name.size(), bounded.size() - 1);
  if (size != 0) std::memcpy(bounded.data(), name.data(), size);
  (void)pthread_setname_np(pthread_self(), bounded.data());
}

}  // namespace mailhook
