# Sourced by the bench/load/run-*.sh scripts: a scratch directory and a fresh Kafka
# broker of the run's own, both gone on exit (also after a failure or Ctrl-C), and the
# header that says where the figures come from.
#
#   bench_setup NAME      $work (a new directory) and the exit trap; a script that starts
#                         a daemon defines bench_stop_daemon, which the trap calls first
#   bench_header          the machine and commit lines
#   start_bench_broker    starts the broker under $work/kafka (MAILHOOK_KAFKA_JIT=full unless
#                         set); sets $bootstrap
#   bench_split_cpus      with MAILHOOK_BENCH_DAEMON_CPUS set (a taskset list, e.g. 0):
#                         moves this script, and so the broker and the load generator it
#                         starts, to the other CPUs, and sets $daemon_prefix to run the
#                         daemon on the given ones alone; unset, everything shares every CPU
#   bench_sample_inflight PORT HZ   prints the daemon's mailhook_webhook_inflight_bytes
#                         (admin /metrics on PORT) HZ times a second, one a line, until killed
#   bench_memory_report IDLE_KIB PEAK_KIB FILE   the memory figures as one JSON object:
#                         idle and peak RSS, the peak of FILE's in-flight samples, and
#                         (peak RSS - idle RSS) per in-flight MiB
#   delete_bench_topics BOOTSTRAP TOPIC...   deletes a run's topics from a shared broker
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

bench_broker_started=

bench_cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if declare -F bench_stop_daemon >/dev/null; then bench_stop_daemon || true; fi
  if [ -n "$bench_broker_started" ]; then
    MAILHOOK_KAFKA_DIR=$work/kafka "$MAILHOOK_ROOT/scripts/kafka" stop >/dev/null ||
      say "kafka: stop failed (dir $work/kafka)"
  fi
  rm -rf "$work"
  exit "$status"
}

bench_setup() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/mailhook-$1.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_header() {
  echo "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc --all) cores," \
       "load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit:  $(git -C "$MAILHOOK_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$MAILHOOK_ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
}

start_bench_broker() {
  mkdir -p "$work/kafka"
  say "starting a fresh Kafka broker..."
  bench_broker_started=1  # before the start: a half-started broker is stopped too
  # Both of the JVM's compilers, as a production broker runs: with the first alone
  # (the tests' default) the broker takes half as much CPU again from the cores it shares.
  bootstrap=$(MAILHOOK_KAFKA_DIR=$work/kafka MAILHOOK_KAFKA_JIT=${MAILHOOK_KAFKA_JIT:-full} \
    "$MAILHOOK_ROOT/scripts/kafka" start | tail -n 1)
  [[ $bootstrap =~ ^127\.0\.0\.1:[0-9]+$ ]] || die "unexpected bootstrap address from scripts/kafka: '$bootstrap'"
}

bench_split_cpus() {
  daemon_prefix=()
  local daemon_cpus=${MAILHOOK_BENCH_DAEMON_CPUS:-}
  [ -n "$daemon_cpus" ] || return 0
  command -v taskset >/dev/null || die "MAILHOOK_BENCH_DAEMON_CPUS needs taskset (util-linux)"
  # The daemon's CPUs as a mask, then every other CPU of the machine for the rest.
  local all daemon_mask rest=() cpu
  all=$(nproc --all)
  daemon_mask=$(taskset -c "$daemon_cpus" sh -c 'taskset -p $$' | sed 's/.*: //') ||
    die "MAILHOOK_BENCH_DAEMON_CPUS=$daemon_cpus is not a CPU list taskset takes"
  for ((cpu = 0; cpu < all; cpu++)); do
    (((0x$daemon_mask >> cpu) & 1)) || rest+=("$cpu")
  done
  ((${#rest[@]} > 0)) || die "MAILHOOK_BENCH_DAEMON_CPUS=$daemon_cpus leaves no CPU for the broker and the load generator"
  local others
  others=$(IFS=,; echo "${rest[*]}")
  taskset -c -p "$others" $$ >/dev/null
  daemon_prefix=(taskset -c "$daemon_cpus")
  echo "cpus:    mailhook on $daemon_cpus; the broker and the load generator on $others"
}

bench_sample_inflight() {
  local port=$1 hz=$2 interval
  interval=$(awk -v hz="$hz" 'BEGIN { printf "%.3f", 1 / hz }')
  trap 'exit 0' TERM
  while :; do
    curl -s --max-time 1 "http://127.0.0.1:$port/metrics" |
      awk '/^mailhook_webhook_inflight_bytes[ {]/ { printf "%.0f\n", $NF }' || true
    sleep "$interval"
  done
}

bench_memory_report() {
  local idle_kib=$1 peak_kib=$2 samples=$3
  awk -v idle="$idle_kib" -v peak="$peak_kib" '
    { n++; if ($1 + 0 > max) max = $1 + 0 }
    END {
      ratio = "null"
      if (max > 0) ratio = sprintf("%.3f", (peak - idle) * 1024 / max)
      printf "{\"idle_rss_bytes\":%d,\"peak_rss_bytes\":%d,\"peak_inflight_bytes\":%d,\"samples\":%d,\"rss_per_inflight_mib\":%s}\n",
        idle * 1024, peak * 1024, max, n, ratio
    }' "$samples"
}

delete_bench_topics() {
  local bootstrap=$1 venv
  shift
  venv=$(source "$MAILHOOK_ROOT/examples/env.sh" && echo "$EXAMPLES_VENV")
  if [ ! -x "$venv/bin/python" ]; then
    say "kafka: topics $* stay on the shared broker (no examples/setup Python environment to delete them)"
    return 0
  fi
  "$venv/bin/python" - "$bootstrap" "$@" <<'PY' || say "kafka: deleting topics $* failed"
import sys
from confluent_kafka.admin import AdminClient
admin = AdminClient({"bootstrap.servers": sys.argv[1]})
existing = admin.list_topics(timeout=10).topics
names = [t for t in sys.argv[2:] if t in existing]
for name, done in (admin.delete_topics(names, operation_timeout=30).items() if names else []):
    done.result()
PY
}

# bench_runs_and_load_args USAGE ARGS...: reads "[--runs N] [-- RUN-LOAD-ARGUMENTS...]" into
# $runs (default 3) and the array run_args (empty when none were given).
bench_runs_and_load_args() {
  local usage=$1
  shift
  runs=3
  while (($# > 0)); do
    case $1 in
      --runs)
        [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--runs takes a positive number"
        runs=$2
        shift 2 ;;
      --) shift; break ;;
      *) die "usage: $usage" ;;
    esac
  done
  run_args=("$@")
}
