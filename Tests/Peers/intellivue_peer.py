#!/usr/bin/env python3
"""Simulated Philips IntelliVue monitor (Data Export protocol over MIB/RS232) for Alveo's end-to-end tests.

Written from /work/shared/device-protocols-monitors-vents.md and the intellivue_* fixtures only (not from
Alveo's encoder), so a misunderstanding shared with Alveo cannot hide.

  intellivue_peer.py --port A [--baud 115200] [--ready FILE] [--values FILE] [options]
  intellivue_peer.py --udp PORT [--ready FILE] [--values FILE] [options]
  intellivue_peer.py --selftest [--fixtures DIR]

Frames: C0 | 11 01 LL LL | payload | FCS_lo FCS_hi | C1, 0x7D escaping, PPP FCS-16.
The peer answers an Association Request (0D) with an Association Response (0E) followed by an MDS Create
Event Report (ROIV, confirmed event report, MDS, event 0x0D06) and checks the client's MDS Create Event Result
(logs whether the invoke id and event time are echoed). Poll requests (ROIV, confirmed action 0x0C16 or
0xF13B on the MDS) get a poll reply with the same invoke id: one ObservationPoll per parameter of the values
file, each with a UTF-16 label (0x0927), NuObsValue (0x0950) and, unless --plain, an absolute time stamp
(0x0990) that clients must skip, in an order that differs between numerics. Release (09) -> 0A.

Options:
  --values FILE          JSON {"spo2":97,"pulse_rate":72,"rr":16,"fio2":40,"vt":450,"pplat":22,"peep":5,
                         "ppeak":28}; re-read before every poll reply (missing/invalid file keeps the last
                         values); null = no value (NaN mantissa, state 0x8000 INVALID); a key left out is
                         not sent at all. Without the option these defaults are used.
  --pressure-unit cmh2o|mbar   unit of pplat/peep/ppeak (mbar converts: 1 cmH2O = 0.980665 mbar)
  --volume-unit ml|l     unit of vt
  --demo                 state 0x0400 DEMO_DATA on every value
  --linked               every poll reply as two ROLRS linked results (state 1 count 1, state 3 count 2)
  --refuse-first         refuse (0C) the first association request, accept the next
  --noise                before every 3rd poll reply: 00 FF 11 13, a stray C1, an aborted frame (7D C1) and
                         a reply frame with wrong values and a wrong FCS, then the correct reply
  --pull-after N --pull-for S   after N poll replies act as a pulled cable for S s (read and discard, send
                         nothing), then require a new association (once)
  --abort-after N        after N poll replies send an Abort (19) and require a new association (once)
  --silence-s S          drop the association after S s without a valid frame (default 15)
  --accept-no-scope      also accept a poll ActionArgument without the 4-byte scope field (the doc's prose
                         form); by default such a poll is logged and ignored, as the fixture has the scope
  --plain                no 0x0990 attribute, fixed attribute order (label, value)
  --exit-after N         exit after N poll replies
  --ready FILE           written once the port is open
  --udp PORT             Data Export over the LAN instead: listen on UDP 127.0.0.1:PORT (a monitor listens on
                         24105), one message per datagram with no frame and no FCS, answers to the address the
                         client sent from; --noise then sends a datagram of garbage and a cut reply before every
                         3rd reply, --pull-after drops every datagram for --pull-for s (the network cable)
Logs one line per protocol event to stderr ("peer: ...").
"""
import argparse
import glob
import json
import os
import signal
import struct
import sys
import time

BOF, EOF, ESC = 0xC0, 0xC1, 0x7D

