#!/usr/bin/env bash
# `make deb-test` (part of `make test`): the Debian package on a fresh Debian 12 root made by
# debootstrap (minbase, no Swift toolchain). Builds the package twice (the previous version, V~prev,
# and this one, V: the same binary, so the test is about the packaging), then, in the root:
# - installs V~prev with dpkg -i + apt-get -f install: the user, the modes, the conffile, the
#   service enabled (its multi-user.target.wants link), `alveo version`, `alveo check-config`,
#   `man alveo` and `man alveo.yaml`, the docs whose relative links all resolve, and the man pages
#   equal to what the installed binary's help and docs/configuration.md generate now;
# - upgrades to V with the administrator's edits and mode on the conffile: both kept, the state
#   directory's modes kept, and the service restarted (systemd cannot run in a chroot: a recording
#   systemctl and /run/systemd/system stand in for it, so the maintainer scripts' deb-systemd-invoke
#   calls are seen);
# - reinstalls after the administrator deleted the conffile (configures, stays deleted), gets it
#   back with --force-confmiss;
# - removes (the service stopped; data and conffile kept), purges (data, user, statoverrides, the
#   unit's links gone: no dangling link under /etc/systemd).
# lintian checks the package first. Needs root (chroot, mount) and Debian's mirror.
set -euo pipefail
cd "$(dirname "$0")/../.."
SUDO=${SUDO:-}
version=$(sed -n 's/.*static let string = "\(.*\)"/\1/p' Sources/AlveoAgent/Bedside/StatusReport.swift)
# make-deb.sh prints the package's path last; when it fails, what it said is shown (it used to end
# the test without a word).
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
make_deb() {
    ALVEO_DEB_VERSION="$1" config/debian/make-deb.sh > "$build_log" 2>&1 || { tail -n 40 "$build_log" >&2; echo "deb-test: make-deb.sh failed (version $1)" >&2; exit 1; }
    tail -n 1 "$build_log"
}
previous=$(make_deb "$version~prev")
deb=$(make_deb "$version")
[ -f "$deb" ] && [ -f "$previous" ] || { echo "deb-test: make-deb.sh gave no package"; exit 1; }
# lintian: no error or warning but those overridden, with their reasons, in config/debian.
lintian --fail-on error,warning --display-info "$deb" > .build-deb/lintian.log 2>&1 \
    || { cat .build-deb/lintian.log; echo "deb-test: lintian"; exit 1; }
# docs/operations.md lists the dependencies dpkg-shlibdeps found.
dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/^ *//' | while read -r dependency; do
    tr '\n' ' ' < docs/operations.md | tr -s ' ' | grep -qF "$dependency" || { echo "deb-test: docs/operations.md does not list the dependency $dependency"; exit 1; }
