#!/bin/sh
# Records traces/live-bedside.alvtrace and, as its expected events, what the live agent printed:
# `alveo run --record` against `alveo simulate` (bed.yaml.in, scenario.csv), with a clinician and the
# hospital at the bed: the latched SpO2 alarm acknowledged, a blood gas charted 20 s after it was
# drawn (before FiO2 went from 0.50 to 0.70), two haemoglobins from the laboratory (python-hl7 over
# MLLP), haemoptysis charted, the patient proned, the haemoptysis alarm acknowledged, a new patient
# admitted by ADT A01 (the previous one's alarms end), and the previous patient's results refused.
# GoldenTraceTests then asserts that replaying the trace prints exactly what the live run printed.
# Needs no hardware; about 1.5 minutes. Review the events before committing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
swift build --product alveo
bin=$(swift build --show-bin-path)
work=$(mktemp -d)
trap 'kill $sim $agent 2>/dev/null || true; rm -rf "$work"' EXIT
vent=5031 lab=5032 station=5033
"$bin/alveo" simulate --scenario "$here/scenario.csv" --vent-port $vent --oxi-link "$work/rtu" 2>"$work/simulate.log" &
sim=$!
for i in $(seq 100); do [ -e "$work/rtu" ] && break; sleep 0.1; done
sed "s|WORK|$work|g; s|ROOT|$root|g; s|SOCKET|$work/alveo.sock|; s|VENTPORT|$vent|; s|LABPORT|$lab|; s|STATIONPORT|$station|" \
    "$here/bed.yaml.in" > "$work/bed.yaml"
"$bin/alveo" run --config "$work/bed.yaml" --record "$work/traces" > "$work/live.jsonl" 2>"$work/agent.log" &
agent=$!
alveo() { "$bin/alveo" "$@" --socket "$work/alveo.sock" || true; }
hl7time() { date -u -d "$1" +%Y%m%d%H%M%S+0000; }
lab() {  # lab ID PATIENT OBX-3 VALUE UNIT SECONDS-AGO
    printf 'MSH|^~\\&|ABL90|ICU|ALVEO|HOSP|%s||ORU^R01^ORU_R01|%s|P|2.5.1\nPID|1||%s^^^HOSP^MR||DOE^JANE||19700101|F\nOBR|1||%s|57021-8^CBC^LN|||%s\nOBX|1|NM|%s||%s|%s|||||F|||%s\n' \
        "$(hl7time now)" "$1" "$2" "$1" "$(hl7time "-$6 sec")" "$3" "$4" "$5" "$(hl7time "-$6 sec")" > "$work/$1.hl7"
    python3 Tests/Peers/hl7_sender.py --port $lab "$work/$1.hl7"
}
sleep 20; alveo ack oxygenation.spo2_low --by "RN Ito"
sleep 15; alveo chart pao2=58 --sampled -20s --by "Dr Osei"
sleep 5; lab HB1 12345 "718-7^Hemoglobin^LN" 98 g/L 5
sleep 5; lab HB2 12345 "718-7^Hemoglobin^LN" 7.4 g/dL 2
sleep 5; alveo chart hemoptysis=120 --by "RN Ito"
sleep 2; alveo chart hemoptysis=110 --by "RN Ito"
sleep 3; alveo chart position=prone --by "Dr Osei"
sleep 3; alveo ack dah.hemoptysis_volume --by "Dr Osei"
sleep 4
printf 'MSH|^~\\&|ADT|HOSP|ALVEO|HOSP|%s||ADT^A01^ADT_A01|ADT1|P|2.5\nPID|1||67890^^^HOSP^MR||ROE^ANN||19800101|M\nPV1|1|I|ICU^B1^B1^HOSP\nOBX|1|NM|8302-2^Body height^LN||70|[in_i]|||||F\n' \
    "$(hl7time now)" > "$work/adt.hl7"
python3 Tests/Peers/hl7_sender.py --port $lab "$work/adt.hl7"
sleep 4; lab HB3 12345 "718-7^Hemoglobin^LN" 6.5 g/dL 1
sleep 6
kill -TERM $agent
wait $agent
mkdir -p "$here/traces"
cp "$work"/traces/*.alvtrace "$here/traces/live-bedside.alvtrace"
cp "$work/live.jsonl" "$here/traces/live-bedside.expected.jsonl"
"$bin/alveo" replay --format text "$here/traces/live-bedside.alvtrace"
