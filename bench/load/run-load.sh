#!/usr/bin/env bash
# One end-to-end load run of the ingest role on this machine: a fresh Kafka broker and key,
# `mailhook serve --roles ingest` on free loopback ports, then mailhook_load with this
# script's arguments (it adds --url, --sign-key-pem and --daemon-pid). Everything it
# starts is stopped and deleted on exit, also after a failure or Ctrl-C.
#
#   bench/load/run-load.sh --events-per-batch 1000 --connections 8 --duration 20s
#   bench/load/run-load.sh --events-per-batch 1 --rate 2000 --duration 30s --json
#
# Needs the Release build (cmake --preset release && cmake --build --preset release) and
# the broker's jars (scripts/setup). Environment:
#   MAILHOOK_BUILD_DIR   build tree to take both binaries from (default build/release)
#   MAILHOOK_INGEST__*   other daemon settings pass through, e.g. MAILHOOK_INGEST__ENCODING=json;
#                        the listeners' and the broker's addresses are always this script's.
#   MAILHOOK_BENCH_DAEMON_CPUS  CPUs of the daemon alone (a taskset list, e.g. 0); the broker
#                        and the load generator then run on the others, as they would on
#                        other machines in production. Unset: all three share every CPU.
#   MAILHOOK_LOAD_ROLES  roles of the daemon (default ingest). With policy and index, a
#                        freshness probe (freshness-probe.sh) runs during the load and
#                        reports how long a hard bounce takes from its 2xx to the lookup.
#   MAILHOOK_BENCH_BOOTSTRAP  host:port of a broker that runs already (compare.sh and
#                        scaling.sh start one for all their runs): no broker of this run's
#                        own; the daemon's topics get names of this run's own, deleted after
#                        it (with the examples' Python environment, examples/setup).
#   MAILHOOK_BENCH_BROKER_PID  that broker's pid, for its CPU over the measured window (a
#                        broker this script starts is measured without it)
#   MAILHOOK_BENCH_COUNT_ALLOCS=1  preload bench/load/malloc_count.c into the daemon
#                        ($build_dir/bench/libmailhook_malloc_count.so, or
#                        MAILHOOK_BENCH_MALLOC_COUNT_LIB) and report its allocations per
#                        event and per request over the measured window. The counting
#                        costs CPU (an atomic add per call): take CPU figures from other runs.
#   MAILHOOK_BENCH_METRICS_HZ  samples of the daemon's /metrics per second (default 5; 0:
#                        none), for the peak in-flight bytes next to the peak RSS
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MAILHOOK_ROOT"

build_dir=${MAILHOOK_BUILD_DIR:-build/release}
roles=${MAILHOOK_LOAD_ROLES:-ingest}
mailhook=$build_dir/src/mailhook
load=$build_dir/bench/mailhook_load
[ -x "$mailhook" ] || die "$mailhook is missing: cmake --preset release && cmake --build --preset release"
[ -x "$load" ] || die "$load is missing: cmake --preset release && cmake --build --preset release"
load_help=$("$load" --help)
load_args=()
count_allocs=${MAILHOOK_BENCH_COUNT_ALLOCS:-0}
preload=()
if [ "$count_allocs" = 1 ]; then
  malloc_count_lib=${MAILHOOK_BENCH_MALLOC_COUNT_LIB:-$build_dir/bench/libmailhook_malloc_count.so}
  [ -f "$malloc_count_lib" ] || die "$malloc_count_lib is missing: cmake --build ... --target mailhook_malloc_count"
  [[ $load_help == *--daemon-malloc-count* ]] || die "$load cannot read allocation counts (built before --daemon-malloc-count)"
  preload=(env "LD_PRELOAD=$(realpath "$malloc_count_lib")")
fi
metrics_hz=${MAILHOOK_BENCH_METRICS_HZ:-5}

daemon_pid=

