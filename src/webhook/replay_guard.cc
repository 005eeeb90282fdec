// The claimed signatures of signed requests (see replay_guard.h).
#include "webhook/replay_guard.h"

#include <cstring>

#include "common/check.h"

namespace mailhook::webhook {

std::size_t replay_guard::id_hash::operator()(const signature_id& id) const noexcept {
  // r is uniform in [1, n) for every genuine signature, and only a signature that
  // verified is ever claimed: its first bytes are already a good hash, and an attacker
  // who cannot sign cannot choose them.
  std::size_t h = 0;
  std::memcpy(&h, id.data(), sizeof h);
  return h;
}

replay_guard::replay_guard(std::size_t capacity) : capacity_(capacity) {
  MAILHOOK_CHECK(capacity > 0, "a replay guard needs room for at least one signature");
  claimed_.reserve(capacity);
}

replay_guard::claim_outcome replay_guard::claim(const signature_id& id, std::int64_t expires_s,
                                                std::int64_t now_s) {
  std::lock_guard lock(mutex_);
  // The queue is in claim order, which is close to expiry order (one window for all):
  // expired claims gather at the front.
  while (!order_.empty() && order_.front().expires_s < now_s) forget_front();
  if (claimed_.contains(id)) return claim_outcome::replayed;
  if (order_.size() >= capacity_) {
    const auto live = claimed_.find(order_.front().id);
    if (live != claimed_.end() && live->second == order_.front().claim) ++evicted_;
    forget_front();
  }
  const std::uint64_t claim = next_claim_++;
  claimed_.emplace(id, claim);
  order_.push_back({expires_s, claim, id});
  return claim_outcome::first;
}

void replay_guard::forget_front() {
  // Only the claim this entry made: the id may have been released and claimed again.
  const auto live = claimed_.find(order_.front().id);
  if (live != claimed_.end() && live->second == order_.front().claim) claimed_.erase(live);
  order_.pop_front();
}

void replay_guard::release(const signature_id& id) {
  std::lock_guard lock(mutex_);
  claimed_.erase(id);
}

std::size_t replay_guard::size() const {
  std::lock_guard lock(mutex_);
  return claimed_.size();
}

std::uint64_t replay_guard::evicted() const {
  std::lock_guard lock(mutex_);
  return evicted_;
}

}  // namespace mailhook::webhook
