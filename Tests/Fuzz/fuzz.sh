#!/usr/bin/env bash
# Runs Alveo's fuzz targets with libFuzzer: `make fuzz` (FUZZ_SECONDS each, default 60), `make fuzz-smoke`
# (a short run of each, part of `make test`). Usage: Tests/Fuzz/fuzz.sh SECONDS [TARGET...]
#
# The binary is built with -sanitize=fuzzer,address into .build-fuzz (its own scratch path). Each target
# starts from its seeds (fixtures, golden traces, example configurations, Tests/Fuzz/seeds/TARGET) and
# its past findings (Tests/Fuzz/regressions/TARGET), keeps what it learns in .build-fuzz/corpus/TARGET,
# and writes any crash, leak or timeout to .build-fuzz/findings/. One line of figures per target goes
# to .build-fuzz/fuzz-summary.txt; the script fails if any target found something.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
SWIFT=${SWIFT:-swift}
scratch=.build-fuzz
# -O: instrumented debug builds run a tenth as many inputs a second.
$SWIFT build -c release --product alveo-fuzz --scratch-path "$scratch" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld 2>&1 | grep -vE "Cannot export local symbol __(asan|sancov)" | tail -n 3
binary="$scratch/release/alveo-fuzz"
[ -x "$binary" ] || { echo "fuzz: the fuzzer build failed"; exit 1; }
# Every target by default, from the binary (the serial drivers' targets come from their registry).
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(ALVEO_FUZZ_LIST=targets "$binary")

seeds() {
    # A serial driver's fixtures, as its driver names them (SerialDriver.fuzzSeeds).
    local glob
    for glob in $(ALVEO_FUZZ_LIST="$1" "$binary"); do ls $glob; done
    case "$1" in
        profile) ls devices/*/profile.yaml ;;
        scenario) ls Tests/AlveoAgentTests/Scenarios/*.csv devices/scenarios/live_demo.csv ;;
        trace) find devices -name '*.alvtrace' -size -40k ;;
        config) ls config/*.yaml Tests/AlveoAgentTests/Scenarios/*.yaml ;;
    esac
    [ -d "Tests/Fuzz/seeds/$1" ] && find "Tests/Fuzz/seeds/$1" -type f
    [ -d "Tests/Fuzz/regressions/$1" ] && find "Tests/Fuzz/regressions/$1" -type f
    true
}

mkdir -p "$scratch/findings"
summary="$scratch/fuzz-summary.txt"
: > "$summary"
failed=0
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target" seedcopy="$scratch/seeds/$target"
    rm -rf "$seedcopy"
    mkdir -p "$corpus" "$seedcopy"
    for file in $(seeds "$target"); do cp "$file" "$seedcopy/"; done
    dict=()
    [ -f "Tests/Fuzz/dict/$target.dict" ] && dict=(-dict="Tests/Fuzz/dict/$target.dict")
    log="$scratch/fuzz-$target.log"
    # Each input must finish in 10 s and 2 GB: a hang or a blow-up is a finding, like a crash.
    ALVEO_FUZZ_TARGET=$target "$binary" "$corpus" "$seedcopy" "${dict[@]}" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$scratch/findings/$target-" > "$log" 2>&1
    status=$?
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    units=$(ls "$corpus" | wc -l)
    line=$(printf "%-9s %5s s  %12s runs  %8s/s  cov %6s  ft %6s  corpus %6s  %s" "$target" "$seconds" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$units" \
        "$([ $status -eq 0 ] && echo "no finding" || echo "FINDING (exit $status, see $log)")")
    echo "$line" | tee -a "$summary"
    [ $status -eq 0 ] || failed=1
done
ls "$scratch/findings" 2>/dev/null | grep -q . && { echo "fuzz: findings in $scratch/findings (add each to Tests/Fuzz/regressions/TARGET/ once fixed)"; failed=1; }
exit $failed
