// Remembers the signatures of signed requests that were accepted, for as long as their
// timestamp is inside the replay window, so that a captured request sent again is
// recognised. Keyed by the signature's r (signature_r()), which no re-encoding of the
// same signature changes.
//
// A signature is claimed when its request passes verification and released again if
// the request is not answered 2xx: SendGrid retries what it was refused, and a retry
// that reuses its signature must then get through. Bounded: at most `capacity`
// signatures; past that the oldest claim is forgotten first (a replay of it is then
// published again, as a duplicate that downstream deduplicates by sg_event_id).
// Thread-safe: any I/O thread claims, the producer's delivery thread releases.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "webhook/signature.h"

namespace mailhook::webhook {

class replay_guard {
 public:
  explicit replay_guard(std::size_t capacity);

  enum class claim_outcome {
    first,     // not seen: claimed now
    replayed,  // claimed by an earlier request that was (or is being) accepted
  };
  // Claims `id` until `expires_s` (Unix seconds: the timestamp plus the replay window);
  // claims whose time has passed at `now_s` are forgotten first.
  [[nodiscard]] claim_outcome claim(const signature_id& id, std::int64_t expires_s,
                                    std::int64_t now_s);
  // Forgets a claim whose request was not accepted after all.
  void release(const signature_id& id);

  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::uint64_t evicted() const;  // claims forgotten early, for lack of room

 private:
  struct id_hash {
    std::size_t operator()(const signature_id& id) const noexcept;
  };
  struct entry {
    std::int64_t expires_s;
    std::uint64_t claim;  // which claim of the id this is: a released id may be claimed again
    signature_id id;
  };
  void forget_front();

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<signature_id, std::uint64_t, id_hash> claimed_;  // id -> its live claim
  std::deque<entry> order_;  // in claim order; released claims stay until they reach the front
  std::uint64_t next_claim_ = 0;
  std::uint64_t evicted_ = 0;
};

}  // namespace mailhook::webhook
