# Scenario 2, leader-kill: one ingest instance under load while the broker that leads
# partition 0 of the events topic is killed with SIGKILL and restarted with its data,
# CYCLES times; then the leader is frozen (SIGSTOP) for longer than the producer's request
# timeout and resumed. Promise tested: a 2xx means Kafka holds the batch: with three
# copies and min.insync.replicas=2, an acknowledged record is on two brokers, so losing
# any one loses none.
#
#   scenario_leader_kill CYCLES PAUSE_SECONDS

scenario_leader_kill() {
  local cycles=$1 pause=$2 name=leader-kill scenario=leader_kill
  progress "$name: $cycles leader kills, then the leader paused for ${pause}s"
  ingest_config a "$scenario"
  ingest_start a
  ingest_wait_ready a
  load_start a $((cycles * 40 + pause + 90))
  sleep 3
  local cycle leader
  for ((cycle = 1; cycle <= cycles; cycle++)); do
    leader=$(events_leader "$scenario") || break
    kafka node "$leader" kill
    sleep 2
    kafka node "$leader" start >/dev/null
    # Back in sync before the next kill: two nodes down at once is not this scenario.
    sleep 5
    ((cycle % 5)) || progress "$name: $cycle of $cycles leader kills"
  done
  leader=$(events_leader "$scenario") || true
  if [ -n "$leader" ]; then
    progress "$name: pausing node $leader for ${pause}s"
    kafka node "$leader" pause
    sleep "$pause"
    kafka node "$leader" resume
  fi
  local healthy=yes
  [ -n "$leader" ] || healthy="no leader found for chaos.$scenario.events"
  await_acks a 60 || healthy="no 2xx within 60s of the last fault"
  sleep 5
  load_stop a
  ingest_stop a || healthy="the ingest instance died"
  report "$name" "$(audit "$scenario" a)" "$(longest_without_ack a)" "$healthy"
}

# The node number leading partition 0 of the scenario's events topic.
events_leader() {
  "$(audit_bin)" --bootstrap "$bootstrap" --topic "chaos.$1.events" leader --partition 0
}