PARAMS = [
    # key, physio_id, default unit code, label, handle
    ("spo2", 0x4BB8, 0x0220, "SpO2", 0x0010),
    ("pulse_rate", 0x4822, 0x0AA0, "Pulse", 0x0011),
    ("rr", 0x5012, 0x0AE0, "awRR", 0x0012),
    ("fio2", 0x7498, 0x0220, "FiO2", 0x0013),
    ("vt", 0x513C, 0x0652, "TVexp", 0x0014),
    ("pplat", 0x50E8, 0x0F40, "Pplat", 0x0015),
    ("peep", 0x51A8, 0x0F40, "PEEP", 0x0016),
    ("ppeak", 0x5109, 0x0F40, "PIP", 0x0017),
    # NOM_PRESS_BLD_ART_ABP_MEAN in mmHg (NOM_DIM_MMHG 0x0F20) and NOM_ECG_CARD_BEAT_RATE (VSCaptureMP's
    # table: 18967, 16770).
    ("map", 0x4A17, 0x0F20, "ABPm", 0x0018),
    ("heart_rate", 0x4182, 0x0AA0, "HR", 0x0019),
]
DEFAULTS = {"spo2": 97, "pulse_rate": 72, "fio2": 40, "vt": 450, "pplat": 22, "peep": 5, "ppeak": 28, "rr": 16,
            "map": 78, "heart_rate": 90}
PRESSURES = ("pplat", "peep", "ppeak")
UNIT_MBAR, UNIT_L = 0x0F72, 0x0640
NAN_MANTISSA = 0x7FFFFF
STATE_INVALID, STATE_DEMO = 0x8000, 0x0400
ACT_POLL, ACT_POLL_EXT = 0x0C16, 0xF13B
MDS_CLASS, EVT_MDS_CREATE = 0x0021, 0x0D06


def log(msg):
    sys.stderr.write("peer: %s\n" % msg)
    sys.stderr.flush()


# ---------------------------------------------------------------- framing
def _make_table():
    table = []
    for b in range(256):
        v = b
        for _ in range(8):
            v = (v >> 1) ^ 0x8408 if v & 1 else v >> 1
        table.append(v)
    return table


FCS_TABLE = _make_table()


def fcs16_run(data, fcs=0xFFFF):
    for b in data:
        fcs = (fcs >> 8) ^ FCS_TABLE[(fcs ^ b) & 0xFF]
    return fcs


def fcs_bytes(data):
    """PPP FCS-16 of data, complemented, low byte first."""
    v = fcs16_run(data) ^ 0xFFFF
    return bytes([v & 0xFF, v >> 8])


def escape(data):
    out = bytearray()
    for b in data:
        if b in (BOF, EOF, ESC):
            out += bytes([ESC, b ^ 0x20])
        else:
            out.append(b)
    return bytes(out)


def frame_raw(body):
    """body = bytes from the protocol id through the last payload byte (unescaped)."""
    return bytes([BOF]) + escape(body + fcs_bytes(body)) + bytes([EOF])


def frame(payload):
    return frame_raw(bytes([0x11, 0x01]) + struct.pack(">H", len(payload)) + payload)


def frame_bad_fcs(payload):
    body = bytes([0x11, 0x01]) + struct.pack(">H", len(payload)) + payload
    fcs = bytearray(fcs_bytes(body))
    fcs[0] ^= 0x5A
    return bytes([BOF]) + escape(body + bytes(fcs)) + bytes([EOF])


class Deframer:
    """Reassembles frames from arbitrary chunks. feed() returns a list of (ok, payload_or_reason)."""

    MAX = 8192

    def __init__(self):
        self.buf = None  # None = outside a frame
        self.esc = False
        self.garbage = 0

    def feed(self, data):
        out = []
        for b in data:
            if b == BOF:
                if self.buf:
                    out.append((False, "frame restarted by C0 after %d bytes" % len(self.buf)))
                self.buf, self.esc = bytearray(), False
            elif self.buf is None:
                self.garbage += 1
            elif b == EOF:
                if self.esc:
                    out.append((False, "frame abort (7D C1)"))
                else:
                    out.append(self._check(bytes(self.buf)))
                self.buf, self.esc = None, False
            elif self.esc:
                self.buf.append(b ^ 0x20)
                self.esc = False
            elif b == ESC:
                self.esc = True
            else:
                self.buf.append(b)
                if len(self.buf) > self.MAX:
                    out.append((False, "frame longer than %d bytes dropped" % self.MAX))
                    self.buf = None
        return out

    @staticmethod
    def _check(body):
        if len(body) < 6:
            return False, "short frame (%d bytes)" % len(body)
        if fcs16_run(body) != 0xF0B8:
            return False, "bad FCS (%s)" % body[-2:].hex()
        if body[0] != 0x11 or body[1] != 0x01:
            return False, "bad header %s" % body[:2].hex()
        length = struct.unpack(">H", body[2:4])[0]
        payload = body[4:-2]
        if length != len(payload):
            return False, "bad length field %d for %d payload bytes" % (length, len(payload))
        return True, payload


