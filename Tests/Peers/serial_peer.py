#!/usr/bin/env python3
"""A serial peer (pyserial) for Alveo's libserialport tests: on a socat pty end, wait for the
expected request bytes, then answer. `--ready FILE` is written once the port is open.

  serial_peer.py --port /tmp/ttyA --baud 19200 --expect 70696e67 --reply 504f4e47
"""
import argparse
import serial

parser = argparse.ArgumentParser()
parser.add_argument("--port", required=True)
parser.add_argument("--baud", type=int, default=9600)
parser.add_argument("--expect", required=True, help="hex bytes to wait for")
parser.add_argument("--reply", required=True, help="hex bytes to send back")
parser.add_argument("--ready")
parser.add_argument("--timeout", type=float, default=30)
args = parser.parse_args()

expect, reply = bytes.fromhex(args.expect), bytes.fromhex(args.reply)
port = serial.Serial(args.port, args.baud, timeout=args.timeout)
if args.ready:
    open(args.ready, "w").close()
received = port.read(len(expect))
if received == expect:
    port.write(reply)
    port.flush()
else:
    port.write(b"?" + received)
