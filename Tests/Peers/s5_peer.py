#!/usr/bin/env python3
"""Simulated GE Datex-Ohmeda S/5 monitor (computer interface, Datex Record Interface) for Alveo's end-to-end tests.

Written from the public description only (device-protocols-monitors-vents.md §GE S/5: framing, checksum,
escapes, the request example; the DRI structures as public readers such as VSCapture print them: the 40-byte
header, dri_phdb of a time, a 270-byte class union, marker, reserved and cl_drilvl_subt, the basic class's
groups), not from Alveo's encoder, so a misunderstanding shared with Alveo cannot hide.

  s5_peer.py --port A [--baud 19200] [--ready FILE] [--values FILE] [options]
  s5_peer.py --selftest [--fixtures DIR]

Frames: 7E | record | checksum (8-bit sum of the record) | 7E, 7E -> 7D 5E and 7D -> 7D 5D inside.
The peer waits for a physiological data request (r_maintype 0, subrecord type 0, dri_phdb_req) and from
then on sends a physiological record of displayed values (subrecord type 1, basic class) every tx_ival
seconds (or every --period s), the first at once. A new request restarts the schedule.

Options:
  --values FILE     JSON {"heart_rate":90,"map":78,"spo2":97,"pulse_rate":72,"fio2":40,"rr":16,"ppeak":28,
                    "peep":5,"pplat":22,"vt":450,"nibp_map":85}; re-read before every record (an unusable file
                    keeps the last values); null = the value "no valid data" (-32767); a group none of whose
                    keys is given is sent as not existing. Without the option these defaults are used.
  --period S        send every S s whatever the request asked for (a test's shortcut)
  --noise           before every 3rd record: garbage bytes, then a frame with noise between its flag and its
                    record (must be rejected whole), then the record
  --bad-checksum N  every Nth record is sent with other values and a checksum off by one (must be rejected)
  --cut N           every Nth record is cut after 100 bytes; the next record follows at its time
  --pull-after N --pull-for S   after N records act as a pulled cable for S s (read and discard, nothing
                    arrives), then the records arrive again as before (the monitor never knew; once)
  --ready FILE      written once the port is open
Logs one line per event to stderr ("peer: ...").
"""
import argparse
import json
import os
import signal
import struct
import sys
import time

FLAG, CTRL = 0x7E, 0x7D
DEFAULT_FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "AlveoDevicesTests", "Fixtures")
DEFAULTS = {"heart_rate": 90, "map": 78, "spo2": 97, "pulse_rate": 72, "fio2": 40, "rr": 16, "ppeak": 28,
            "peep": 5, "pplat": 22, "vt": 450, "nibp_map": 85}
INVALID = -32767
DRI_MT_PHDB = 0
DRI_PH_DISPL = 1
EOL = 0xFF


def log(msg):
    sys.stderr.write("peer: %s\n" % msg)
    sys.stderr.flush()


# ---------------------------------------------------------------- framing
def checksum(record):
    return sum(record) & 0xFF


def stuff(data):
    out = bytearray()
    for b in data:
        if b in (FLAG, CTRL):
            out += bytes([CTRL, b ^ 0x20])
        else:
            out.append(b)
    return bytes(out)


def frame(record, checksum_delta=0):
    return bytes([FLAG]) + stuff(record + bytes([(checksum(record) + checksum_delta) & 0xFF])) + bytes([FLAG])