# ---------------------------------------------------------------- values
def encode_float(value):
    """IntelliVue FLOAT: signed 8-bit exponent, signed 24-bit mantissa. None -> NaN."""
    if value is None:
        return NAN_MANTISSA
    for k in range(0, 4):
        scaled = value * (10 ** k)
        if abs(scaled - round(scaled)) < 1e-6 or k == 3:
            mant = int(round(scaled))
            if -0x7FFFFD <= mant <= 0x7FFFFD:
                return ((-k) & 0xFF) << 24 | (mant & 0xFFFFFF)
    raise ValueError("value %r does not fit a FLOAT" % value)


def decode_float(raw):
    exp = raw >> 24
    exp = exp - 256 if exp >= 128 else exp
    mant = raw & 0xFFFFFF
    if mant in (0x7FFFFF, 0x800000, 0x7FFFFE, 0x800002):
        return None
    mant = mant - 0x1000000 if mant >= 0x800000 else mant
    return mant * 10.0 ** exp


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
    except Exception as e:  # missing / partial / invalid: keep the last values
        log("values file %s unusable (%s): keeping last values" % (path, e))
        return last


def bcd(n):
    return ((n // 10) << 4) | (n % 10)


def abs_time(t=None):
    lt = time.localtime(t)
    return bytes([bcd(lt.tm_year // 100), bcd(lt.tm_year % 100), bcd(lt.tm_mon), bcd(lt.tm_mday),
                  bcd(lt.tm_hour), bcd(lt.tm_min), bcd(min(lt.tm_sec, 59)), 0])


# ---------------------------------------------------------------- message building
def ava(attr_id, value):
    return struct.pack(">HH", attr_id, len(value)) + value


def attr_list(avas):
    body = b"".join(avas)
    return struct.pack(">HH", len(avas), len(body)) + body


def label_value(text):
    s = (text + "\0").encode("utf-16-be")
    return struct.pack(">H", len(s)) + s


def observation(key, value, opts, index, corrupt=False):
    _, physio, unit, label, handle = next(p for p in PARAMS if p[0] == key)
    if key in PRESSURES and opts.pressure_unit == "mbar":
        unit = UNIT_MBAR
        value = None if value is None else value * 0.980665
    if key == "vt" and opts.volume_unit == "l":
        unit = UNIT_L
        value = None if value is None else value / 1000.0
    if corrupt and value is not None:
        value = value + 111
    state = STATE_INVALID if value is None else 0
    if opts.demo:
        state |= STATE_DEMO
    nu = ava(0x0950, struct.pack(">HHHI", physio, state, unit, encode_float(value)))
    lab = ava(0x0927, label_value(label))
    if opts.plain:
        avas = [lab, nu]
    else:
        ts = ava(0x0990, abs_time())
        avas = [lab, nu, ts] if index % 2 == 0 else [ts, nu, lab]
    return struct.pack(">H", handle) + attr_list(avas)


def poll_info_list(observations):
    body = b"".join(observations)
    ctx = struct.pack(">HHH", 0, len(observations), len(body)) + body
    return struct.pack(">HH", 1, len(ctx)) + ctx


def poll_reply_payloads(invoke_id, action_type, poll_number, values, opts, rel_time, corrupt=False):
    """Returns a list of payloads (one RORS, or two ROLRS with --linked)."""
    keys = [p[0] for p in PARAMS if p[0] in values]
    obs = [observation(k, values[k], opts, i, corrupt) for i, k in enumerate(keys)]
    parts = [obs]
    if opts.linked:
        half = (len(obs) + 1) // 2
        parts = [obs[:half], obs[half:]]
    payloads = []
    for n, part in enumerate(parts):
        header = struct.pack(">H", poll_number)
        if action_type == ACT_POLL_EXT:
            header += struct.pack(">H", poll_number)  # sequence_no
        header += struct.pack(">I", rel_time) + abs_time() + struct.pack(">HHH", 1, 6, 0x0803)
        reply = header + poll_info_list(part)
        action_result = struct.pack(">HHHHH", MDS_CLASS, 0, 0, action_type, len(reply)) + reply
        if opts.linked:
            state = 1 if n == 0 else 3
            ro = struct.pack(">BBHHH", state, n + 1, invoke_id, 7, len(action_result)) + action_result
            ro_type = 5
        else:
            ro = struct.pack(">HHH", invoke_id, 7, len(action_result)) + action_result
            ro_type = 2
        payloads.append(bytes.fromhex("E1000002") + struct.pack(">HH", ro_type, len(ro)) + ro)
    return payloads


def mds_create_event(invoke_id, event_time):
    attrs = attr_list([
        ava(0x0921, struct.pack(">HH", 0, 0)),  # handle (GlbHandle context 0, handle 0)
        ava(0x0928, struct.pack(">H", 8) + b"Philips\0" + struct.pack(">H", 6) + b"MP70\0\0"),
    ])
    info = struct.pack(">HHH", MDS_CLASS, 0, 0) + attrs
    arg = struct.pack(">HHHIHH", MDS_CLASS, 0, 0, event_time, EVT_MDS_CREATE, len(info)) + info
    roiv = struct.pack(">HHH", invoke_id, 1, len(arg)) + arg
    return bytes.fromhex("E1000002") + struct.pack(">HH", 1, len(roiv)) + roiv


ASSOC_RESPONSE = bytes.fromhex("0E2C05081301001601028000140200020000000000000000000000000000000000000000"
                               "000000000000000000000000")
ASSOC_REFUSE = bytes.fromhex("0C0C05081301001601028000140200")
RELEASE_RESPONSE = bytes.fromhex("0A05180100000000")
ABORT = bytes.fromhex("1906110103C129A080")


# ---------------------------------------------------------------- decoding (used by the peer and the selftest)
def parse_data_export(p):
    """Returns a dict describing a Data Export payload (E1 00 00 02 ...) or raises ValueError."""
    if len(p) < 8 or p[:4] != bytes.fromhex("E1000002"):
        raise ValueError("not a Data Export SPpdu")
    ro_type, ro_len = struct.unpack(">HH", p[4:8])
    body = p[8:]
    if ro_len != len(body):
        raise ValueError("ROapdus length %d != %d" % (ro_len, len(body)))
    d = {"ro_type": ro_type}
    if ro_type in (1, 2):
        if len(body) < 6:
            raise ValueError("short RO apdu")
        d["invoke_id"], d["command_type"], ln = struct.unpack(">HHH", body[:6])
        d["args"] = body[6:]
        if ln != len(d["args"]):
            raise ValueError("RO length %d != %d" % (ln, len(d["args"])))
    elif ro_type == 5:
        if len(body) < 8:
            raise ValueError("short ROLRS")
        d["state"], d["count"], d["invoke_id"], d["command_type"], ln = struct.unpack(">BBHHH", body[:8])
        d["args"] = body[8:]
        if ln != len(d["args"]):
            raise ValueError("ROLRS length %d != %d" % (ln, len(d["args"])))
    else:
        d["args"] = body[4:] if len(body) >= 4 else b""
        if len(body) >= 2:
            d["invoke_id"] = struct.unpack(">H", body[:2])[0]
    return d


def parse_poll_request(args, accept_no_scope):
    """ActionArgument {managed_object, scope u32, action_type, length} + PollMdibDataReq.
    Returns (action_type, poll_number, form) or raises ValueError."""
    forms = [("scope", 10)] + ([("no-scope", 6)] if accept_no_scope else [])
    for name, off in forms:
        if len(args) >= off + 4:
            act, ln = struct.unpack(">HH", args[off:off + 4])
            if act in (ACT_POLL, ACT_POLL_EXT) and ln == len(args) - off - 4 and ln >= 8:
                cls = struct.unpack(">H", args[:2])[0]
                if cls != MDS_CLASS:
                    raise ValueError("action on object class 0x%04X, not the MDS" % cls)
                poll_number = struct.unpack(">H", args[off + 4:off + 6])[0]
                return act, poll_number, name
    # diagnose the doc-prose form for the log
    if len(args) >= 10:
        act, ln = struct.unpack(">HH", args[6:10])
        if act in (ACT_POLL, ACT_POLL_EXT) and ln == len(args) - 10:
            raise ValueError("ActionArgument without the 4-byte scope field (use --accept-no-scope to accept)")
    raise ValueError("not a poll ActionArgument (%s)" % args[:16].hex())


def walk_attr_list(b, off):
    count, length = struct.unpack(">HH", b[off:off + 4])
    off += 4
    end = off + length
    avas = []
    for _ in range(count):
        aid, alen = struct.unpack(">HH", b[off:off + 4])
        avas.append((aid, b[off + 4:off + 4 + alen]))
        off += 4 + alen
    if off != end:
        raise ValueError("AttributeList length mismatch")
    return avas, end


def decode_poll_reply(args, ext):
    """ActionResult + PollMdibDataReply(Ext) -> list of (physio, state, unit, value, label)."""
    off = 10 + (22 if ext else 20)
    count, _ = struct.unpack(">HH", args[off:off + 4])
    off += 4
    out = []
    for _ in range(count):
        _, ocount, _ = struct.unpack(">HHH", args[off:off + 6])
        off += 6
        for _ in range(ocount):
            off += 2
            avas, off = walk_attr_list(args, off)
            label = None
            nu = None
            for aid, v in avas:
                if aid == 0x0927:
                    n = struct.unpack(">H", v[:2])[0]
                    label = v[2:2 + n].decode("utf-16-be").rstrip("\0")
                elif aid == 0x0950:
                    physio, state, unit, raw = struct.unpack(">HHHI", v)
                    nu = (physio, state, unit, decode_float(raw))
            if nu:
                out.append(nu + (label,))
    return out


# ---------------------------------------------------------------- selftest
DEFAULT_FIXTURES = os.environ.get("ALVEO_DEVICE_FIXTURES", "/work/shared/fixtures/devices")


def selftest(fixtures=DEFAULT_FIXTURES):
    ok = True

    def check(cond, what):
        nonlocal ok
        log("selftest %s: %s" % ("ok" if cond else "FAILED", what))
        ok = ok and bool(cond)

    check(fcs_bytes(bytes.fromhex("3A71")) == bytes.fromhex("9B26"), "FCS of 3A 71 = 9B 26")
    check(fcs_bytes(bytes.fromhex("3A91")) == bytes.fromhex("95C1"), "FCS of 3A 91 = 95 C1")
    check(frame_raw(bytes.fromhex("3A91")) == bytes.fromhex("C03A91957DE1C1"), "3A 91 framed = C0 3A 91 95 7D E1 C1")
    check(fcs16_run(bytes.fromhex("3A719B26")) == 0xF0B8, "good final FCS 0xF0B8")
    check(encode_float(97) == 0x00000061 and encode_float(40.5) == 0xFF000195, "FLOAT 97 / 40.5")
    check(decode_float(0xFE007D00) == 320.0 and decode_float(0x007FFFFF) is None, "FLOAT 320 / NaN")
    files = sorted(glob.glob(os.path.join(fixtures, "intellivue_*_computed.bin")))
    check(len(files) >= 1, "found %d intellivue_*_computed.bin fixtures in %s" % (len(files), fixtures))
    for path in files:
        raw = open(path, "rb").read()
        res = Deframer().feed(raw)
        good = len(res) == 1 and res[0][0]
        check(good, "%s: one frame, FCS and length good" % os.path.basename(path))
        if good:
            check(frame(res[0][1]) == raw, "%s: re-framed byte-identical" % os.path.basename(path))
        if good and "poll_reply" in path:
            d = parse_data_export(res[0][1])
            nums = decode_poll_reply(d["args"], False)
            check([(n[0], n[3]) for n in nums] == [(0x4BB8, 97), (0x4822, 72), (0x500A, None), (0x7498, 40.5)],
                  "poll reply fixture decodes to SpO2 97, pulse 72, RR NaN, FiO2 40.5")
        if good and "poll_numerics" in path:
            d = parse_data_export(res[0][1])
            try:
                got = parse_poll_request(d["args"], False)
            except ValueError as e:
                got = str(e)
            check(d["ro_type"] == 1 and d["command_type"] == 7 and got == (ACT_POLL, 1, "scope"),
                  "poll request fixture parses as ROIV confirmed action 0x0C16 poll 1 (%r)" % (got,))
    # round trip of our own replies
    class O:
        pressure_unit, volume_unit, demo, plain, linked = "cmh2o", "ml", False, False, False
    vals = dict(DEFAULTS, fio2=40.5, rr=None)
    for act in (ACT_POLL, ACT_POLL_EXT):
        for linked in (False, True):
            O.linked = linked
            pls = poll_reply_payloads(7, act, 3, vals, O, 1234)
            nums = []
            for pl in pls:
                d = parse_data_export(pl)
                nums += decode_poll_reply(d["args"], act == ACT_POLL_EXT)
                Deframer().feed(frame(pl))
            got = {n[0]: n[3] for n in nums}
            want = {p[1]: vals[p[0]] for p in PARAMS}
            check(got == want and all(len(frame(pl)) < 1456 for pl in pls),
                  "own poll reply 0x%04X linked=%s round-trips" % (act, linked))
    return ok


# ---------------------------------------------------------------- peer
class Peer:
    def __init__(self, opts, port):
        self.o = opts
        self.port = port
        self.deframer = Deframer()
        self.values = dict(DEFAULTS)
        self.associated = False
        self.assoc_requests = 0
        self.mds_invoke = 0x0100
        self.mds_time = 0
        self.mds_result_seen = False
        self.last_valid = time.monotonic()
        self.replies = 0
        self.pulled_until = None
        self.pull_done = False
        self.abort_done = False
        self.t0 = time.monotonic()
        self.client = None

    def rel_time(self):
        return int((time.monotonic() - self.t0) * 8000) & 0xFFFFFFFF

    def send(self, payload):
        if self.o.udp:
            self.datagram(payload)
        else:
            self.write(frame(payload))

    def write(self, data):
        try:
            self.port.write(data)
        except Exception as e:
            log("write failed: %s" % e)

    def datagram(self, payload):
        if self.client is None:
            return
        try:
            self.port.sendto(payload, self.client)
        except Exception as e:
            log("send failed: %s" % e)

    def drop(self, why):
        if self.associated:
            log("association dropped: %s" % why)
        self.associated = False

    def tick(self):
        now = time.monotonic()
        if self.pulled_until is not None:
            if now >= self.pulled_until:
                self.pulled_until = None
                self.last_valid = now
                log("cable back: association forgotten, waiting for an association request")
            return
        if self.associated and now - self.last_valid > self.o.silence_s:
            self.drop("no valid frame for %.0f s" % self.o.silence_s)

    def on_bytes(self, data):
        if self.pulled_until is not None:
            return  # cable pulled: discard everything
        if self.o.udp:
            # One datagram is one message (no frame, no FCS: UDP's checksum guards it).
            self.last_valid = time.monotonic()
            try:
                self.on_payload(data)
            except Exception as e:
                log("datagram ignored (%s): %s" % (e, data[:24].hex()))
            return
        for ok, item in self.deframer.feed(data):
            if not ok:
                log("frame dropped: %s" % item)
                continue
            self.last_valid = time.monotonic()
            try:
                self.on_payload(item)
            except Exception as e:
                log("frame ignored (%s): %s" % (e, item[:24].hex()))
        if self.deframer.garbage:
            log("%d bytes outside frames ignored" % self.deframer.garbage)
            self.deframer.garbage = 0

    def on_payload(self, p):
        first = p[0] if p else None
        if first == 0x0D:
            self.assoc_requests += 1
            if self.o.refuse_first and self.assoc_requests == 1:
                self.send(ASSOC_REFUSE)
                log("association request -> refused (--refuse-first)")
                return
            self.send(ASSOC_RESPONSE)
            self.associated = True
            self.mds_invoke = (self.mds_invoke + 0x0111) & 0xFFFF or 0x0111
            self.mds_time = self.rel_time() | 0x01000000
            self.mds_result_seen = False
            self.send(mds_create_event(self.mds_invoke, self.mds_time))
            log("association request -> accepted; MDS create event report sent (invoke %d, event time 0x%08X)"
                % (self.mds_invoke, self.mds_time))
        elif first == 0x09:
            self.send(RELEASE_RESPONSE)
            log("release request -> release response")
            self.associated = False
        elif first == 0xE1:
            self.on_data_export(p)
        elif first == 0x19:
            log("abort received from client")
            self.associated = False
        else:
            log("unknown payload ignored: %s" % p[:16].hex())

    def on_data_export(self, p):
        d = parse_data_export(p)
        ro, inv = d["ro_type"], d.get("invoke_id")
        if ro == 2 and d["command_type"] == 1:
            a = d["args"]
            cls, = struct.unpack(">H", a[:2]) if len(a) >= 2 else (None,)
            etime, etype = struct.unpack(">IH", a[6:12]) if len(a) >= 12 else (None, None)
            if not self.associated:
                log("MDS create event result while not associated: ignored")
                return
            self.mds_result_seen = True
            log("MDS create event result: class 0x%04X event 0x%04X, invoke id %s (%d %s), event time %s "
                "(0x%08X %s)" % (cls or 0, etype or 0, "echoed" if inv == self.mds_invoke else "NOT echoed",
                                 inv, "want %d" % self.mds_invoke,
                                 "echoed" if etime == self.mds_time else "NOT echoed", etime or 0,
                                 "want 0x%08X" % self.mds_time))
            return
        if ro == 1 and d["command_type"] == 7:
            if not self.associated:
                log("poll invoke %d ignored: not associated" % inv)
                return
            try:
                act, poll_number, form = parse_poll_request(d["args"], self.o.accept_no_scope)
            except ValueError as e:
                log("poll invoke %d ignored: %s" % (inv, e))
                return
            if form != "scope":
                log("poll invoke %d has no scope field (accepted by --accept-no-scope)" % inv)
            self.poll_reply(inv, act, poll_number)
            return
        log("data export message ignored: ro_type %d command %s invoke %s" % (ro, d.get("command_type"), inv))

    def poll_reply(self, inv, act, poll_number):
        self.values = load_values(self.o.values, self.values)
        n = self.replies + 1
        if self.o.noise and n % 3 == 0 and self.o.udp:
            good = poll_reply_payloads(inv, act, poll_number, self.values, self.o, self.rel_time())[0]
            self.datagram(bytes([0x00, 0xFF, 0x11, 0x13, 0xC0, 0x7D]))
            self.datagram(good[:len(good) // 2])
            log("noise before poll reply %d: a datagram of garbage, then the reply cut in half" % n)
        elif self.o.noise and n % 3 == 0:
            bad = frame_bad_fcs(poll_reply_payloads(inv, act, poll_number, self.values, self.o, self.rel_time(),
                                                    corrupt=True)[0])
            self.write(bytes([0x00, 0xFF, 0x11, 0x13, EOF, 0x00]) + bytes.fromhex("C0110100057DC1") + bad)
            log("noise before poll reply %d: garbage, stray C1, aborted frame, frame with a bad FCS" % n)
        payloads = poll_reply_payloads(inv, act, poll_number, self.values, self.o, self.rel_time())
        for pl in payloads:
            self.send(pl)
        self.replies = n
        shown = ", ".join("%s=%s" % (k, self.values[k]) for k in [p[0] for p in PARAMS] if k in self.values)
        log("poll invoke %d (action 0x%04X poll %d) -> reply%s #%d [%s]%s"
            % (inv, act, poll_number, " as %d linked results" % len(payloads) if self.o.linked else "", n, shown,
               "" if self.mds_result_seen else " (no MDS create event result seen yet)"))
        if self.o.abort_after and not self.abort_done and n >= self.o.abort_after:
            self.abort_done = True
            self.send(ABORT)
            self.associated = False
            log("abort sent after %d poll replies: new association required" % n)
        if self.o.pull_after and not self.pull_done and n >= self.o.pull_after:
            self.pull_done = True
            self.associated = False
            self.pulled_until = time.monotonic() + self.o.pull_for
            log("cable pulled after %d poll replies for %.1f s" % (n, self.o.pull_for))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--ready")
    ap.add_argument("--values")
    ap.add_argument("--pressure-unit", choices=["cmh2o", "mbar"], default="cmh2o")
    ap.add_argument("--volume-unit", choices=["ml", "l"], default="ml")
    ap.add_argument("--demo", action="store_true")
    ap.add_argument("--linked", action="store_true")
    ap.add_argument("--refuse-first", action="store_true")
    ap.add_argument("--noise", action="store_true")
    ap.add_argument("--pull-after", type=int, default=0)
    ap.add_argument("--pull-for", type=float, default=5.0)
    ap.add_argument("--abort-after", type=int, default=0)
    ap.add_argument("--silence-s", type=float, default=15.0)
    ap.add_argument("--accept-no-scope", action="store_true")
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("--exit-after", type=int, default=0)
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--fixtures", default=DEFAULT_FIXTURES)
    ap.add_argument("--udp", type=int, default=0)
    o = ap.parse_args()
    if o.selftest:
        sys.exit(0 if selftest(o.fixtures) else 1)
    if o.udp:
        import socket
        signal.signal(signal.SIGTERM, lambda *_: (log("terminated"), sys.exit(0)))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", o.udp))
        sock.settimeout(0.05)
        if o.ready:
            open(o.ready, "w").close()
        log("IntelliVue peer on UDP 127.0.0.1:%d (Data Export over LAN)" % o.udp)
        peer = Peer(o, sock)
        while not (o.exit_after and peer.replies >= o.exit_after):
            try:
                data, sender = sock.recvfrom(65536)
            except socket.timeout:
                data = None
            if data:
                if peer.pulled_until is None:
                    peer.client = sender
                peer.on_bytes(data)
            peer.tick()
        log("exit after %d poll replies" % peer.replies)
        return
    if not o.port:
        ap.error("--port is required")
    import serial
    signal.signal(signal.SIGTERM, lambda *_: (log("terminated"), sys.exit(0)))
    port = serial.Serial(o.port, o.baud, timeout=0.05, write_timeout=2)
    if o.ready:
        open(o.ready, "w").close()
    log("IntelliVue peer on %s" % o.port)
    peer = Peer(o, port)
    while not (o.exit_after and peer.replies >= o.exit_after):
        try:
            data = port.read(512)
        except Exception as e:  # e.g. the other end of the pty went away
            log("read failed: %s" % e)
            time.sleep(0.2)
            try:
                port.close()
                port = serial.Serial(o.port, o.baud, timeout=0.05, write_timeout=2)
                peer.port = port
            except Exception as e2:
                log("reopen failed: %s" % e2)
            continue
        if data:
            peer.on_bytes(data)
        peer.tick()
    log("exit after %d poll replies" % peer.replies)
    time.sleep(0.2)
    port.close()


if __name__ == "__main__":
    main()
