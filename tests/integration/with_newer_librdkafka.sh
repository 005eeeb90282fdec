#!/usr/bin/env bash
# Runs a test binary with a librdkafka of 2.6.1 or later in place of Debian 12's 2.0.2,
# for what only a newer library can do: SCRAM-SHA-512 against a Kafka 4 broker
# (docs/security.md, "Kafka security"). The library is the one PyPI's confluent-kafka
# wheel carries (a self-contained build: its own OpenSSL, SASL SCRAM built in), pinned by
# examples/python/requirements.txt and installed by examples/setup into the examples'
# virtual environment. librdkafka keeps its C ABI within SONAME librdkafka.so.1, so a
# binary built against 2.0.2's headers runs on it unchanged; LD_LIBRARY_PATH reaches the
# daemons the test starts too.
#
#   with_newer_librdkafka.sh TEST_BINARY [ARGS...]
# Sets MAILHOOK_TEST_EXPECT_SCRAM=1, which makes the test fail on an older library.
set -euo pipefail
source "$(dirname "$0")/../../examples/env.sh"

[ -x "$EXAMPLES_VENV/bin/python" ] || die "no examples environment: run examples/setup"
library=$("$EXAMPLES_VENV/bin/python" - <<'PY'
import glob, os, confluent_kafka
libs = os.path.join(os.path.dirname(confluent_kafka.__file__), os.pardir, "confluent_kafka.libs")
found = sorted(glob.glob(os.path.join(libs, "librdkafka*.so*")))
print(os.path.realpath(found[0]) if found else "")
PY
)
[ -n "$library" ] || die "the confluent-kafka wheel in $EXAMPLES_VENV carries no librdkafka"

# The wheel names its copy librdkafka-<hash>.so.1; the binaries ask for librdkafka.so.1.
shim=$(mktemp -d "${TMPDIR:-/tmp}/mailhook-librdkafka.XXXXXX")
trap 'rm -rf "$shim"' EXIT
ln -s "$library" "$shim/librdkafka.so.1"
say "librdkafka: $library"
LD_LIBRARY_PATH=$shim${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} MAILHOOK_TEST_EXPECT_SCRAM=1 "$@"
