#include "http/server_metrics.h"

#include <string>

namespace mailhook::http {

void register_server_metrics(metrics::registry& registry, const server& server) {
  registry.add_collector([shared = server.shared_stats(),
                          name = server.options().name](metrics::collector_sink& sink) {
    const auto& stats = *shared;
    sink.gauge("mailhook_http_connections_open", "Open HTTP connections", {"listener"})
        .set({name}, static_cast<double>(stats.connections_open.load()));
    sink.counter("mailhook_http_connections_total", "Accepted HTTP connections", {"listener"})
        .set({name}, static_cast<double>(stats.connections_accepted.load()));
    sink.counter("mailhook_http_connections_refused_total",
                 "HTTP connections closed at once because max_connections were open", {"listener"})
        .set({name}, static_cast<double>(stats.connections_refused.load()));
    sink.counter("mailhook_http_connections_refused_per_client_total",
                 "HTTP connections closed at once because their client address had "
                 "max_connections_per_client open",
                 {"listener"})
        .set({name}, static_cast<double>(stats.connections_refused_per_client.load()));
    sink.gauge("mailhook_http_body_bytes_reading", "Bytes of request bodies being read",
               {"listener"})
        .set({name}, static_cast<double>(stats.body_bytes_reading.load()));
    sink.counter("mailhook_http_slow_uploads_total",
                 "Request bodies cut off for arriving slower than min_upload_rate", {"listener"})
        .set({name}, static_cast<double>(stats.slow_uploads.load()));
    auto& rejected =
        sink.counter("mailhook_http_requests_rejected_total",
                     "HTTP requests refused before reaching a handler", {"listener", "reason"});
    rejected.set({name, "header_too_large"},
                 static_cast<double>(stats.requests_rejected_header_too_large.load()));
    rejected.set({name, "body_too_large"},
                 static_cast<double>(stats.requests_rejected_body_too_large.load()));
    rejected.set({name, "malformed"},
                 static_cast<double>(stats.requests_rejected_malformed.load()));
    rejected.set({name, "client_body_bytes"},
                 static_cast<double>(stats.requests_rejected_client_bytes.load()));
    rejected.set({name, "overloaded"},
                 static_cast<double>(stats.requests_rejected_overloaded.load()));
    sink.counter("mailhook_http_tls_handshake_failures_total",
                 "TLS handshakes that failed or ran out of time", {"listener"})
        .set({name}, static_cast<double>(stats.tls_handshake_failures.load()));
    sink.counter("mailhook_http_timeouts_total", "HTTP reads or writes that ran out of time",
                 {"listener"})
        .set({name}, static_cast<double>(stats.timeouts.load()));
  });
}

}  // namespace mailhook::http
