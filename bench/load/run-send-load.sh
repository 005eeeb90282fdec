#!/usr/bin/env bash
# One load run of the sender on this machine: a fresh Kafka broker, then mailhook_send_load
# with this script's arguments (it adds --kafka). mailhook_send_load starts the Mail Send
# simulator and `mailhook serve --roles index,sender` itself. The broker is stopped and
# deleted on exit, also after a failure or Ctrl-C.
#
#   bench/load/run-send-load.sh --requests 20000 --api-latency 0
#   bench/load/run-send-load.sh --requests 6000 --rate 200 --api-latency 100 --concurrency 32
#
# Needs the Release build with its tests (cmake --preset release && cmake --build --preset
# release) and the broker's jars (scripts/setup). MAILHOOK_BUILD_DIR: the build tree
# (default build/release).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MAILHOOK_ROOT"

build_dir=${MAILHOOK_BUILD_DIR:-build/release}
load=$build_dir/bench/mailhook_send_load
[ -x "$load" ] || die "$load is missing: cmake --preset release && cmake --build --preset release"

bench_setup send-load
bench_header
start_bench_broker
MAILHOOK_SOURCE_DIR=$MAILHOOK_ROOT "$load" --kafka "$bootstrap" "$@"
