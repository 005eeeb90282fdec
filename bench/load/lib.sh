# Sourced by the bench/load/run-*.sh scripts: a scratch directory and a fresh Kafka
# broker of the run's own, both gone on exit (also after a failure or Ctrl-C), and the
# header that says where the figures come from.
#
#   bench_setup NAME      $work (a new directory) and the exit trap; a script that starts
#                         a daemon defines bench_stop_daemon, which the trap calls first
#   bench_header          the machine and commit lines
#   start_bench_broker    starts the broker under $work/kafka; sets $bootstrap
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
  echo "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores," \
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
