#!/usr/bin/env bash
# `make deb`: builds .build-deb/alveo_<version>_<arch>.deb the Debian way (docs/operations.md, "The
# Debian package"). SwiftPM is not a build system debhelper knows, so the release binary is built
# here first (the Swift standard library and Foundation linked statically: the box needs no Swift
# toolchain); then a source tree is assembled in .build-deb/src/alveo-<version>/ from config/debian
# (its debian/ directory: the project keeps no top-level debian/), the binary, the docs, device
# READMEs and example beds, and dpkg-buildpackage builds the package from it with debhelper (dh):
# stripping, man pages, ${shlibs:Depends}, the systemd unit, conffiles, the maintainer scripts.
# ALVEO_DEB_VERSION=V builds the same tree as version V (a changelog entry on top; the upgrade test).
# The path of the package is printed last.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWIFT=${SWIFT:-swift}
version=$(sed -n 's/.*static let string = "\(.*\)"/\1/p' Sources/AlveoAgent/Bedside/StatusReport.swift)
changelog_version=$(dpkg-parsechangelog -l config/debian/changelog -S Version)
[ "$changelog_version" = "$version" ] || {
    echo "make-deb: AlveoVersion.string is $version but config/debian/changelog's top entry is $changelog_version: add an entry (dch -c config/debian/changelog -v $version)"; exit 1; }
$SWIFT build -c release --product alveo --static-swift-stdlib --scratch-path .build-deb 2>&1 | tail -n 2
bin=.build-deb/release/alveo
[ -x "$bin" ] || { echo "make-deb: no $bin"; exit 1; }

deb_version=${ALVEO_DEB_VERSION:-$version}
src=.build-deb/src/alveo-$deb_version
rm -rf "$src" && install -d "$src/debian" "$src/bin" "$src/doc/devices" "$src/examples" "$src/devices" "$src/embedded"
cp -a config/debian/. "$src/debian/"
rm "$src/debian/make-deb.sh" "$src/debian/alveo.yaml"
install -m 0644 config/systemd/alveo.service "$src/debian/alveo.service"
install -m 0755 "$bin" "$src/bin/alveo"
install -m 0644 config/debian/alveo.yaml "$src/alveo.yaml"
for profile in devices/*/profile.yaml; do
    name=$(basename "$(dirname "$profile")")
    install -D -m 0644 "$profile" "$src/devices/$name/profile.yaml"
done
install -m 0644 config/*.yaml "$src/examples/"
# /usr/share/doc/alveo: the README and docs/ side by side, devices/<device>/README.md, examples/.
# Links are rewritten to that layout, so every relative link resolves on the box.
install -m 0644 README.md "$src/doc/README.md"
sed -i -e 's#](docs/#](#g' -e 's#](config/#](examples/#g' -e 's#](devices/#](devices/#g' "$src/doc/README.md"
for doc in docs/*.md; do
    sed -e 's#](\.\./devices/#](devices/#g' -e 's#](\.\./README\.md#](README.md#g' \
        -e 's#](\.\./config/#](examples/#g' "$doc" > "$src/doc/$(basename "$doc")"
done
cp -a docs/images "$src/doc/images"
for readme in devices/*/README.md; do
    name=$(basename "$(dirname "$readme")")
    install -d "$src/doc/devices/$name"
    sed -e 's#](\.\./\.\./docs/#](../../#g' -e 's#](\.\./\.\./config/#](../../examples/#g' \
        "$readme" > "$src/doc/devices/$name/README.md"
done
# The license texts of what is compiled into the binary (debian/copyright names them).
for checkout in .build-deb/checkouts/*/; do
    name=$(basename "$checkout")
    install -d "$src/embedded/$name"
    cp "$checkout"/LICENSE* "$checkout"/NOTICE* "$src/embedded/$name/" 2>/dev/null || true
done
install -D -m 0644 .build-deb/checkouts/Yams/Sources/CYaml/include/yaml.h "$src/embedded/libyaml/yaml.h"
if [ "$deb_version" != "$version" ]; then
    { printf 'alveo (%s) unstable; urgency=medium\n\n  * Rebuilt as %s (the package test).\n\n -- %s  %s\n\n' \
        "$deb_version" "$deb_version" "$(dpkg-parsechangelog -l config/debian/changelog -S Maintainer)" "$(date -R)"
      cat config/debian/changelog; } > "$src/debian/changelog"
fi
(cd "$src" && dpkg-buildpackage -us -uc -b) > .build-deb/dpkg-buildpackage.log 2>&1 || {
    tail -n 30 .build-deb/dpkg-buildpackage.log; echo "make-deb: dpkg-buildpackage failed (.build-deb/dpkg-buildpackage.log)"; exit 1; }
deb=alveo_${deb_version}_$(dpkg --print-architecture).deb
mv ".build-deb/src/$deb" ".build-deb/$deb"
rm -f .build-deb/src/alveo_"$deb_version"_*.buildinfo .build-deb/src/alveo_"$deb_version"_*.changes
echo ".build-deb/$deb"
