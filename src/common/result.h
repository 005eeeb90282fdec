// result<T>: a value or a failure, returned by every operation that can fail on input
// or environment. Errors carry a typed std::error_code (each module has its own errc
// enum) plus a human message for the caller; bugs abort instead (see check.h).
#pragma once

#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "common/check.h"

namespace mailhook {

struct failure {
  std::error_code code;
  std::string message;  // Shown to callers and operators: names the key, field or peer.

  failure(std::error_code c, std::string msg = {}) : code(c), message(std::move(msg)) {}
  template <typename E>
  requires std::is_error_code_enum_v<E> failure(E e, std::string msg = {})
      : code(make_error_code(e)), message(std::move(msg)) {}

  // The message if there is one, else the code's own description.
  [[nodiscard]] std::string describe() const { return message.empty() ? code.message() : message; }
};

template <typename T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(failure e) : v_(std::in_place_index<1>, std::move(e)) {}
  template <typename E>
  requires std::is_error_code_enum_v<E> result(E e, std::string msg = {})
      : v_(std::in_place_index<1>, failure(e, std::move(msg))) {}

  [[nodiscard]] bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    MAILHOOK_CHECK(has_value(), error().describe());
    return std::get<0>(v_);
  }
  const T& value() const& {
    MAILHOOK_CHECK(has_value(), error().describe());
    return std::get<0>(v_);
  }
  T&& value() && {
    MAILHOOK_CHECK(has_value(), error().describe());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  [[nodiscard]] const failure& error() const {
    MAILHOOK_CHECK(!has_value(), "result holds a value, not an error");
    return std::get<1>(v_);
  }

 private:
  std::variant<T, failure> v_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(failure e) : error_(std::move(e)), failed_(true) {}
  template <typename E>
  requires std::is_error_code_enum_v<E> result(E e, std::string msg = {})
      : error_(e, std::move(msg)), failed_(true) {}

  [[nodiscard]] bool has_value() const { return !failed_; }
  explicit operator bool() const { return has_value(); }
  [[nodiscard]] const failure& error() const {
    MAILHOOK_CHECK(failed_, "result holds a value, not an error");
    return error_;
  }

 private:
  failure error_{std::error_code{}};
  bool failed_ = false;
};

}  // namespace mailhook
