#include "suppression/record.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <random>

namespace mailhook {

std::string_view to_string(suppression_scope scope) noexcept {
  switch (scope) {
    case suppression_scope::global:
      return "global";
    case suppression_scope::group:
      return "group";
    case suppression_scope::tenant:
      return "tenant";
  }
  return "global";
}

namespace {
constexpr std::array<std::string_view, 9> reason_words = {
    "unspecified", "bounce",      "soft_bounce",       "invalid",
    "spam_report", "unsubscribe", "group_unsubscribe", "account_suspended",
    "manual"};
}  // namespace

std::string_view to_string(suppression_reason reason) noexcept {
  auto index = static_cast<std::size_t>(reason);
  return index < reason_words.size() ? reason_words[index] : reason_words[0];
}

std::string_view to_string(suppression_origin origin) noexcept {
  switch (origin) {
    case suppression_origin::event:
      return "event";
    case suppression_origin::manual:
      return "manual";
    case suppression_origin::import:
      return "import";
    case suppression_origin::unspecified:
      break;
  }
  return "unspecified";
}

}  // namespace mailhook

namespace mailhook::suppression {

static_assert(static_cast<int>(suppression_reason::manual) ==
              mailhook::v1::SUPPRESSION_REASON_MANUAL);
static_assert(static_cast<int>(suppression_scope::tenant) ==
              mailhook::v1::SUPPRESSION_SCOPE_TENANT);
static_assert(static_cast<int>(suppression_origin::import) ==
              mailhook::v1::SUPPRESSION_ORIGIN_IMPORT);

void write_global_key(std::string& out, email::tenant_id tenant, email::normalized_email email) {
  out.clear();
  out.reserve(tenant.str().size() + email.str().size() + 8);
  out.append(tenant.str()).append("/global/").append(email.str());
}

void write_group_key(std::string& out, email::tenant_id tenant, std::int64_t asm_group_id,
                     email::normalized_email email) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, asm_group_id);
  out.clear();
  out.reserve(tenant.str().size() + email.str().size() + 32);
  out.append(tenant.str()).append("/group:").append(digits, end).append("/").append(email.str());
}

std::string global_key(email::tenant_id tenant, email::normalized_email email) {
  std::string key;
  write_global_key(key, tenant, email);
  return key;
}

std::string group_key(email::tenant_id tenant, std::int64_t asm_group_id,
                      email::normalized_email email) {
  std::string key;
  write_group_key(key, tenant, asm_group_id, email);
  return key;
}

std::string tenant_key(email::tenant_id tenant) {
  std::string key(tenant.str());
  key += "/tenant/";
  return key;
}

std::string key_of(const record& r) {
  const email::tenant_id tenant(r.tenant());
  const auto address = email::normalized_email::from_normalized(r.email_normalized());
  switch (r.scope()) {
    case mailhook::v1::SUPPRESSION_SCOPE_GROUP:
      return group_key(tenant, r.asm_group_id(), address);
    case mailhook::v1::SUPPRESSION_SCOPE_TENANT:
      return tenant_key(tenant);
    default:
      return global_key(tenant, address);
  }
}

bool wins_over(const record& candidate, const record& current) {
  if (candidate.event_time_ms() != current.event_time_ms())
    return candidate.event_time_ms() > current.event_time_ms();
  return candidate.event_id() > current.event_id();
}

mailhook::suppression_info to_suppression(const record& r) {
  mailhook::suppression_info s;
  s.scope = r.scope() == mailhook::v1::SUPPRESSION_SCOPE_UNSPECIFIED
                ? suppression_scope::global
                : static_cast<suppression_scope>(r.scope());
  s.asm_group_id = r.asm_group_id();
  s.reason = static_cast<suppression_reason>(r.reason());
  s.origin = static_cast<suppression_origin>(r.origin());
  s.detail = r.detail();
  s.since_ms = r.event_time_ms();
  return s;
}

std::optional<suppression_reason> parse_reason(std::string_view word) {
  for (std::size_t i = 0; i < reason_words.size(); ++i) {
    if (reason_words[i] == word) return static_cast<suppression_reason>(i);
  }
  return std::nullopt;
}

std::optional<suppression_scope> parse_scope(std::string_view word) {
  if (word == "global") return suppression_scope::global;
  if (word == "group") return suppression_scope::group;
  if (word == "tenant") return suppression_scope::tenant;
  return std::nullopt;
}

result<record> make_record(const manual_change& change, std::int64_t now_ms) {
  record r;
  r.set_tenant(change.tenant);
  r.set_scope(static_cast<mailhook::v1::SuppressionScope>(change.scope));
  if (change.scope == suppression_scope::group) r.set_asm_group_id(change.asm_group_id);
  if (change.scope != suppression_scope::tenant) {
    auto normalized = email::normalized_address(change.email);
    if (!normalized) return normalized.error();
    r.set_email(change.email);
    r.set_email_normalized(std::move(*normalized));
  }
  r.set_suppressed(change.suppressed);
  r.set_reason(static_cast<mailhook::v1::SuppressionReason>(change.reason));
  r.set_detail(change.detail);
  r.set_event_time_ms(now_ms);
  // Random, so that two changes of one key within the same millisecond still order.
  static thread_local std::mt19937_64 random{std::random_device{}()};
  char id[32];
  auto written =
      std::snprintf(id, sizeof id, "manual:%016llx", static_cast<unsigned long long>(random()));
  r.set_event_id(std::string(id, static_cast<std::size_t>(written)));
  r.set_origin(mailhook::v1::SUPPRESSION_ORIGIN_MANUAL);
  r.set_source(change.source);
  r.set_recorded_at_ms(now_ms);
  r.set_actor(change.actor);
  r.set_note(change.note);
  return r;
}

}  // namespace mailhook::suppression
