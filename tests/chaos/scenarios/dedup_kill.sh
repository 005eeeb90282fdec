# Scenario dedup-kill: two ingest instances under the same signed load (both load
# generators post the same events, as SendGrid's retries of a batch to another instance
# would), so the events topic holds every event twice; two daemons running the opt-in
# dedup role in one consumer group copy it to the deduplicated topic, and one of them, in
# turn, is killed with SIGKILL and restarted, CYCLES times. Promise tested: the
# deduplicated topic holds every acknowledged event exactly once (docs/events.md): after
# the dedup group has read every event, its audit says lost_after_ack=0 duplicates=0, while
# the events topic's own audit (dedup-check) must show the duplicates it removed.
#
#   scenario_dedup_kill CYCLES SECONDS_BETWEEN_KILLS

# dedup_config NAME SCENARIO GROUP: a dedup daemon's directory and configuration: the
# scenario's topics, consumer group GROUP, a transactional.id of its own (kept across
# restarts) and a short batch wait, so that most kills land inside a transaction.
dedup_config() {
  local name=$1 scenario=$2 group=$3
  ingest_config "$name" "$scenario"
  printf '\n[dedup]\ngroup_id = "%s"\ntransactional_id = "%s-%s"\ndir = "%s"\nmax_batch_wait = "10ms"\n' \
    "$group" "$group" "$name" "$work/$name/dedup" >>"$work/$name/mailhook.toml"
}

scenario_dedup_kill() {
  local cycles=$1 every=$2 name=dedup-kill scenario=dedup_kill group=chaos-dedup-kill
  progress "$name: $cycles kills of a dedup instance, one every ${every}s"
  ingest_config a "$scenario"
  ingest_config b "$scenario"
  dedup_config d1 "$scenario" "$group"
  dedup_config d2 "$scenario" "$group"
  local instance
  for instance in a b; do ingest_start "$instance"; done
  for instance in d1 d2; do ingest_start "$instance" dedup; done
  for instance in a b d1 d2; do ingest_wait_ready "$instance"; done
  # One seed for both generators: the same events, each posted to both instances.
  local seed=$((RANDOM * 32768 + RANDOM + 1)) seconds=$((cycles * (every + 5) + 60))
  load_start a "$seconds" --seed "$seed"
  load_start b "$seconds" --seed "$seed"
  sleep 2
  kill_in_turn "$name" "$cycles" "$every" dedup d1 d2
  local in_transaction
  in_transaction=$(cat "$work/d1/mailhook.log" "$work/d2/mailhook.log" |
    grep -c 'concurrent operation on the same transaction' || true)
  progress "$name: $in_transaction of $cycles kills found inside a transaction"
  load_stop a
  load_stop b
  local healthy=yes
  ingest_stop a || healthy="ingest instance a died"
  ingest_stop b || healthy="ingest instance b died"
  # The dedup daemons run on until their group has read every event.
  local dedup_line
  dedup_line=$("$(audit_bin)" --bootstrap "$bootstrap" \
    --topic "chaos.$scenario.events.deduplicated" events --acked "$work/a/acked" \
    --acked "$work/b/acked" --after-group "$group" --of "chaos.$scenario.events" \
    2>>"$work/audit.log") || true
  for instance in d1 d2; do ingest_stop "$instance" || healthy="dedup instance $instance died"; done
  report "$name" "$dedup_line" "$(longest_without_ack a b)" "$healthy"
  # The deduplicated topic must hold no duplicate, and the events topic must have had some
  # for that to prove anything.
  local events_line check_verdict=ok events_duplicates=0 dedup_duplicates=-
  events_line=$(audit "$scenario" a b)
  [[ " $events_line " =~ \ duplicates=([0-9]+)\  ]] && events_duplicates=${BASH_REMATCH[1]}
  [[ " $dedup_line " =~ \ duplicates=([0-9]+)\  ]] && dedup_duplicates=${BASH_REMATCH[1]}
  ((events_duplicates > 0)) ||
    check_verdict="FAILED: the events topic had no duplicates to remove ('$events_line')"
  [ "$dedup_duplicates" = 0 ] ||
    check_verdict="FAILED: the deduplicated topic has duplicates=$dedup_duplicates"
  printf '%-16s events topic duplicates=%s, deduplicated topic duplicates=%s  %s\n' \
    dedup-check "$events_duplicates" "$dedup_duplicates" "$check_verdict" | tee -a "$work/results"
}
