#!/usr/bin/env python3
"""A real HL7 v2 MLLP receiver (python-hl7's asyncio server) for Alveo's output tests.

Every message is parsed with python-hl7, its segments validated with hl7apy (v2.6, strict, per
segment: hl7apy has no ORU_R40 structure for 2.6), and recorded as one JSON line in --log:
{"control_id", "type", "ack", "segments": [...], "valid": true|false, "errors": [...]}.

Answers (--mode):  aa          AA to everything
                   ae-first N  AE to the first N messages, then AA
                   ar-seq K    AR to the message whose MSH-10 ends in "-K", AA otherwise
                   noack-first N  no answer to the first N messages (the sender must resend), then AA
`--ready FILE` is written once listening.
"""
import argparse
import asyncio
import json
import os
import ssl

import hl7
from hl7.mllp import start_hl7_server
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_segment


def validate(text):
    errors = []
    for raw in text.replace("\n", "\r").split("\r"):
        if not raw:
            continue
        try:
            parse_segment(raw, version="2.6", validation_level=VALIDATION_LEVEL.STRICT).validate()
        except Exception as error:  # record, do not crash the receiver
            errors.append(f"{raw[:3]}: {type(error).__name__}: {error}")
    return errors


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--mode", default="aa")
    parser.add_argument("--n", type=int, default=0)
    parser.add_argument("--ready")
    parser.add_argument("--fast", action="store_true", help="benchmarks: answer AA without validating or logging")
    parser.add_argument("--tls-cert", help="serve MLLP over TLS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="and this key (PEM)")
    args = parser.parse_args()
    counter = {"n": 0}

    async def handle(reader, writer):
        try:
            while not writer.is_closing():
                message = await reader.readmessage()
                if args.fast:
                    writer.writemessage(message.create_ack(ack_code="AA"))
                    await writer.drain()
                    continue
                counter["n"] += 1
                n = counter["n"]
                text = str(message)
                control_id = str(message.segment("MSH")[10])
                code = "AA"
                if args.mode == "ae-first" and n <= args.n:
                    code = "AE"
                elif args.mode == "ar-seq" and control_id.endswith(f"-{args.n}"):
                    code = "AR"
                errors = validate(text)
                answered = not (args.mode == "noack-first" and n <= args.n)
                with open(args.log, "a") as log:
                    log.write(json.dumps({"control_id": control_id, "type": str(message.segment("MSH")[9]),
                                          "ack": code if answered else None, "valid": not errors, "errors": errors,
                                          "segments": [str(s) for s in message]}) + "\n")
                if answered:
                    writer.writemessage(message.create_ack(ack_code=code))
                    await writer.drain()
        except asyncio.IncompleteReadError:
            pass

    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    # MSH-18 says UNICODE UTF-8: read the messages as such (python-hl7 defaults to ASCII).
    async with await start_hl7_server(handle, host="127.0.0.1", port=args.port, ssl=tls, encoding="utf-8") as server:
        if args.ready:
            with open(args.ready + ".tmp", "w") as f:
                f.write(str(os.getpid()))
            os.rename(args.ready + ".tmp", args.ready)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
