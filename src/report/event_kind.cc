#include "report/event_kind.h"

namespace mailhook::report {

std::string_view to_string(event_kind kind) noexcept {
  switch (kind) {
    case event_kind::delivered:
      return "delivered";
    case event_kind::bounce_hard:
      return "bounce_hard";
    case event_kind::bounce_soft:
      return "bounce_soft";
    case event_kind::dropped:
      return "dropped";
    case event_kind::spamreport:
      return "spamreport";
    case event_kind::unsubscribe:
      return "unsubscribe";
    case event_kind::group_unsubscribe:
      return "group_unsubscribe";
  }
  return "delivered";
}

std::optional<event_kind> kind_of(email::event_type type, std::string_view bounce_type) noexcept {
  using email::event_type;
  switch (type) {
    case event_type::delivered:
      return event_kind::delivered;
    case event_type::bounce:
      return email::classify_bounce(bounce_type) == email::bounce_kind::hard
                 ? event_kind::bounce_hard
                 : event_kind::bounce_soft;
    case event_type::dropped:
      return event_kind::dropped;
    case event_type::spamreport:
      return event_kind::spamreport;
    case event_type::unsubscribe:
      return event_kind::unsubscribe;
    case event_type::group_unsubscribe:
      return event_kind::group_unsubscribe;
    default:
      return std::nullopt;
  }
}

std::optional<double> day_counts::bounce_rate() const {
  auto reached = of(event_kind::delivered) + bounces();
  if (reached == 0) return std::nullopt;
  return static_cast<double>(bounces()) / static_cast<double>(reached);
}

std::optional<double> day_counts::spam_rate() const {
  if (of(event_kind::delivered) == 0) return std::nullopt;
  return static_cast<double>(of(event_kind::spamreport)) /
         static_cast<double>(of(event_kind::delivered));
}

void day_counts::add(const day_counts& other) {
  for (std::size_t i = 0; i < event_kind_count; ++i) by_kind[i] += other.by_kind[i];
}

}  // namespace mailhook::report
