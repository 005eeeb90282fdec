# Scenario 3, policy-kill: one ingest instance under the steady signed load (its mix
# carries bounces, drops, spam reports, unsubscribes and group unsubscribes: 4 or 5 events
# in 11 change a suppression), and two daemons running the policy role (with the index
# replica it decides against) in one consumer group. One of them, in turn, is killed with
# SIGKILL and restarted, CYCLES times. With a 10 ms batch wait, a policy instance under
# steady load spends most of its time inside a transaction, so most kills land inside
# one; the scenario counts those that did, from the restarts' logs. Alongside, a third
# daemon runs the same policy over the same events topic into a changelog of its own, in
# a group of its own, and is never killed: the clean run.
# Promise tested: a suppression is never lost, nor made up. Once both groups have decided
# on every event, each key's last record in the killed run's changelog (its compacted
# view) says what the clean run's says: suppressed or cleared, reason and scope.
#
#   scenario_policy_kill CYCLES SECONDS_BETWEEN_KILLS

# policy_config NAME SCENARIO GROUP [CHANGELOG]: a policy daemon's directory and
# configuration: the scenario's topics, consumer group GROUP, a transactional.id of its
# own (kept across restarts, so that a restart fences its killed life's transaction), and
# CHANGELOG as its changelog topic when given.
policy_config() {
  local name=$1 scenario=$2 group=$3 changelog=${4:-}
  ingest_config "$name" "$scenario"
  local toml=$work/$name/mailhook.toml
  [ -z "$changelog" ] || sed -i "s/^name = \"chaos\.$scenario\.suppressions\"$/name = \"$changelog\"/" "$toml"
  # The admin API open on loopback, for the check's change made by hand.
  sed -i 's/^\[admin\]$/[admin]\nallow_unauthenticated = true/' "$toml"
  # A short batch wait (default 100 ms): a policy instance then spends most of its time
  # inside a transaction, waiting for its commit, and a kill most likely lands in one.
  printf '\n[policy]\ngroup_id = "%s"\ntransactional_id = "%s-%s"\nmax_batch_wait = "10ms"\n' \
    "$group" "$group" "$name" >>"$toml"
}

# audit_changelog CHANGELOG CLEAN_CHANGELOG EVENTS GROUP...: the changelog audit's line,
# or nothing if it could not finish.
audit_changelog() {
  local changelog=$1 clean=$2 events=$3 group groups=()
  shift 3
  for group in "$@"; do groups+=(--group "$group"); done
  "$(audit_bin)" --bootstrap "$bootstrap" --topic "$changelog" changelog --reference "$clean" \
    --events "$events" "${groups[@]}" 2>>"$work/audit.log" || true
}

scenario_policy_kill() {
  local cycles=$1 every=$2 name=policy-kill scenario=policy_kill
  local group=chaos-policy-kill clean_group=chaos-policy-clean
  local changelog=chaos.$scenario.suppressions clean_changelog=chaos.$scenario.suppressions.clean
  progress "$name: $cycles kills of a policy instance, one every ${every}s"
  ingest_config a "$scenario"
  policy_config p1 "$scenario" "$group"
  policy_config p2 "$scenario" "$group"
  policy_config clean "$scenario" "$clean_group" "$clean_changelog"
  ingest_start a
  ingest_wait_ready a
  local instance
  for instance in p1 p2 clean; do ingest_start "$instance" policy,index; done
  for instance in p1 p2 clean; do ingest_wait_ready "$instance"; done
  load_start a $((cycles * (every + 5) + 60))
  sleep 2
  kill_in_turn "$name" "$cycles" "$every" policy,index p1 p2
  # A restart whose killed life left a transaction open finds the coordinator aborting it
  # (librdkafka retries its InitProducerId and says why): kills that landed inside one.
  local in_transaction
  in_transaction=$(cat "$work/p1/mailhook.log" "$work/p2/mailhook.log" |
    grep -c 'concurrent operation on the same transaction' || true)
  progress "$name: $in_transaction of $cycles kills found inside a transaction"
  load_stop a
  local healthy=yes
  ingest_stop a || healthy="the ingest instance died"
  # The policy daemons run on until both groups have decided on every event.
  local changelog_line
  changelog_line=$(audit_changelog "$changelog" "$clean_changelog" "chaos.$scenario.events" \
    "$group" "$clean_group")
  [ -n "$changelog_line" ] ||
    healthy="the changelog audit could not finish (see $work/audit.log)"
  progress "$name: changelog ${changelog_line:-unread}"
  # The changelog audit must be able to fail: one change made by hand, in the killed run's
  # changelog only, must come out as exactly one wrong verdict.
  local check_line check_verdict=ok
  env -u MAILHOOK_ADMIN__LISTEN "$(mailhook_bin)" suppressions add --config "$work/p1/mailhook.toml" \
    --tenant load --note "chaos: a change the clean run never made" chaos-made-up@example.com \
    >>"$work/audit.log" 2>&1 || true
  check_line=$(audit_changelog "$changelog" "$clean_changelog" "chaos.$scenario.events" \
    "$group" "$clean_group")
  [[ " $check_line " == *" wrong_verdicts=1 "* ]] ||
    check_verdict="FAILED: expected wrong_verdicts=1, the audit said '$check_line'"
  for instance in p1 p2 clean; do
    ingest_stop "$instance" || healthy="policy instance $instance died"
  done
  local events_line
  events_line=$(audit "$scenario" a)
  # Empty when the events audit could not read its topic: report says so.
  report "$name" "${events_line:+$events_line $changelog_line}" "$(longest_without_ack a)" "$healthy"
  printf '%-16s one change made by hand in the killed run'"'"'s changelog only: reported wrong  %s\n' \
    changelog-check "$check_verdict" | tee -a "$work/results"
}
