# Scenario 4, index-kill: two index replicas (daemons running the index role alone) of one
# suppressions changelog, each killed with SIGKILL: first one of them while it bootstraps
# from an empty directory, BOOTSTRAP_KILLS times, then both in turn while they apply the
# policy's changes under the steady signed load, CYCLES times. A policy daemon (with the
# replica it decides against) writes the changelog and is never killed. Before the
# replicas start, the changelog is filled with RECORDS bounces imported from a SendGrid
# CSV, so that a bootstrap lasts long enough to be killed in its middle.
# Promise tested: a replica's RocksDB keeps no write-ahead log (Kafka is the log), so a
# kill loses what it had not flushed, records and offsets together, and its restart reads
# those records again. Once the policy has decided on every event, each killed replica
# answers for every key exactly as a replica rebuilt from nothing does: both exports
# (mailhook suppressions export --all), record by record, the same, every field of every
# key. The progress lines say how many bootstrap kills landed mid-bootstrap, where each
# restart resumed, and how much each restart after an apply kill read again.
# policy_config and audit_changelog are policy_kill.sh's.
#
#   scenario_index_kill RECORDS BOOTSTRAP_KILLS CYCLES SECONDS_BETWEEN_KILLS

# index_bounces_csv FILE RECORDS: a SendGrid bounces export as the UI downloads it, one row
# per address. The reason is the length of a real one (Gmail's "does not exist" text):
# with records of about 460 bytes, RocksDB's 64 MiB memtable fills every 140,000 records,
# so a bootstrap of a few hundred thousand flushes on its way, and a kill can land before
# the first flush (the restart reads from the beginning) or after one (it resumes there).
index_bounces_csv() {
  python3 - "$1" "$2" <<'PY'
import sys
path, records = sys.argv[1], int(sys.argv[2])
reason = ("550 5.1.1 The email account that you tried to reach does not exist. Please try "
          "double-checking the recipient's email address for typos or unnecessary spaces. "
          "For more information, go to https://support.google.com/mail/?p=NoSuchUser")
with open(path, "w") as f:
    f.write("email,created,reason,status\n")
    for i in range(records):
        f.write(f'imported-{i:07d}@example.com,{1700000000 + i},"{reason} ({i})",5.1.1\n')
PY
}

# index_bootstrap_seconds NAME: seconds from replica NAME's first "records to read" to its
# first "caught up", by its log's own times.
index_bootstrap_seconds() {
  local log=$work/$1/mailhook.log
  python3 - "$(grep -m1 'changelog records to read' "$log" | cut -d' ' -f1)" \
    "$(grep -m1 'index: caught up' "$log" | cut -d' ' -f1)" <<'PY'
import sys
from datetime import datetime
start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in sys.argv[1:3])
print(f"{(end - start).total_seconds():.2f}")
PY
}

