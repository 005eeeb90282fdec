#!/usr/bin/env bash
# Judges a change by a ratio measured the same hour: runs bench/load/run-load.sh against two
# builds in turn (BASE, NEW, BASE, NEW, ... for --rounds rounds) on one Kafka broker started
# for the whole comparison, each run with a fresh daemon and fresh topics, and prints per
# round each build's events/s and daemon CPU per event, the ratios NEW/BASE, and the median
# of the ratios. Figures from different hours on this machine differ by more than most
# changes do (docs/benchmarks.md, "End to end"); a ratio of alternated runs does not.
#
#   bench/load/compare.sh [--rounds N] BASE NEW -- RUN-LOAD-ARGUMENTS...
#   bench/load/compare.sh --rounds 3 main~1 main -- --events-per-batch 1000 --connections 4 --duration 10s
#   bench/load/compare.sh build/compare/9d7d73c3f0a1 build/ci -- --events-per-batch 1 --connections 256
#
# BASE and NEW are each a build directory holding src/mailhook and bench/mailhook_load, or
# a git revision of this repository: its tree is exported (git archive) to
# build/compare/src-SHA and the two targets are built as the ci preset builds them
# (Release, -Werror, Ninja) into build/compare/SHA, once; later comparisons reuse it. Each
# side runs its own daemon and its own load generator; this tree's run-load.sh drives both.
#
# The arguments after -- go to run-load.sh (and so to mailhook_load); --json is added.
# Environment: as run-load.sh's (MAILHOOK_BENCH_DAEMON_CPUS, MAILHOOK_INGEST__*, ...), which
# applies to both sides alike.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MAILHOOK_ROOT"

usage() { die "usage: bench/load/compare.sh [--rounds N] BASE NEW -- RUN-LOAD-ARGUMENTS..."; }

rounds=5
sides=()
while (($# > 0)); do
  case $1 in
    --rounds)
      [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--rounds takes a positive number"
      rounds=$2
      shift 2 ;;
    --) shift; break ;;
    -*) usage ;;
    *) sides+=("$1"); shift ;;
  esac
