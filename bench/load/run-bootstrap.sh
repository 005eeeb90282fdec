#!/usr/bin/env bash
# How fast an empty index replica rebuilds from the compacted changelog: a fresh Kafka
# broker, N suppressions written through `mailhook suppressions import` (a generated
# SendGrid bounces export), then `mailhook serve --roles index` on an empty directory,
# timed from its first "following" log line to "caught up". Everything it starts is
# stopped and deleted on exit.
#
#   bench/load/run-bootstrap.sh [ENTRIES]        (default 2000000)
#
# The catch-up pauses RocksDB's compactions; the script then times the compactions that
# follow (until RocksDB estimates nothing left to compact).
#
# Then, against the rebuilt replica, batch checks through the admin API (1000 addresses
# per request, 1% of them suppressed) with mailhook_load for 10 s ("events" are addresses).
#
# Needs the Release build and the broker's jars, as run-load.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MAILHOOK_ROOT"

entries=${1:-2000000}
build_dir=${MAILHOOK_BUILD_DIR:-build/release}
mailhook=$build_dir/src/mailhook
[ -x "$mailhook" ] || die "$mailhook is missing: cmake --preset release && cmake --build --preset release"

daemon_pid=
bench_stop_daemon() {
  if [ -n "$daemon_pid" ]; then kill -TERM "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
}
bench_setup bootstrap
bench_header
start_bench_broker
admin_port=$(free_port)
cat >"$work/mailhook.toml" <<TOML
[admin]
listen = "127.0.0.1:$admin_port"
# A bench on loopback: the checks are timed without a token.
allow_unauthenticated = true
[kafka]
bootstrap_servers = "$bootstrap"
[index]
dir = "$work/index"
TOML

say "writing a bounces export of $entries addresses..."
awk -v n="$entries" 'BEGIN {
  print "email,created,reason,status"
  for (i = 0; i < n; i++)
    printf "bounced.user%d@example%d.com,%d,\"550 5.1.1 The email account that you tried to reach does not exist\",5.1.1\n", i, i % 997, 1700000000 + i
}' >"$work/bounces.csv"

started=$(date +%s%N)
env -u MAILHOOK_KAFKA__BOOTSTRAP_SERVERS -u MAILHOOK_ADMIN__LISTEN \
  "$mailhook" suppressions import --config "$work/mailhook.toml" --tenant bench --kind bounces \
  --note "bench/load/run-bootstrap.sh" \
  "$work/bounces.csv"
import_ms=$((($(date +%s%N) - started) / 1000000))
echo "import:    $entries records through the changelog in $import_ms ms" \
     "($((entries * 1000 / (import_ms > 0 ? import_ms : 1))) records/s)"

env -u MAILHOOK_KAFKA__BOOTSTRAP_SERVERS -u MAILHOOK_ADMIN__LISTEN -u MAILHOOK_INDEX__DIR \
  "$mailhook" serve --config "$work/mailhook.toml" --roles index >"$work/mailhook.log" 2>&1 &
daemon_pid=$!
waited=0
until grep -q "index: caught up" "$work/mailhook.log"; do
  kill -0 "$daemon_pid" 2>/dev/null || { tail -n 20 "$work/mailhook.log" >&2; die "mailhook exited"; }
  ((waited++ < 6000)) || die "not caught up after 10 minutes"
  sleep 0.1
done
ms_of() { date -d "$(echo "$1" | cut -d' ' -f1)" +%s%3N; }
first=$(grep -m1 "index: following" "$work/mailhook.log")
done_line=$(grep -m1 "index: caught up" "$work/mailhook.log")
elapsed=$(($(ms_of "$done_line") - $(ms_of "$first")))
rss=$(awk '/VmHWM/ {print $2 / 1024 " MiB"}' "/proc/$daemon_pid/status")
echo "bootstrap: ${done_line#* * }"
echo "bootstrap: $entries records in $elapsed ms ($((entries * 1000 / (elapsed > 0 ? elapsed : 1))) records/s)," \
     "peak RSS $rss, index on disk $(du -sh "$work/index" | cut -f1)"
curl -s "http://127.0.0.1:$admin_port/v1/suppressions/check?tenant=bench&email=bounced.user7@example7.com"
echo

sample() {
  curl -s "http://127.0.0.1:$admin_port/metrics" | awk -v name="$1" '$1 == name {print $2}'
}
level0=$(sample mailhook_index_rocksdb_level0_files)
started=$(date +%s%N)
until [ "$(sample mailhook_index_rocksdb_pending_compaction_bytes)" = 0 ]; do
  (($(date +%s%N) - started < 600000000000)) || die "compactions still pending after 10 minutes"
  sleep 0.5
done
echo "compaction after the catch-up: $level0 level-0 files in $((($(date +%s%N) - started) / 1000000)) ms," \
     "index on disk $(du -sh "$work/index" | cut -f1)"

# Batch checks against the rebuilt replica: 1000 addresses per request, 1% suppressed.
load=$build_dir/bench/mailhook_load
if [ -x "$load" ]; then
  awk -v n="$entries" 'BEGIN {
    srand(7); printf "{\"tenant\":\"bench\",\"emails\":["
    for (i = 0; i < 1000; i++) {
      k = int(rand() * n)
      if (i % 100 == 0) a = sprintf("bounced.user%d@example%d.com", k, k % 997)
      else a = sprintf("someone.else%d@example%d.com", k, k % 997)
      printf "%s\"%s\"", (i ? "," : ""), a
    }
    printf "]}"
  }' >"$work/check.json"
  say "batch checks: 1000 addresses per POST /v1/suppressions/check..."
  "$load" --url "http://127.0.0.1:$admin_port/v1/suppressions/check" --unsigned \
    --body-file "$work/check.json" --events-per-batch 1000 --connections 4 --duration 10s \
    --daemon-pid "$daemon_pid" | grep -E "200 |events accepted|p50=|CPU per request|CPU   "
fi
