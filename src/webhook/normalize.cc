// Trimming, address normalization and event classification (see normalize.h).
#include "webhook/normalize.h"

#include <array>
#include <cstring>

namespace mailhook::webhook {
namespace {

constexpr bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

constexpr std::array<std::string_view, 13> type_names = {"unknown",
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

constexpr std::array<std::string_view, 13> enum_names = {"EVENT_TYPE_UNKNOWN",
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

std::string_view trim(std::string_view text) noexcept {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && is_space(text[begin])) ++begin;
  while (end > begin && is_space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

char* write_ascii_lower(char* out, std::string_view text) noexcept {
  // Eight bytes at a time: this runs twice per event (key and email_normalized). A byte
  // is upper case when it is ASCII and 'A' <= byte <= 'Z'; adding 0x20 lowers it.
  constexpr std::uint64_t ones = 0x0101010101010101u;
  constexpr std::uint64_t highs = 0x8080808080808080u;
  const char* in = text.data();
  std::size_t n = text.size();
  for (; n >= 8; in += 8, out += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, in, 8);
    const std::uint64_t low7 = word & ~highs;
    const std::uint64_t at_least_a = low7 + ones * (0x80 - 'A');   // high bit: >= 'A'
    const std::uint64_t above_z = low7 + ones * (0x80 - 'Z' - 1);  // high bit: > 'Z'
    const std::uint64_t upper = (at_least_a & ~above_z) & ~word & highs;
    word |= upper >> 2;  // 0x80 >> 2 == 0x20
    std::memcpy(out, &word, 8);
  }
  for (; n != 0; --n) *out++ = ascii_lower(*in++);
  return out;
}

char* write_normalized_email(char* out, std::string_view email) noexcept {
  return write_ascii_lower(out, trim(email));
}

void append_normalized_email(std::string& out, std::string_view email) {
  std::string_view trimmed = trim(email);
  std::size_t at = out.size();
  out.resize(at + trimmed.size());
  write_normalized_email(out.data() + at, trimmed);
}

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

std::string_view to_string(event_type type) noexcept {
  auto i = static_cast<std::size_t>(type);
  return i < type_names.size() ? type_names[i] : type_names[0];
}

std::string_view proto_enum_name(event_type type) noexcept {
  auto i = static_cast<std::size_t>(type);
  return i < enum_names.size() ? enum_names[i] : enum_names[0];
}

}  // namespace mailhook::webhook
