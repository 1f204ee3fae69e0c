#!/usr/bin/env python3
"""Validates HL7 v2 messages with hl7apy exactly as hl7_receiver.py does (v2.6, strict, per segment).

Reads FILE: messages separated by blank lines, one segment per line (the golden PCD-04 captures).
Prints one JSON line per message: {"index": n, "errors": [...]}; exits 1 if any message has errors.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hl7_receiver import validate  # noqa: E402

failed = False
with open(sys.argv[1], encoding="utf-8") as f:
    blocks = [b for b in f.read().split("\n\n") if b.strip()]
for index, block in enumerate(blocks, 1):
    errors = validate("\r".join(line for line in block.split("\n") if line))
    failed = failed or bool(errors)
    print(json.dumps({"index": index, "errors": errors}))
sys.exit(1 if failed else 0)