done
pristine=.build-deb/debian12-pristine
root=.build-deb/debian12
if [ ! -x "$pristine/usr/bin/apt-get" ]; then
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
trap '$SUDO umount "$root/proc" 2>/dev/null || true; rm -f "$build_log"' EXIT
$SUDO cp "$previous" "$root/tmp/alveo-previous.deb"
$SUDO cp "$deb" "$root/tmp/alveo.deb"
in_root() { $SUDO chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
fail() { echo "deb-test: $*"; exit 1; }
modes() { in_root stat -c '%U:%G %a' "$1"; }
wants=/etc/systemd/system/multi-user.target.wants/alveo.service

in_root apt-get update -qq >/dev/null || in_root apt-get update -qq >/dev/null
# man-db: to read the manuals as an operator would.
in_root apt-get install -y -qq --no-install-recommends man-db >/dev/null
in_root dpkg -i /tmp/alveo-previous.deb >/dev/null 2>&1 || true   # its dependencies are not there yet
in_root apt-get -f install -y -qq >/dev/null
in_root dpkg-query -W -f='${Status} ${Version}\n' alveo | grep -q "install ok installed $version~prev" || fail "not installed"
in_root test ! -e /usr/bin/swift || fail "a Swift toolchain in the root: the test proves nothing"
in_root id alveo | grep -q "(dialout)" || fail "user alveo not in group dialout: $(in_root id alveo)"
[ "$(modes /var/lib/alveo)" = "alveo:alveo 750" ] || fail "/var/lib/alveo: $(modes /var/lib/alveo)"
[ "$(modes /etc/alveo)" = "root:alveo 750" ] || fail "/etc/alveo: $(modes /etc/alveo)"
[ "$(modes /etc/alveo/alveo.yaml)" = "root:alveo 640" ] || fail "/etc/alveo/alveo.yaml: $(modes /etc/alveo/alveo.yaml)"
in_root grep -q "^/etc/alveo/alveo.yaml$" /var/lib/dpkg/info/alveo.conffiles || fail "the configuration is not a conffile"
in_root test -f /lib/systemd/system/alveo.service || fail "no systemd unit"
# The metrics textfile: the agent's own directory, linked from node_exporter's textfile directory
# (which stays root's); what the agent writes there, node_exporter's user reads through the link.
[ "$(modes /var/lib/alveo-metrics)" = "alveo:alveo 755" ] || fail "/var/lib/alveo-metrics: $(modes /var/lib/alveo-metrics)"
[ "$(in_root readlink -f /var/lib/prometheus/node-exporter/alveo.prom)" = /var/lib/alveo-metrics/alveo.prom ] \
    || fail "no link from node_exporter's textfile directory: $(in_root ls -l /var/lib/prometheus/node-exporter)"
# The installed agent itself writes it (as systemd would run it: user alveo, UMask 0027, /run/alveo).
in_root install -d -o alveo -g alveo -m 0750 /run/alveo
$SUDO chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin runuser -u alveo -- sh -c 'umask 0027; exec timeout 120 /usr/bin/alveo run --config /etc/alveo/alveo.yaml --control-socket /run/alveo/deb-test.sock --metrics-file /var/lib/alveo-metrics/alveo.prom' >/dev/null 2>&1 &
agent=$!
for _ in $(seq 1 600); do in_root test -s /var/lib/alveo-metrics/alveo.prom && break; sleep 0.1; done
$SUDO pkill -TERM -f "alveo run --config /etc/alveo/alveo.yaml --control-socket /run/alveo/deb-test.sock" || true
wait "$agent" || true
[ "$(modes /var/lib/alveo-metrics/alveo.prom)" = "alveo:alveo 644" ] || fail "the agent's metrics textfile: $(in_root ls -l /var/lib/alveo-metrics)"
in_root runuser -u nobody -- cat /var/lib/prometheus/node-exporter/alveo.prom | grep -q '^alveo_device_up{device="vent"} 0' \
    || fail "another user cannot read the agent's metrics textfile through the link"
[ "$(in_root readlink "$wants")" = /lib/systemd/system/alveo.service ] || fail "the service is not enabled ($wants)"
version_out=$(in_root /usr/bin/alveo version) || fail "alveo version failed"
echo "$version_out" | head -n 1 | grep -q "^alveo $version" || fail "alveo version: $version_out"
check=$(in_root /usr/bin/alveo check-config /etc/alveo/alveo.yaml) || fail "check-config of the shipped configuration failed"
echo "$check" | head -n 1 | grep -q ": ok (" || fail "check-config: $check"

# The manuals: readable with man, and what the installed binary and the docs generate now.
in_root man -P cat alveo 2>/dev/null | grep -q "alveo check-config" || fail "man alveo: no alveo check-config section"
in_root man -P cat alveo.yaml 2>/dev/null | grep -q "outputs.journal" || fail "man alveo.yaml: no outputs.journal"
python3 config/debian/alveo-man.py "$root/usr/bin/alveo" | cmp -s - <(zcat "$root/usr/share/man/man1/alveo.1.gz") \
    || fail "alveo.1 differs from what the installed binary's --help generates"
config/debian/alveo-yaml-man.sh docs/configuration.md "$version~prev" | cmp -s - <(zcat "$root/usr/share/man/man5/alveo.yaml.5.gz") \
    || fail "alveo.yaml.5 differs from what docs/configuration.md generates"
# The docs: every doc, device README and example bed; every relative link resolves on the box.
doc=$root/usr/share/doc/alveo
for file in docs/*.md; do [ -f "$doc/$(basename "$file")" ] || fail "$file not in /usr/share/doc/alveo"; done
for file in devices/*/README.md; do [ -f "$doc/$file" ] || fail "$file not in /usr/share/doc/alveo"; done
for file in config/*.yaml; do [ -f "$doc/examples/$(basename "$file")" ] || fail "$file not in /usr/share/doc/alveo/examples"; done
dangling=$(cd "$doc" && find . -name '*.md' | while read -r md; do
    grep -o '](\([^)#]*\)' "$md" | sed 's/^](//' | grep -v -E '^(https?|mailto|file):' | sort -u | while read -r target; do
        [ -z "$target" ] || [ -e "$(dirname "$md")/$target" ] || echo "$md -> $target"
    done
done)
[ -z "$dangling" ] || fail "links that do not resolve in /usr/share/doc/alveo: $dangling"
! grep -rq "shared/" "$doc" --include=*.md || fail "the docs point into a shared/ folder: $(grep -rn "shared/" "$doc" --include=*.md | head -3)"

# Upgrade: the administrator edited the configuration and chose its mode; the service is running.
in_root sh -c 'echo "# edited by the administrator" >> /etc/alveo/alveo.yaml && chmod 0600 /etc/alveo/alveo.yaml'
in_root sh -c 'echo journal > /var/lib/alveo/kept'
in_root sh -c 'mkdir -p /run/systemd/system && printf "%s\n" "#!/bin/sh" "echo \"\$*\" >> /tmp/systemctl.log" "case \"\$*\" in *is-enabled*) echo enabled;; esac" "exit 0" > /usr/bin/systemctl && chmod 0755 /usr/bin/systemctl'
in_root dpkg -i /tmp/alveo.deb >/dev/null || fail "the upgrade failed"
in_root dpkg-query -W -f='${Version}' alveo | grep -qx "$version" || fail "not upgraded to $version"
in_root grep -q "^# edited by the administrator" /etc/alveo/alveo.yaml || fail "the upgrade lost the administrator's edit"
[ "$(modes /etc/alveo/alveo.yaml)" = "root:alveo 600" ] || fail "the upgrade reset the conffile's mode: $(modes /etc/alveo/alveo.yaml)"
[ "$(modes /var/lib/alveo)" = "alveo:alveo 750" ] || fail "the upgrade changed /var/lib/alveo: $(modes /var/lib/alveo)"
in_root grep -q "restart alveo.service" /tmp/systemctl.log || fail "the upgrade did not restart the service: $(in_root cat /tmp/systemctl.log)"
! in_root grep -q "stop alveo.service" /tmp/systemctl.log || fail "the upgrade stopped the service before unpacking"
in_root ls /etc/alveo | grep -q dpkg- && fail "the upgrade left $(in_root ls /etc/alveo)"

# The administrator deleted the configuration: a reinstall configures, and dpkg keeps it deleted.
in_root rm /etc/alveo/alveo.yaml
in_root dpkg -i /tmp/alveo.deb >/dev/null || fail "postinst failed without the conffile"
in_root dpkg-query -W -f='${Status}' alveo | grep -q "install ok installed" || fail "half-configured without the conffile"
in_root test ! -e /etc/alveo/alveo.yaml || fail "dpkg brought back a deleted conffile"
in_root dpkg -i --force-confmiss /tmp/alveo.deb >/dev/null 2>&1 || fail "--force-confmiss failed"
[ "$(modes /etc/alveo/alveo.yaml)" = "root:alveo 640" ] || fail "the restored conffile: $(modes /etc/alveo/alveo.yaml)"

# Remove keeps the data and the conffile and stops the service; purge removes them, the user, the
# statoverrides and the unit's links (Debian policy).
in_root dpkg -r alveo >/dev/null
in_root grep -q "stop alveo.service" /tmp/systemctl.log || fail "remove did not stop the service"
in_root test -f /var/lib/alveo/kept || fail "remove deleted the data"
in_root test -f /etc/alveo/alveo.yaml || fail "remove deleted the conffile"
in_root dpkg -P alveo >/dev/null
in_root rm -rf /usr/bin/systemctl /run/systemd/system /tmp/systemctl.log
in_root test ! -e /var/lib/alveo || fail "purge kept /var/lib/alveo"
in_root test ! -e /var/lib/alveo-metrics || fail "purge kept /var/lib/alveo-metrics"
in_root test ! -L /var/lib/prometheus/node-exporter/alveo.prom || fail "purge kept the metrics link"
in_root test ! -e /etc/alveo || fail "purge kept /etc/alveo"
if in_root id alveo >/dev/null 2>&1; then fail "purge kept the user"; fi
[ -z "$(in_root dpkg-statoverride --list '/etc/alveo*')" ] || fail "purge kept statoverrides: $(in_root dpkg-statoverride --list '/etc/alveo*')"
left=$(in_root find /etc/systemd /var/lib/systemd \( -name 'alveo*' -o -xtype l \) 2>/dev/null || true)
[ -z "$left" ] || fail "purge left: $left"
echo "deb-test: $(basename "$deb") ($(du -h "$deb" | cut -f1)) installs on Debian 12 minbase, runs without Swift, has its manuals and docs, upgrades from $(basename "$previous") (service restarted, conffile and modes kept), survives a deleted conffile, removes and purges cleanly"
echo "$version_out" | sed 's/^/  /'
