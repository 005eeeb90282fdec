// The HTTP server's metrics (mailhook_http_*): connections, bodies being read, requests
// refused before a handler, timeouts, TLS handshake failures, each labelled with the
// listener's name. Read at scrape time from the server's shared counters, which outlive
// the server, so a scrape after it stopped is still safe.
#pragma once

#include "http/server.h"
#include "metrics/registry.h"

namespace mailhook::http {

void register_server_metrics(metrics::registry& registry, const server& server);

}  // namespace mailhook::http
