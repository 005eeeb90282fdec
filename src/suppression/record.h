// The suppression changelog's vocabulary: how a key is spelled, which of two records of a
// key wins, and the words for scopes and reasons. Shared by the policy role, the index
// replicas, the admin API and the CLI, so that all of them agree byte for byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "email/address.h"
#include "email/tenant_id.h"
#include "mailhook/suppression.h"
#include "mailhook/v1/suppression_record.pb.h"

namespace mailhook::suppression {

using record = mailhook::v1::SuppressionRecord;

// The Kafka key (and RocksDB key) of a suppression:
//   "<tenant>/global/<email>", "<tenant>/group:<id>/<email>" or "<tenant>/tenant/".
// Tenants never contain '/' (email::tenant_id::valid), so the first '/' ends the tenant
// and every key of a tenant starts with "<tenant>/".
[[nodiscard]] std::string global_key(email::tenant_id tenant, email::normalized_email email);
[[nodiscard]] std::string group_key(email::tenant_id tenant, std::int64_t asm_group_id,
                                    email::normalized_email email);
[[nodiscard]] std::string tenant_key(email::tenant_id tenant);
[[nodiscard]] std::string key_of(const record& r);

// Appends the same keys to `out` (which it clears first), for hot paths that reuse one
// buffer.
void write_global_key(std::string& out, email::tenant_id tenant, email::normalized_email email);
void write_group_key(std::string& out, email::tenant_id tenant, std::int64_t asm_group_id,
                     email::normalized_email email);

// True when `candidate` replaces `current`: a later event time, or the same time and a
// greater event id. Equal (time, id) is a duplicate and changes nothing.
[[nodiscard]] bool wins_over(const record& candidate, const record& current);

// The record's suppression as the public API reports it.
[[nodiscard]] mailhook::suppression_info to_suppression(const record& r);

// Parses the words of to_string(suppression_reason|scope) ("bounce", "spam_report", ...).
[[nodiscard]] std::optional<suppression_reason> parse_reason(std::string_view word);
[[nodiscard]] std::optional<suppression_scope> parse_scope(std::string_view word);

// A change made by hand (admin API, CLI): stamped with `now_ms` as its event time and a
// random event id, so that it wins over everything that happened before it. Fails, with
// email::address_errc, when the scope needs an address and `email` does not normalize.
struct manual_change {
  std::string tenant;
  suppression_scope scope = suppression_scope::global;
  std::int64_t asm_group_id = 0;
  std::string email;  // as given; normalized here
  bool suppressed = true;
  suppression_reason reason = suppression_reason::manual;
  std::string detail;
  std::string source;  // "api", "cli"
  std::string actor;   // who: the admin token's name
  std::string note;    // why, as they gave it
};
[[nodiscard]] result<record> make_record(const manual_change& change, std::int64_t now_ms);

}  // namespace mailhook::suppression
