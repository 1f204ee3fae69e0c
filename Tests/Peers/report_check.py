#!/usr/bin/env python3
"""Checks an `alveo report` HTML file against the trend store it was drawn from, independently of
Alveo's code (Python's html.parser and sqlite3), then renders it with headless Chromium.

  report_check.py REPORT.html --db STORE.sqlite [--png OUT.png] [--buckets 500]

Checks (docs/trends.md, "The report"):
  - nothing that fetches: no script, link, img, iframe, object, embed, no src/href, no url() or @import;
  - every chart section is there, with the series the store holds for it, and for each series:
    data-values = the values the store holds in the window, data-points = those values downsampled by
    the documented rule (buckets, lowest and highest per bucket), and as many vertices or circles drawn;
  - threshold lines and bands at the y their values map to on the chart's axis;
  - one prone band per prone period of the store in every chart; the blood gas marks;
  - with --png: Chromium renders it to a PNG while a proxy on localhost counts connections: none.
Prints a JSON summary; exits 1 with the reasons when a check fails.
"""
import argparse
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
from html.parser import HTMLParser

CHARTS = {
    "pf": {"series": ["pf/imputed", "pf/measured"], "thresholds": [], "bands": [(0, 100), (100, 200), (200, 300)], "gas": True},
    "sf": {"series": ["sf"], "thresholds": [], "bands": [(0, 148), (148, 235), (235, 315)], "gas": False},
    "vt_per_kg": {"series": ["vt_per_kg"], "thresholds": [6, 8], "bands": [], "gas": False},
    "pplat": {"series": ["pplat"], "thresholds": [30], "bands": [], "gas": False},
    "driving_pressure": {"series": ["driving_pressure"], "thresholds": [15], "bands": [], "gas": False},
    "peep": {"series": ["peep"], "thresholds": [], "bands": [], "gas": False},
    "fio2": {"series": ["fio2"], "thresholds": [], "bands": [], "gas": True},
    "spo2": {"series": ["spo2"], "thresholds": [], "bands": [(88, 95)], "gas": False},
    "hb": {"series": ["hb"], "thresholds": [], "bands": [], "gas": False},
    "hemoptysis": {"series": ["hemoptysis"], "thresholds": [], "bands": [], "gas": False},
    "creatinine": {"series": ["creatinine"], "thresholds": [], "bands": [], "gas": False},
}
CHROMIUM_OWN = ("update.googleapis.com", "accounts.google.com", "clients2.google.com", "clients1.google.com", "optimizationguide-pa.googleapis.com",
                "content-autofill.googleapis.com", "safebrowsingohttpgateway.googleapis.com", "safebrowsing.googleapis.com",
                "redirector.gvt1.com", "edgedl.me.gvt1.com", "dl.google.com", "www.googleapis.com:443", "android.clients.google.com")
FORBIDDEN_TAGS = {"script", "link", "img", "iframe", "object", "embed", "base", "audio", "video", "source", "frame", "use", "image"}


class Report(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.sections = {}      # chart -> {"svg": attrs, "series": [..], "lines": [..], "bands": [..], "prone": [..], "gas": [..]}
        self.current = None
        self.series = None
        self.in_style = False
        self.style = ""
        self.timeline = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}> in the report")
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "srcset", "action", "formaction", "poster", "background"):
                self.problems.append(f"attribute {name}={value!r} on <{tag}>")
            if name == "style" and value and ("url(" in value or "@import" in value):
                self.problems.append(f"style with url() or @import on <{tag}>")
        if tag == "style":
            self.in_style = True
        if tag == "section" and "data-chart" in a:
            self.current = {"svg": None, "series": [], "lines": [], "bands": [], "prone": [], "gas": []}
            self.sections[a["data-chart"]] = self.current
        elif tag == "section" and a.get("class") == "timeline":
            self.current = {"svg": None, "series": [], "lines": [], "bands": [], "prone": [], "gas": []}
            self.timeline = self.current
        if self.current is None:
            return
        cls = (a.get("class") or "").split()
        if tag == "svg":
            self.current["svg"] = a
        elif tag == "g" and "series" in cls:
            self.series = {"attrs": a, "vertices": 0, "circles": 0}
            self.current["series"].append(self.series)
        elif tag == "path" and self.series is not None:
            d = a.get("d", "")
            self.series["vertices"] += d.count("M") + d.count("L")
        elif tag == "circle" and self.series is not None:
            self.series["circles"] += 1
        elif tag == "line" and "threshold" in cls:
            self.current["lines"].append(a)
        elif tag == "line" and "gas" in cls:
            self.current["gas"].append(a)
        elif tag == "rect" and "band" in cls:
            self.current["bands"].append(a)
        elif tag == "rect" and "prone" in cls:
            self.current["prone"].append(a)

    def handle_endtag(self, tag):
        if tag == "g":
            self.series = None
        if tag == "section":
            self.current = None
        if tag == "style":
            self.in_style = False

    def handle_data(self, data):
        if self.in_style:
            self.style += data