# index_bootstrap_kills RESULT NAME KILLS RECORDS: starts replica NAME from an empty
# directory and kills it with SIGKILL KILLS times in its bootstrap, the k-th once it holds
# k/(KILLS+1) of RECORDS keys (so the kills spread over the bootstrap whatever the
# machine's speed), restarting it each time; then lets the last life finish. The last kill
# also waits for a memtable flush of its own life to be done (a level-0 file more than the
# life opened with: compactions wait during a catch-up), so that at least one restart
# resumes from a flushed offset, not from the beginning. Sets the variable RESULT to the
# kills that landed mid-bootstrap: /readyz not 200 at the kill, and that life's log saying
# how many records it had to read and not yet that it had caught up. (Not a command
# substitution: the replica must stay a child of the suite's shell.)
index_bootstrap_kills() {
  local result=$1 name=$2 kills=$3 records=$4 log=$work/$2/mailhook.log
  local kill from target flushes opened ready life keys waited in_bootstrap=0
  touch "$log"
  for ((kill = 1; kill <= kills; kill++)); do
    from=$(($(wc -l <"$log") + 1))
    ingest_start "$name" index
    target=$((records * kill / (kills + 1)))
    opened=
    waited=0
    while :; do
      life=$(tail -n "+$from" "$log")
      grep -q 'index: caught up' <<<"$life" && break
      if grep -q 'changelog records to read' <<<"$life"; then
        keys=$(index_metric "$name" mailhook_index_keys)
        flushes=$(index_metric "$name" mailhook_index_rocksdb_level0_files)
        : "${opened:=${flushes:-}}"
        # The last kill once a flush of this life is done, too.
        if ((${keys:-0} >= target)) && ((kill < kills || ${flushes:-0} > ${opened:-0})); then
          break
        fi
      fi
      kill -0 "$(instance_pid "$name")" 2>/dev/null ||
        die "chaos: replica $name exited in its bootstrap"
      ((waited++ < 3000)) ||
        die "chaos: replica $name held ${keys:-no} keys of $target after a minute"
      sleep 0.02
    done
    ready=$(curl -s -o /dev/null -w '%{http_code}' \
      "http://127.0.0.1:$(cat "$work/$name/admin_port")/readyz" || true)
    ingest_kill "$name"
    life=$(tail -n "+$from" "$log")
    if [ "$ready" != 200 ] && grep -q 'changelog records to read' <<<"$life" &&
      ! grep -q 'index: caught up' <<<"$life"; then
      in_bootstrap=$((in_bootstrap + 1))
    fi
  done
  ingest_start "$name" index
  ingest_wait_ready "$name"
  printf -v "$result" %s "$in_bootstrap"
}

