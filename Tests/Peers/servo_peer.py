#!/usr/bin/env python3
"""Simulated Maquet SERVO-i ventilator (Computer Interface Emulator, CIE) for Alveo's end-to-end tests.

Written from /work/shared/device-protocols-monitors-vents.md, the servo_cie_* fixtures and the text of
Maquet's "SERVO-i/SERVO-s Computer Interface Emulator Reference Manual" 65 43 388 rev 12 (§2.2.3 error
messages, §4.4 RADC, §4.9 RCCO, §4.21 SDAD) only (not from Alveo's encoder), so a misunderstanding shared
with Alveo cannot hide.

  servo_peer.py --port A [--baud 9600] [--ready FILE] [--values FILE] [options]
  servo_peer.py --selftest [--fixtures DIR]

Starts in BASIC mode (only RCTY, with or without checksum, and HO are understood; replies without checksum).
RCTY -> Servo-i0<CHK><EOT> and EXTENDED mode: every command needs its 2-char uppercase XOR checksum before
EOT (wrong -> ER18, unknown -> ER10, bad syntax -> ER11, unknown channel / out of range -> ER12, RADAB/RADC
without breath channels -> ER16; RADC with no channel at all -> binary error E0 10 7F CHK). Commands: <EOT> (-> *), HO (-> 900PCI<EOT>, BASIC), RCTY, RHVE (-> 005),
SPVE<nnn>, SDADB<ch>... (200 RR, 201 Vte, 205 Ppeak, 207 Pplat, 208 PEEP, 209 O2), SDADC<ch>... (100 flow,
101 pressure), RCCO<ch> (manual §4.9: <sampling_time>;<ch>,<gain>,<offset>,<unit>,<type>,FFFF;), RADAB, RADC (binary stream of curve blocks and a breath block every --breath-s s;
ESC stops it). 0x11/0x13 are ignored in commands; an incomplete command is discarded after 10 s.

Options:
  --values FILE          JSON {"rr":16,"vt":450,"ppeak":28,"pplat":22,"peep":5,"fio2":40,...}; re-read before
                         every data reply (RADAB reply or breath block); missing/invalid file keeps the last
                         values; null (or a key left out) = no value (9999 / 7E FF)
  --gain-vt G            gain of channel 201 reported by RCCO and used for its raw values (default 1)
  --breath-s S           seconds between breath blocks in RADC (default 2)
  --replay-fixture FILE  send FILE's bytes once after RADC, then generate
  --standby-after N      after N data replies answer ER17 to RADAB/RADC for 10 s (a running RADC stream
                         gets the binary error E0 11 7F CHK and stops), then resume (once)
  --noise                before every 3rd data reply: 00 FF 11 13 and a copy with wrong values and a wrong
                         checksum, then the correct reply
  --pull-after N --pull-for S   after N data replies act as a pulled cable for S s (read and discard, send
                         nothing), then resume in the same state (once)
  --exit-after N         exit after N data replies
  --strict               RADC as the manual says (§4.4): with no curve channel defined (SDADC) it answers the
                         binary error 16 (E0 10 7F CHK), breath channels or not
  --refuse-radc          RADC always answered with the binary error 16 (a ventilator that never streams)
  --ready FILE           written once the port is open
Logs one line per protocol event to stderr ("peer: ...").
"""
import argparse
import glob
import json
import math
import os
import signal
import sys
import time

EOT, ESC_KEY = 0x04, 0x1B
XON, XOFF = 0x11, 0x13

BREATH = {  # channel: (values key, gain, unit code, id)
    200: ("rr", 0.1, "06", "RR"),
    201: ("vt", 1.0, "01", "VTE"),
    205: ("ppeak", 0.1, "04", "PPEAK"),
    207: ("pplat", 0.1, "04", "PPLAT"),
    208: ("peep", 0.1, "04", "PEEP"),
    209: ("fio2", 0.1, "07", "O2"),
}
CURVE = {  # channel: (gain, offset, unit code, id) -- not given by the doc, invented for the simulation
    100: (1.0, 16384.0, "02", "FLOW"),
    101: (0.1, 0.0, "04", "PAW"),
}
SAMPLING_MS = 20  # the manual's default sampling time (§4.23), first in every RCCO reply (§4.9)
DEFAULTS = {"spo2": 97, "pulse_rate": 72, "fio2": 40, "vt": 450, "pplat": 22, "peep": 5, "ppeak": 28, "rr": 16}


def log(msg):
    sys.stderr.write("peer: %s\n" % msg)
    sys.stderr.flush()


