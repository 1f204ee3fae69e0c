#!/bin/sh
# Records traces/live-all-protocols.alvtrace and, as its expected events, what the live agent printed:
# `alveo run --record` against `alveo simulate` serving every protocol Alveo speaks at once (Modbus TCP
# ventilator, Modbus RTU oximeter, PB840, MEDIBUS, Masimo ASCII 1, Nonin formats 2 and 8, each on a
# pseudo-terminal), playing scenario.csv: Pplat 32 then 24, the probe off 20-32 s, SpO2 86 % from 35 s;
# at 110 s the simulator is killed (every device silent), at 125 s the agent is stopped.
# GoldenTraceTests then asserts that replaying the trace prints exactly what the live run printed.
# Needs no hardware: cc for the test-only libserialport shim, and about 2.5 minutes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
swift build --product alveo
bin=$(swift build --show-bin-path)
work=$(mktemp -d)
trap 'kill $sim $agent 2>/dev/null || true; rm -rf "$work"' EXIT
cc -shared -fPIC -o "$work/shim.so" Tests/Peers/libserialport_pty_shim.c -ldl
"$bin/alveo" simulate --scenario "$here/scenario.csv" --vent-port 5029 --oxi-link "$work/rtu" \
    --serial pb840="$work/pb840" --serial medibus="$work/medibus" --serial masimo_ascii1="$work/masimo" \
    --serial nonin_df2="$work/df2" --serial nonin_df8="$work/df8" 2>"$work/simulate.log" &
sim=$!
for i in $(seq 100); do [ -e "$work/df8" ] && [ -e "$work/rtu" ] && break; sleep 0.1; done
sed "s|WORK|$work|g; s|ROOT|$root|g" "$here/bed.yaml.in" > "$work/bed.yaml"
rm -rf "$work/traces"
LD_PRELOAD="$work/shim.so" "$bin/alveo" run --config "$work/bed.yaml" --record "$work/traces" \
    > "$work/live.jsonl" 2>"$work/agent.log" &
agent=$!
sleep 110
kill -9 $sim
sleep 15
kill -TERM $agent
wait $agent
mkdir -p "$here/traces"
cp "$work"/traces/*.alvtrace "$here/traces/live-all-protocols.alvtrace"
cp "$work/live.jsonl" "$here/traces/live-all-protocols.expected.jsonl"
"$bin/alveo" replay --format text "$here/traces/live-all-protocols.alvtrace"
