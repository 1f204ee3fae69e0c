#!/usr/bin/env python3
"""Serial device peers (pyserial) for Alveo's end-to-end tests, built from the shared fixtures.

  serial_device.py --port A --baud 9600 stream FILE [--interval S] [--noise]   Masimo lines / Nonin packets, repeated
  serial_device.py --port A --baud 9600 pb840 FILE                             answers each SNDF with FILE
  serial_device.py --port A --baud 19200 medibus FILE                          echoes ICC/NOP, answers measured data with FILE
  serial_device.py --port A --baud 9600 nonin-nak FILE [--naks N] [--interval S]
      a Nonin already streaming FILE's format 8 frames (one every S s): it answers each format selection
      (02 70 02 02 <fmt> 03, device-protocols.md) with NAK (15) for the first N, then ACK (06), each time
      followed by its next frame in the same write; logs "selection #k at T s -> NAK|ACK" to stderr
`--ready F` is written once the port is open. `--stop-after N` closes the port after N replies/frames
(the device is "unplugged").
"""
import argparse
import sys
import time

import serial

parser = argparse.ArgumentParser()
parser.add_argument("--port", required=True)
parser.add_argument("--baud", type=int, default=9600)
parser.add_argument("--ready")
parser.add_argument("--stop-after", type=int, default=0)
parser.add_argument("mode", choices=["stream", "pb840", "medibus", "nonin-nak"])
parser.add_argument("file")
parser.add_argument("--interval", type=float, default=0.1)
parser.add_argument("--noise", action="store_true", help="garbage and a corrupted copy between good frames")
parser.add_argument("--naks", type=int, default=1, help="nonin-nak: format selections answered with NAK before an ACK")
args = parser.parse_args()

payload = open(args.file, "rb").read()
port = serial.Serial(args.port, args.baud, timeout=0.2)
if args.ready:
    open(args.ready, "w").close()
sent = 0


def done():
    return args.stop_after and sent >= args.stop_after


if args.mode == "stream":
    frames = payload.splitlines(keepends=True) if payload[:1].isdigit() else [payload]
    while not done():
        for frame in frames:
            if args.noise:
                port.write(b"\x00\xff\x13garbage")
                corrupted = bytearray(frame)
                corrupted[len(corrupted) // 2] ^= 0x5A
                port.write(bytes(corrupted))
            port.write(frame)
            sent += 1
            time.sleep(args.interval)
elif args.mode == "pb840":
    buffer = b""
    while not done():
        buffer += port.read(64)
        while b"SNDF\r" in buffer:
            buffer = buffer.split(b"SNDF\r", 1)[1]
            if args.noise:
                port.write(b"\xff\x00noise" + payload[:300])  # a truncated reply first
            port.write(payload)
            sent += 1
elif args.mode == "nonin-nak":
    frames = [payload[i:i + 4] for i in range(0, len(payload) - 3, 4)]
    started, buffer, selections, index, next_frame = time.monotonic(), b"", 0, 0, 0.0
    port.timeout = 0.05
    while not done():
        buffer += port.read(64)
        while b"\x02\x70\x02\x02" in buffer and len(buffer.split(b"\x02\x70\x02\x02", 1)[1]) >= 2:
            rest = buffer.split(b"\x02\x70\x02\x02", 1)[1]
            buffer = rest[2:]
            selections += 1
            answer = b"\x15" if selections <= args.naks else b"\x06"
            # The answer and the next frame of the running stream in one write (one read for Alveo).
            port.write(answer + frames[index % len(frames)])
            index += 1
            sent += 1
            sys.stderr.write("selection #%d of format %d at %.3f s -> %s\n" % (
                selections, rest[0], time.monotonic() - started, "NAK" if answer == b"\x15" else "ACK"))
            sys.stderr.flush()
        if time.monotonic() >= next_frame:
            next_frame = time.monotonic() + args.interval
            port.write(frames[index % len(frames)])
            index += 1
            sent += 1
else:
    def checksum(data):
        return ("%02X" % (sum(data) % 256)).encode()
    buffer = b""
    while not done():
        buffer += port.read(64)
        while b"\r" in buffer:
            frame, buffer = buffer.split(b"\r", 1)
            if len(frame) >= 2 and frame[0] == 0x1B:
                code = frame[1:2]
                if code in (b"Q", b"0"):
                    port.write(b"\x01" + code + checksum(b"\x01" + code) + b"\r")
                elif code == b"$":
                    port.write(payload)
                    sent += 1
port.close()
