# Sourced by scripts/chaos: the pieces every scenario (tests/chaos/scenarios/*.sh) is made
# of. Ingest instances of the real mailhook binary, the load generator with its record of
# acknowledged events, the audit, and the one line each scenario prints. Never run.
#
# Every process started here is a child of scripts/chaos, remembered by its PID in
# $work/<name>/pid and stopped by that PID alone: other mailhook processes and brokers on
# the machine are not ours.
#
# Set by scripts/chaos before use: $work (scratch directory), $build_dir, $kafka_dir,
# $bootstrap, $rate (requests/s of each load generator), $events_per_batch.

mailhook_bin() { echo "$build_dir/src/mailhook"; }
load_bin() { echo "$build_dir/bench/mailhook_load"; }
audit_bin() { echo "$build_dir/tests/chaos/mailhook_chaos_audit"; }

kafka() { MAILHOOK_KAFKA_DIR=$kafka_dir "$MAILHOOK_ROOT/scripts/kafka" "$@"; }

# Progress, with the seconds since the suite started: a 2-core machine is slow to watch.
progress() { say "chaos [$((SECONDS))s] $*"; }

# The signing key every load generator uses; its public half goes in each daemon's source.
make_signing_key() {
  public_key=$("$(load_bin)" keygen --out "$work/key")
}

# ingest_config NAME SCENARIO [INGEST_SETTINGS]: an ingest instance's directory and
# configuration, with INGEST_SETTINGS (TOML lines) added to its [ingest] table (the other
# roles' configurations start from it). Every
# instance of one scenario writes the same topics (chaos.SCENARIO.*), three copies each,
# two of which must hold a write before it is acknowledged.
ingest_config() {
  local name=$1 scenario=$2 settings=${3:-} dir=$work/$1 earlier
  # A name an earlier scenario used: its directory (logs, index) moves aside, so that this
  # instance starts empty and that one's logs are kept.
  if [ -f "$dir/mailhook.toml" ]; then
    earlier=$(sed -n '1s/^# Written by scripts\/chaos for scenario \([a-z_]*\),.*/\1/p' "$dir/mailhook.toml")
    [ "$earlier" = "$scenario" ] || mv "$dir" "$work/${earlier:-earlier}.$name"
  fi
  mkdir -p "$dir"
  local admin_port ingest_port
  admin_port=$(free_port)
  ingest_port=$(free_port)
  while [ "$ingest_port" = "$admin_port" ]; do ingest_port=$(free_port); done
  echo "$admin_port" >"$dir/admin_port"
  echo "$ingest_port" >"$dir/ingest_port"
  local topic table partitions
  {
    cat <<TOML
# Written by scripts/chaos for scenario $scenario, instance $name.
[admin]
listen = "127.0.0.1:$admin_port"

[kafka]
bootstrap_servers = "$bootstrap"

[ingest]
listen = "127.0.0.1:$ingest_port"
$settings

# Shorter than librdkafka's 30 s, so that a broker frozen for longer (the leader-kill
# scenario's pause) makes the producer give up on its requests and find the new leader.
[ingest.producer]
"request.timeout.ms" = $producer_request_timeout_ms

[sources.load]
tenant = "load"
public_keys = ["$public_key"]

[index]
dir = "$dir/index"
TOML
    for table in events dlq suppressions send_requests send_results send_ledger soft_bounces events_deduplicated; do
      topic=chaos.$scenario.${table//_/.}
      partitions=1
      case $table in events | soft_bounces | events_deduplicated) partitions=6 ;; esac
      printf '\n[topics.%s]\nname = "%s"\npartitions = %s\nreplication_factor = 3\nmin_insync_replicas = 2\n' \
        "$table" "$topic" "$partitions"
    done
  } >"$dir/mailhook.toml"
}

instance_pid() { cat "$work/$1/pid"; }

# ingest_start NAME [ROLES]: starts (or restarts) the instance in the background, with
# ROLES (comma-separated, default ingest).
ingest_start() {
  local dir=$work/$1 roles=${2:-ingest}
  # The environment's MAILHOOK_* settings would point the daemon elsewhere.
  env -u MAILHOOK_KAFKA__BOOTSTRAP_SERVERS -u MAILHOOK_ADMIN__LISTEN -u MAILHOOK_INGEST__LISTEN \
    "$(mailhook_bin)" serve --config "$dir/mailhook.toml" --roles "$roles" >>"$dir/mailhook.log" 2>&1 &
  echo $! >"$dir/pid"
}

