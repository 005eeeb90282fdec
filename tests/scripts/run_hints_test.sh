#!/usr/bin/env bash
# The commands scripts/run prints work as printed in a new terminal: its send-test command,
# copied into a shell that has none of scripts/run's environment (no SENDGRID_API_KEY) and
# starts elsewhere than the repository, gets past its configuration and API key to the
# suppression check. And scripts/run keeps the API key where that command finds it:
# SENDGRID_API_KEY when exported (mode 0600), else the key saved before, else a placeholder.
#
# scripts/run runs for real in a copy of the repository's scripts and local configuration,
# with stand-ins for what it must not do here (set up, build, start a broker or a daemon):
# no network, no broker. The local configuration's admin address is moved to a closed port,
# so that the check fails the same way whether or not a daemon runs on this machine.
#
#   tests/scripts/run_hints_test.sh SOURCE_DIR MAILHOOK_BINARY
set -euo pipefail
source_dir=$1
binary=$(realpath "$2")
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/repository
mkdir -p "$root/scripts/lib" "$root/deploy/config" "$root/build/release/src" "$work/bin" "$work/home"
cp "$source_dir/scripts/run" "$root/scripts/"
cp "$source_dir/scripts/lib/common.sh" "$source_dir/scripts/lib/kafka-pom.xml" "$root/scripts/lib/"
printf '#!/bin/sh\nexit 0\n' >"$root/scripts/setup"
printf '#!/bin/sh\n[ "$1" = start ] && echo 127.0.0.1:1\nexit 0\n' >"$root/scripts/kafka"
printf '#!/bin/sh\nexit 0\n' >"$work/bin/cmake"
# The daemon's stand-in: `serve` ends at once; every other command is the real binary's.
printf '#!/bin/sh\n[ "$1" = serve ] && exit 0\nexec %q "$@"\n' "$binary" >"$root/build/release/src/mailhook"
chmod +x "$root/scripts/"* "$work/bin/cmake" "$root/build/release/src/mailhook"
closed_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
awk -v port="$closed_port" '
  /^\[/ { section = $0 }
  section == "[admin]" && /^listen/ { print "listen = \"127.0.0.1:" port "\""; next }
  { print }' "$source_dir/deploy/config/mailhook.local.toml" >"$root/deploy/config/mailhook.local.toml"

# Runs scripts/run without SENDGRID_API_KEY, or with the value given; its hints go to $work/hints.
run_script() {
  local env=(env -u SENDGRID_API_KEY -u MAILHOOK_CONFIG PATH="$work/bin:$PATH")
  [ $# -gt 0 ] && env+=(SENDGRID_API_KEY="$1")
  (cd "$work/home" && "${env[@]}" bash "$root/scripts/run") 2>"$work/hints" >/dev/null ||
    { cat "$work/hints" >&2; fail "scripts/run exited non-zero"; }
}
key_file=$root/.run/sendgrid-api-key
key_is() { [ "$(cat "$key_file" 2>/dev/null)" = "$1" ] || fail "$2: $key_file holds '$(cat "$key_file" 2>/dev/null)', not '$1'"; }

run_script
key_is SG.no-key-configured "without SENDGRID_API_KEY"
[ "$(stat -c %a "$key_file")" = 600 ] || fail "$key_file has mode $(stat -c %a "$key_file"), not 600"

# The send-test command as printed: from its first line to the first without a trailing \.
command=$(awk '/Send a test email/ { found = 1 } found && /send-test/ { on = 1 }
               on { print } on && !/\\$/ { exit }' "$work/hints")
[ -n "$command" ] || { cat "$work/hints" >&2; fail "no send-test command in scripts/run's hints"; }
echo "the printed command: $command"
# A new terminal: a login shell's variables only, in the home directory.
status=0
output=$(cd "$work/home" && env -i HOME="$work/home" PATH=/usr/local/bin:/usr/bin:/bin \
  bash --norc --noprofile -c "$command" 2>&1) || status=$?
echo "it answered ($status): $output"
# Past the configuration and the key (exit 2 and "... (api_key_env) is not set" before),
# it asks the daemon, which is not there: exit 1.
[ "$status" = 1 ] || fail "send-test exited $status, not 1 (the daemon is not running)"
grep -q "cannot check suppressions" <<<"$output" ||
  fail "send-test did not get as far as the suppression check"

# An exported key is kept for the next terminals, and kept when scripts/run next runs without.
run_script SG.from-the-environment
key_is SG.from-the-environment "with SENDGRID_API_KEY"
grep -q "SENDGRID_API_KEY is set" "$work/hints" || fail "the hints do not say the key is set"
grep -q "SG.from-the-environment" "$work/hints" && fail "the hints show the API key"
run_script
key_is SG.from-the-environment "after a run without SENDGRID_API_KEY"

if ((failed)); then exit 1; fi
echo "scripts/run hints: OK"
