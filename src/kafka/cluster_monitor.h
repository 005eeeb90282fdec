// Watches whether the Kafka cluster answers, for /readyz and the kafka_up gauge.
//
// A background thread sends a metadata request every health_interval on its own
// librdkafka handle (so that a busy producer queue never delays the probe) and records
// the outcome. reachable() and last_error() may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "config/daemon_config.h"
#include "kafka/client.h"
#include "metrics/registry.h"

namespace mailhook::kafka {

class cluster_monitor {
 public:
  // Runs on the monitor's thread each time the cluster becomes reachable (also at start).
  using reachable_callback = std::function<void(rd_kafka_t* handle)>;

  // Probes once before returning, so that readiness is known from the start.
  static result<std::unique_ptr<cluster_monitor>> start(const config::kafka_config& kafka,
                                                        metrics::registry& registry,
                                                        reachable_callback on_reachable = {});
  ~cluster_monitor();
  cluster_monitor(const cluster_monitor&) = delete;
  cluster_monitor& operator=(const cluster_monitor&) = delete;

  [[nodiscard]] bool reachable() const { return reachable_.load(std::memory_order_acquire); }
  // Why the last probe failed; empty while reachable.
  [[nodiscard]] std::string last_error() const;
  // The handle the monitor probes with; also used for admin requests (topic creation).
  [[nodiscard]] rd_kafka_t* handle() const { return handle_.get(); }

 private:
  cluster_monitor(const config::kafka_config& kafka, handle_ptr handle,
                  metrics::registry& registry);
  void probe_once();
  void run();

  handle_ptr handle_;
  reachable_callback on_reachable_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds timeout_;
  metrics::gauge& up_gauge_;
  metrics::gauge& brokers_gauge_;
  metrics::counter& probe_failures_;
  std::atomic<bool> reachable_{false};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace mailhook::kafka
