#!/usr/bin/env bash
# `make deb`: builds alveo_<version>_<arch>.deb with dpkg-deb (docs/operations.md, "The Debian package").
# The release binary is linked with the Swift standard library and Foundation statically and stripped,
# so the box needs no Swift toolchain; its C libraries are declared as dependencies, found with ldd
# and dpkg -S on this machine. Built in .build-deb (its own scratch path); the package lands in
# .build-deb/ and its path is printed last.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWIFT=${SWIFT:-swift}
version=$(sed -n 's/.*static let string = "\(.*\)"/\1/p' Sources/AlveoAgent/Bedside/StatusReport.swift)
arch=$(dpkg --print-architecture)
$SWIFT build -c release --product alveo --static-swift-stdlib --scratch-path .build-deb 2>&1 | tail -n 2
bin=.build-deb/release/alveo
root=.build-deb/pkg/alveo_${version}_${arch}
rm -rf "$root"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/alveo" "$root/usr/share/doc/alveo" \
    "$root/usr/share/alveo/devices"
install -m 0755 "$bin" "$root/usr/bin/alveo"
strip --strip-unneeded "$root/usr/bin/alveo"
install -m 0644 config/systemd/alveo.service "$root/lib/systemd/system/alveo.service"
install -m 0640 config/debian/alveo.yaml "$root/etc/alveo/alveo.yaml"
for profile in devices/*/profile.yaml; do
    name=$(basename "$(dirname "$profile")")
    install -d "$root/usr/share/alveo/devices/$name"
    install -m 0644 "$profile" "$root/usr/share/alveo/devices/$name/profile.yaml"
done
for doc in README.md docs/operations.md docs/configuration.md docs/integration.md docs/clinical-rules.md docs/control-api.md docs/security.md; do
    [ -f "$doc" ] && install -m 0644 "$doc" "$root/usr/share/doc/alveo/$(basename "$doc")"
done
# --help of every command, for the box without a network: the command-line reference.
{
    "$bin" --help
    for command in run status ack chart patient record simulate replay report deliver trace check-config serial-check version; do
        printf '\n\n===== alveo %s =====\n\n' "$command"
        "$bin" help "$command"
    done
} > "$root/usr/share/doc/alveo/alveo-help.txt" 2>&1
cat > "$root/usr/share/doc/alveo/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: alveo
Files: *
Copyright: 2026 the Alveo founding engineers
License: proprietary
COPYRIGHT
# Runtime dependencies: the Debian package of every shared library the binary loads, with the minimum
# version its symbols need (dpkg-shlibdeps, from dpkg-dev); without dpkg-dev, the packages ldd and dpkg -S
# name, unversioned.
install -d "$root/DEBIAN"
if command -v dpkg-shlibdeps >/dev/null; then
    work=$(mktemp -d)
    install -d "$work/debian"
    printf 'Source: alveo\n\nPackage: alveo\nArchitecture: any\n' > "$work/debian/control"
    depends=$(cd "$work" && dpkg-shlibdeps -O -e "$OLDPWD/$root/usr/bin/alveo" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
    rm -rf "$work"
else
    depends=$(ldd "$bin" | awk '/=> \//{print $3}' | while read -r library; do
        real=$(readlink -f "$library")
        dpkg -S "$library" 2>/dev/null || dpkg -S "$real" 2>/dev/null || dpkg -S "/usr$library" 2>/dev/null || true
    done | cut -d: -f1 | sort -u | paste -sd, - | sed 's/,/, /g')
fi
[ -n "$depends" ] || { echo "make-deb: no dependencies found (ldd, dpkg -S)"; exit 1; }
size=$(du -sk "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: alveo
Version: $version
Architecture: $arch
Maintainer: Alveo founding engineers <alveo@example.invalid>
Installed-Size: $size
Depends: $depends, passwd
Section: misc
Priority: optional
Description: bedside ventilation and oxygenation alarm agent for the ICU
 Alveo polls a patient's ventilator and pulse oximeter (RS-232 serial, Modbus RTU/TCP), runs a
 clinical core for lung-protective ventilation, oxygenation and diffuse alveolar haemorrhage, and
 sends its alarms to a durable local journal and on to the central station (IHE PCD-04 over MLLP,
 RFC 5424 syslog). It supports decisions; it never changes a device setting.
CONTROL
echo "/etc/alveo/alveo.yaml" > "$root/DEBIAN/conffiles"
install -m 0755 config/debian/postinst config/debian/prerm config/debian/postrm "$root/DEBIAN/"
dpkg-deb --root-owner-group --build "$root" ".build-deb/alveo_${version}_${arch}.deb" >/dev/null
echo ".build-deb/alveo_${version}_${arch}.deb"
