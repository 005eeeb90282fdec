# Sourced by examples/setup, examples/generate and the examples' tests: where the
# examples' dependencies live. Like the Kafka broker's jars, they are kept in the cache
# outside git (scripts/lib/common.sh), so a fresh machine installs them once and later
# runs reuse them.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

EXAMPLES_DIR=$MAILHOOK_ROOT/examples
# The Python virtual environment, keyed by the pinned requirements and the interpreter,
# so that a change to either makes a fresh one.
EXAMPLES_VENV=$MAILHOOK_CACHE_DIR/examples-venv-$(
  { cat "$EXAMPLES_DIR/python/requirements.txt"; python3 --version 2>&1; } | sha256sum | cut -c1-12)
# Go's module and build caches, and where the Go example and protoc-gen-go are built.
export GOPATH=$MAILHOOK_CACHE_DIR/go
export GOMODCACHE=$GOPATH/pkg/mod
export GOCACHE=$MAILHOOK_CACHE_DIR/go-build
export GOFLAGS=-modcacherw
EXAMPLES_BIN=$GOPATH/bin
