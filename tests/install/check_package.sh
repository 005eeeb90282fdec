#!/usr/bin/env bash
# Builds the Debian package from the build tree (CPack, with dpkg-shlibdeps) and checks
# it without installing it on this machine: its control fields (Depends computed, the
# shlibs entry of the library), its files, its maintainer scripts; then unpacks it into
# a throwaway root and runs the binary the packaged unit starts.
#
#   check_package.sh BUILD_DIR VERSION
set -euo pipefail
build=$1
version=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/mailhook-package-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/out" >"$work/cpack.log" ||
  { cat "$work/cpack.log"; exit 1; }
arch=$(dpkg --print-architecture)
deb=$work/out/mailhook_${version}_${arch}.deb
[ -f "$deb" ] || { ls "$work/out" >&2; echo "FAIL: no $(basename "$deb")" >&2; exit 1; }
echo "$(basename "$deb"): $(du -h "$deb" | cut -f1)"

info=$(dpkg-deb --info "$deb")
depends=$(dpkg-deb --field "$deb" Depends)
echo "Depends: $depends"
for dep in adduser libc6 librocksdb7.8 libprotobuf32 librdkafka1 libidn2-0 libssl3 libstdc++6; do
  [[ "$depends" == *"$dep"* ]] || fail "Depends lacks $dep"
done
[ "$(dpkg-deb --field "$deb" Package)" = mailhook ] || fail "Package is not mailhook"
[ "$(dpkg-deb --field "$deb" Version)" = "$version" ] || fail "Version is not $version"
grep -q "shlibs" <<<"$info" || fail "no shlibs control file"

contents=$(dpkg-deb --contents "$deb" | awk '{print $6}')
for f in ./usr/bin/mailhook ./usr/lib/systemd/system/mailhook.service \
         ./usr/include/mailhook/suppression.h ./usr/share/doc/mailhook/examples/mailhook.example.toml; do
  grep -qx "$f" <<<"$contents" || fail "$f is not in the package"
done
for pattern in '/libmailhook_lookup\.so\.0$' '/libmailhook_lookup\.so$' '/cmake/mailhook/mailhookConfig\.cmake$' \
               '/cmake/mailhook/mailhookTargets\.cmake$' '/pkgconfig/mailhook\.pc$'; do
  grep -qE "$pattern" <<<"$contents" || fail "nothing matching $pattern in the package"
done

dpkg-deb --control "$deb" "$work/control"
grep -q adduser "$work/control/postinst" || fail "postinst does not create the mailhook user"
[ -x "$work/control/postinst" ] || fail "postinst is not executable"
grep -q "^libmailhook_lookup 0 mailhook (>= $version)" "$work/control/shlibs" || fail "shlibs: $(cat "$work/control/shlibs")"

root=$work/root
dpkg-deb --extract "$deb" "$root"
unit=$root/usr/lib/systemd/system/mailhook.service
exec_start=$(sed -nE 's/^ExecStart=([^ ]+).*/\1/p' "$unit")
[ "$exec_start" = /usr/bin/mailhook ] || fail "the unit starts '$exec_start', not /usr/bin/mailhook"
got=$("$root$exec_start" version) || fail "the packaged binary does not run"
[ "$got" = "mailhook $version" ] || fail "the packaged binary says '$got'"
PKG_CONFIG_SYSROOT_DIR= PKG_CONFIG_PATH=$(dirname "$(find "$root" -name mailhook.pc)") \
  pkg-config --libs mailhook | grep -q -- "-lmailhook_lookup" || fail "the packaged mailhook.pc"

if ((failed)); then exit 1; fi
echo "package: OK"
