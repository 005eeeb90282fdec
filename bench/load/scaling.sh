#!/usr/bin/env bash
# The scaling curve this 2-core machine can show, with what limits it: the same load run
# with the daemon on 1 CPU of its own (MAILHOOK_BENCH_DAEMON_CPUS=0, one listener thread;
# the broker and the load generator on the other CPU) and on both CPUs shared with them
# (two listener threads, no pinning), alternately, several runs each. For each run: events/s,
# and the CPU per event and in cores over the measured window of the daemon, the broker's
# JVM and the load generator (/proc/PID/stat at the window's two ends, read by
# mailhook_load). When the three together use about every core the machine has, the
# machine, not the daemon, sets the throughput of the shared setting.
#
#   bench/load/scaling.sh [--runs N] [-- RUN-LOAD-ARGUMENTS...]
#   bench/load/scaling.sh --runs 3 -- --events-per-batch 1000 --connections 4 --duration 10s
#
# Each run is bench/load/run-load.sh with its own broker (so that the CPU split covers the
# broker from its start). Defaults: 3 runs of each setting, the arguments above.
# Environment: MAILHOOK_BUILD_DIR and the daemon settings, as for run-load.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MAILHOOK_ROOT"

bench_runs_and_load_args "bench/load/scaling.sh [--runs N] [-- RUN-LOAD-ARGUMENTS...]" "$@"
((${#run_args[@]} > 0)) || run_args=(--events-per-batch 1000 --connections 4 --duration 10s)
(($(nproc --all) >= 2)) || die "needs at least 2 CPUs"
unset MAILHOOK_BENCH_DAEMON_CPUS MAILHOOK_INGEST__THREADS

bench_setup scaling
bench_header
echo "load:    bench/load/run-load.sh ${run_args[*]}, $runs runs of each setting, alternately"

# The settings: a label, then the environment of run-load.sh.
settings=("1 CPU" "2 CPUs shared")
setting_env() {
  case $1 in
    "1 CPU") echo "MAILHOOK_BENCH_DAEMON_CPUS=0 MAILHOOK_INGEST__THREADS=1" ;;
    "2 CPUs shared") echo "MAILHOOK_INGEST__THREADS=2" ;;
  esac
}

# One line of figures from a run's JSON: events/s, then per event and in cores the daemon,
# the broker, the load generator, and all three.
figures() {
  jq -r '. as $r | .duration_s as $s | .events.accepted as $n
    | [.daemon.cpu_s, (.window_cpu.broker.cpu_s // null), .window_cpu["load generator"].cpu_s] as $cpu
    | [$r.events_per_s]
      + ($cpu | map(if . == null then [null, null] else [. * 1e6 / $n, . / $s] end) | flatten)
      + [($cpu | map(. // 0) | add) * 1e6 / $n, ($cpu | map(. // 0) | add) / $s]
      + [(.window_cpu.machine.cpu_s // null), (.window_cpu.steal.cpu_s // null)
         | if . == null then null else . / $s end]
    | map(if . == null then "-" else tostring end) | join(" ")' "$1"
}

row() {
  printf '%-14s %3s %10s  %7s %5s  %7s %5s  %7s %5s  %7s %5s  %7s %5s\n' "$@"
}
row setting run events/s "daemon" "" "broker" "" "load" "" "3 procs" "" machine steal
row "" "" "" "us/ev" cores "us/ev" cores "us/ev" cores "us/ev" cores cores cores
fmt_row() {
  local label=$1 run=$2
  shift 2
  local out=() v
  for v in "$@"; do
    if [ "$v" = - ]; then out+=(-); else out+=("$(printf '%.2f' "$v")"); fi
  done
  out[0]=$(printf '%.0f' "$1")
  row "$label" "$run" "${out[@]}"
}

for ((run = 1; run <= runs; run++)); do
  for setting in "${settings[@]}"; do
    name="$run-${setting// /-}"
    # shellcheck disable=SC2046
    if ! env $(setting_env "$setting") bench/load/run-load.sh "${run_args[@]}" --json \
      >"$work/$name.json" 2>"$work/$name.log"; then
      tail -n 30 "$work/$name.log" >&2
      die "run $name failed"
    fi
    grep '^cpus:' "$work/$name.log" >&2 || true
    read -ra values < <(figures "$work/$name.json")
    fmt_row "$setting" "$run" "${values[@]}"
    echo "$setting|${values[*]}" >>"$work/all.txt"
  done
done

echo "medians"
for setting in "${settings[@]}"; do
  medians=()
  for ((column = 1; column <= 11; column++)); do
    medians+=("$(awk -F'|' -v s="$setting" -v c="$column" '$1 == s { split($2, v, " "); print v[c] }' "$work/all.txt" |
      grep -v '^-$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')")
  done
  fmt_row "$setting" "" "${medians[@]}"
done
echo "(CPU over the measured window from /proc/PID/stat: user + system; cores = CPU seconds per second."
echo " 3 procs: the daemon, the broker and the load generator together; machine: every process's"
echo " busy time (/proc/stat), so machine minus 3 procs is what else ran; steal: time the"
echo " hypervisor gave to other guests. The machine has $(nproc --all) CPUs: a machine figure near"
echo " $(nproc --all) cores means it, not the daemon, is the limit.)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
