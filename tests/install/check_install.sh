#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and uses it as a send worker would: a
# CMake project with find_package(mailhook) and the same main.cc compiled with
# `pkg-config --cflags --libs mailhook` both answer lookups from a replica directory that
# the daemon's own store wrote (make_replica). Also checks what the library exports and
# needs: its SONAME, only the public API, no HTTP, TLS, JSON or Kafka library.
#
#   check_install.sh BUILD_DIR SOURCE_DIR MAKE_REPLICA CXX [SANITIZE_FLAGS]
set -euo pipefail
build=$1
source_dir=$2
make_replica=$3
cxx=$4
sanitize=${5:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/mailhook-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/mailhook include/mailhook/suppression.h lib/systemd/system/mailhook.service \
         share/doc/mailhook/examples/mailhook.example.toml; do
  [ -e "$prefix/$f" ] || fail "$f is not installed"
done
grep -q "^ExecStart=$prefix/bin/mailhook serve" "$prefix/lib/systemd/system/mailhook.service" ||
  fail "the installed unit does not start $prefix/bin/mailhook"

lib=$(find "$prefix" -name 'libmailhook_lookup.so.0' | head -1)
[ -n "$lib" ] || { echo "FAIL: libmailhook_lookup.so.0 is not installed" >&2; exit 1; }
libdir=$(dirname "$lib")
soname=$(readelf -d "$lib" | sed -nE 's/.*\(SONAME\).*\[(.*)\]/\1/p')
[ "$soname" = libmailhook_lookup.so.0 ] || fail "SONAME is '$soname'"
exports=$(nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | c++filt | sort)
expected=$(printf '%s\n' \
  'mailhook::open_replica(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&, mailhook::replica_options const&)@@MAILHOOK_LOOKUP_0' \
  'mailhook::to_string(mailhook::suppression_origin)@@MAILHOOK_LOOKUP_0' \
  'mailhook::to_string(mailhook::suppression_reason)@@MAILHOOK_LOOKUP_0' \
  'mailhook::to_string(mailhook::suppression_scope)@@MAILHOOK_LOOKUP_0' | sort)
[ "$exports" = "$expected" ] || fail "the library exports more or less than the public API:
$exports"
needed=$(readelf -d "$lib" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p' | tr '\n' ' ')
echo "libmailhook_lookup.so.0 needs: $needed"
for banned in rdkafka ssl crypto simdjson boost toml CLI; do
  [[ " $needed" != *" lib$banned"* ]] || fail "the library needs lib$banned"
done

"$make_replica" "$work/replica"

cmake -S "$source_dir/tests/install/consumer" -B "$work/consumer" -G Ninja \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$sanitize" -DCMAKE_PREFIX_PATH="$prefix" \
  >"$work/configure.log" || { cat "$work/configure.log"; fail "find_package(mailhook)"; }
cmake --build "$work/consumer" >"$work/build.log" || { cat "$work/build.log"; fail "building against mailhook::lookup"; }
"$work/consumer/consumer" "$work/replica" || fail "the find_package consumer's answers"
if "$work/consumer/consumer" "$work/not-a-replica" 2>/dev/null; then
  fail "a directory without a replica opened"
fi

pc_flags=$(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs mailhook)
# shellcheck disable=SC2086 # the flags are words
"$cxx" -std=c++17 $sanitize "$source_dir/tests/install/consumer/main.cc" -o "$work/consumer-pc" $pc_flags ||
  fail "compiling with pkg-config --cflags --libs mailhook ($pc_flags)"
LD_LIBRARY_PATH=$libdir "$work/consumer-pc" "$work/replica" || fail "the pkg-config consumer's answers"

if ((failed)); then exit 1; fi
echo "install: OK"
