// Event names and their types (see event_type.h).
#include "email/event_type.h"

#include <array>

namespace mailhook::email {
namespace {

constexpr std::array<std::string_view, event_type_count> type_names = {"unknown",
                                                                       "processed",
                                                                       "dropped",
                                                                       "delivered",
                                                                       "deferred",
                                                                       "bounce",
                                                                       "open",
                                                                       "click",
                                                                       "spamreport",
                                                                       "unsubscribe",
                                                                       "group_unsubscribe",
                                                                       "group_resubscribe",
                                                                       "account_status_change"};

constexpr std::array<std::string_view, event_type_count> enum_names = {
    "EVENT_TYPE_UNKNOWN",
    "EVENT_TYPE_PROCESSED",
    "EVENT_TYPE_DROPPED",
    "EVENT_TYPE_DELIVERED",
    "EVENT_TYPE_DEFERRED",
    "EVENT_TYPE_BOUNCE",
    "EVENT_TYPE_OPEN",
    "EVENT_TYPE_CLICK",
    "EVENT_TYPE_SPAMREPORT",
    "EVENT_TYPE_UNSUBSCRIBE",
    "EVENT_TYPE_GROUP_UNSUBSCRIBE",
    "EVENT_TYPE_GROUP_RESUBSCRIBE",
    "EVENT_TYPE_ACCOUNT_STATUS_CHANGE"};

}  // namespace

event_type classify_event(std::string_view name) noexcept {
  // One length switch, then at most two comparisons: this runs for every event.
  switch (name.size()) {
    case 4:
      if (name == "open") return event_type::open;
      break;
    case 5:
      if (name == "click") return event_type::click;
      break;
    case 6:
      if (name == "bounce") return event_type::bounce;
      break;
    case 7:
      if (name == "dropped") return event_type::dropped;
      break;
    case 8:
      if (name == "deferred") return event_type::deferred;
      break;
    case 9:
      if (name == "processed") return event_type::processed;
      if (name == "delivered") return event_type::delivered;
      break;
    case 10:
      if (name == "spamreport") return event_type::spamreport;
      break;
    case 11:
      if (name == "unsubscribe") return event_type::unsubscribe;
      break;
    case 17:
      if (name == "group_unsubscribe") return event_type::group_unsubscribe;
      if (name == "group_resubscribe") return event_type::group_resubscribe;
      break;
    case 21:
      if (name == "account_status_change") return event_type::account_status_change;
      break;
    default:
      break;
  }
  return event_type::unknown;
}

bounce_kind classify_bounce(std::string_view bounce_type) noexcept {
  return bounce_type == "blocked" || bounce_type == "expired" ? bounce_kind::soft
                                                              : bounce_kind::hard;
}

std::string_view to_string(event_type type) noexcept {
  auto i = static_cast<std::size_t>(type);
  return i < type_names.size() ? type_names[i] : type_names[0];
}

std::string_view proto_enum_name(event_type type) noexcept {
  auto i = static_cast<std::size_t>(type);
  return i < enum_names.size() ? enum_names[i] : enum_names[0];
}

}  // namespace mailhook::email