class Deframer:
    """Frames between flags; feed() returns a list of (ok, record_or_reason)."""

    def __init__(self):
        self.buf = None
        self.esc = False

    def feed(self, data):
        out = []
        for b in data:
            if b == FLAG:
                if self.buf:
                    out.append(self._check(bytes(self.buf)))
                self.buf, self.esc = bytearray(), False
            elif self.buf is None:
                pass
            elif self.esc:
                self.buf.append(b ^ 0x20)
                self.esc = False
            elif b == CTRL:
                self.esc = True
            else:
                self.buf.append(b)
                if len(self.buf) > 2000:
                    out.append((False, "overlong frame"))
                    self.buf = None
        return out

    @staticmethod
    def _check(body):
        if len(body) < 41:
            return False, "short frame (%d bytes)" % len(body)
        record, cs = body[:-1], body[-1]
        if checksum(record) != cs:
            return False, "bad checksum %02X (sum %02X)" % (cs, checksum(record))
        if struct.unpack_from("<h", record, 0)[0] != len(record):
            return False, "r_len %d for %d bytes" % (struct.unpack_from("<h", record, 0)[0], len(record))
        return True, record


# ---------------------------------------------------------------- records
HDR = struct.Struct("<hBBHIBBHh")  # r_len r_nbr dri_level plug_id r_time n_subnet reserved2 reserved3 r_maintype
SR = struct.Struct("<hB")  # sr_offset sr_type


def header(r_len, r_nbr, r_time, maintype, descriptors):
    h = HDR.pack(r_len, r_nbr, 0, 0, r_time, 0, 0, 0, maintype)
    for i in range(8):
        if i < len(descriptors):
            h += SR.pack(*descriptors[i])
        elif i == len(descriptors):
            h += SR.pack(0, EOL)
        else:
            h += SR.pack(0, 0)
    assert len(h) == 40
    return h


def parse_request(record):
    r_len, r_nbr, level, plug, r_time, subnet, _, _, maintype = HDR.unpack_from(record, 0)
    off, typ = SR.unpack_from(record, 16)
    if maintype != DRI_MT_PHDB or typ != 0 or len(record) < 40 + off + 9:
        return None
    rtype, ival, classes, _ = struct.unpack_from("<BhIh", record, 40 + off)
    return {"type": rtype, "interval": ival, "classes": classes}


def scaled(v, factor):
    if v is None:
        return INVALID
    return max(-32000, min(32767, int(round(v * factor))))


def group_hdr(present, label=0):
    # status dword: bit 0 exists, bit 1 active; then the label word
    return struct.pack("<IH", 3 if present else 0, label)


def basic_class(vals):
    def g(key, factor):
        return scaled(vals.get(key), factor) if key in vals else INVALID

    def present(*keys):
        return any(k in vals for k in keys)

    b = b""
    # ecg_group: hr, st1, st2, st3, imp_rr
    b += group_hdr(present("heart_rate")) + struct.pack("<5h", g("heart_rate", 1), INVALID, INVALID, INVALID, INVALID)
    # p_group x4: sys, dia, mean, hr (1/100 mmHg). P1 is CVP (label 2), P2 the arterial line ART (label 1).
    b += group_hdr(True, 2) + struct.pack("<4h", 1200, 600, 800, INVALID)
    b += group_hdr(present("map"), 1) + struct.pack("<4h", INVALID, INVALID, g("map", 100), INVALID)
    b += (group_hdr(False) + struct.pack("<4h", *[INVALID] * 4)) * 2
    # nibp_group: sys, dia, mean, hr
    b += group_hdr(present("nibp_map")) + struct.pack("<4h", INVALID, INVALID, g("nibp_map", 100), INVALID)
    # t_group x4
    b += (group_hdr(False) + struct.pack("<h", INVALID)) * 4
    # SpO2_pl_group: SpO2 (1/100 %), pr, ir_amp, SvO2
    b += group_hdr(present("spo2", "pulse_rate")) + struct.pack("<4h", g("spo2", 100), g("pulse_rate", 1), INVALID, INVALID)
    # co2_group: et, fi, rr, amb_press
    b += group_hdr(False) + struct.pack("<4h", *[INVALID] * 4)
    # o2_group: et, fi (1/100 %)
    b += group_hdr(present("fio2")) + struct.pack("<2h", INVALID, g("fio2", 100))
    # n2o_group, aa_group
    b += group_hdr(False) + struct.pack("<2h", INVALID, INVALID)
    b += group_hdr(False) + struct.pack("<3h", INVALID, INVALID, INVALID)
    # flow_vol_group: rr, ppeak, peep, pplat (1/100 cmH2O), tv_insp, tv_exp (1/10 ml), compliance, mv_exp
    fv = ("rr", "ppeak", "peep", "pplat", "vt")
    b += group_hdr(present(*fv)) + struct.pack("<8h", g("rr", 1), g("ppeak", 100), g("peep", 100), g("pplat", 100),
                                                 INVALID, g("vt", 10), INVALID, INVALID)
    # co_wedge_group, nmt_group, ecg_extra (no header), svo2_group, p_group x2, reserved[2]
    b += group_hdr(False) + struct.pack("<4h", *[INVALID] * 4)
    b += group_hdr(False) + struct.pack("<3h", *[INVALID] * 3)
    b += struct.pack("<3h", INVALID, INVALID, INVALID)
    b += group_hdr(False) + struct.pack("<h", INVALID)
    b += (group_hdr(False) + struct.pack("<4h", *[INVALID] * 4)) * 2
    b += b"\x00\x00"
    assert len(b) == 270, len(b)
    return b


