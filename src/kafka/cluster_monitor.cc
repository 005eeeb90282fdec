#include "kafka/cluster_monitor.h"

#include <spdlog/spdlog.h>

#include "common/thread_name.h"

namespace mailhook::kafka {

result<std::unique_ptr<cluster_monitor>> cluster_monitor::start(const config::kafka_config& kafka,
                                                                metrics::registry& registry,
                                                                reachable_callback on_reachable) {
  // A producer handle is the lightest kind: it joins no group and fetches nothing.
  auto conf = make_conf(kafka, {{"reconnect.backoff.max.ms", "1000"}});
  if (!conf) return conf.error();
  auto handle = make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!handle) return handle.error();
  std::unique_ptr<cluster_monitor> monitor(
      new cluster_monitor(kafka, std::move(*handle), registry));
  monitor->on_reachable_ = std::move(on_reachable);
  monitor->probe_once();
  monitor->thread_ = std::thread([m = monitor.get()] {
    name_current_thread("kafka-monitor");
    m->run();
  });
  return monitor;
}

cluster_monitor::cluster_monitor(const config::kafka_config& kafka, handle_ptr handle,
                                 metrics::registry& registry)
    : handle_(std::move(handle)),
      interval_(kafka.health_interval),
      timeout_(kafka.health_timeout),
      up_gauge_(
          registry.gauge("mailhook_kafka_up", "1 while the Kafka cluster answers metadata requests")
              .get()),
      brokers_gauge_(
          registry.gauge("mailhook_kafka_brokers", "Brokers the Kafka cluster reports").get()),
      probe_failures_(registry
                          .counter("mailhook_kafka_probe_failures_total",
                                   "Kafka metadata probes that got no answer")
                          .get()) {}

cluster_monitor::~cluster_monitor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string cluster_monitor::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void cluster_monitor::probe_once() {
  auto brokers = probe_cluster(handle_.get(), timeout_);
  const bool was_reachable = reachable_.load();
  if (brokers && !was_reachable && on_reachable_) on_reachable_(handle_.get());
  std::lock_guard lock(mutex_);
  if (brokers) {
    last_error_.clear();
    brokers_gauge_.set(static_cast<double>(*brokers));
    up_gauge_.set(1);
    reachable_.store(true, std::memory_order_release);
    if (!was_reachable) spdlog::info("kafka: cluster reachable, {} broker(s)", *brokers);
  } else {
    last_error_ = brokers.error().describe();
    brokers_gauge_.set(0);
    up_gauge_.set(0);
    probe_failures_.inc();
    reachable_.store(false, std::memory_order_release);
    if (was_reachable) spdlog::warn("kafka: cluster unreachable: {}", last_error_);
  }
}

void cluster_monitor::run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    probe_once();
    lock.lock();
  }
}

}  // namespace mailhook::kafka
