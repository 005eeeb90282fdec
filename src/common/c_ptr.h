// c_ptr<T, free>: a std::unique_ptr for an object of a C library (OpenSSL, librdkafka)
// that releases it with the library's own function, without a deleter struct per type.
//   using group_ptr = c_ptr<EC_GROUP, EC_GROUP_free>;
#pragma once

#include <memory>

namespace mailhook {

template <auto release>
struct release_with {
  template <typename T>
  void operator()(T* p) const noexcept {
    release(p);
  }
};

template <typename T, auto release>
using c_ptr = std::unique_ptr<T, release_with<release>>;

}  // namespace mailhook