def phdb_record(vals, r_nbr, r_time):
    # dri_phdb: time, the class (basic), marker, reserved, cl_drilvl_subt (class in bits 8-11, subtype low byte)
    sub = struct.pack("<I", r_time) + basic_class(vals) + struct.pack("<BBH", 0, 0, (0 << 8) | DRI_PH_DISPL)
    assert len(sub) == 278
    return header(40 + len(sub), r_nbr, r_time, DRI_MT_PHDB, [(0, DRI_PH_DISPL)]) + sub


def load_values(path, last):
    if not path:
        return last
    try:
        with open(path) as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        vals = {}
        for key, v in data.items():
            if key not in DEFAULTS:
                continue
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise ValueError("%s is not a number or null" % key)
            vals[key] = v
        return vals
    except Exception as e:
        log("values file %s unusable (%s): keeping last values" % (path, e))
        return last


def selftest(fixtures=DEFAULT_FIXTURES):
    ok = True

    def check(cond, what):
        nonlocal ok
        log(("ok   " if cond else "FAIL ") + what)
        ok = ok and cond

    for name, rtype, ival in [("ge_dri_phdb_req_displ10s_spec.bin", 1, 10), ("ge_dri_phdb_req_trend60s_spec.bin", 3, 60)]:
        data = open(os.path.join(fixtures, name), "rb").read()
        got = Deframer().feed(data)
        check(len(got) == 1 and got[0][0], "%s deframes with its checksum" % name)
        req = parse_request(got[0][1]) if got and got[0][0] else None
        check(req == {"type": rtype, "interval": ival, "classes": 0x0E}, "%s is a request %r" % (name, req))
        built = header(49, 0, 0, DRI_MT_PHDB, [(0, 0)]) + struct.pack("<BhIh", rtype, ival, 0x0E, 0)
        check(frame(built) == data, "%s rebuilt byte for byte" % name)
    rec = phdb_record(DEFAULTS, 1, 0)
    check(len(rec) == 318, "a displayed-values record is 318 bytes")
    back = Deframer().feed(frame(rec))
    check(back == [(True, rec)], "a record round-trips through the framing")
    return ok