scenario_index_kill() {
  local records=$1 bootstrap_kills=$2 cycles=$3 every=$4 name=index-kill scenario=index_kill
  local group=chaos-index-kill changelog=chaos.index_kill.suppressions healthy=yes
  progress "$name: $records imported keys; $bootstrap_kills kills of a bootstrap, then $cycles of" \
    "replicas applying, one every ${every}s"
  ingest_config a "$scenario"
  policy_config p "$scenario" "$group"
  index_replica_config r1 "$scenario"
  index_replica_config r2 "$scenario"
  ingest_start a
  ingest_start p policy,index
  ingest_wait_ready a
  ingest_wait_ready p

  # The changelog filled before any replica starts: what each bootstrap reads.
  local started=$SECONDS
  index_bounces_csv "$work/bounces.csv" "$records"
  env -u MAILHOOK_ADMIN__LISTEN "$(mailhook_bin)" suppressions import \
    --config "$work/p/mailhook.toml" --tenant load --kind bounces \
    --note "chaos: the changelog a bootstrap reads" "$work/bounces.csv" \
    >>"$work/audit.log" 2>&1 || die "chaos: the import failed (see $work/audit.log)"
  rm -f "$work/bounces.csv"
  # One bootstrap left alone, to measure it.
  ingest_start r1 index
  ingest_wait_ready r1
  progress "$name: $records bounces imported in $((SECONDS - started))s; r1 bootstrapped" \
    "$(grep -m1 'changelog records to read' "$work/r1/mailhook.log" | awk '{ print $4 }')" \
    "records in $(index_bootstrap_seconds r1)s"

  load_start a $((bootstrap_kills * 10 + cycles * (every + 5) + 60))
  sleep 2
  # The bootstrap kills, under load: the changelog grows as r2 reads it.
  local landed resumed
  index_bootstrap_kills landed r2 "$bootstrap_kills" "$records"
  # Each restart but the first resumes where the killed life's last flush left it.
  resumed=$(grep -o "following $changelog \[0\] from .*" "$work/r2/mailhook.log" |
    awk '{ printf "%s%s", sep, ($NF == "beginning" ? 0 : $NF); sep = " " }')
  progress "$name: $landed of $bootstrap_kills kills landed mid-bootstrap; r2's lives started" \
    "reading at offsets $resumed"

  # The apply kills: a kill loses what the replica had not flushed (up to a memtable of
  # changes, records and offsets together), and its restart reads those records again.
  local before1 before2
  before1=$(wc -l <"$work/r1/mailhook.log")
  before2=$(wc -l <"$work/r2/mailhook.log")
  kill_in_turn "$name" "$cycles" "$every" index r1 r2
  local reread
  reread=$({
    tail -n "+$((before1 + 1))" "$work/r1/mailhook.log"
    tail -n "+$((before2 + 1))" "$work/r2/mailhook.log"
  } | awk '/changelog records to read/ { printf "%s%s", sep, $4; sep = " " }')
  progress "$name: the restarts after the apply kills read again ${reread:-no} records"
  load_stop a
  ingest_stop a || healthy="the ingest instance died"

  # The fresh rebuild, from an empty directory: started now, its bootstrap overlaps the
  # audit's reading below. The policy's last changes, a few milliseconds behind the load,
  # are then either in what it reads first or applied as they come: either way it must end
  # up holding every key of the changelog.
  index_replica_config r3 "$scenario"
  ingest_start r3 index
  # Until the policy has decided on every event, and so written its last change: the
  # changelog audit against itself waits for that, and counts the changelog's keys.
  local changelog_keys
  changelog_keys=$(decided_changelog_keys "$changelog" "chaos.$scenario.events" "$group")
  [ -n "$changelog_keys" ] || healthy="the changelog audit could not finish (see $work/audit.log)"
  progress "$name: every event decided; the changelog holds ${changelog_keys:-unknown} keys"
  ingest_wait_ready r3
  await_index_keys "$changelog_keys" r1 r2 r3 || true
  # The three exports at once (each from its own daemon), each waited for by its PID.
  local instance exports=() keys=() exported=0 i
  for instance in r1 r2 r3; do
    index_export "$instance" &
    exports+=($!)
  done
  for ((i = 0; i < 3; i++)); do
    if wait "${exports[i]}"; then
      keys+=("$(wc -l <"$work/r$((i + 1))/export.ndjson")")
      exported=$((exported + 1))
    else
      keys+=(failed)
    fi
  done
  progress "$name: exported keys r1=${keys[0]} r2=${keys[1]} r3=${keys[2]}"
  [ "${keys[2]}" = "${changelog_keys:-none}" ] ||
    healthy="the fresh rebuild holds ${keys[2]} keys, the changelog ${changelog_keys:-unread}"
  # The comparison must be able to fail: r1's export with one record changed by hand (its
  # first key's suppressed flag turned over) must come out as exactly one key differing.
  local differences='' wrong='' check_verdict=ok
  local turn_over='1{s/"suppressed":true/"suppressed":x/;s/"suppressed":false/"suppressed":true/
    s/"suppressed":x/"suppressed":false/}'
  if ((exported == 3)); then
    sed "$turn_over" "$work/r1/export.ndjson" >"$work/r1/export-changed.ndjson"
    differences=$(export_differences "$work/r3/export.ndjson" "$work/r1/export.ndjson" \
      "$work/r2/export.ndjson" "$work/r1/export-changed.ndjson" || true)
  fi
  if [[ "$differences" =~ ^([0-9]+)\ ([0-9]+)\ ([0-9]+)$ ]]; then
    wrong=$((BASH_REMATCH[1] + BASH_REMATCH[2]))
    progress "$name: keys differing from the fresh rebuild r3: r1 ${BASH_REMATCH[1]}," \
      "r2 ${BASH_REMATCH[2]}"
    ((BASH_REMATCH[3] == 1)) ||
      check_verdict="FAILED: expected 1 key differing, the comparison said ${BASH_REMATCH[3]}"
  else
    healthy="the replicas could not be exported and compared (see $work/audit.log)"
    check_verdict="FAILED: the replicas could not be exported and compared"
  fi

  for instance in p r1 r2 r3; do
    ingest_stop "$instance" || healthy="instance $instance died"
  done
  local events_line
  events_line=$(audit "$scenario" a)
  report "$name" "${events_line:+$events_line wrong_verdicts=${wrong:-none}}" \
    "$(longest_without_ack a)" "$healthy"
  printf '%-16s one record changed by hand in an exported replica: reported differing  %s\n' \
    index-check "$check_verdict" | tee -a "$work/results"
}
