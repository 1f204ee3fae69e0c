#!/usr/bin/env python3
"""Reads Alveo's metrics and parses them with prometheus_client's own parser (the reference one).

  metrics_check.py --socket PATH    GET /metrics over the control API's Unix socket
  metrics_check.py --file PATH      a textfile written by `alveo run --metrics-file`
  --save PATH                       also writes the text as read to PATH (for `promtool check metrics`)

Prints one JSON object: {"samples": {"name{label=value,...}": value, ...}, "families": [...]}; exits 1 if
the text does not parse.
"""
import argparse
import json
import socket
import sys

from prometheus_client.parser import text_string_to_metric_families


def fetch(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: alveo\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit("not 200: %r" % head[:80])
    if b"transfer-encoding: chunked" in head.lower():
        out, rest = b"", body
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        body = out
    return body.decode()


parser = argparse.ArgumentParser()
parser.add_argument("--socket")
parser.add_argument("--file")
parser.add_argument("--save")
args = parser.parse_args()
text = fetch(args.socket) if args.socket else open(args.file).read()
if args.save:
    with open(args.save, "w") as out:
        out.write(text)
try:
    families = list(text_string_to_metric_families(text))
except Exception as error:  # the test reports it
    print(json.dumps({"error": str(error), "text": text[:2000]}))
    sys.exit(1)
samples = {}
for family in families:
    for sample in family.samples:
        labels = ",".join("%s=%s" % kv for kv in sorted(sample.labels.items()))
        samples["%s{%s}" % (sample.name, labels)] = sample.value
print(json.dumps({"samples": samples, "families": [f.name for f in families]}))