done
((${#sides[@]} == 2)) || usage
run_args=("$@")

# Prints the build directory for a build directory or a revision, building if needed.
build_for() {
  local spec=$1 sha src dir
  if [ -d "$spec" ]; then
    [ -x "$spec/src/mailhook" ] && [ -x "$spec/bench/mailhook_load" ] ||
      die "$spec has no src/mailhook and bench/mailhook_load"
    (cd "$spec" && pwd)
    return 0
  fi
  sha=$(git rev-parse --verify --quiet "$spec^{commit}") ||
    die "$spec is neither a build directory nor a revision of this repository"
  dir=$MAILHOOK_ROOT/build/compare/$sha
  src=$MAILHOOK_ROOT/build/compare/src-$sha
  if [ -f "$dir/.compare-built" ]; then
    say "$spec: reusing $dir"
    echo "$dir"
    return 0
  fi
  if [ ! -f "$src/CMakeLists.txt" ]; then
    say "$spec: exporting $sha to $src"
    rm -rf "$src.tmp"
    mkdir -p "$src.tmp"
    git archive "$sha" | tar -x -C "$src.tmp"
    mv "$src.tmp" "$src"
  fi
  say "$spec: building mailhook and mailhook_load into $dir (Release, -Werror, as the ci preset)..."
  local targets=(mailhook mailhook_load)
  if [ "${MAILHOOK_BENCH_COUNT_ALLOCS:-0}" = 1 ] && grep -q mailhook_malloc_count "$src/bench/CMakeLists.txt"; then
    targets+=(mailhook_malloc_count)
  fi
  {
    cmake -S "$src" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAILHOOK_WERROR=ON &&
      cmake --build "$dir" --target "${targets[@]}"
  } >"$dir.log" 2>&1 || { tail -n 40 "$dir.log" >&2; die "building $spec failed; the log: $dir.log"; }
  touch "$dir/.compare-built"
  echo "$dir"
}

mkdir -p build/compare
base_dir=$(build_for "${sides[0]}")
new_dir=$(build_for "${sides[1]}")

bench_setup compare
bench_header
echo "BASE:    ${sides[0]} ($base_dir)"
echo "NEW:     ${sides[1]} ($new_dir)"
echo "load:    bench/load/run-load.sh ${run_args[*]}, $rounds rounds, BASE then NEW in each"
# Before the broker starts, so that it runs on the CPUs left to it, like run-load.sh's own.
bench_split_cpus
start_bench_broker
broker_pid=$(cat "$work/kafka/pid")
echo "broker:  $bootstrap (pid $broker_pid), shared by every run"

# One run of one side; its JSON result in $work/NAME.json, its log in $work/NAME.log.
run_side() {
  local name=$1 dir=$2
  if ! MAILHOOK_BUILD_DIR=$dir MAILHOOK_BENCH_BOOTSTRAP=$bootstrap MAILHOOK_BENCH_BROKER_PID=$broker_pid \
    bench/load/run-load.sh "${run_args[@]}" --json >"$work/$name.json" 2>"$work/$name.log"; then
    tail -n 30 "$work/$name.log" >&2
    die "run $name failed"
  fi
  jq -e '.daemon.cpu_us_per_event > 0 and .events_per_s > 0' "$work/$name.json" >/dev/null ||
    die "run $name measured no events or no daemon CPU: $(cat "$work/$name.json")"
}

# "events/s cpu" of a run, CPU per event or, for 1-event batches, per request.
figures() {
  jq -r 'if .events_per_batch > 1 then "\(.events_per_s) \(.daemon.cpu_us_per_event)"
         else "\(.requests_per_s) \(.daemon.cpu_us_per_request)" end' "$work/$1.json"
}

# Requests answered other than 200 make a ratio of different work.
refusals() {
  jq -r '.requests.answered - .requests.status_200 + .requests.connection_errors + .requests.timeouts' \
    "$work/$1.json"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# mailhook_load's default is 100 events a batch; with 1 the figures are per request.
unit=event
for ((i = 0; i < ${#run_args[@]}; i++)); do
  case ${run_args[i]} in
    --events-per-batch) [ "${run_args[i + 1]:-}" != 1 ] || unit=request ;;
    --events-per-batch=1) unit=request ;;
  esac
done
printf '%-6s %14s %11s %14s %11s %14s %14s %6s\n' round "BASE ${unit}s/s" "BASE us/$unit" \
  "NEW ${unit}s/s" "NEW us/$unit" "CPU NEW/BASE" "rate NEW/BASE" load
cpu_ratios=()
rate_ratios=()
for ((round = 1; round <= rounds; round++)); do
  run_side "$round-base" "$base_dir"
  run_side "$round-new" "$new_dir"
  read -r base_rate base_cpu < <(figures "$round-base")
  read -r new_rate new_cpu < <(figures "$round-new")
  cpu_ratio=$(awk -v n="$new_cpu" -v b="$base_cpu" 'BEGIN { printf "%.3f", n / b }')
  rate_ratio=$(awk -v n="$new_rate" -v b="$base_rate" 'BEGIN { printf "%.3f", n / b }')
  cpu_ratios+=("$cpu_ratio")
  rate_ratios+=("$rate_ratio")
  note=
  if [ "$(refusals "$round-base")" != 0 ] || [ "$(refusals "$round-new")" != 0 ]; then
    note="  (not every request was answered 200: $(refusals "$round-base") / $(refusals "$round-new"))"
  fi
  printf '%-6s %14.0f %11.3f %14.0f %11.3f %14s %14s %6s%s\n' "$round" "$base_rate" "$base_cpu" \
    "$new_rate" "$new_cpu" "$cpu_ratio" "$rate_ratio" "$(cut -d' ' -f1 /proc/loadavg)" "$note"
done
printf '%-6s %14s %11s %14s %11s %14.3f %14.3f\n' median "" "" "" "" \
  "$(printf '%s\n' "${cpu_ratios[@]}" | median)" "$(printf '%s\n' "${rate_ratios[@]}" | median)"
echo "(CPU: the daemon's user + system time per accepted $unit over the measured window;" \
  "below 1.0 NEW uses less. rate: accepted ${unit}s/s; above 1.0 NEW carries more." \
  "load: the 1-minute load average after the round, which shows whether something else" \
  "ran at the same time; the ratios spread when it did.)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
