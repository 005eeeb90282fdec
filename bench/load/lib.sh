# Sourced by the bench/load/run-*.sh scripts: a scratch directory and a fresh Kafka
# broker of the run's own, both gone on exit (also after a failure or Ctrl-C), and the
# header that says where the figures come from.
#
#   bench_setup NAME      $work (a new directory) and the exit trap; a script that starts
#                         a daemon defines bench_stop_daemon, which the trap calls first
#   bench_header          the machine and commit lines
#   start_bench_broker    starts the broker under $work/kafka; sets $bootstrap
#   bench_split_cpus      with MAILHOOK_BENCH_DAEMON_CPUS set (a taskset list, e.g. 0):
#                         moves this script, and so the broker and the load generator it
#                         starts, to the other CPUs, and sets $daemon_prefix to run the
#                         daemon on the given ones alone; unset, everything shares every CPU
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
  bootstrap=$(MAILHOOK_KAFKA_DIR=$work/kafka "$MAILHOOK_ROOT/scripts/kafka" start | tail -n 1)
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
