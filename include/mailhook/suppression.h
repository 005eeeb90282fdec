// mailhook's suppression lookup, for send workers that link it: "may I send to this
// address?" answered from the local index replica, in about a microsecond, without a
// network round trip. The answer is either "allowed" or the suppression that forbids the
// send: its scope, its reason and since when.
//
// Addresses are compared normalized (trimmed, Unicode lower case and NFC, the domain in
// its IDNA ASCII form without a trailing dot), so callers pass them as they have them.
// Text that is not one bare address (a display-name form, invisible characters, invalid
// UTF-8, ...) is never allowed: it is answered as suppressed, scope global, reason
// invalid, with why in `detail`. Implementations are safe to call from any number of
// threads.
//
// Outside the daemon, open_replica() below opens the replica directory an `index` role
// keeps; it is what libmailhook_lookup exports (docs/library.md: linking, ABI, threads).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mailhook {

// The values are those of mailhook.v1.SuppressionScope and SuppressionReason.
enum class suppression_scope : std::uint8_t {
  global = 1,  // every email to the address
  group = 2,   // email of one unsubscribe group
  tenant = 3,  // every email of the tenant: the account is suspended
};

enum class suppression_reason : std::uint8_t {
  unspecified = 0,
  bounce = 1,
  soft_bounce = 2,
  invalid = 3,
  spam_report = 4,
  unsubscribe = 5,
  group_unsubscribe = 6,
  account_suspended = 7,
  manual = 8,
};

enum class suppression_origin : std::uint8_t { unspecified = 0, event = 1, manual = 2, import = 3 };

// Why an address may not be sent to.
struct suppression_info {
  suppression_scope scope = suppression_scope::global;
  std::int64_t asm_group_id = 0;  // scope group only
  suppression_reason reason = suppression_reason::unspecified;
  suppression_origin origin = suppression_origin::unspecified;
  std::string detail;         // bounce classification, dropped reason, ... (filled by describe())
  std::int64_t since_ms = 0;  // when it happened, Unix milliseconds
};

struct verdict {
  std::optional<suppression_info> suppressed;  // empty: allowed
  [[nodiscard]] bool allowed() const { return !suppressed.has_value(); }
};

class suppression_lookup {
 public:
  virtual ~suppression_lookup() = default;

  // The verdict for sending `address` on behalf of `tenant`, as part of unsubscribe group
  // `asm_group_id` when there is one. A tenant-wide suspension comes first, then a global
  // suppression, then the group's. Answered from memory: `detail` is left empty except
  // for a suspension.
  [[nodiscard]] virtual verdict check(std::string_view tenant, std::string_view address,
                                      std::optional<std::int64_t> asm_group_id = {}) const = 0;

  // The same verdict with the suppression's detail text (bounce classification and
  // status, dropped reason, ...), read from the full record: for reports and people, not
  // for the send path.
  [[nodiscard]] virtual verdict describe(std::string_view tenant, std::string_view address,
                                         std::optional<std::int64_t> asm_group_id = {}) const = 0;
};

struct replica_options {
  // RocksDB's block cache, for the records describe() and the rare shared-hash lookup read.
  std::uint64_t block_cache_bytes = 8ULL << 20;
};

struct opened_replica {
  std::unique_ptr<suppression_lookup> lookup;  // null when the directory could not be opened
  std::string error;                           // why, when `lookup` is null
};

// Opens the replica directory of an `index` role (`[index] dir`, /var/lib/mailhook/index
// under the systemd unit) read-only, taking no lock: the daemon may keep writing it. The
// verdicts are those of the records in the directory's files when it is opened (one scan
// builds the in-memory table, about 0.6 s per million keys). The index role writes
// without a write-ahead log, so its latest changes reach the files when RocksDB flushes
// its memtable (64 MiB of records) and when the role stops; changes after the open are
// seen only by opening the directory again. The lookup closes the directory when
// destroyed.
[[nodiscard]] opened_replica open_replica(const std::string& directory,
                                          const replica_options& options = {});

// Stable snake_case words, as the admin API and metrics use them.
[[nodiscard]] std::string_view to_string(suppression_scope scope) noexcept;
[[nodiscard]] std::string_view to_string(suppression_reason reason) noexcept;
[[nodiscard]] std::string_view to_string(suppression_origin origin) noexcept;

}  // namespace mailhook
