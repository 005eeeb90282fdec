// Plugs a module's errc enum into std::error_code:
//   MAILHOOK_DECLARE_ERRC(mailhook::kafka, errc)            in the header, at global scope
//   MAILHOOK_DEFINE_ERRC(mailhook::kafka, errc, "kafka", describe, classify)
//                                                           in the .cc, at global scope
// where describe(errc) returns the description of each value and classify(errc) its
// error_class (common/error_kind.h): what kind of failure it is, and its stable word.
#pragma once

#include <string>
#include <system_error>
#include <type_traits>

#include "common/error_kind.h"

#define MAILHOOK_DECLARE_ERRC(ns, enum_name)                     \
  namespace ns {                                                 \
  const std::error_category& enum_name##_category() noexcept;    \
  inline std::error_code make_error_code(enum_name e) noexcept { \
    return {static_cast<int>(e), enum_name##_category()};        \
  }                                                              \
  }                                                              \
  template <>                                                    \
  struct std::is_error_code_enum<ns::enum_name> : std::true_type {};

#define MAILHOOK_DEFINE_ERRC(ns, enum_name, category_name, describe_fn, classify_fn)               \
  namespace ns {                                                                                   \
  const std::error_category& enum_name##_category() noexcept {                                     \
    struct category final : ::mailhook::classifying_category {                                     \
      const char* name() const noexcept override { return category_name; }                         \
      std::string message(int v) const override { return describe_fn(static_cast<enum_name>(v)); } \
      ::mailhook::error_class classify(int v) const noexcept override {                            \
        return ::ns::classify_fn(static_cast<::ns::enum_name>(v));                                 \
      }                                                                                            \
    };                                                                                             \
    static const category instance;                                                                \
    return instance;                                                                               \
  }                                                                                                \
  }
