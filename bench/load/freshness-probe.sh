#!/usr/bin/env bash
# Freshness of the suppression index, end to end: posts one hard bounce for a new address
# to the "probe" source, and from its 2xx polls the admin API until that address is
# suppressed; repeats, then prints how long it took (p50, p99, max, in ms). Run by
# run-load.sh next to a load run; on its own:
#   bench/load/freshness-probe.sh ADMIN_PORT WEBHOOK_PORT [PROBES] [INTERVAL_S] [DELAY_S]
# DELAY_S (default 0) waits before the first probe: run-load.sh lets the daemon settle
# under the load first (the policy joins its group, the first transactions open their
# partitions), so that what is measured is the steady state.
# The source "probe" (tenant "probe", allow_unauthenticated) must be configured.
set -euo pipefail
admin=127.0.0.1:$1
webhook=127.0.0.1:$2
probes=${3:-50}
interval=${4:-0.2}
sleep "${5:-0}"


now_ms() { echo $(($(date +%s%N) / 1000000)); }
samples=()
for ((i = 0; i < probes; i++)); do
  email="fresh-$$-$i-$RANDOM@probe.example"
  body="[{\"email\":\"$email\",\"event\":\"bounce\",\"type\":\"bounce\",\"timestamp\":$(date +%s),\"sg_event_id\":\"probe-$$-$i\"}]"
  status=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "$body" "http://$webhook/webhooks/sendgrid/probe")
  acked=$(now_ms)
  if [ "$status" != 200 ]; then
    echo "probe $i: webhook answered $status" >&2
    continue
  fi
  until curl -s "http://$admin/v1/suppressions/check?tenant=probe&email=$email" | grep -q '"allowed":false'; do
    if (($(now_ms) - acked > 30000)); then
      echo "probe $i: not suppressed after 30 s" >&2
      break
    fi
    sleep 0.005
  done
  samples+=($(($(now_ms) - acked)))
  [ -z "${MAILHOOK_PROBE_VERBOSE:-}" ] || echo "probe $i at $(date +%T.%N | cut -c1-12): ${samples[-1]} ms" >&2

  sleep "$interval"
done
printf '%s\n' "${samples[@]}" | sort -n | awk '
  { v[NR] = $1 }
  END {
    if (NR == 0) { print "freshness: no samples"; exit 1 }
    p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1]
    printf "freshness (webhook 2xx -> lookup says suppressed), %d probes: p50 %d ms, p99 %d ms, max %d ms\n", NR, p50, p99, v[NR]
  }'