# ---------------------------------------------------------------- peer
class Peer:
    def __init__(self, opts, port):
        self.o = opts
        self.port = port
        self.deframer = Deframer()
        self.values = dict(DEFAULTS)
        self.interval = None
        self.next_at = None
        self.records = 0
        self.pulled_until = None
        self.pull_done = False
        self.t0 = time.time()

    def write(self, data):
        try:
            self.port.write(data)
        except Exception as e:
            log("write failed: %s" % e)

    def on_bytes(self, data):
        if self.pulled_until is not None:
            return
        for ok, what in self.deframer.feed(data):
            if not ok:
                log("frame rejected: %s" % what)
                continue
            req = parse_request(what)
            if req is None:
                log("record ignored (not a physiological data request)")
                continue
            if req["type"] != DRI_PH_DISPL:
                log("request for record type %d ignored (only displayed values)" % req["type"])
                continue
            self.interval = self.o.period if self.o.period else max(req["interval"], 1)
            self.next_at = time.monotonic()
            log("request: displayed values every %d s, classes 0x%X -> sending every %.1f s"
                % (req["interval"], req["classes"], self.interval))

    def tick(self):
        now = time.monotonic()
        if self.pulled_until is not None:
            if now < self.pulled_until:
                return
            self.pulled_until = None
            self.deframer = Deframer()
            self.next_at = now
            log("cable back: the monitor never stopped sending")
        if self.next_at is None or now < self.next_at:
            return
        self.next_at += self.interval
        if self.next_at < now:
            self.next_at = now + self.interval
        self.send_record()

    def send_record(self):
        self.values = load_values(self.o.values, self.values)
        n = self.records + 1
        r_time = int(self.t0) + n
        rec = phdb_record(self.values, n & 0xFF, r_time)
        if self.o.noise and n % 3 == 0:
            self.write(bytes([0x00, 0x13, 0x11, 0xFF, 0x41]) + frame(bytes([0x55, 0xAA]) + rec))
            log("noise before record %d: garbage, then a frame with noise before its record" % n)
        if self.o.bad_checksum and n % self.o.bad_checksum == 0:
            other = dict(self.values)
            for k in other:
                if other[k] is not None:
                    other[k] = other[k] + 7
            self.write(frame(phdb_record(other, n & 0xFF, r_time), checksum_delta=1))
            log("record %d with other values and a bad checksum" % n)
        if self.o.cut and n % self.o.cut == 0:
            self.write(frame(rec)[:100])
            log("record %d cut after 100 bytes" % n)
        else:
            self.write(frame(rec))
            shown = ", ".join("%s=%s" % (k, self.values[k]) for k in sorted(self.values))
            log("record %d [%s]" % (n, shown))
        self.records = n
        if self.o.pull_after and not self.pull_done and n >= self.o.pull_after:
            self.pull_done = True
            self.next_at = None
            self.pulled_until = time.monotonic() + self.o.pull_for
            log("cable pulled after %d records for %.1f s" % (n, self.o.pull_for))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port")
    ap.add_argument("--baud", type=int, default=19200)
    ap.add_argument("--ready")
    ap.add_argument("--values")
    ap.add_argument("--period", type=float, default=0)
    ap.add_argument("--noise", action="store_true")
    ap.add_argument("--bad-checksum", type=int, default=0)
    ap.add_argument("--cut", type=int, default=0)
    ap.add_argument("--pull-after", type=int, default=0)
    ap.add_argument("--pull-for", type=float, default=5.0)
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--fixtures", default=DEFAULT_FIXTURES)
    o = ap.parse_args()
    if o.selftest:
        sys.exit(0 if selftest(o.fixtures) else 1)
    if not o.port:
        ap.error("--port is required")
    import serial
    signal.signal(signal.SIGTERM, lambda *_: (log("terminated"), sys.exit(0)))
    port = serial.Serial(o.port, o.baud, parity=serial.PARITY_EVEN, timeout=0.05, write_timeout=2)
    if o.ready:
        open(o.ready, "w").close()
    log("S/5 peer on %s" % o.port)
    peer = Peer(o, port)
    while True:
        try:
            data = port.read(512)
        except Exception as e:
            log("read failed: %s" % e)
            time.sleep(0.2)
            try:
                port.close()
                port = serial.Serial(o.port, o.baud, parity=serial.PARITY_EVEN, timeout=0.05, write_timeout=2)
                peer.port = port
            except Exception as e2:
                log("reopen failed: %s" % e2)
            continue
        if data:
            peer.on_bytes(data)
        peer.tick()


if __name__ == "__main__":
    main()
