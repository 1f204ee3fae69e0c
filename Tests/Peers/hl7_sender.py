#!/usr/bin/env python3
"""A real HL7 v2 MLLP sender (python-hl7's client) for Alveo's listener tests: a laboratory system
or an ADT feed. Sends each message file given (segments one per line; CR-separated on the wire),
optionally over TLS with a client certificate, and prints one JSON line per message:
{"file", "ack_code", "ack_text", "control_id", "ack"} ("ack": the ACK as received); or {"file", "error"}
when the connection fails or no ACK comes within --timeout seconds. Messages must be valid HL7 (python-hl7 parses them before sending).

    hl7_sender.py --port 2575 [--tls-ca ca.pem --tls-cert c.pem --tls-key c.key] msg1.hl7 msg2.hl7
"""
import argparse
import json
import socket
import ssl
import sys

import hl7
from hl7.client import MLLPClient


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--tls-ca", help="trust this CA for the listener's certificate")
    parser.add_argument("--tls-cert", help="client certificate (PEM)")
    parser.add_argument("--tls-key", help="client key (PEM)")
    parser.add_argument("--raw", action="store_true", help="send the file's bytes as they are in one MLLP frame (no parsing)")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()

    try:
        client = MLLPClient(args.host, args.port)
        client.socket.settimeout(args.timeout)
        if args.tls_ca:
            context = ssl.create_default_context(cafile=args.tls_ca)
            context.check_hostname = False
            if args.tls_cert:
                context.load_cert_chain(args.tls_cert, args.tls_key)
            client.socket = context.wrap_socket(client.socket)
    except Exception as error:  # report, do not trace back
        print(json.dumps({"file": None, "error": f"{type(error).__name__}: {error}"}), flush=True)
        return 1
    status = 0
    for path in args.files:
        with open(path, "rb") as handle:
            data = handle.read()
        try:
            if args.raw:
                answer = client.send(b"\x0b" + data + b"\x1c\r")
            else:
                text = data.decode("utf-8").replace("\r\n", "\r").replace("\n", "\r").strip("\r")
                message = hl7.parse(text)
                answer = client.send_message(message)
            if not answer:
                raise ConnectionError("no ACK: the connection was closed")
            raw = answer.strip(b"\x0b\x1c\r\n").decode("utf-8")
            ack = hl7.parse(raw)
            msa = ack.segment("MSA")
            print(json.dumps({"file": path, "ack_code": str(msa[1]), "control_id": str(msa[2]),
                              "ack_text": str(msa[3]) if len(msa) > 3 else "", "ack": raw}), flush=True)
        except Exception as error:
            print(json.dumps({"file": path, "error": f"{type(error).__name__}: {error}"}), flush=True)
            status = 1
            break
    try:
        client.close()
    except Exception:
        pass
    return status


if __name__ == "__main__":
    sys.exit(main())
