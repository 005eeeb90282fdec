# scale-out: two instances of every role on the three-node cluster, as a platform runs
# them: two ingest instances, each under its own signed load (two hosts behind a load
# balancer); two policy instances in one consumer group; two index replicas (the index
# role alone); two senders in one group, sending through the Mail Send simulator the
# requests that come at a steady rate. Once all run, the consumer groups must have shared
# their six partitions (each member holds some: no idle member beside one that has all,
# read from mailhook_policy_assigned_partitions and mailhook_sender_assigned_partitions)
# and both ingest instances must be acknowledging. Then one instance of each role is
# killed with SIGKILL and not restarted; the survivors must take over every partition
# within 90 s each, and the run goes on for SECONDS more. (A takeover ends when the
# survivor has read its new partitions' committed offsets, which waits for a transaction
# the killed member left open: the sender's 60 s transaction timeout and the broker's
# abort after it, about 70 s at worst.)
# Promise tested: scaling out changes none of the promises, and losing one instance of
# each role loses nothing. At the end: no acknowledged event is missing from Kafka, every
# key's final state in the changelog is what a clean run of the policy decided (a third
# policy instance in a group and a changelog of its own, never killed), the surviving
# replica answers for every key exactly like the surviving policy's replica, no email was
# sent twice and every send request has exactly one result. wrong_verdicts adds the keys
# that differ from the clean run and those the two replicas disagree on.
#
#   scenario_scale_out SECONDS

# scale_out_assigned ROLE NAME...: the partitions each instance's group gave it, as
# "NAME=N ..." (N empty when the instance did not answer).
scale_out_assigned() {
  local role=$1 name line=
  shift
  for name in "$@"; do line+="$name=$(index_metric "$name" "mailhook_${role}_assigned_partitions") "; done
  echo "${line% }"
}

