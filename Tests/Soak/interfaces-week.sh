#!/usr/bin/env bash
# A week of the agent's own interfaces, compressed (InterfacesWeekTests; `make test` runs an hour of it
# on the debug build): the RELEASE build of `alveo run` with `alveo simulate` as its devices and
# python-hl7 as the central station, a status poll a second for HOURS virtual hours (default 168:
# 604,800), a chart every 10 min, a blood gas every 4 h, admissions every 2 days, idle, half-finished,
# half-open and frozen peers, the journal's disk full an hour a day, the wall clock stepped back 2 h
# and forward 24 h; then BURST status requests and BURST charts in a row (default 30,000 each).
# Prints the machine and the figures recorded in docs/performance.md; the samples stay in the test's
# directory (samples.csv). Usage: Tests/Soak/interfaces-week.sh [HOURS] [BURST]
set -euo pipefail
cd "$(dirname "$0")/../.."
hours=${1:-168}
burst=${2:-30000}
SWIFT=${SWIFT:-swift}
$SWIFT build -c release --product alveo 2>&1 | tail -n 1
$SWIFT build --build-tests 2>&1 | tail -n 1
release="$($SWIFT build -c release --show-bin-path)/alveo"
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/^Mem:/ {print $2}') GiB, $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), $($SWIFT --version 2>&1 | head -n 1)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Every sampled status must be answered within a second (on an idle machine; the test in `make
# test` records the figure without asserting a time).
ALVEO_TEST_BINARY="$release" ALVEO_INTERFACES_HOURS=$hours ALVEO_INTERFACES_BURST=$burst ALVEO_INTERFACES_MAX_STATUS_S=1 \
	$SWIFT test --skip-build --filter InterfacesWeekTests 2>&1 | grep -E "interfaces-week|✔|✘|↳ [^/]"
