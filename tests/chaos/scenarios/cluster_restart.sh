# Scenario 8, cluster-restart: one ingest instance under load while the whole cluster
# stops (every node at once) and starts again with its data. Promise tested: a 2xx means
# Kafka holds the batch; while no broker answers, mailhook answers 503 (SendGrid posts
# again later) and acknowledges nothing it cannot keep. Recovery is how long no 2xx came.
#
#   scenario_cluster_restart SECONDS_DOWN

scenario_cluster_restart() {
  local down=$1 name=cluster-restart scenario=cluster_restart
  progress "$name: every node stopped for ${down}s, then started"
  ingest_config a "$scenario"
  ingest_start a
  ingest_wait_ready a
  load_start a $((down + 150))
  sleep 5
  kafka stop
  sleep "$down"
  kafka start --brokers 3 >/dev/null
  local healthy=yes
  await_acks a 120 || healthy="no 2xx within 120s of the cluster's return"
  progress "$name: acknowledging again"
  sleep 5
  load_stop a
  ingest_stop a || healthy="the ingest instance died"
  report "$name" "$(audit "$scenario" a)" "$(longest_without_ack a)" "$healthy"
}
