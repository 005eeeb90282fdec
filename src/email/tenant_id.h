// The tenant an event, a suppression or a send request belongs to: the first part of
// every Kafka and RocksDB key. A strong type so that a tenant and an address, both text,
// cannot be passed in each other's place. It views text owned elsewhere (the
// configuration, a record); the caller keeps that text alive. Safe from any thread.
#pragma once

#include <compare>
#include <string_view>

namespace mailhook::email {

class tenant_id {
 public:
  // Text taken as a tenant id. Where it comes from outside (the admin API, the CLI, a
  // send request), check valid() first; the configuration checks its tenants at load.
  constexpr explicit tenant_id(std::string_view text) noexcept : text_(text) {}

  [[nodiscard]] constexpr std::string_view str() const noexcept { return text_; }
  [[nodiscard]] constexpr bool empty() const noexcept { return text_.empty(); }

  // Usable in keys: not empty, at most 255 bytes, and no '/', so that the first '/' of a
  // key ends the tenant and every key of a tenant starts with "<tenant>/".
  [[nodiscard]] static constexpr bool valid(std::string_view text) noexcept {
    return !text.empty() && text.size() <= 255 && text.find('/') == std::string_view::npos;
  }

  friend constexpr bool operator==(tenant_id, tenant_id) noexcept = default;
  friend constexpr auto operator<=>(tenant_id, tenant_id) noexcept = default;

 private:
  std::string_view text_;
};

}  // namespace mailhook::email
