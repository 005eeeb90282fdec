# Scenario 5, sender-kill: two daemons run the sender role (with the index replica it checks
# recipients against) in one consumer group on the six partitions of the requests topic,
# and send through a Mail Send simulator that answers each call 200 ms after reading it,
# while send requests come at a steady rate. One of them, in turn, is killed with SIGKILL
# and restarted, CYCLES times: most kills land with calls in flight. Every third kill
# keeps the instance down past the group's session timeout, so that the other one takes
# its partitions over, reading their ledger, before the killed one comes back for them.
# Promise tested (docs/sending.md): an email is sent at most once, and every request gets
# exactly one result, INDETERMINATE when the sender died while calling SendGrid for it.
# mailhook_chaos_sender (tests/chaos/sender_chaos.cc) is the simulator, the producer of
# the requests and the audit, and says what each count means.
#
#   scenario_sender_kill CYCLES SECONDS_BETWEEN_KILLS

sender_tool_bin() { echo "$build_dir/tests/chaos/mailhook_chaos_sender"; }

# Requests/s: each instance gets about half, and with 8 calls in flight at 200 ms each it
# can take 40/s, so that one instance alone keeps up while the other is down.
sender_rate=20
sender_call_delay_ms=200
# Short, so that a takeover costs seconds (librdkafka's default is 45 s); the brokers'
# group.min.session.timeout.ms is 6 s. A takeover cycle keeps its victim down this long
# and 5 s more: the coordinator's expiry of the member, then the rebalance. Set in
# [kafka.properties], which every client gets: the producers log that they ignore it.
sender_session_timeout_s=8

# sender_daemon_config NAME SCENARIO GROUP API_URL KEY_FILE: a daemon of the sender role
# on the scenario's topics, the requests (and so the ledger) and results with six
# partitions each, consumer group GROUP, and a transactional.id of its own kept across
# restarts, so that a restart fences its killed life's open transaction.
sender_daemon_config() {
  local name=$1 scenario=$2 group=$3 url=$4 key_file=$5
  ingest_config "$name" "$scenario"
  local toml=$work/$name/mailhook.toml
  sed -i "/^name = \"chaos\.$scenario\.send\.[a-z]*\"$/{n;s/^partitions = 1$/partitions = 6/}" "$toml"
  cat >>"$toml" <<TOML

[kafka.properties]
"session.timeout.ms" = $((sender_session_timeout_s * 1000))

[sender]
group_id = "$group"
transactional_id = "$group-$name"

[integrations.chaos]
tenant = "chaos"
api_key_file = "$key_file"
from_email = "sender@example.com"
api_url = "$url"
concurrency = 8
TOML
}

# simulator_start DIR API_KEY: the Mail Send simulator, accepting API_KEY (written to
# DIR/api_key for the integrations), answering each call $sender_call_delay_ms after reading
# it; its port in DIR/port, the calls it accepted in DIR/calls, its pid in DIR/pid.
simulator_start() {
  local sim=$1 waited=0
  mkdir -p "$sim"
  echo "$2" >"$sim/api_key"
  "$(sender_tool_bin)" simulate --port-file "$sim/port" --calls "$sim/calls" \
    --api-key "$2" --delay-ms "$sender_call_delay_ms" 2>"$sim/log" &
  echo $! >"$sim/pid"
  until [ -f "$sim/port" ]; do
    ((waited++ < 120)) || die "chaos: the Mail Send simulator did not start (see $sim/log)"
    sleep 0.25
  done
}

# sender_audit ARGS...: the audit's line (sender_chaos.cc), or nothing if it could not read
# the results topic.
sender_audit() {
  "$(sender_tool_bin)" audit --bootstrap "$bootstrap" --results chaos.sender_kill.send.results \
    "$@" 2>>"$work/audit.log" || true
}

