#include "report/report_role.h"

#include <spdlog/spdlog.h>

#include <map>
#include <string_view>
#include <vector>

#include "email/tenant_id.h"
#include "kafka/email_event_record.h"

namespace mailhook::report {
namespace {

// Events of tenants beyond the metric's bound are counted under this label (the report
// itself keeps every tenant).
constexpr std::string_view other_tenants_label = "_other";

// The day the record arrived: its Kafka timestamp (ingest's receive time), else the
// event's own received_at_ms, else the event's day.
day_number arrival_day_of(const rd_kafka_message_t* m, const mailhook::v1::EmailEvent& event,
                          day_number event_day) {
  std::int64_t ms = rd_kafka_message_timestamp(m, nullptr);
  if (ms <= 0) ms = event.received_at_ms();
  if (ms <= 0) return event_day;
  return day_of_unix_seconds(ms / 1000).value_or(event_day);
}

}  // namespace

result<std::unique_ptr<report_role>> report_role::start(const config::daemon_config& config,
                                                        store& counts,
                                                        metrics::registry& registry) {
  auto consumer = make_consumer(config.kafka, "mailhook-report", {{"fetch.wait.max.ms", "100"}});
  if (!consumer) return consumer.error();
  std::unique_ptr<report_role> role(
      new report_role(config, counts, std::move(*consumer), registry));
  role->kafka::partition_follower::start();
  return role;
}

report_role::report_role(const config::daemon_config& config, store& counts,
                         kafka::handle_ptr consumer, metrics::registry& registry)
    : kafka::partition_follower("report", config.topics.events.name, std::move(consumer),
                                counts.offsets(),
                                static_cast<std::size_t>(config.report.max_batch)),
      seen_days_(config.report.seen_days),
      store_(counts),
      max_extra_tenants_(static_cast<std::size_t>(config.report.metric_tenants)),
      events_(registry.counter("mailhook_report_events_total",
                               "Events counted by the bounce report (each sg_event_id once), by "
                               "tenant and kind; tenants past report.metric_tenants are "
                               "counted as _other",
                               {"tenant", "kind"})),
      records_(registry.counter("mailhook_report_records_total",
                                "Events-topic records read by the report role, by what became "
                                "of them: counted, duplicate, not_counted (kinds the report "
                                "does not show), or why they could not count",
                                {"result"})) {
  // The configured tenants always have their own label.
  for (const auto& source : config.sources) labelled_tenants_.insert(source.tenant);
  // For the alert rules, which compare each tenant's rates with these.
  auto& thresholds = registry.gauge("mailhook_report_alert_threshold",
                                    "The rate over which a tenant's bounce or spam-report "
                                    "alert fires ([report] bounce_rate_alert, spam_rate_alert)",
                                    {"rate"});
  thresholds.with({"bounce"}).set(config.report.bounce_rate_alert);
  thresholds.with({"spam"}).set(config.report.spam_rate_alert);
  // Read at scrape time; the application stops scraping before it stops this role.
  registry.add_collector([this](metrics::collector_sink& sink) {
    sink.gauge("mailhook_report_lag", "Events-topic records the report has not counted yet", {})
        .set({}, static_cast<double>(lag()));
  });
}

report_role::~report_role() {
  stop();
}

const std::string& report_role::tenant_label(const std::string& tenant) {
  static const std::string other(other_tenants_label);
  if (auto it = labelled_tenants_.find(tenant); it != labelled_tenants_.end()) return *it;
  if (extra_tenants_ >= max_extra_tenants_) return other;
  ++extra_tenants_;
  return *labelled_tenants_.insert(tenant).first;
}

bool report_role::apply(std::span<const rd_kafka_message_t* const> messages) {
  std::vector<consumed_record> records;
  records.reserve(messages.size());
  // The events stay alive until the batch is written: the records view their strings.
  std::vector<mailhook::v1::EmailEvent> events(messages.size());
  std::map<std::string_view, std::uint64_t> not_counted;
  for (const auto* m : messages) {
    auto& event = events[records.size()];
    auto& record = records.emplace_back(consumed_record{m->partition, m->offset, std::nullopt});
    if (!kafka::decode_email_event(m, event)) {
      ++not_counted["undecodable"];
      continue;
    }
    auto kind = kind_of(static_cast<email::event_type>(event.type()), event.bounce_type());
    if (!kind) {
      ++not_counted["not_counted"];
      continue;
    }
    auto day = day_of_unix_seconds(event.timestamp());
    if (!day) {
      ++not_counted["bad_timestamp"];
      continue;
    }
    if (!email::tenant_id::valid(event.tenant()) || event.sg_event_id().empty()) {
      ++not_counted["missing_field"];
      continue;
    }
    record.event = consumed_record::counted{event.tenant(), event.sg_event_id(), *kind, *day,
                                            arrival_day_of(m, event, *day)};
  }
  auto outcome = store_.apply(records);
  if (!outcome) {
    set_error(outcome.error().describe());
    return false;
  }
  records_.with({"counted"}).inc(static_cast<double>(outcome->counted));
  records_.with({"duplicate"}).inc(static_cast<double>(outcome->duplicates));
  for (const auto& [why, n] : not_counted) records_.with({why}).inc(static_cast<double>(n));
  for (const auto& [key, n] : outcome->by_tenant) {
    events_.with({tenant_label(key.first), to_string(key.second)}).inc(static_cast<double>(n));
  }
  return true;
}

void report_role::on_catch_up(std::uint64_t records_ahead) {
  spdlog::info("report: {} events-topic records to count", records_ahead);
}

void report_role::on_caught_up() {
  spdlog::info("report: caught up with {}", topic());
}

void report_role::after_poll() {
  if (!caught_up()) return;
  auto today = today_utc();
  if (pruned_on_ == today) return;
  if (auto pruned = store_.prune_seen(today - seen_days_); !pruned) {
    set_error(pruned.error().describe());
    return;
  }
  pruned_on_ = today;
}

}  // namespace mailhook::report
