#!/usr/bin/env python3
"""A small RELP server for the cases a real rsyslog does not produce on demand.

Speaks RELP as librelp's server does (open -> "200 OK" with offers, syslog -> "200 OK", close ->
an empty rsp then serverclose), except for the first --bad answers (or all, with --bad -1), which
follow --mode:

  status      answer the syslog command with "<--status> <text>" instead of 200
  malformed   answer the syslog command with a rsp whose data is not a status ("OK")
  silent      never answer the syslog command (the client must time out and reconnect)
  garbage     answer the syslog command with bytes that are not a RELP frame
  no-syslog   answer open with offers that do not include the syslog command (one "bad" per session)

Every syslog command received is logged to --log as one JSON line:
{"connection": N, "txnr": T, "message": "...", "answered": "200"|...}.
"""
import argparse
import json
import os
import socket
import sys
import threading


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--ready", required=True)
    parser.add_argument("--mode", default="ok", choices=["ok", "status", "malformed", "silent", "garbage", "no-syslog"])
    parser.add_argument("--status", default="500")
    parser.add_argument("--bad", type=int, default=-1, help="how many bad answers before behaving; -1: never behave")
    return parser.parse_args()


ARGS = parse_args()
LOCK = threading.Lock()
STATE = {"bad_left": ARGS.bad, "connections": 0}


def take_bad():
    with LOCK:
        if STATE["bad_left"] == 0:
            return False
        if STATE["bad_left"] > 0:
            STATE["bad_left"] -= 1
        return True


def log(record):
    with LOCK:
        with open(ARGS.log, "a") as out:
            out.write(json.dumps(record) + "\n")


def frame(txnr, command, data=b""):
    header = b"%d %s %d" % (txnr, command, len(data))
    return header + (b" " + data if data else b"") + b"\n"


class FrameReader:
    """Frames of the client: TXNR SP COMMAND SP DATALEN [SP DATA] LF (no validation beyond that)."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError
        self.buffer += chunk

    def _token(self):
        while b" " not in self.buffer and b"\n" not in self.buffer:
            self._fill()
        cut = min(i for i in (self.buffer.find(b" "), self.buffer.find(b"\n")) if i >= 0)
        token, separator, self.buffer = self.buffer[:cut], self.buffer[cut:cut + 1], self.buffer[cut + 1:]
        return token, separator

    def next(self):
        txnr, _ = self._token()
        command, _ = self._token()
        length, separator = self._token()
        length = int(length)
        data = b""
        if length > 0:
            while len(self.buffer) < length + 1:
                self._fill()
            data, trailer, self.buffer = self.buffer[:length], self.buffer[length:length + 1], self.buffer[length + 1:]
            if trailer != b"\n":
                raise ValueError("no LF after the data")
        elif separator != b"\n":
            raise ValueError("no LF after DATALEN 0")
        return int(txnr), command.decode(), data


def serve(sock, number):
    reader = FrameReader(sock)
    try:
        while True:
            txnr, command, data = reader.next()
            if command == "open":
                offers = b"relp_version=0\nrelp_software=alveo-test-peer\ncommands=syslog"
                if ARGS.mode == "no-syslog" and take_bad():
                    offers = b"relp_version=0\nrelp_software=alveo-test-peer\ncommands="
                sock.sendall(frame(txnr, b"rsp", b"200 OK\n" + offers))
            elif command == "syslog":
                answered = "200"
                if ARGS.mode in ("status", "malformed", "silent", "garbage") and take_bad():
                    answered = ARGS.mode if ARGS.mode != "status" else ARGS.status
                log({"connection": number, "txnr": txnr, "message": data.decode("utf-8", "replace"), "answered": answered})
                if answered == "silent":
                    continue
                if answered == "garbage":
                    sock.sendall(b"\x00\xffHTTP/1.1 400 Bad Request\r\n\r\n")
                    continue
                if answered == "malformed":
                    sock.sendall(frame(txnr, b"rsp", b"OK"))
                    continue
                text = b"OK" if answered == "200" else b"error (test peer)"
                sock.sendall(frame(txnr, b"rsp", answered.encode() + b" " + text))
            elif command == "close":
                log({"connection": number, "txnr": txnr, "command": "close"})
                sock.sendall(frame(txnr, b"rsp"))
                sock.sendall(frame(0, b"serverclose"))
                return
            else:
                sock.sendall(frame(txnr, b"rsp", b"500 unknown command"))
    except (EOFError, ConnectionError, ValueError):
        pass
    finally:
        sock.close()


def main():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", ARGS.port))
    server.listen(16)
    with open(ARGS.ready, "w") as ready:
        ready.write(str(os.getpid()))
    while True:
        sock, _ = server.accept()
        with LOCK:
            STATE["connections"] += 1
            number = STATE["connections"]
        threading.Thread(target=serve, args=(sock, number), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