# scale_out_shared LINE PARTITIONS: true when every "NAME=N" of LINE holds at least one
# partition and together they hold PARTITIONS.
scale_out_shared() {
  local pair total=0
  for pair in $1; do
    [ -n "${pair#*=}" ] && ((${pair#*=} > 0)) || return 1
    total=$((total + ${pair#*=}))
  done
  ((total == $2))
}

# scale_out_wait_assigned ROLE PARTITIONS SECONDS NAME...: until the instances named share
# PARTITIONS between them, every one holding some; false after SECONDS.
scale_out_wait_assigned() {
  local role=$1 partitions=$2 seconds=$3 waited=0
  shift 3
  until scale_out_shared "$(scale_out_assigned "$role" "$@")" "$partitions"; do
    ((waited++ < seconds * 4)) || return 1
    sleep 0.25
  done
}

scenario_scale_out() {
  local seconds=$1 name=scale-out scenario=scale_out
  local policy_group=chaos-scale-out-policy sender_group=chaos-scale-out-sender
  [ -x "$(sender_tool_bin)" ] ||
    die "$(sender_tool_bin) is missing: cmake --build --preset ci --target mailhook_chaos_sender"
  progress "$name: two of every role; then one of each killed, and ${seconds}s more"
  local sim=$work/scale-sim producer=$work/scale-producer
  mkdir -p "$producer"
  simulator_start "$sim" SG.chaos-scale-out
  local instance
  for instance in a1 a2; do ingest_config "$instance" "$scenario"; done
  for instance in p1 p2; do policy_config "$instance" "$scenario" "$policy_group"; done
  # The clean run: the same policy over the same events, in a group and into a changelog of
  # its own, never killed (as in policy-kill).
  policy_config clean "$scenario" chaos-scale-out-clean "chaos.$scenario.suppressions.clean"
  for instance in r1 r2; do index_replica_config "$instance" "$scenario"; done
  for instance in s1 s2; do
    sender_daemon_config "$instance" "$scenario" "$sender_group" \
      "http://127.0.0.1:$(cat "$sim/port")" "$sim/api_key"
  done
  # Whichever instance starts first creates the topics: every one says the send topics have
  # six partitions, as the senders' configurations do.
  for instance in a1 a2 p1 p2 clean r1 r2; do
    sed -i "/^name = \"chaos\.$scenario\.send\.[a-z]*\"\$/{n;s/^partitions = 1\$/partitions = 6/}" \
      "$work/$instance/mailhook.toml"
  done
  # The policy's consumers, like the senders', give up on a killed member after 8 s
  # (librdkafka's default session timeout is 45 s).
  for instance in p1 p2; do
    printf '\n[kafka.properties]\n"session.timeout.ms" = %s\n' $((sender_session_timeout_s * 1000)) \
      >>"$work/$instance/mailhook.toml"
  done
  for instance in a1 a2; do ingest_start "$instance"; done
  for instance in p1 p2 clean; do ingest_start "$instance" policy,index; done
  for instance in r1 r2; do ingest_start "$instance" index; done
  for instance in s1 s2; do ingest_start "$instance" index,sender; done
  for instance in a1 a2 p1 p2 clean r1 r2 s1 s2; do ingest_wait_ready "$instance"; done
  for instance in a1 a2; do load_start "$instance" $((seconds + 120)); done
  "$(sender_tool_bin)" produce --bootstrap "$bootstrap" --topic "chaos.$scenario.send.requests" \
    --rate "$sender_rate" --requests $((sender_rate * (seconds + 120))) \
    --produced "$producer/produced" 2>"$producer/log" &
  echo $! >"$producer/pid"

  local healthy=yes policy_share sender_share
  scale_out_wait_assigned policy 6 60 p1 p2 || healthy="the policy group did not share its partitions"
  scale_out_wait_assigned sender 6 60 s1 s2 || healthy="the sender group did not share its partitions"
  policy_share=$(scale_out_assigned policy p1 p2)
  sender_share=$(scale_out_assigned sender s1 s2)
  sleep 3
  local acks_a1 acks_a2
  acks_a1=$(acknowledged_requests a1)
  acks_a2=$(acknowledged_requests a2)
  ((acks_a1 > 0 && acks_a2 > 0)) || healthy="an ingest instance acknowledged nothing (a1 $acks_a1, a2 $acks_a2)"
  progress "$name: partitions policy $policy_share, sender $sender_share;" \
    "requests acknowledged a1=$acks_a1 a2=$acks_a2; keys r1=$(index_metric r1 mailhook_index_keys)" \
    "r2=$(index_metric r2 mailhook_index_keys)"

  # One of each, at once; a2's load generator stops with it (its host is gone).
  local killed_at=$SECONDS
  for instance in a2 p2 r2 s2; do ingest_kill "$instance"; done
  load_stop a2
  scale_out_wait_assigned policy 6 90 p1 || healthy="p1 did not take over the policy's partitions"
  scale_out_wait_assigned sender 6 90 s1 || healthy="s1 did not take over the sender's partitions"
  progress "$name: one of each killed; the survivors hold policy $(scale_out_assigned policy p1)," \
    "sender $(scale_out_assigned sender s1) after $((SECONDS - killed_at))s"
  sleep "$seconds"
  load_stop a1
  signal_and_reap TERM "$producer/pid"
  ingest_stop a1 || healthy="ingest instance a1 died"

  # The end state. Events: every acknowledged one in Kafka (a2's too).
  local events_line
  events_line=$(audit "$scenario" a1 a2)
  # Suppressions: once both groups have decided every event, each key's final state in the
  # changelog is the clean run's; and the surviving replica and the surviving policy's own
  # replica hold the same record for every key.
  # p2 died inside a transaction and is not coming back: its changes are read past once the
  # coordinator has aborted it.
  local changelog_line changelog_keys= changelog_wrong= settle_started=$SECONDS
  decided_changelog_keys "chaos.$scenario.suppressions" "chaos.$scenario.events" "$policy_group" \
    >/dev/null
  await_changelog_settled 90 p1 r1 clean || healthy="the changelog was still held by an open transaction after 90s"
  progress "$name: every event decided, and the changelog read to its end by p1, r1 and the" \
    "clean run $((SECONDS - settle_started))s after the load stopped"
  changelog_line=$(audit_changelog "chaos.$scenario.suppressions" "chaos.$scenario.suppressions.clean" \
    "chaos.$scenario.events" "$policy_group" chaos-scale-out-clean)
  [[ " $changelog_line " =~ \ keys=([0-9]+)\  ]] && changelog_keys=${BASH_REMATCH[1]}
  [[ " $changelog_line " =~ \ wrong_verdicts=([0-9]+)\  ]] && changelog_wrong=${BASH_REMATCH[1]}
  [ -n "$changelog_keys" ] || healthy="the changelog audit could not finish (see $work/audit.log)"
  await_index_keys "$changelog_keys" p1 r1 || true
  local differing=
  if index_export p1 && index_export r1; then
    differing=$(export_differences "$work/p1/export.ndjson" "$work/r1/export.ndjson" || true)
  fi
  [ -n "$differing" ] || healthy="the replicas could not be exported and compared (see $work/audit.log)"
  local wrong=
  [ -z "$differing" ] || [ -z "$changelog_wrong" ] || wrong=$((differing + changelog_wrong))
  # Sending: every request has its result, none was sent twice.
  local send_line
  send_line=$("$(sender_tool_bin)" audit --bootstrap "$bootstrap" \
    --results "chaos.$scenario.send.results" --produced "$producer/produced" --calls "$sim/calls" \
    --wait 180 2>>"$work/audit.log" || true)
  [ -n "$send_line" ] || healthy="the send results could not be read (see $work/audit.log)"
  progress "$name: changelog ${changelog_line:-unread}; replicas differing ${differing:-unknown};" \
    "sending: ${send_line:-unread}"
  for instance in p1 clean r1 s1; do
    ingest_stop "$instance" || healthy="instance $instance died"
  done
  signal_and_reap TERM "$sim/pid"
  # The sending audit's own duplicates are results, not events: only its two verdicts.
  local send_verdicts=
  [[ " $send_line " =~ \ (sent_twice=[0-9]+)\  ]] && send_verdicts+=" ${BASH_REMATCH[1]}"
  [[ " $send_line " =~ \ (lost_without_result=[0-9]+)\  ]] && send_verdicts+=" ${BASH_REMATCH[1]}"
  report "$name" "${events_line:+$events_line wrong_verdicts=${wrong}$send_verdicts}" \
    "$(longest_without_ack a1)" "$healthy"
}