def downsample(points, start, end, buckets):
    """The documented rule: all points when at most 2 x buckets; else per bucket the lowest and the
    highest (earliest of equals), in time order, one when they are the same point."""
    if len(points) <= 2 * buckets:
        return len(points)
    end = max(end, start + 1)
    count = 0
    current = None
    low = high = None
    for point in points:
        index = int(min(max((point[0] - start) / (end - start) * buckets // 1, 0), buckets - 1))
        if index != current:
            if current is not None:
                count += 1 if low == high else 2
            current, low, high = index, point, point
        else:
            if point[1] < low[1]:
                low = point
            if point[1] > high[1]:
                high = point
    if current is not None:
        count += 1 if low == high else 2
    return count


def series_points(db, key, start, end):
    if key.startswith("pf/"):
        rows = db.execute("SELECT time, value FROM derived WHERE name = 'pf' AND method = ? AND time BETWEEN ? AND ? ORDER BY time, rowid",
                          (key[3:], start, end))
    elif key in ("sf", "vt_per_kg", "driving_pressure"):
        rows = db.execute("SELECT time, value FROM derived WHERE name = ? AND time BETWEEN ? AND ? ORDER BY time, rowid", (key, start, end))
    else:
        rows = db.execute("SELECT time, value FROM observation WHERE parameter = ? AND time BETWEEN ? AND ? ORDER BY time, rowid", (key, start, end))
    return [(t, v) for t, v in rows]


def render(html_path, png_path):
    """Chromium headless renders the file while a listener on localhost, set as its proxy, counts
    connections: a self-contained report makes none."""
    connections = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                try:
                    connections.append(conn.recv(200).decode("latin-1").split("\r\n")[0])
                except OSError:
                    connections.append("?")
                conn.close()
            except socket.timeout:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    with tempfile.TemporaryDirectory() as profile:
        command = ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-domain-reliability",
                   "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate", "--no-pings", "--disable-extensions",
                   f"--user-data-dir={profile}", f"--proxy-server=http://127.0.0.1:{port}", "--proxy-bypass-list=<-loopback>",
                   "--window-size=1400,2600", f"--screenshot={png_path}", "file://" + os.path.abspath(html_path)]
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    stop.set()
    thread.join(timeout=2)
    server.close()
    problems = []
    if result.returncode != 0:
        problems.append(f"chromium exited {result.returncode}: {result.stderr.decode(errors='replace')[-500:]}")
    if not os.path.exists(png_path):
        problems.append("chromium wrote no PNG")
    else:
        with open(png_path, "rb") as f:
            head = f.read(24)
        if head[:8] != b"\x89PNG\r\n\x1a\n":
            problems.append("the screenshot is not a PNG")
        else:
            width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
            if width < 1000 or height < 1000:
                problems.append(f"the PNG is {width}x{height}")
        if os.path.getsize(png_path) < 20_000:
            problems.append(f"the PNG is only {os.path.getsize(png_path)} bytes: nothing drawn?")
    # Chromium's own background services (component updater, accounts, network time, safe browsing)
    # connect whatever the page is, despite the flags: told apart by host, listed, never counted.
    page = [c for c in connections if not any(host in c for host in CHROMIUM_OWN)]
    if page:
        problems.append(f"the report made {len(page)} network connection(s): {page[:3]}")
    return problems, len(page)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("--db", required=True)
    parser.add_argument("--png")
    parser.add_argument("--buckets", type=int, default=500)
    args = parser.parse_args()
    with open(args.report, encoding="utf-8") as f:
        text = f.read()
    report = Report()
    report.feed(text)
    problems = list(report.problems)
    if "url(" in report.style or "@import" in report.style:
        problems.append("the style sheet has url() or @import")
    db = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    summary = {"charts": {}, "network_connections": None}
    prone = [(s, e) for s, e in db.execute("SELECT start_time, end_time FROM position_period WHERE position = 'prone' ORDER BY start_time")]
    for chart, spec in CHARTS.items():
        section = report.sections.get(chart)
        if section is None or section["svg"] is None:
            problems.append(f"chart {chart}: missing")
            continue
        svg = section["svg"]
        start, end = float(svg["data-from"]), float(svg["data-to"])
        ymin, ymax = float(svg["data-ymin"]), float(svg["data-ymax"])
        px, py, pw, ph = (float(v) for v in svg["data-plot"].split())

        def y(value):
            value = min(max(value, ymin), ymax)
            return py + ph - (value - ymin) / (ymax - ymin) * ph

        drawn = {s["attrs"]["data-series"]: s for s in section["series"]}
        summary["charts"][chart] = {}
        for key in spec["series"]:
            points = series_points(db, key, start, end)
            if not points:
                if key in drawn:
                    problems.append(f"chart {chart}: series {key} drawn but the store has no values for it")
                continue
            if key not in drawn:
                problems.append(f"chart {chart}: series {key} missing ({len(points)} values in the store)")
                continue
            s = drawn[key]
            expected = downsample(points, start, end, args.buckets)
            values, shown = int(s["attrs"]["data-values"]), int(s["attrs"]["data-points"])
            marks = s["vertices"] if s["vertices"] else s["circles"]
            summary["charts"][chart][key] = {"values": len(points), "points": shown}
            if values != len(points):
                problems.append(f"chart {chart}/{key}: data-values {values}, the store holds {len(points)}")
            if shown != expected:
                problems.append(f"chart {chart}/{key}: data-points {shown}, downsampling the store's values gives {expected}")
            if marks != shown:
                problems.append(f"chart {chart}/{key}: {marks} vertices or circles drawn for {shown} points")
        extra = set(drawn) - set(spec["series"])
        if extra:
            problems.append(f"chart {chart}: unexpected series {sorted(extra)}")
        for value in spec["thresholds"]:
            lines = [l for l in section["lines"] if abs(float(l["data-value"]) - value) < 1e-9]
            if len(lines) != 1:
                problems.append(f"chart {chart}: {len(lines)} threshold lines at {value}")
            elif abs(float(lines[0]["y1"]) - y(value)) > 0.11 or lines[0]["y1"] != lines[0]["y2"]:
                problems.append(f"chart {chart}: the {value} line at y={lines[0]['y1']}, expected {y(value):.1f}")
        for low, high in spec["bands"]:
            bands = [b for b in section["bands"] if abs(float(b["data-from"]) - low) < 1e-9 and abs(float(b["data-to"]) - high) < 1e-9]
            if high <= ymin or low >= ymax:
                continue
            if len(bands) != 1:
                problems.append(f"chart {chart}: {len(bands)} bands {low}-{high}")
                continue
            top, bottom = float(bands[0]["y"]), float(bands[0]["y"]) + float(bands[0]["height"])
            if abs(top - y(min(high, ymax))) > 0.21 or abs(bottom - y(max(low, ymin))) > 0.21:
                problems.append(f"chart {chart}: band {low}-{high} drawn from y={top} to {bottom}, expected {y(high):.1f} to {y(low):.1f}")
        in_window = [(s, e) for s, e in prone if s <= end and (e is None or e >= start) and min(e if e is not None else end, end) > max(s, start)]
        if len(section["prone"]) != len(in_window):
            problems.append(f"chart {chart}: {len(section['prone'])} prone bands, the store has {len(in_window)} prone periods in the window")
        for band, (s, _) in zip(section["prone"], in_window):
            if abs(float(band["data-start"]) - s) > 0.05:
                problems.append(f"chart {chart}: a prone band starts at {band['data-start']}, the store's at {s}")
        if spec["gas"]:
            gases = [t for (t,) in db.execute("SELECT DISTINCT time FROM observation WHERE parameter = 'pao2' AND time BETWEEN ? AND ?", (start, end))]
            if len(section["gas"]) != len(gases):
                problems.append(f"chart {chart}: {len(section['gas'])} blood gas marks, the store has {len(gases)} blood gases")
    if report.timeline is None:
        problems.append("no alarm timeline")
    else:
        # The alarms of the window: those with an event in it, and those started before it and not ended before it.
        start, end = float(report.timeline["svg"]["data-from"]), float(report.timeline["svg"]["data-to"])
        in_window = {a for (a,) in db.execute("SELECT alarm_id FROM alarm_event WHERE time BETWEEN ? AND ?", (start, end))}
        ended_before = {a for (a,) in db.execute("SELECT alarm_id FROM alarm_event WHERE phase = 'end' AND time < ?", (start,))}
        started_before = {a for (a,) in db.execute("SELECT alarm_id FROM alarm_event WHERE time < ?", (start,))}
        alarms = len(in_window | (started_before - ended_before))
        shown = int(report.timeline["svg"]["data-alarms"]) if report.timeline["svg"] else -1
        summary["alarms"] = shown
        if shown != alarms:
            problems.append(f"alarm timeline: {shown} alarms drawn, the store has {alarms}")
    if args.png:
        render_problems, connections = render(args.report, args.png)
        problems += render_problems
        summary["network_connections"] = connections
    summary["problems"] = problems
    print(json.dumps(summary))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
