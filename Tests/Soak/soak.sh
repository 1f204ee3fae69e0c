#!/usr/bin/env bash
# The full soak: a 7-day stay (ALVEO_SOAK_HOURS, default 168) on virtual time through the live
# sessions, with injected faults, the station down for an hour and the agent killed and restarted,
# replayed into a real HL7 receiver (SoakTests; `make test` runs 6 hours of it). Prints the figures
# recorded in docs/performance.md. Usage: Tests/Soak/soak.sh [HOURS]
set -euo pipefail
cd "$(dirname "$0")/../.."
hours=${1:-168}
SWIFT=${SWIFT:-swift}
$SWIFT build --build-tests 2>&1 | tail -n 1
ALVEO_SOAK_HOURS=$hours $SWIFT test --skip-build --filter SoakTests 2>&1 | grep -E "soak |✔|✘" 
