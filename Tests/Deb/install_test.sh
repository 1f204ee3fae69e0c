#!/usr/bin/env bash
# `make deb-test` (part of `make test`): the Debian package on a fresh Debian 12 root made by
# debootstrap (minbase, no Swift toolchain). Installs with dpkg -i + apt-get -f install, checks the
# user, the state directory, the conffile, `alveo version` and `alveo check-config`, then that remove
# keeps the data and purge removes it. Needs root (chroot, mount) and Debian's mirror.
set -euo pipefail
cd "$(dirname "$0")/../.."
SUDO=${SUDO:-}
deb=$(config/debian/make-deb.sh | tail -n 1)
[ -f "$deb" ] || { echo "deb-test: make-deb.sh gave no package"; exit 1; }
pristine=.build-deb/debian12-pristine
root=.build-deb/debian12
if [ ! -x "$pristine/usr/bin/apt-get" ]; then
    $SUDO rm -rf "$pristine"
    # One retry: a mirror's hiccup is not the package's fault.
    for attempt in 1 2; do
        $SUDO rm -rf "$pristine"
        $SUDO debootstrap --variant=minbase bookworm "$pristine" http://deb.debian.org/debian >.build-deb/debootstrap.log 2>&1 && break
        [ "$attempt" = 2 ] && { tail -n 20 .build-deb/debootstrap.log; echo "deb-test: debootstrap failed"; exit 1; }
    done
fi
$SUDO rm -rf "$root"
$SUDO cp -a "$pristine" "$root"
$SUDO mount -t proc proc "$root/proc"
trap '$SUDO umount "$root/proc" 2>/dev/null || true' EXIT
$SUDO cp "$deb" "$root/tmp/alveo.deb"
in_root() { $SUDO chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
fail() { echo "deb-test: $*"; exit 1; }

in_root apt-get update -qq >/dev/null || in_root apt-get update -qq >/dev/null
in_root dpkg -i /tmp/alveo.deb >/dev/null 2>&1 || true   # its dependencies are not there yet
in_root apt-get -f install -y -qq >/dev/null
in_root dpkg-query -W -f='${Status}\n' alveo | grep -q "install ok installed" || fail "not installed"
in_root test ! -e /usr/bin/swift || fail "a Swift toolchain in the root: the test proves nothing"
in_root id alveo | grep -q "(dialout)" || fail "user alveo not in group dialout: $(in_root id alveo)"
[ "$(in_root stat -c '%U:%G %a' /var/lib/alveo)" = "alveo:alveo 750" ] || fail "/var/lib/alveo: $(in_root stat -c '%U:%G %a' /var/lib/alveo)"
[ "$(in_root stat -c '%U:%G %a' /etc/alveo/alveo.yaml)" = "root:alveo 640" ] || fail "/etc/alveo/alveo.yaml: $(in_root stat -c '%U:%G %a' /etc/alveo/alveo.yaml)"
in_root grep -q "^/etc/alveo/alveo.yaml$" /var/lib/dpkg/info/alveo.conffiles || fail "the configuration is not a conffile"
in_root test -f /lib/systemd/system/alveo.service || fail "no systemd unit"
version=$(in_root /usr/bin/alveo version) || fail "alveo version failed"
echo "$version" | head -n 1 | grep -q "^alveo " || fail "alveo version: $version"
check=$(in_root /usr/bin/alveo check-config /etc/alveo/alveo.yaml) || fail "check-config of the shipped configuration failed"
echo "$check" | head -n 1 | grep -q ": ok (" || fail "check-config: $check"
# Remove keeps the data and the conffile; purge removes them and the user (Debian policy).
in_root sh -c 'echo journal > /var/lib/alveo/kept'
in_root dpkg -r alveo >/dev/null
in_root test -f /var/lib/alveo/kept || fail "remove deleted the data"
in_root test -f /etc/alveo/alveo.yaml || fail "remove deleted the conffile"
in_root dpkg -P alveo >/dev/null
in_root test ! -e /var/lib/alveo || fail "purge kept /var/lib/alveo"
if in_root id alveo >/dev/null 2>&1; then fail "purge kept the user"; fi
echo "deb-test: $(basename "$deb") ($(du -h "$deb" | cut -f1)) installs on Debian 12 minbase, runs without Swift, removes and purges cleanly"
echo "$version" | sed 's/^/  /'