scenario_sender_kill() {
  local cycles=$1 every=$2 name=sender-kill scenario=sender_kill group=chaos-sender-kill
  [ -x "$(sender_tool_bin)" ] ||
    die "$(sender_tool_bin) is missing: cmake --build --preset ci --target mailhook_chaos_sender"
  progress "$name: $cycles kills of a sender instance, one every ${every}s"
  local sim=$work/sim producer=$work/producer
  mkdir -p "$producer"
  simulator_start "$sim" SG.chaos-sender-kill
  local instance
  for instance in s1 s2; do
    sender_daemon_config "$instance" "$scenario" "$group" "http://127.0.0.1:$(cat "$sim/port")" \
      "$sim/api_key"
    ingest_start "$instance" index,sender
  done
  for instance in s1 s2; do ingest_wait_ready "$instance"; done

  # Bounded in case the scenario stops early; SIGTERM ends it once the kills are done.
  "$(sender_tool_bin)" produce --bootstrap "$bootstrap" --topic "chaos.$scenario.send.requests" \
    --rate "$sender_rate" --requests $((sender_rate * (cycles * (every + 20) + 60))) \
    --produced "$producer/produced" 2>"$producer/log" &
  echo $! >"$producer/pid"
  sleep 2
  local cycle victim survivor assigned takeovers=0 takeover_cycles=0
  : >"$sim/kills"
  for ((cycle = 1; cycle <= cycles; cycle++)); do
    victim=s1 survivor=s2
    ((cycle % 2)) || victim=s2 survivor=s1
    date +%s%3N >>"$sim/kills"
    ingest_kill "$victim"
    if ((cycle % 3 == 2)); then
      # The survivor logs each partition it is assigned, with the ledger tail it read: a
      # line more after the wait is the takeover.
      takeover_cycles=$((takeover_cycles + 1))
      assigned=$(grep -c 'ledger entries after position' "$work/$survivor/mailhook.log" || true)
      sleep $((sender_session_timeout_s + 5))
      if (($(grep -c 'ledger entries after position' "$work/$survivor/mailhook.log" || true) > assigned)); then
        takeovers=$((takeovers + 1))
      fi
    fi
    ingest_start "$victim" index,sender
    ingest_wait_ready "$victim"
    ((cycle % 10)) || progress "$name: $cycle of $cycles kills"
    sleep "$every"
  done
  progress "$name: in $takeovers of $takeover_cycles long kills the other instance took the partitions over"
  signal_and_reap TERM "$producer/pid"

  # Until every request has its result, while both instances run on.
  local waiting
  waiting=$(sender_audit --produced "$producer/produced" --calls "$sim/calls" --wait 180)
  progress "$name: results in: ${waiting:-the results topic unread}"
  local healthy=yes
  for instance in s1 s2; do
    ingest_stop "$instance" || healthy="sender instance $instance died"
  done
  signal_and_reap TERM "$sim/pid"
  local line
  line=$(sender_audit --produced "$producer/produced" --calls "$sim/calls" --kills "$sim/kills")
  progress "$name: audit $line"
  local requests=${line#*requests=} wrong=${line#*wrong_results=} longest=-
  if [ -n "$line" ]; then
    [ "${requests%% *}" != 0 ] || healthy="no request was produced"
    [ "${wrong%% *}" = 0 ] || healthy="${wrong%% *} results contradict the simulator"
    longest=${line#*longest_wait=}
    longest=${longest%% *}
  fi
  # recovery: the longest a request waited for its result.
  report "$name" "$line" "$longest" "$healthy"

  # The audit must be able to fail. A second accepted call for a request the simulator
  # accepted, a request id that has no result, and a result written again must come out
  # as one email sent twice, two requests without exactly one result, one duplicate.
  head -n 1 "$sim/calls" >"$sim/made-up-call"
  echo "chaos-send-never-produced" >"$producer/made-up-request"
  local check_line check_verdict=ok
  "$(sender_tool_bin)" repeat --bootstrap "$bootstrap" --results "chaos.$scenario.send.results" \
    >>"$work/audit.log" 2>&1 || true
  check_line=$(sender_audit --produced "$producer/produced" --produced "$producer/made-up-request" \
    --calls "$sim/calls" --calls "$sim/made-up-call")
  [[ " $check_line " == *" sent_twice=1 "* && " $check_line " == *" lost_without_result=2 "* &&
    " $check_line " == *" duplicates=1 "* ]] ||
    check_verdict="FAILED: expected sent_twice=1 lost_without_result=2 duplicates=1, the audit said '$check_line'"
  printf '%-16s a made-up second call, request never answered and result repeated: reported  %s\n' \
    sender-check "$check_verdict" | tee -a "$work/results"
}