def xor(data):
    c = 0
    for b in data:
        c ^= b
    return c


def chk(text):
    """2 uppercase hex chars of the XOR of the message bytes."""
    return b"%02X" % xor(text)


def binary_block(body):
    """body starts with the block flag; appends 7F and the XOR of everything including 7F."""
    b = bytes(body) + b"\x7f"
    return b + bytes([xor(b)])


def format_gain(g):
    """XXXXXE±YYY, e.g. 0.1 -> 00001E-001, 1 -> 00001E+000, 10 -> 00010E+000."""
    for e in sorted(range(-6, 7), key=abs):
        m = g / 10.0 ** e
        if abs(m - round(m)) < 1e-9 and 0 <= round(m) <= 99999:
            return "%05dE%s%03d" % (round(m), "+" if e >= 0 else "-", abs(e))
    raise ValueError("gain %r not representable" % g)


def load_values(path, last):
    if not path:
        return last
    try:
        with open(path) as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        for key, v in data.items():
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise ValueError("%s is not a number or null" % key)
        return data
    except Exception as e:
        log("values file %s unusable (%s): keeping last values" % (path, e))
        return last


# ---------------------------------------------------------------- selftest
DEFAULT_FIXTURES = os.environ.get("ALVEO_DEVICE_FIXTURES", "/work/shared/fixtures/devices")


def split_checked(msg):
    """b'RCTY1C' -> (b'RCTY', True)."""
    if len(msg) < 2:
        return msg, False
    body, c = msg[:-2], msg[-2:]
    return body, c == chk(body)


def selftest(fixtures=DEFAULT_FIXTURES):
    ok = True

    def check(cond, what):
        nonlocal ok
        log("selftest %s: %s" % ("ok" if cond else "FAILED", what))
        ok = ok and bool(cond)

    check(chk(b"RCTY") == b"1C", "doc example: RCTY -> 1C")
    check(b"RCTY" + chk(b"RCTY") + b"\x04" == bytes.fromhex("52435459314304"), "doc example bytes 52 43 54 59 31 43 04")
    check(format_gain(0.1) == "00001E-001" and format_gain(1) == "00001E+000", "gain format 0.1 / 1")
    files = sorted(glob.glob(os.path.join(fixtures, "servo_cie_*_computed.bin")))
    check(len(files) >= 1, "found %d servo_cie_*_computed.bin fixtures in %s" % (len(files), fixtures))
    for path in files:
        raw = open(path, "rb").read()
        name = os.path.basename(path)
        check(raw.endswith(b"\x04") and raw.count(b"\x04") == 1, "%s: one message ending in EOT" % name)
        body, good = split_checked(raw[:-1])
        check(good, "%s: checksum %s matches XOR of %r" % (name, raw[-3:-1].decode(), body.decode()))
    # replies we generate must equal the computed reply fixtures
    p = Peer.__new__(Peer)
    p.values, p.o = dict(DEFAULTS), argparse.Namespace(gain_vt=1.0)
    p.breath = [200, 201, 205, 207, 208, 209]
    rcty = os.path.join(fixtures, "servo_cie_rcty_reply_computed.bin")
    if os.path.exists(rcty):
        check(b"Servo-i0" + chk(b"Servo-i0") + b"\x04" == open(rcty, "rb").read(), "RCTY reply = fixture")
    radab = os.path.join(fixtures, "servo_cie_radab_reply_computed.bin")
    if os.path.exists(radab):
        text = p.radab_text()
        check(text + chk(text) + b"\x04" == open(radab, "rb").read(), "RADAB reply for the defaults = fixture")
    breath = os.path.join(fixtures, "servo_cie_radc_breath_servoscreen.bin")
    if os.path.exists(breath):
        raw = open(breath, "rb").read()
        check(binary_block(raw[:-2]) == raw, "breath block checksum = real fixture (XOR incl. 42 and 7F)")
        p.breath = [200, 205, 209]
        p.values = {"rr": 16.7, "ppeak": 20.8, "fio2": 100}
        check(p.breath_block() == raw, "our breath block for RR 16.7 Ppeak 20.8 O2 100 = real fixture")
    return ok


