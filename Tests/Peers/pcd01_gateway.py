#!/usr/bin/env python3
"""A device-integration gateway that pushes IHE PCD-01 observations (ORU^R01 over MLLP) to a Device
Observation Consumer, as public senders build them (Mindray and GE-style captures, the IHE PCD TF as
summarised in the public PCD-01 description: MSH-21 IHE_PCD_001, PV1-3 bed, OBR, MDS rows with OBX-18
equipment, metric rows with OBX-3 code^REFID^MDC, OBX-6 in MDC or UCUM form, OBX-14 per row, the cuff
with OBX-17 ^APERIODIC). Written from that description, not from Alveo's reader.

  pcd01_gateway.py --host H --port P --values FILE [--interval S] [--bed PV1-3] [--ready FILE]
                   [--log FILE] [--faults]

Every interval it re-reads FILE (JSON: {"monitor": {"spo2", "pulse_rate", "heart_rate", "map",
"nibp_map", "nibp_age_s"}, "vent": {"fio2", "vt", "pplat", "peep", "rr"}}, a missing key: the row is not
sent), sends one message with both devices, and waits for the ACK. --log gets one JSON line per message:
its control id, bed, the values sent per device and the ACK code. --faults adds: a row with a code the
consumer does not know in every message; every 4th message for another bed; every 5th a DEMO SpO2; the
6th message garbled (its MSH cut: the consumer must refuse it, AE or AR, and lose nothing else).
"""
import argparse
import datetime
import json
import os
import socket
import sys
import time

VT, FS, CR = b"\x0b", b"\x1c", b"\r"
MONITOR_EUI, VENT_EUI = "00A037FFFE123456", "0030E6FFFE000042"

# key: (code, REFID, unit as sent, OBX-4 metric part)
MONITOR = [
    ("heart_rate", "147842", "MDC_ECG_HEART_RATE", "264864^MDC_DIM_BEAT_PER_MIN^MDC", "1.5.1.147842"),
    ("spo2", "150456", "MDC_PULS_OXIM_SAT_O2", "%^%^UCUM", "1.3.1.150456"),
    ("pulse_rate", "149530", "MDC_PULS_OXIM_PULS_RATE", "{beat}/min^{beat}/min^UCUM", "1.3.1.149530"),
    ("map", "150039", "MDC_PRESS_BLD_ART_ABP_MEAN", "266016^MDC_DIM_MMHG^MDC", "1.13.1.150039"),
]
VENT = [
    ("fio2", "152196", "MDC_CONC_AWAY_O2_INSP", "262688^MDC_DIM_PERCENT^MDC", "2.1.1.152196"),
    ("vt", "151980", "MDC_VENT_VOL_TIDAL", "263762^MDC_DIM_MILLI_L^MDC^mL^mL^UCUM", "2.1.1.151980"),
    ("pplat", "151784", "MDC_PRESS_RESP_PLAT", "cm[H2O]^cm[H2O]^UCUM", "2.1.1.151784"),
    ("peep", "151976", "MDC_VENT_PRESS_AWAY_END_EXP_POS", "266048^MDC_DIM_CM_H2O^MDC", "2.1.1.151976"),
    ("rr", "151586", "MDC_VENT_RESP_RATE", "264928^MDC_DIM_RESP_PER_MIN^MDC", "2.1.1.151586"),
]


def log(text):
    sys.stderr.write("gateway: %s\n" % text)
    sys.stderr.flush()


def ts(when):
    return when.strftime("%Y%m%d%H%M%S") + "+0000"


def number(value):
    return ("%d" % value) if float(value).is_integer() else ("%g" % value)


