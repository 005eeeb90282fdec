#include "suppression/soft_bounce_counter.h"

#include <algorithm>

namespace mailhook::suppression {

std::size_t soft_bounce_counter::add(const std::string& key, std::int64_t event_time_ms,
                                     std::string_view event_id, std::chrono::milliseconds window) {
  if (history_.size() >= max_tracked_ && !history_.contains(key))
    forget_stale(event_time_ms, window);
  auto& seen_list = history_[key];
  bool duplicate = std::any_of(seen_list.begin(), seen_list.end(), [&](const seen& s) {
    return s.event_id == event_id && s.time_ms == event_time_ms;
  });
  if (!duplicate) {
    auto at = std::upper_bound(seen_list.begin(), seen_list.end(), event_time_ms,
                               [](std::int64_t t, const seen& s) { return t < s.time_ms; });
    seen_list.insert(at, {event_time_ms, std::string(event_id)});
    const std::int64_t oldest_kept = seen_list.back().time_ms - 2 * window.count();
    while (seen_list.size() > max_bounces_per_address || seen_list.front().time_ms <= oldest_kept)
      seen_list.pop_front();
    changed_.insert(key);
  }
  const std::int64_t span = window.count();
  return static_cast<std::size_t>(
      std::count_if(seen_list.begin(), seen_list.end(), [&](const seen& s) {
        return s.time_ms > event_time_ms - span && s.time_ms < event_time_ms + span;
      }));
}

std::vector<std::string> soft_bounce_counter::take_changed_keys() {
  std::vector<std::string> keys(changed_.begin(), changed_.end());
  changed_.clear();
  return keys;
}

mailhook::v1::SoftBounceHistory soft_bounce_counter::history(const std::string& key) const {
  mailhook::v1::SoftBounceHistory out;
  auto found = history_.find(key);
  if (found == history_.end()) return out;
  for (const auto& s : found->second) {
    auto* bounce = out.add_bounces();
    bounce->set_event_time_ms(s.time_ms);
    bounce->set_sg_event_id(s.event_id);
  }
  return out;
}

void soft_bounce_counter::restore(const std::string& key,
                                  const mailhook::v1::SoftBounceHistory& history) {
  if (history.bounces().empty()) {
    history_.erase(key);
    return;
  }
  std::deque<seen> seen_list;
  for (const auto& bounce : history.bounces())
    seen_list.push_back({bounce.event_time_ms(), bounce.sg_event_id()});
  std::stable_sort(seen_list.begin(), seen_list.end(),
                   [](const seen& a, const seen& b) { return a.time_ms < b.time_ms; });
  while (seen_list.size() > max_bounces_per_address) seen_list.pop_front();
  history_[key] = std::move(seen_list);
}

void soft_bounce_counter::forget_stale(std::int64_t now_ms, std::chrono::milliseconds window) {
  std::erase_if(history_, [&](const auto& entry) {
    const auto& seen_list = entry.second;
    return seen_list.empty() || seen_list.back().time_ms <= now_ms - window.count();
  });
  // Still full: start over rather than grow without bound.
  if (history_.size() >= max_tracked_) history_.clear();
}

}  // namespace mailhook::suppression
