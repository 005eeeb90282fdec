# Shared by the scripts in scripts/: paths, logging, and the cache outside git.
# Sourced, never run.

MAILHOOK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MAILHOOK_CACHE_DIR=${MAILHOOK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mailhook}
# The broker's classpath lives in the cache, keyed by the POM that describes it, so a
# version bump in scripts/lib/kafka-pom.xml fetches a fresh classpath.
KAFKA_POM="$MAILHOOK_ROOT/scripts/lib/kafka-pom.xml"
KAFKA_JARS_DIR="$MAILHOOK_CACHE_DIR/kafka-jars-$(sha256sum "$KAFKA_POM" | cut -c1-12)"
# helm (for the chart's checks) is built from source with Go, into the cache, keyed by its
# version. Go's own caches (GOPATH, GOMODCACHE, GOCACHE) live in the cache too, so a fresh
# machine needs nothing but Go itself, and a version bump rebuilds from warm caches.
HELM_VERSION=v3.21.4
HELM_DIR="$MAILHOOK_CACHE_DIR/helm-$HELM_VERSION"
HELM="$HELM_DIR/bin/helm"
GO_CACHE_DIR="$MAILHOOK_CACHE_DIR/go"

say() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Prints a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