bench_stop_daemon() {
  [ -n "$daemon_pid" ] || return 0
  if kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid"
    # SIGTERM drains in-flight batches into Kafka first: give it the time it needs.
    local waited=0
    while kill -0 "$daemon_pid" 2>/dev/null && ((waited++ < 120)); do sleep 0.25; done
    if kill -0 "$daemon_pid" 2>/dev/null; then
      say "mailhook did not stop within 30s of SIGTERM; killing it"
      kill -KILL "$daemon_pid" 2>/dev/null || true
    fi
  fi
  local status=0
  wait "$daemon_pid" 2>/dev/null || status=$?
  daemon_pid=
  say "mailhook exited with status $status"
}

bench_setup load

# With --json, stdout is the result object alone; the header goes to stderr.
header_fd=1
for arg in "$@"; do if [ "$arg" = --json ]; then header_fd=2; fi; done
{
bench_header
echo "daemon:  $mailhook, load generator: $load"
bench_split_cpus
} >&"$header_fd"

broker_pid=
if [ -n "${MAILHOOK_BENCH_BOOTSTRAP:-}" ]; then
  bootstrap=$MAILHOOK_BENCH_BOOTSTRAP
  broker_pid=${MAILHOOK_BENCH_BROKER_PID:-}
  # Names of this run's own: a fresh, empty topic per run on the shared broker.
  run_id=$(date +%Y%m%d%H%M%S)-$$
  topic_names=("bench.$run_id.events" "bench.$run_id.dlq" "bench.$run_id.suppressions"
    "bench.$run_id.send.requests" "bench.$run_id.send.results" "bench.$run_id.send.ledger")
  echo "broker:  $bootstrap (shared), topics bench.$run_id.*" >&"$header_fd"
else
  start_bench_broker
  broker_pid=$(cat "$work/kafka/pid" 2>/dev/null || true)
  topic_names=()
fi
# The broker shares the cores, and its JVM's compiler moves the figures (scripts/kafka,
# MAILHOOK_KAFKA_JIT).
if [ -n "$broker_pid" ] && [ -r "/proc/$broker_pid/cmdline" ]; then
  if tr '\0' ' ' <"/proc/$broker_pid/cmdline" | grep -q -- '-XX:TieredStopAtLevel=1'; then
    echo "broker JIT: quick (the JVM's first compiler only)" >&"$header_fd"
  else
    echo "broker JIT: full (both of the JVM's compilers)" >&"$header_fd"
  fi
fi
if [ -n "$broker_pid" ] && [[ $load_help == *--measure-pid* ]]; then
  load_args+=(--measure-pid "broker=$broker_pid")
fi

public_key=$("$load" keygen --out "$work/key")

admin_port=$(free_port)
ingest_port=$(free_port)
while [ "$ingest_port" = "$admin_port" ]; do ingest_port=$(free_port); done

cat >"$work/mailhook.toml" <<TOML
# Written by bench/load/run-load.sh for one load run.
[admin]
listen = "127.0.0.1:$admin_port"
# A bench on loopback: the freshness probe checks without a token.
allow_unauthenticated = true

[kafka]
bootstrap_servers = "$bootstrap"

