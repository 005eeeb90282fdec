# Scenario 1, ingest-kill: two ingest instances share the load (each its own load
# generator, as two hosts behind a load balancer would), and one of them, in turn, is
# killed with SIGKILL under load and restarted, CYCLES times. Promise tested: a 2xx means
# Kafka holds the batch, so an answer the dead instance gave before dying is never lost.
# A request cut off by the kill got no answer, and SendGrid would post it again.
#
#   scenario_ingest_kill CYCLES SECONDS_BETWEEN_KILLS

scenario_ingest_kill() {
  local cycles=$1 every=$2 name=ingest-kill scenario=ingest_kill
  progress "$name: $cycles kills, one every ${every}s"
  ingest_config a "$scenario"
  ingest_config b "$scenario"
  ingest_start a
  ingest_start b
  ingest_wait_ready a
  ingest_wait_ready b
  # Long enough for every cycle's restart too; load_stop ends it when the cycles are done.
  load_start a $((cycles * (every + 5) + 60))
  load_start b $((cycles * (every + 5) + 60))
  sleep 2
  kill_in_turn "$name" "$cycles" "$every" ingest a b
  load_stop a
  load_stop b
  local healthy=yes
  ingest_stop a || healthy="instance a died"
  ingest_stop b || healthy="instance b died"
  report "$name" "$(audit "$scenario" a b)" "$(longest_without_ack a b)" "$healthy"
}
