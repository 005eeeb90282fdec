// What the bounce report counts: the kinds of events a sender's reputation hangs on, with
// bounces split into hard and soft by email::classify_bounce (the policy's rule), and a
// day's counts of them with the rates derived from them. Pure; safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "email/event_type.h"
#include "report/day.h"

namespace mailhook::report {

enum class event_kind : std::uint8_t {
  delivered,
  bounce_hard,
  bounce_soft,
  dropped,
  spamreport,
  unsubscribe,
  group_unsubscribe,
};
inline constexpr std::size_t event_kind_count = 7;
inline constexpr std::array<event_kind, event_kind_count> all_event_kinds = {
    event_kind::delivered,        event_kind::bounce_hard, event_kind::bounce_soft,
    event_kind::dropped,          event_kind::spamreport,  event_kind::unsubscribe,
    event_kind::group_unsubscribe};

// The word used in the API, the CLI and the metrics ("bounce_hard", ...).
[[nodiscard]] std::string_view to_string(event_kind kind) noexcept;

// The kind an event of `type` counts as (`bounce_type` is its "type" field); nullopt for
// the events the report does not count (processed, deferred, open, click, ...).
[[nodiscard]] std::optional<event_kind> kind_of(email::event_type type,
                                                std::string_view bounce_type) noexcept;

// One tenant's counts of one day.
struct day_counts {
  day_number day = 0;
  std::array<std::uint64_t, event_kind_count> by_kind{};

  [[nodiscard]] std::uint64_t of(event_kind kind) const {
    return by_kind[static_cast<std::size_t>(kind)];
  }
  [[nodiscard]] std::uint64_t bounces() const {
    return of(event_kind::bounce_hard) + of(event_kind::bounce_soft);
  }
  // bounces / (delivered + bounces): the share of the mail that reached a receiving server
  // and came back. nullopt when there was none.
  [[nodiscard]] std::optional<double> bounce_rate() const;
  // spamreport / delivered; nullopt when nothing was delivered.
  [[nodiscard]] std::optional<double> spam_rate() const;
  void add(const day_counts& other);
};

}  // namespace mailhook::report