[topics.events]
partitions = 12
$([ ${#topic_names[@]} -eq 0 ] || printf 'name = "%s"\n\n[topics.dlq]\nname = "%s"\n\n[topics.suppressions]\nname = "%s"\n\n[topics.send_requests]\nname = "%s"\n\n[topics.send_results]\nname = "%s"\n\n[topics.send_ledger]\nname = "%s"\n' "${topic_names[@]}")

[ingest]
listen = "127.0.0.1:$ingest_port"

[sources.load]
tenant = "load"
public_keys = ["$public_key"]
# mailhook_load cycles through a pool of signed bodies: with the replay guard on, every
# request after the pool's first round would be a replay, answered 200 without publishing.
replay_window = "0"

[sources.probe]
tenant = "probe"
allow_unauthenticated = true

[index]
dir = "$work/index"

[policy]
transactional_id = "load-run${run_id:+-$run_id}"
TOML

# The environment may carry MAILHOOK_* settings; these three would point the daemon away
# from this run's broker and ports.
env -u MAILHOOK_KAFKA__BOOTSTRAP_SERVERS -u MAILHOOK_ADMIN__LISTEN -u MAILHOOK_INGEST__LISTEN \
  MAILHOOK_MALLOC_COUNT_FILE="$work/malloc-count" "${preload[@]}" \
  "${daemon_prefix[@]}" "$mailhook" serve --config "$work/mailhook.toml" --roles "$roles" >"$work/mailhook.log" 2>&1 &
daemon_pid=$!

say "waiting for mailhook (pid $daemon_pid) to be ready..."
waited=0
until curl -sf "http://127.0.0.1:$admin_port/readyz" >/dev/null; do
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    tail -n 30 "$work/mailhook.log" >&2
    die "mailhook exited during start"
  fi
  if ((waited++ >= 240)); then
    tail -n 30 "$work/mailhook.log" >&2
    curl -s "http://127.0.0.1:$admin_port/readyz" >&2 || true
    die "mailhook was not ready after 60s"
  fi
  sleep 0.25
done

# Memory before the load, then the in-flight bytes sampled during it: how much RSS each
# in-flight megabyte costs.
idle_rss_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$daemon_pid/status")
sampler_pid=
if [ "$metrics_hz" != 0 ]; then
  bench_sample_inflight "$admin_port" "$metrics_hz" >"$work/inflight.txt" &
  sampler_pid=$!
fi
if [ "$count_allocs" = 1 ]; then load_args+=(--daemon-malloc-count "$work/malloc-count"); fi

probe_pid=
if [[ $roles == *policy* && $roles == *index* ]]; then
  bench/load/freshness-probe.sh "$admin_port" "$ingest_port" "${MAILHOOK_PROBES:-60}" 0.2 \
    "${MAILHOOK_PROBE_DELAY:-10}" \

    >"$work/freshness.txt" 2>&1 &
  probe_pid=$!
fi

status=0
"$load" --url "http://127.0.0.1:$ingest_port/webhooks/sendgrid/load" \
  --sign-key-pem "$work/key/private.pem" --daemon-pid "$daemon_pid" "${load_args[@]}" "$@" \
  >"$work/load.out" || status=$?
peak_rss_kib=$(awk '/^VmHWM:/ { print $2 }' "/proc/$daemon_pid/status" 2>/dev/null || true)
if [ -n "$sampler_pid" ]; then
  kill -TERM "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
fi
bench_memory_report "$idle_rss_kib" "${peak_rss_kib:-0}" "$work/inflight.txt" >"$work/memory.json"
if [ "$header_fd" = 2 ]; then
  # The load generator's JSON object, with the memory figures added as "memory".
  if [ -s "$work/load.out" ]; then
    jq -c --slurpfile memory "$work/memory.json" '. + {memory: $memory[0]}' "$work/load.out"
  fi
else
  cat "$work/load.out"
  jq -r '"memory\n  idle RSS             \(.idle_rss_bytes / 1048576 * 10 | round / 10) MiB (VmRSS after /readyz)\n" +
         "  peak in flight       \(.peak_inflight_bytes / 1048576 * 10 | round / 10) MiB (mailhook_webhook_inflight_bytes, \(.samples) samples)\n" +
         "  RSS per in-flight MiB \(if .rss_per_inflight_mib == null then "- (nothing in flight was sampled)" else "\(.rss_per_inflight_mib * 100 | round / 100) MiB ((peak RSS - idle RSS) / peak in flight)" end)"' \
    "$work/memory.json"
fi

if [ -n "$probe_pid" ]; then
  wait "$probe_pid" || true
  cat "$work/freshness.txt" >&"$header_fd"
fi
bench_stop_daemon
if [ ${#topic_names[@]} -gt 0 ]; then delete_bench_topics "$bootstrap" "${topic_names[@]}"; fi
# Warnings and errors the daemon logged, shutdown included: a clean run has none.
# (Text log lines are "TIMESTAMP LEVEL MESSAGE".)
problems='^[^ ]+ (warning|error|critical) '
if grep -Eq "$problems" "$work/mailhook.log"; then
  say "mailhook logged $(grep -Ec "$problems" "$work/mailhook.log") warnings or errors; the last ones:"
  grep -E "$problems" "$work/mailhook.log" | tail -n 20 >&2
fi
exit "$status"