def build(seq, values, bed, faults):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    control = "GW-%d" % seq
    sent = {"monitor": {}, "vent": {}}
    lines = [
        "MSH|^~\\&|GATEWAY^0A1B2CFFFE000001^EUI-64|HOSP|ALVEO|HOSP_ICU|%s||ORU^R01^ORU_R01|%s|P|2.6|||AL|NE||UNICODE UTF-8|||"
        "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO" % (ts(now), control),
        "PID|||99999^^^Hospital^PI||^^^^^^L",
        "PV1||I|%s" % bed,
        "OBR|1|%s^GATEWAY^0A1B2CFFFE000001^EUI-64|%s^GATEWAY^0A1B2CFFFE000001^EUI-64|182777000^monitoring of patient^SCT|||%s"
        % (control, control, ts(now)),
        "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||MON_B1^^%s^EUI-64" % MONITOR_EUI,
    ]
    n = 2
    mon = values.get("monitor", {})
    demo = faults and seq % 5 == 0
    for key, code, refid, unit, where in MONITOR:
        if mon.get(key) is None:
            continue
        flags = "DEMO" if demo and key == "spo2" else ""
        lines.append("OBX|%d|NM|%s^%s^MDC|%s|%s|%s|||%s||R|||%s" % (n, code, refid, where, number(mon[key]), unit, flags, ts(now)))
        if not flags:
            sent["monitor"][key] = mon[key]
        n += 1
    if mon.get("nibp_map") is not None:
        measured = now - datetime.timedelta(seconds=int(mon.get("nibp_age_s", 0)))
        lines.append("OBX|%d|NM|150303^MDC_PRESS_CUFF_MEAN^MDC|1.1.9.150303|%s|266016^MDC_DIM_MMHG^MDC|||||R|||%s|||^APERIODIC"
                     % (n, number(mon["nibp_map"]), ts(measured)))
        sent["monitor"]["nibp_map"] = mon["nibp_map"]
        n += 1
    if faults:
        lines.append("OBX|%d|NM|150488^MDC_PULS_OXIM_PERF_REL^MDC|1.3.1.150488|2.4|262688^MDC_DIM_PERCENT^MDC|||||R|||%s" % (n, ts(now)))
        n += 1
    lines.append("OBX|%d||70001^MDC_DEV_SYS_PT_VENT_MDS^MDC|2.0.0.0|||||||X|||||||VENT_B1^^%s^EUI-64" % (n, VENT_EUI))
    n += 1
    vent = values.get("vent", {})
    for key, code, refid, unit, where in VENT:
        if vent.get(key) is None:
            continue
        lines.append("OBX|%d|NM|%s^%s^MDC|%s|%s|%s|||||R|||%s" % (n, code, refid, where, number(vent[key]), unit, ts(now)))
        sent["vent"][key] = vent[key]
        n += 1
    return control, "\r".join(lines) + "\r", sent


def read_ack(conn, deadline):
    buffer = b""
    while time.time() < deadline:
        conn.settimeout(max(0.05, deadline - time.time()))
        try:
            chunk = conn.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            raise ConnectionError("closed by the consumer")
        buffer += chunk
        if FS + CR in buffer:
            start = buffer.find(VT)
            message = buffer[start + 1:buffer.find(FS + CR)].decode("utf-8", "replace")
            for segment in message.split("\r"):
                fields = segment.split("|")
                if fields[0] == "MSA" and len(fields) > 2:
                    return fields[1], fields[2]
            return "?", ""
    return None, None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--values", required=True)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--bed", default="ICU^B1^B1^HOSP")
    ap.add_argument("--ready")
    ap.add_argument("--log")
    ap.add_argument("--faults", action="store_true")
    o = ap.parse_args()
    values = {}
    conn = None
    seq = 0
    ready = False
    while True:
        seq += 1
        try:
            with open(o.values) as f:
                values = json.load(f)
        except Exception as e:  # keep the last values
            log("values unusable (%s): keeping the last" % e)
        other_bed = o.faults and seq % 4 == 0
        control, message, sent = build(seq, values, "ICU^B7^B7^HOSP" if other_bed else o.bed, o.faults)
        garbled = o.faults and seq == 6
        payload = message.encode()
        if garbled:
            payload = payload[5:]  # "MSH|^" cut: not an HL7 message any more
        try:
            if conn is None:
                conn = socket.create_connection((o.host, o.port), timeout=5)
            conn.sendall(VT + payload + FS + CR)
            code, acked = read_ack(conn, time.time() + 10)
        except (OSError, ConnectionError) as e:
            log("%s: %s; connecting again" % (control, e))
            if conn:
                conn.close()
            conn, code, acked = None, None, None
        log("%s%s%s: %s" % (control, " (other bed)" if other_bed else "", " (garbled)" if garbled else "", code))
        if o.log:
            with open(o.log, "a") as f:
                f.write(json.dumps({"control": control, "other_bed": other_bed, "garbled": garbled,
                                    "sent": {} if other_bed or garbled else sent, "ack": code}) + "\n")
        if code == "AA" and not ready and o.ready:
            with open(o.ready + ".tmp", "w") as f:
                f.write("ready\n")
            os.rename(o.ready + ".tmp", o.ready)
            ready = True
        time.sleep(o.interval)


if __name__ == "__main__":
    main()
