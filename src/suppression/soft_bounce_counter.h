// Recent soft bounces (bounce events of type blocked or expired) per tenant and address,
// to apply the policy's soft_bounce_threshold. A redelivered event (same sg_event_id and
// time) counts once; events arrive out of order, so a bounce counts those within the
// window either side of it.
//
// The policy role keeps one counter per events partition it is assigned, writes the
// history of every address a batch changed to the soft-bounces topic in the batch's
// transaction (changed_keys(), history()), and fills a newly assigned partition's
// counter from that topic (restore()), so counts survive restarts and rebalances
// (proto/mailhook/v1/soft_bounces.proto).
//
// Threading: none; one owner.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "mailhook/v1/soft_bounces.pb.h"

namespace mailhook::suppression {

class soft_bounce_counter {
 public:
  // `max_tracked`: past this many addresses, those whose last bounce is older than the
  // window are forgotten first, then all of them (a burst of distinct addresses within
  // one window): memory stays bounded, and a suppression that comes later is the safe
  // way to be wrong.
  explicit soft_bounce_counter(std::size_t max_tracked = 1'000'000) : max_tracked_(max_tracked) {}

  // Records one soft bounce and returns how many distinct ones the address had within
  // `window` of this one (this one included). Bounces older than twice the window before
  // the address's newest are dropped: no event that late is counted against them.
  std::size_t add(const std::string& key, std::int64_t event_time_ms, std::string_view event_id,
                  std::chrono::milliseconds window);

  // The addresses whose history add() changed since the last take, each once.
  [[nodiscard]] std::vector<std::string> take_changed_keys();
  // The address's history as the soft-bounces topic carries it (empty when none).
  [[nodiscard]] mailhook::v1::SoftBounceHistory history(const std::string& key) const;
  // Replaces the address's history with one read from the topic (an empty one forgets
  // the address). Not a change.
  void restore(const std::string& key, const mailhook::v1::SoftBounceHistory& history);

  [[nodiscard]] std::size_t tracked_addresses() const { return history_.size(); }

  // Per address, at most this many bounces are kept (the newest): far past any sensible
  // threshold, and a bound on each record of the topic.
  static constexpr std::size_t max_bounces_per_address = 256;

 private:
  struct seen {
    std::int64_t time_ms;
    std::string event_id;
  };
  void forget_stale(std::int64_t now_ms, std::chrono::milliseconds window);

  std::size_t max_tracked_;
  std::unordered_map<std::string, std::deque<seen>> history_;  // each oldest first
  std::unordered_set<std::string> changed_;
};

}  // namespace mailhook::suppression
