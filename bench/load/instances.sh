#!/usr/bin/env bash
# Events/s with one ingest instance and with two, on one broker, as a platform scales the
# webhook endpoint out behind a load balancer: the same total load (connections split
# evenly) on one `mailhook serve --roles ingest`, then on two at once, each with its own
# load generator, alternately, several rounds. For each run: events/s in all, and the CPU
# per event of the daemons and of the machine over the measured window. Two instances on
# one 2-core machine share the cores that one instance, its broker and its load generator
# already fill: the figure says what a second process costs or saves here, not what a
# second host would add.
#
#   bench/load/instances.sh [--runs N] [-- RUN-LOAD-ARGUMENTS...]
#   bench/load/instances.sh --runs 3 -- --events-per-batch 1000 --connections 8 --duration 10s
#
# Each run is bench/load/run-load.sh (one per instance, started together) on a broker this
# script starts once for all of them. --connections is the total: each of two instances
# gets half. Defaults: 3 rounds, the arguments above.
# Environment: MAILHOOK_BUILD_DIR and the daemon settings, as for run-load.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MAILHOOK_ROOT"

bench_runs_and_load_args "bench/load/instances.sh [--runs N] [-- RUN-LOAD-ARGUMENTS...]" "$@"
((${#run_args[@]} > 0)) || run_args=(--events-per-batch 1000 --connections 8 --duration 10s)
connections=
other_args=()
for ((i = 0; i < ${#run_args[@]}; i++)); do
  if [ "${run_args[i]}" = --connections ]; then
    connections=${run_args[i + 1]:-}
    i=$((i + 1))
  else
    other_args+=("${run_args[i]}")
  fi
done
[[ $connections =~ ^[0-9]+$ ]] && ((connections >= 2 && connections % 2 == 0)) ||
  die "--connections (the total) must be an even number of at least 2"
unset MAILHOOK_BENCH_DAEMON_CPUS

bench_setup instances
bench_header
echo "load:    bench/load/run-load.sh ${run_args[*]} in all, on 1 instance, then on 2 with" \
  "$((connections / 2)) connections each; $runs rounds"
start_bench_broker
broker_pid=$(cat "$work/kafka/pid")

# run_instances LABEL N: N instances at once, each with the connections split N ways; its
# JSON results in $work/LABEL-K.json.
run_instances() {
  local label=$1 n=$2 k pids=()
  for ((k = 1; k <= n; k++)); do
    MAILHOOK_BENCH_BOOTSTRAP=$bootstrap MAILHOOK_BENCH_BROKER_PID=$broker_pid \
      bench/load/run-load.sh "${other_args[@]}" --connections $((connections / n)) --json \
      >"$work/$label-$k.json" 2>"$work/$label-$k.log" &
    pids+=($!)
  done
  for ((k = 1; k <= n; k++)); do
    if ! wait "${pids[k - 1]}"; then
      tail -n 30 "$work/$label-$k.log" >&2
      die "run $label-$k failed"
    fi
  done
}

# events/s, daemon us/event, machine cores, over the instances of one run.
figures() {
  jq -s -r '(map(.events_per_s) | add) as $rate
    | (map(.events.accepted) | add) as $events
    | (map(.daemon.cpu_s) | add) as $cpu
    | (map(.window_cpu.machine.cpu_s // 0) | max) as $machine
    | (map(.duration_s) | max) as $seconds
    | [$rate, $cpu * 1e6 / $events, $machine / $seconds] | map(tostring) | join(" ")' "$@"
}

printf '%-12s %3s %12s %12s %14s\n' setting run events/s "daemons us/ev" "machine cores"
for ((run = 1; run <= runs; run++)); do
  for n in 1 2; do
    run_instances "$run-$n" "$n"
    read -r rate per_event cores < <(figures "$work/$run-$n-"*.json)
    printf '%-12s %3s %12.0f %12.2f %14.2f\n' "$n instance$([ "$n" = 1 ] || echo s)" "$run" \
      "$rate" "$per_event" "$cores"
    echo "$n $rate $per_event $cores" >>"$work/all.txt"
  done
done
echo "medians"
for n in 1 2; do
  line=()
  for column in 2 3 4; do
    line+=("$(awk -v n="$n" -v c="$column" '$1 == n { print $c }' "$work/all.txt" | sort -g |
      awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')")
  done
  printf '%-12s %3s %12.0f %12.2f %14.2f\n' "$n instance$([ "$n" = 1 ] || echo s)" "" "${line[@]}"
done
echo "(events/s: the instances' sum; daemons us/ev: their CPU over their events; machine cores:"
echo " every process's busy time per second (/proc/stat) over the measured window. The machine"
echo " has $(nproc --all) CPUs.)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
