# Scenario 6, overload: one ingest instance, its in-flight budget made small so that
# overload shows in seconds rather than minutes. First its capacity is measured (closed
# loop, 16 connections); then twice that rate is offered, open loop, on 200 connections.
# Promises tested: a 2xx means Kafka holds the batch, also when mailhook refuses work; what
# it refuses is answered 503 with Retry-After (SendGrid then posts again later); its
# memory stays flat and under the ingest role's 512 MiB limit (docs/deploy.md); and it
# acknowledges again as soon as the load drops.
#
#   scenario_overload SECONDS_OF_OVERLOAD

scenario_overload() {
  local seconds=$1 name=overload scenario=overload dir=$work/a
  progress "$name: capacity, then twice it for ${seconds}s"
  # 512 KiB holds about a hundred of the load's 4.8 KiB bodies: fewer than the
  # connections that twice the capacity keeps busy.
  ingest_config a "$scenario" $'max_body = "256KiB"\ninflight_budget = "512KiB"'
  ingest_start a
  ingest_wait_ready a
  local capacity
  overload_load capacity 0 16 5 20000
  capacity=$(json_field "$dir/capacity.json" requests_per_s)
  local offered
  offered=$(python3 -c "print(max(1, round(2 * $capacity)))")
  progress "$name: capacity $capacity requests/s; offering $offered for ${seconds}s"

  sample_rss "$(instance_pid a)" "$dir/rss" &
  local sampler=$!
  overload_load overload "$offered" 200 "$seconds" $((offered * seconds + 100))
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true

  # Recovery: the ordinary load, and how long until its first 2xx.
  local start=$EPOCHREALTIME
  load_start a 60
  local healthy=yes
  await_acks a 60 || healthy="no 2xx within 60s of the overload's end"
  local recovery
  recovery=$(python3 -c "print(f'{$EPOCHREALTIME - $start:.1f}s')")
  sleep 3
  load_stop a
  ingest_stop a || healthy="the ingest instance died"

  local refused without_retry_after rss_verdict
  refused=$(json_field "$dir/overload.json" requests.status_503)
  without_retry_after=$(json_field "$dir/overload.json" requests.status_503_without_retry_after)
  rss_verdict=$(rss_flat_under "$dir/rss" 512)
  progress "$name: for $(json_field "$dir/overload.json" wall_s)s offered $offered requests/s, answered 200 at $(json_field "$dir/overload.json" requests_per_s)/s, $refused answered 503 ($without_retry_after without Retry-After); $rss_verdict"
  ((refused > 0)) || healthy="no 503 at twice the capacity: not overloaded"
  # The overload must have lasted: a load generator that ran out of bodies ends early.
  local ran
  ran=$(json_field "$dir/overload.json" wall_s)
  python3 -c "import sys; sys.exit(0 if $ran >= 0.9 * $seconds else 1)" ||
    healthy="the overload lasted ${ran}s of ${seconds}s"
  ((without_retry_after == 0)) || healthy="$without_retry_after 503s without Retry-After"
  [[ $rss_verdict == ok* ]] || healthy="$rss_verdict"
  report "$name" "$(audit "$scenario" a a/capacity a/overload)" "$recovery" "$healthy"
}

# overload_load NAME RATE CONNECTIONS SECONDS POOL: one run of the load generator against
# instance a (RATE 0: closed loop), its acknowledged ids in $work/a/NAME/acked.
overload_load() {
  local dir=$work/a
  mkdir -p "$dir/$1"
  "$(load_bin)" --url "http://127.0.0.1:$(cat "$dir/ingest_port")/webhooks/sendgrid/load" \
    --sign-key-pem "$work/key/private.pem" --rate "$2" --connections "$3" \
    --events-per-batch "$events_per_batch" --pool "$5" --each-body-once \
    --warmup 0 --duration "${4}s" --timeout 30s \
    --acked-ids "$dir/$1/acked" --json >"$dir/$1.json" 2>"$dir/$1.log" || true
}

# json_field FILE a.b: one number from the load generator's JSON.
json_field() {
  python3 -c 'import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].split("."): value = value[key]
print(value)' "$1" "$2"
}

# sample_rss PID FILE: the process's resident set (KiB), once a second, until killed.
sample_rss() {
  while kill -0 "$1" 2>/dev/null; do
    sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" >>"$2"
    sleep 1
  done
}

# rss_flat_under FILE MIB: "ok, ..." when every sample is under MIB and the second half's
# largest is within 32 MiB of the first half's (flat: held memory does not grow with
# time under constant overload); else why not.
rss_flat_under() {
  python3 - "$1" "$2" <<'PY'
import sys
samples = [int(line) / 1024 for line in open(sys.argv[1]) if line.strip()]
limit = float(sys.argv[2])
if len(samples) < 4:
    print(f"only {len(samples)} RSS samples")
    sys.exit(0)
half = len(samples) // 2
first, second = max(samples[:half]), max(samples[half:])
figures = f"RSS {first:.0f} MiB at most in the first half, {second:.0f} in the second"
if max(samples) >= limit:
    print(f"RSS reached {max(samples):.0f} MiB, over {limit:.0f}")
elif second > first + 32:
    print(f"RSS grew: {figures}")
else:
    print(f"ok, {figures}, under {limit:.0f}")
PY
}