# ---------------------------------------------------------------- peer
class Peer:
    def __init__(self, opts, port):
        self.o = opts
        self.port = port
        self.values = dict(DEFAULTS)
        self.extended = False
        self.breath = []
        self.curve = []
        self.version = 1
        self.buf = bytearray()
        self.last_rx = 0.0
        self.streaming = False
        self.next_breath = 0.0
        self.next_curve = 0.0
        self.curve_t = 0.0
        self.curve_last = {}
        self.curve_phase = None
        self.replies = 0
        self.pulled_until = None
        self.pull_done = False
        self.standby_until = None
        self.standby_done = False
        self.radc_attempts = 0
        self.started = time.monotonic()

    # --- output
    def write(self, data):
        try:
            self.port.write(data)
        except Exception as e:
            log("write failed: %s" % e)

    def reply(self, text):
        """ASCII reply: with checksum in EXTENDED mode."""
        self.write(text + (chk(text) if self.extended else b"") + b"\x04")

    def error(self, code, why):
        self.reply(b"ER%d" % code)
        log("%s -> ER%d" % (why, code))

    # --- values
    def gain(self, ch):
        return self.o.gain_vt if ch == 201 else BREATH[ch][1]

    def raw(self, ch):
        v = self.values.get(BREATH[ch][0])
        if v is None:
            return None
        return int(math.floor(v / self.gain(ch) + 0.5 + 1e-9))

    def radab_text(self, corrupt=False):
        out = b""
        for ch in self.breath:
            r = self.raw(ch)
            if corrupt:
                r = 1234
            out += b"9999" if r is None else b"%04d" % max(0, min(9998, r))
        return out

    def breath_block(self, corrupt=False):
        body = bytearray(b"B")
        for ch in self.breath:
            r = self.raw(ch)
            if corrupt:
                r = 1234
            body += b"\x7e\xff" if r is None else max(0, min(0x7EFE, r)).to_bytes(2, "big")
        return binary_block(body)

    def data_reply_count(self, what):
        self.replies += 1
        n = self.replies
        shown = ", ".join("%d=%s" % (ch, self.values.get(BREATH[ch][0])) for ch in self.breath)
        log("%s #%d [%s]" % (what, n, shown))
        if self.o.standby_after and not self.standby_done and n >= self.o.standby_after:
            self.standby_done = True
            self.standby_until = time.monotonic() + 10.0
            log("standby for 10 s after %d data replies (RADAB/RADC -> ER17)" % n)
        if self.o.pull_after and not self.pull_done and n >= self.o.pull_after:
            self.pull_done = True
            self.pulled_until = time.monotonic() + self.o.pull_for
            log("cable pulled after %d data replies for %.1f s" % (n, self.o.pull_for))

    def in_standby(self):
        if self.standby_until is not None and time.monotonic() >= self.standby_until:
            self.standby_until = None
            log("standby over")
        return self.standby_until is not None

    # --- input
    def on_bytes(self, data):
        if self.pulled_until is not None:
            return
        for b in data:
            if b == ESC_KEY:
                if self.streaming:
                    self.streaming = False
                    log("ESC -> RADC stopped")
                elif self.buf:
                    log("ESC: partial command %r discarded" % bytes(self.buf))
                else:
                    log("ESC outside RADC ignored")
                self.buf.clear()
                continue
            if self.streaming:
                continue  # only ESC is understood while streaming
            if b in (XON, XOFF):
                continue
            if b == EOT:
                cmd = bytes(self.buf)
                self.buf.clear()
                try:
                    self.on_command(cmd)
                except Exception as e:
                    log("command %r raised %s: ignored" % (cmd, e))
                if self.pulled_until is not None:
                    return
                continue
            self.buf.append(b)
            self.last_rx = time.monotonic()
            if len(self.buf) > 1024:
                log("command longer than 1024 bytes discarded")
                self.buf.clear()

    def on_command(self, msg):
        if msg in (b"HO", b"HO" + chk(b"HO")):
            self.write(b"900PCI\x04")
            self.extended, self.breath, self.curve, self.version = False, [], [], 1
            log("HO -> 900PCI, BASIC mode")
            return
        if not self.extended:
            if msg in (b"RCTY", b"RCTY" + chk(b"RCTY")):
                self.rcty()
            elif msg == b"":
                self.reply(b"*")
                log("empty command (BASIC) -> *")
            else:
                self.error(10, "BASIC mode: %r not understood" % msg)
            return
        if msg == b"":
            self.reply(b"*")
            log("empty command -> *")
            return
        body, good = split_checked(msg)
        if not good:
            self.error(18, "checksum error in %r" % msg)
            return
        self.on_extended(body)

    def rcty(self):
        self.extended, self.breath, self.curve, self.version = True, [], [], 1
        self.reply(b"Servo-i0")
        log("RCTY -> Servo-i0, EXTENDED mode, channel tables cleared")

    def on_extended(self, body):
        if body == b"":
            self.reply(b"*")
            log("empty command (with checksum 00) -> *")
        elif body == b"RCTY":
            self.rcty()
        elif body == b"RHVE":
            self.reply(b"005")
            log("RHVE -> 005")
        elif body.startswith(b"SPVE"):
            arg = body[4:]
            if len(arg) != 3 or not arg.isdigit():
                self.error(11, "SPVE syntax %r" % body)
            elif not 1 <= int(arg) <= 5:
                self.error(12, "SPVE%s out of range" % arg.decode())
            else:
                self.version, self.breath, self.curve = int(arg), [], []
                self.reply(b"*")
                log("SPVE%s -> * (tables cleared)" % arg.decode())
        elif body.startswith(b"SDADB") or body.startswith(b"SDADC"):
            kind, known = (b"B", BREATH) if body[4:5] == b"B" else (b"C", CURVE)
            arg = body[5:]
            if not arg or len(arg) % 3 or not arg.isdigit():
                self.error(11, "SDAD%s syntax %r" % (kind.decode(), body))
                return
            chans = [int(arg[i:i + 3]) for i in range(0, len(arg), 3)]
            unknown = [c for c in chans if c not in known]
            if len(chans) > 50 or unknown:
                self.error(12, "SDAD%s channels %s (unknown %s)" % (kind.decode(), chans, unknown))
                return
            if kind == b"B":
                self.breath = chans
            else:
                self.curve = chans
            self.reply(b"*")
            log("SDAD%s %s -> *" % (kind.decode(), chans))
        elif body.startswith(b"RCCO"):
            arg = body[4:]
            if len(arg) != 3 or not arg.isdigit():
                self.error(11, "RCCO syntax %r" % body)
                return
            ch = int(arg)
            if ch in BREATH:
                text = "%03d;%03d,%s,%s,%s,BT,FFFF;" % (SAMPLING_MS, ch, format_gain(self.gain(ch)), format_gain(0),
                                                        BREATH[ch][2])
            elif ch in CURVE:
                g, off, unit, ident = CURVE[ch]
                text = "%03d;%03d,%s,%s,%s,CU,FFFF;" % (SAMPLING_MS, ch, format_gain(g), format_gain(off), unit)
            else:
                self.error(12, "RCCO%03d unknown channel" % ch)
                return
            self.reply(text.encode())
            log("RCCO%03d -> %s" % (ch, text))
        elif body == b"RADAB":
            if not self.breath:
                self.error(16, "RADAB without breath channels")
            elif self.in_standby():
                self.error(17, "RADAB in standby")
            else:
                self.values = load_values(self.o.values, self.values)
                if self.o.noise and (self.replies + 1) % 3 == 0:
                    bad = self.radab_text(corrupt=True)
                    c = bytearray(chk(bad))
                    c[0] = ord("0") if c[0] != ord("0") else ord("1")
                    self.write(b"\x00\xff\x11\x13" + bad + bytes(c) + b"\x04")
                    log("noise before RADAB reply: garbage and a reply with a wrong checksum")
                self.reply(self.radab_text())
                self.data_reply_count("RADAB -> reply")
        elif body == b"RADC":
            self.radc_attempts += 1
            log("RADC attempt #%d at %.3f s" % (self.radc_attempts, time.monotonic() - self.started))
            if self.o.refuse_radc or (not self.curve and (self.o.strict or not self.breath)):
                # §2.2.3/§4.4: "If no curve channels are defined, this command returns the binary error code 16".
                self.write(binary_block(b"\xe0\x10"))
                log("RADC %s -> binary error E0 10 (CIE not configured)"
                    % ("refused (--refuse-radc)" if self.o.refuse_radc else "without curve channels"))
            elif self.in_standby():
                self.error(17, "RADC in standby")
            else:
                self.streaming = True
                now = time.monotonic()
                self.next_breath = now + self.o.breath_s
                self.next_curve = now
                self.curve_t = 0.0
                self.curve_last = {}
                self.curve_phase = None
                log("RADC -> stream started (breath %s, curve %s, every %.1f s)"
                    % (self.breath, self.curve, self.o.breath_s))
                if self.o.replay_fixture:
                    try:
                        data = open(self.o.replay_fixture, "rb").read()
                        self.write(data)
                        log("RADC: replayed %d bytes of %s" % (len(data), self.o.replay_fixture))
                    except OSError as e:
                        log("RADC: replay failed: %s" % e)
        elif body.startswith(b"RADC") or body.startswith(b"RADAB") or body.startswith(b"RHVE"):
            self.error(11, "syntax %r" % body)
        else:
            self.error(10, "unknown command %r" % body)

    # --- RADC generation
    def curve_value(self, ch, t):
        """Simulated waveform at t seconds into a breath cycle; returns (phase, raw)."""
        period = self.o.breath_s
        x = (t % period) / period
        insp = x < 1 / 3.0
        phase = 0x10 if insp else 0x30
        peep = self.values.get("peep") or 5
        ppeak = self.values.get("ppeak") or 28
        if ch == 101:
            p = peep + (ppeak - peep) * (math.sin(math.pi * x * 3) if insp else math.exp(-(x - 1 / 3.0) * 12))
            raw = int(round(p / 0.1))
        else:
            flow = 500 * math.sin(math.pi * x * 3) if insp else -600 * math.exp(-(x - 1 / 3.0) * 8)
            raw = int(round(flow + 16384))
        return phase, max(0, min(0xFFFF, raw))

    def tick(self):
        now = time.monotonic()
        if self.pulled_until is not None:
            if now < self.pulled_until:
                return
            self.pulled_until = None
            self.buf.clear()
            log("cable back")
            if self.streaming:
                self.next_breath = now + self.o.breath_s
        if self.buf and now - self.last_rx > 10.0:
            log("character timeout: incomplete command %r discarded" % bytes(self.buf))
            self.buf.clear()
        if not self.streaming:
            return
        if self.curve and now >= self.next_curve:
            self.next_curve = now + 0.25
            # Each chunk is ended by the end flag (an interruption, manual §4.4): the next one starts
            # again with the phase flag and absolute values ("absolute values are sent first").
            self.curve_last = {}
            self.curve_phase = None
            body = bytearray()
            samples = 12
            for _ in range(samples):
                for ch in self.curve:
                    phase, raw = self.curve_value(ch, self.curve_t)
                    if phase != self.curve_phase:
                        body += bytes([0x81, phase])
                        self.curve_phase = phase
                    last = self.curve_last.get(ch)
                    d = None if last is None else raw - last
                    if d is None or not -126 <= d <= 126:
                        body += b"\x80" + raw.to_bytes(2, "big")
                    else:
                        body.append(d & 0xFF)
                    self.curve_last[ch] = raw
                self.curve_t += 0.25 / samples
            self.write(binary_block(body))
        if self.breath and now >= self.next_breath:
            self.next_breath = now + self.o.breath_s
            if self.in_standby():
                return
            self.values = load_values(self.o.values, self.values)
            if self.o.noise and (self.replies + 1) % 3 == 0:
                bad = bytearray(self.breath_block(corrupt=True))
                bad[-1] ^= 0x5A
                self.write(b"\x00\xff\x11\x13" + bytes(bad))
                log("noise before breath block: garbage and a block with a wrong checksum")
            self.write(self.breath_block())
            self.data_reply_count("RADC breath block")
            if self.standby_until is not None:
                self.write(binary_block(b"\xe0\x11"))
                self.streaming = False
                log("standby: binary error E0 11 sent, RADC stopped")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port")
    ap.add_argument("--baud", type=int, default=9600)
    ap.add_argument("--ready")
    ap.add_argument("--values")
    ap.add_argument("--gain-vt", type=float, default=1.0)
    ap.add_argument("--breath-s", type=float, default=2.0)
    ap.add_argument("--replay-fixture")
    ap.add_argument("--standby-after", type=int, default=0)
    ap.add_argument("--noise", action="store_true")
    ap.add_argument("--pull-after", type=int, default=0)
    ap.add_argument("--pull-for", type=float, default=5.0)
    ap.add_argument("--exit-after", type=int, default=0)
    ap.add_argument("--strict", action="store_true")
    ap.add_argument("--refuse-radc", action="store_true")
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--fixtures", default=DEFAULT_FIXTURES)
    o = ap.parse_args()
    if o.selftest:
        sys.exit(0 if selftest(o.fixtures) else 1)
    if not o.port:
        ap.error("--port is required")
    format_gain(o.gain_vt)
    import serial
    signal.signal(signal.SIGTERM, lambda *_: (log("terminated"), sys.exit(0)))
    port = serial.Serial(o.port, o.baud, timeout=0.05, write_timeout=2)
    if o.ready:
        open(o.ready, "w").close()
    log("SERVO-i peer on %s (BASIC mode)" % o.port)
    peer = Peer(o, port)
    while not (o.exit_after and peer.replies >= o.exit_after):
        try:
            data = port.read(256)
        except Exception as e:
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
    log("exit after %d data replies" % peer.replies)
    time.sleep(0.2)
    port.close()


if __name__ == "__main__":
    main()