# ingest_wait_ready NAME: until /readyz answers 200 (Kafka reachable, topics there).
ingest_wait_ready() {
  local dir=$work/$1 waited=0
  until curl -sf "http://127.0.0.1:$(cat "$dir/admin_port")/readyz" >/dev/null; do
    if ! kill -0 "$(instance_pid "$1")" 2>/dev/null; then
      tail -n 20 "$dir/mailhook.log" >&2
      die "chaos: ingest instance $1 exited during start"
    fi
    ((waited++ < 240)) || die "chaos: ingest instance $1 not ready after 60s"
    sleep 0.25
  done
}

# signal_and_reap SIGNAL PID_FILE: sends SIGNAL to our child in PID_FILE, waits for its end.
signal_and_reap() {
  local pid
  pid=$(cat "$2")
  kill "-$1" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

ingest_kill() { signal_and_reap KILL "$work/$1/pid"; }

# kill_in_turn SCENARIO_NAME CYCLES SECONDS ROLES FIRST SECOND: SIGKILLs instances FIRST
# and SECOND in turn under load, CYCLES times, restarting each with ROLES at once and
# waiting for its /readyz, SECONDS between one instance's return and the next kill. The
# restart itself (a second or two, never the same) keeps the kills out of step with the
# daemons' own rhythm.
kill_in_turn() {
  local name=$1 cycles=$2 every=$3 roles=$4 cycle victim
  for ((cycle = 1; cycle <= cycles; cycle++)); do
    victim=$5
    ((cycle % 2)) || victim=$6
    ingest_kill "$victim"
    ingest_start "$victim" "$roles"
    ingest_wait_ready "$victim"
    ((cycle % 10)) || progress "$name: $cycle of $cycles kills"
    sleep "$every"
  done
}

# ingest_stop NAME: SIGTERM (the daemon drains into Kafka), SIGKILL after 30 s. Fails if
# the instance had died on its own: a fault must not take the daemon down.
ingest_stop() {
  local pid waited=0 status=0
  pid=$(instance_pid "$1")
  if ! kill -0 "$pid" 2>/dev/null; then
    say "chaos: ingest instance $1 (pid $pid) had exited by itself"
    tail -n 20 "$work/$1/mailhook.log" >&2
    return 1
  fi
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null && ((waited++ < 120)); do sleep 0.25; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || status=$?
  ((status == 0)) || say "chaos: ingest instance $1 exited with status $status"
}

# load_start NAME MAX_SECONDS [LOAD_ARGS...]: signed load at $rate requests/s on instance
# NAME until load_stop (or MAX_SECONDS). Each body is sent once, so an event id seen twice
# in Kafka is a duplicate; the ids answered 2xx go to $work/NAME/acked. LOAD_ARGS go to
# the load generator.
load_start() {
  local dir=$work/$1 seconds=$2
  shift 2
  local pool=$((rate * seconds + 100))
  "$(load_bin)" --url "http://127.0.0.1:$(cat "$dir/ingest_port")/webhooks/sendgrid/load" \
    --sign-key-pem "$work/key/private.pem" --rate "$rate" --connections 8 \
    --events-per-batch "$events_per_batch" --pool "$pool" --each-body-once \
    --warmup 0 --duration "${seconds}s" --timeout 30s \
    --acked-ids "$dir/acked" --json "$@" >"$dir/load.json" 2>"$dir/load.log" &
  echo $! >"$dir/load_pid"
}

# load_stop NAME: ends the load in order (SIGTERM: answers in flight are still counted).
load_stop() { signal_and_reap TERM "$work/$1/load_pid"; }

# The longest stretch, in seconds, in which the load generators of the given instances
# saw no 2xx: how long the fault kept mailhook from acknowledging.
longest_without_ack() {
  local name files=()
  for name in "$@"; do files+=("$work/$name/load.json"); done
  python3 - "${files[@]}" <<'PY'
import json, sys
longest = 0.0
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            longest = max(longest, json.load(f)["longest_without_2xx_s"])
    except (OSError, ValueError, KeyError):
        print("nan")
        sys.exit(0)
print(f"{longest:.1f}s")
PY
}

# audit SCENARIO NAME...: reads chaos.SCENARIO.events back against the instances' acked
# ids; prints "acked=N in_kafka=M lost=L duplicates=D", or nothing if it could not read.
# A reading that finds acknowledged events missing is made again, every 5 s for up to 30 s,
# and the last one counts: after the whole cluster restarts, a partition's high watermark
# can stay behind records that were acknowledged before the stop until every replica in
# its ISR fetches again, and a consumer reads only up to it. (A cluster-restart run once
# found 1 of 5,000 missing; the same data read again after a restart found it.) An event
# that was really lost is still missing after 30 s.
audit() {
  local scenario=$1 name acked=() line attempt
  shift
  for name in "$@"; do acked+=(--acked "$work/$name/acked"); done
  for attempt in 1 2 3 4 5 6 7; do
    line=$("$(audit_bin)" --bootstrap "$bootstrap" --topic "chaos.$scenario.events" events \
      "${acked[@]}" 2>>"$work/audit.log" || true)
    [[ " $line " == *" lost=0 "* || -z $line || $attempt == 7 ]] && break
    echo "$scenario: reading $line, reading again in 5s" >>"$work/audit.log"
    sleep 5
  done
  echo "$line"
}

# report SCENARIO AUDIT RECOVERY HEALTHY: the scenario's one line, and its verdict in
# $work/results. Fields the scenario does not exercise print "-". It fails when events
# were lost after their 2xx, when a key's suppression differs from a clean run's
# (wrong_verdicts, when AUDIT has it), when an email was sent twice or a request has not
# exactly one result (sent_twice, lost_without_result, when AUDIT has them), when nothing
# was acknowledged (nothing was proven), when the audit could not read the topic, or when
# HEALTHY is not "yes" (a daemon died).
report() {
  local scenario=$1 audit_line=$2 recovery=$3 healthy=$4
  local acked=- in_kafka=- lost=- duplicates=- wrong_verdicts=- verdict=ok why=()
  local sent_twice=- lost_without_result=-
  if [ -n "$audit_line" ]; then
    eval "$(tr ' ' '\n' <<<"$audit_line" |
      grep -E '^(acked|in_kafka|lost|duplicates|wrong_verdicts|sent_twice|lost_without_result)=[0-9]+$')"
  else
    why+=("the audit could not read the topic (see $work/audit.log)")
  fi
  [ "$lost" = 0 ] || [ "$lost" = - ] || why+=("$lost events lost after their 2xx")
  [ "$wrong_verdicts" = 0 ] || [ "$wrong_verdicts" = - ] ||
    why+=("$wrong_verdicts keys differ from the clean run")
  [ "$sent_twice" = 0 ] || [ "$sent_twice" = - ] || why+=("$sent_twice requests sent twice")
  [ "$lost_without_result" = 0 ] || [ "$lost_without_result" = - ] ||
    why+=("$lost_without_result requests without exactly one result")
  [ "$acked" != 0 ] || why+=("nothing was acknowledged")
  [ "$healthy" = yes ] || why+=("$healthy")
  ((${#why[@]} == 0)) || verdict="FAILED: $(IFS=';'; echo "${why[*]}")"
  printf '%-16s acked=%s in_kafka=%s lost_after_ack=%s duplicates=%s wrong_verdicts=%s sent_twice=%s lost_without_result=%s recovery=%s  %s\n' \
    "$scenario" "$acked" "$in_kafka" "$lost" "$duplicates" "$wrong_verdicts" "$sent_twice" \
    "$lost_without_result" "$recovery" "$verdict" |
    tee -a "$work/results"
}

# Requests instance NAME answered 200, from its /metrics.
acknowledged_requests() {
  curl -sf "http://127.0.0.1:$(cat "$work/$1/admin_port")/metrics" |
    awk '/^mailhook_webhook_requests_total\{.*status="200"/ { n += $NF } END { print n + 0 }'
}

# await_acks NAME SECONDS: until instance NAME answers 200 again after a fault; false if
# it did not within SECONDS. Recovering by itself is part of what a scenario tests.
await_acks() {
  local before waited=0
  before=$(acknowledged_requests "$1")
  while (($(acknowledged_requests "$1") <= before)); do
    ((waited++ < $2 * 4)) || return 1
    sleep 0.25
  done
}

# audit_check SCENARIO: the audit must be able to fail. Right after a scenario, its own
# acknowledged ids plus one that was never posted must come out as exactly one lost event.
audit_check() {
  local line verdict=ok
  echo "chaos-audit-check-never-posted" >"$work/never-posted"
  line=$("$(audit_bin)" --bootstrap "$bootstrap" --topic "chaos.$1.events" events \
    --acked "$work/a/acked" --acked "$work/never-posted" 2>>"$work/audit.log") || true
  [[ " $line " == *" lost=1 "* ]] || verdict="FAILED: expected lost=1, the audit said '$line'"
  printf '%-16s one made-up acknowledged id among the %s: reported lost  %s\n' \
    audit-check "${1//_/-} scenario's" "$verdict" | tee -a "$work/results"
}

# The index replicas (index-kill, index-disk-full).

# index_replica_config NAME SCENARIO: a replica's directory and configuration, the scenario's
# topics, its own [index] dir; the admin API open on loopback, for the export.
index_replica_config() {
  ingest_config "$1" "$2"
  sed -i 's/^\[admin\]$/[admin]\nallow_unauthenticated = true/' "$work/$1/mailhook.toml"
}

# index_metric NAME METRIC: the value of an unlabelled metric on instance NAME's /metrics,
# or nothing if it did not answer.
index_metric() {
  curl -sf "http://127.0.0.1:$(cat "$work/$1/admin_port")/metrics" 2>/dev/null |
    awk -v metric="$2" '$1 == metric { printf "%d\n", $2 }'
}

# export_differences REFERENCE EXPORT...: for each EXPORT (mailhook suppressions export
# NDJSON), the keys whose record differs from REFERENCE's or that only one of the two
# holds, space-separated; the first few go to $work/audit.log. Files equal byte for byte
# differ in no key, and are not read twice.
export_differences() {
  python3 - "$@" 2>>"$work/audit.log" <<'PY'
import filecmp, hashlib, json, re, sys
# Each line starts with the record's key; the digest of the whole line stands for the record.
key_at_start = re.compile(rb'^\{"key":"((?:[^"\\]|\\.)*)"')
def records(path):
    out = {}
    with open(path, "rb") as f:
        for line in f:
            match = key_at_start.match(line)
            key = match.group(1) if match else json.loads(line)["key"].encode()
            out[key] = hashlib.blake2b(line.rstrip(b"\n"), digest_size=16).digest()
    return out
reference = None
counts = []
for path in sys.argv[2:]:
    if filecmp.cmp(sys.argv[1], path, shallow=False):
        counts.append("0")
        continue
    reference = reference or records(sys.argv[1])
    other = records(path)
    differ = [k for k in reference.keys() | other.keys() if reference.get(k) != other.get(k)]
    for key in sorted(differ)[:5]:
        print(f"{path}: {key.decode()} differs from {sys.argv[1]}", file=sys.stderr)
    counts.append(str(len(differ)))
print(" ".join(counts))
PY
}

# index_export NAME: every key of tenant load on replica NAME, cleared ones too, to
# $work/NAME/export.ndjson (mailhook pages through it, 100,000 records a page).
index_export() {
  env -u MAILHOOK_ADMIN__LISTEN "$(mailhook_bin)" suppressions export \
    --config "$work/$1/mailhook.toml" --tenant load --all --output "$work/$1/export.ndjson" \
    >>"$work/audit.log" 2>&1
}

# decided_changelog_keys CHANGELOG EVENTS GROUP: the number of keys in CHANGELOG once the
# policy's consumer group GROUP has decided on every event of EVENTS (the changelog audit
# against itself waits for that, and counts them); nothing if it could not finish.
decided_changelog_keys() {
  local line
  line=$(audit_changelog "$1" "$1" "$2" "$3")
  [[ " $line " =~ \ keys=([0-9]+)\  ]] && echo "${BASH_REMATCH[1]}"
}

# await_index_keys KEYS NAME...: until every replica named holds KEYS keys, 60 s at most in
# all. (Keys, not mailhook_index_changelog_lag: a replica whose lag is 0 may still be about
# to read the policy's last transaction.)
await_index_keys() {
  local keys=$1 name waited=0
  shift
  for name in "$@"; do
    until [ "$(index_metric "$name" mailhook_index_keys)" = "${keys:-none}" ]; do
      ((waited++ < 240)) || return 1
      sleep 0.25
    done
  done
}

# await_changelog_settled SECONDS NAME...: until every replica named has read its changelog
# to the end (mailhook_index_changelog_lag 0); false after SECONDS. A policy instance killed
# inside a transaction and not restarted under its transactional id leaves that
# transaction open until the coordinator times it out (the policy's 30 s, then its cleanup
# pass): until then no read-committed reader, replicas and audit alike, reads past it.
await_changelog_settled() {
  local seconds=$1 name waited=0
  shift
  for name in "$@"; do
    until [ "$(index_metric "$name" mailhook_index_changelog_lag)" = 0 ]; do
      ((waited++ < seconds * 4)) || return 1
      sleep 0.25
    done
  done
}
