# Scenario 7, index-disk-full: an index replica (a daemon running the index role alone)
# whose directory is on a small filesystem of its own (a 96 MiB tmpfs) that fills under it
# while the policy writes changes under the steady signed load, stays full for
# FULL_SECONDS, and gets its room back. Where this machine refuses the mount, the replica
# is restarted with `index.max_disk = 1` instead (the same stall, from the limit), and
# restarted without it to get its room back.
# Promise tested: a replica that cannot keep what it reads says so instead of answering
# from stale data: it stalls (mailhook_index_stalled 1), /readyz answers 503, and every
# lookup that would say "allowed" is refused with 503 (the address may have been
# suppressed since). When space returns, RocksDB resumes by itself, the replica applies
# the same records again, and after the load, it answers for every key exactly like the
# policy's own replica on an ordinary disk (every key of both exports the same).
#
#   scenario_index_disk_full FULL_SECONDS

# The addresses suppressed, then looked up, while the replica is stalled.
disk_full_probes=20

# disk_full_wait_stalled NAME STATE SECONDS: until replica NAME's mailhook_index_stalled
# is STATE (1 or 0); false after SECONDS.
disk_full_wait_stalled() {
  local waited=0
  until [ "$(index_metric "$1" mailhook_index_stalled)" = "$2" ]; do
    ((waited++ < $3 * 4)) || return 1
    sleep 0.25
  done
}

# disk_full_probe POLICY REPLICA: $disk_full_probes addresses suppressed by hand through
# POLICY's admin API (into the changelog, which REPLICA cannot keep while stalled), then,
# a second later, REPLICA asked about each; prints "allowed=A refused=R suppressed=S
# other=O". A must be 0: each would be the "allowed" of a replica that had not applied a
# suppression a second old. (RocksDB lets writes into its memtables again for a moment
# each time it tries to resume, so a stalled replica may apply some: then it answers
# suppressed, which is right.)
disk_full_probe() {
  local policy_port replica_port i status allowed=0 refused=0 suppressed=0 other=0
  policy_port=$(cat "$work/$1/admin_port")
  replica_port=$(cat "$work/$2/admin_port")
  for ((i = 1; i <= disk_full_probes; i++)); do
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
      -d "{\"tenant\":\"load\",\"email\":\"stalled-$i@example.com\",\"note\":\"chaos: suppressed while a replica's disk is full\"}" \
      "http://127.0.0.1:$policy_port/v1/suppressions"
  done
  sleep 1
  for ((i = 1; i <= disk_full_probes; i++)); do
    status=$(curl -s -o "$work/$2/probe.json" -w '%{http_code}' \
      "http://127.0.0.1:$replica_port/v1/suppressions/check?tenant=load&email=stalled-$i@example.com")
    if [ "$status" = 503 ] && grep -q index_not_current "$work/$2/probe.json"; then
      refused=$((refused + 1))
    elif [ "$status" = 200 ] && grep -q '"allowed":true' "$work/$2/probe.json"; then
      allowed=$((allowed + 1))
    elif [ "$status" = 200 ] && grep -q '"allowed":false' "$work/$2/probe.json"; then
      suppressed=$((suppressed + 1))
    else
      other=$((other + 1))
    fi
  done
  echo "allowed=$allowed refused=$refused suppressed=$suppressed other=$other"
}

scenario_index_disk_full() {
  local full_seconds=$1 name=index-disk-full scenario=index_disk_full
  local group=chaos-index-disk-full changelog=chaos.$scenario.suppressions
  ingest_config a "$scenario"
  policy_config p "$scenario" "$group"
  index_replica_config r "$scenario"
  local disk=$work/r/disk how
  mkdir -p "$disk"
  if mount -t tmpfs -o size=96m mailhook-chaos "$disk" 2>/dev/null; then
    how="a 96 MiB tmpfs filled with a file"
  else
    how="index.max_disk = 1 (this machine refuses a tmpfs mount)"
  fi
  # Small memtables (64 MiB by default): changes reach the disk within seconds of load.
  sed -i "s|^dir = \"$work/r/index\"\$|dir = \"$disk/index\"\nwrite_buffer = \"64KiB\"|" \
    "$work/r/mailhook.toml"
  progress "$name: the replica's disk is made full for ${full_seconds}s: $how"
  ingest_start a
  ingest_wait_ready a
  ingest_start p policy,index
  ingest_start r index
  local instance
  for instance in p r; do ingest_wait_ready "$instance"; done
  load_start a $((full_seconds + 120))
  sleep 3

  local healthy=yes started=$SECONDS
  if mountpoint -q "$disk"; then
    dd if=/dev/zero of="$disk/filler" bs=1M 2>/dev/null || true
  else
    signal_and_reap TERM "$work/r/pid"
    sed -i 's|^write_buffer = "64KiB"$|write_buffer = "64KiB"\nmax_disk = 1|' "$work/r/mailhook.toml"
    ingest_start r index
  fi
  local probes=
  if disk_full_wait_stalled r 1 60; then
    progress "$name: stalled $((SECONDS - started))s after the disk filled;" \
      "/readyz $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(cat "$work/r/admin_port")/readyz")"
    local probing_started=$SECONDS
    probes=$(disk_full_probe p r)
    progress "$name: suppressed by hand while stalled, then looked up on the replica: $probes"
    [[ " $probes " == *" allowed=0 "* && " $probes " == *" other=0 "* ]] ||
      healthy="a replica that had not applied a suppression answered \"allowed\" ($probes)"
    sleep $((full_seconds > SECONDS - probing_started ? full_seconds - (SECONDS - probing_started) : 0))
  else
    healthy="the replica never reported itself stalled on a full disk (see $work/r/mailhook.log)"
  fi

  # Room again.
  local recovered_at recovery=nan
  recovered_at=$SECONDS
  if mountpoint -q "$disk"; then
    rm -f "$disk/filler"
  else
    signal_and_reap TERM "$work/r/pid"
    sed -i '/^max_disk = 1$/d' "$work/r/mailhook.toml"
    ingest_start r index
  fi
  if disk_full_wait_stalled r 0 60 && ingest_wait_ready r; then
    recovery="$((SECONDS - recovered_at))s"
    progress "$name: writing again ${recovery} after the room returned"
  else
    [ "$healthy" != yes ] || healthy="the replica did not recover within 60s of the room returning"
  fi
  sleep 3
  load_stop a
  ingest_stop a || healthy="the ingest instance died"

  # Until the policy has decided on every event; then until both replicas hold every key.
  local changelog_keys
  changelog_keys=$(decided_changelog_keys "$changelog" "chaos.$scenario.events" "$group")
  [ -n "$changelog_keys" ] || healthy="the changelog audit could not finish (see $work/audit.log)"
  await_index_keys "$changelog_keys" p r || true
  local differing=
  if index_export p && index_export r; then
    differing=$(export_differences "$work/p/export.ndjson" "$work/r/export.ndjson" || true)
    progress "$name: changelog keys=${changelog_keys:-unknown}" \
      "exported p=$(wc -l <"$work/p/export.ndjson") r=$(wc -l <"$work/r/export.ndjson")"
  fi
  [ -n "$differing" ] || healthy="the replicas could not be exported and compared (see $work/audit.log)"
  for instance in p r; do
    ingest_stop "$instance" || healthy="instance $instance died"
  done
  if mountpoint -q "$disk"; then umount "$disk" || true; fi
  local events_line
  events_line=$(audit "$scenario" a)
  report "$name" "${events_line:+$events_line wrong_verdicts=${differing:-}}" "$recovery" "$healthy"
}
