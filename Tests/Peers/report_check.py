#!/usr/bin/env python3
"""Checks an `alveo report` HTML file against the trend store it was drawn from, independently of
Alveo's code (Python's html.parser and sqlite3), then renders it with headless Chromium.

  report_check.py REPORT.html --db STORE.sqlite [--png OUT.png] [--buckets 500] [--hemoptysis-limit 200]

Checks (docs/trends.md, "The report"):
  - nothing that fetches: no script, link, img, iframe, object, embed, no src/href, no url() or @import;
  - one column of tracks in order (time axis, alarm lane, the value tracks, time axis), every one the
    same viewBox width, plot x and width, and window; a track with no values says so (data-empty);
  - every track has the series the store holds for it, and for each series: data-values = the values
    the store holds in the window, data-points = those values downsampled by the documented rule
    (buckets, lowest and highest per bucket), and as many vertices or circles drawn; the 24 h
    haemoptysis total's maximum computed from the store's entries, its limit line at the given value;
  - threshold lines and bands at the y their values map to on the track's axis;
  - time grid lines at the x their times map to, the same times on every track; the axis labels carry
    the date (in the report's zone) on the first tick and at each day change, and only there;
  - one prone band per prone period, one ECMO band per ECMO period, one plasma exchange line per
    plasma exchange prompt, on every track; the blood gas marks;
  - the alarm lane: one bar per alarm, rows labelled with the store's titles (never the rule id); the
    header's counts of alarms and of alarm events;
  - the hourly table (one row per whole hour of the window, SpO2 and FiO2 the store's last value in the
    hour) and the blood gas table (one row per PaO2, with the FiO2 and P/F the store derived);
  - with --png: Chromium renders it to a PNG while a proxy on localhost counts connections: none; and
    a copy with a script that measures the rendered page (--dump-dom): the x of each tick time, the plot
    frame's left and width, identical in pixels on every track, tracks stacked in one column;
    threshold lines dashed and not in the data's colour.
Prints a JSON summary; exits 1 with the reasons when a check fails.
"""
import argparse
import datetime
import html as htmllib
import math
import re
import zoneinfo
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
from html.parser import HTMLParser

TRACKS = {
    "spo2": {"series": ["spo2"], "thresholds": [], "bands": [(88, 95)], "gas": False},
    "fio2": {"series": ["fio2"], "thresholds": [], "bands": [], "gas": True},
    "pf": {"series": ["pf/imputed", "pf/measured"], "thresholds": [], "bands": [(0, 100), (100, 200), (200, 300)], "gas": True},
    "sf": {"series": ["sf"], "thresholds": [], "bands": [(0, 148), (148, 235), (235, 315)], "gas": False},
    "vt_per_kg": {"series": ["vt_per_kg"], "thresholds": [6, 8], "bands": [], "gas": False},
    "pplat": {"series": ["pplat"], "thresholds": [30], "bands": [], "gas": False},
    "driving_pressure": {"series": ["driving_pressure"], "thresholds": [15], "bands": [], "gas": False},
    "peep": {"series": ["peep"], "thresholds": [], "bands": [], "gas": False},
    "ppeak": {"series": ["ppeak"], "thresholds": [], "bands": [], "gas": False},
    "rr": {"series": ["rr"], "thresholds": [], "bands": [], "gas": False},
    "heart_rate": {"series": ["heart_rate", "pulse_rate"], "thresholds": [], "bands": [], "gas": False},
    "map": {"series": ["map", "nibp_map"], "thresholds": [65], "bands": [], "gas": False},
    "hb": {"series": ["hb"], "thresholds": [], "bands": [], "gas": False},
    "creatinine": {"series": ["creatinine"], "thresholds": [], "bands": [], "gas": False},
    "hemoptysis": {"series": ["hemoptysis/total", "hemoptysis"], "thresholds": ["limit"], "bands": [], "gas": False},
}
ORDER = ["axis-top", "alarms"] + [k for t in TRACKS for k in ([t, "axis-middle"] if t == "peep" else [t])] + ["axis-bottom"]
CHROMIUM_OWN = ("update.googleapis.com", "accounts.google.com", "clients2.google.com", "clients1.google.com", "optimizationguide-pa.googleapis.com",
                "content-autofill.googleapis.com", "safebrowsingohttpgateway.googleapis.com", "safebrowsing.googleapis.com",
                "redirector.gvt1.com", "edgedl.me.gvt1.com", "dl.google.com", "www.googleapis.com:443", "android.clients.google.com")
FORBIDDEN_TAGS = {"script", "link", "img", "iframe", "object", "embed", "base", "audio", "video", "source", "frame", "use", "image"}


class Report(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.sections = {}      # chart -> {"svg": attrs, "series": [..], "lines": [..], "bands": [..], "prone": [..], "gas": [..], ...}
        self.order = []         # the charts of div.tracks, in document order
        self.current = None
        self.series = None
        self.in_style = False
        self.style = ""
        self.in_tracks = False
        self.text = None        # (kind, attrs, [chunks]) of a text being collected
        self.in_title = 0
        self.tables = {}        # data-table -> {"attrs": .., "head": [..], "rows": [[..]]}
        self.table = None
        self.cell = None
        self.in_tbody = False
        self.header = {}        # dd data-* attributes
        self.time_zone = None

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
        if tag == "body":
            self.time_zone = a.get("data-time-zone")
        if tag == "div" and a.get("class") == "tracks":
            self.in_tracks = True
        if tag == "dd":
            self.header.update({k: v for k, v in a.items() if k.startswith("data-")})
        if tag == "table" and "data-table" in a:
            self.table = {"attrs": a, "head": [], "rows": []}
            self.tables[a["data-table"]] = self.table
        elif self.table is not None:
            if tag == "tbody":
                self.in_tbody = True
            elif tag == "tr" and self.in_tbody:
                self.table["rows"].append([])
            elif tag in ("td", "th"):
                self.cell = []
        if tag == "title":
            self.in_title += 1
        if tag == "svg" and self.in_tracks:
            chart = a.get("data-chart", "?")
            self.current = {"svg": a, "series": [], "lines": [], "bands": [], "prone": [], "gas": [], "ecmo": [], "plex": [], "grid": [],
                            "ticks": [], "rules": [], "alarms": []}
            self.sections[chart] = self.current
            self.order.append(chart)
        if self.current is None:
            return
        cls = (a.get("class") or "").split()
        if tag == "g" and "series" in cls:
            self.series = {"attrs": a, "vertices": 0, "circles": 0}
            self.current["series"].append(self.series)
        elif tag == "path" and self.series is not None:
            if "area" not in cls:
                d = a.get("d", "")
                self.series["vertices"] += d.count("M") + d.count("L")
        elif tag == "circle" and self.series is not None:
            self.series["circles"] += 1
        elif tag == "line" and "threshold" in cls:
            self.current["lines"].append(a)
        elif tag == "line" and "gas" in cls:
            self.current["gas"].append(a)
        elif tag == "line" and "grid" in cls:
            self.current["grid"].append(a)
        elif tag == "line" and "plex" in cls:
            self.current["plex"].append(a)
        elif tag == "rect" and "band" in cls:
            self.current["bands"].append(a)
        elif tag == "rect" and "prone" in cls:
            self.current["prone"].append(a)
        elif tag == "rect" and "ecmo" in cls:
            self.current["ecmo"].append(a)
        elif tag == "rect" and "alarm" in cls:
            self.current["alarms"].append(a)
        elif tag == "text" and ("tick-label" in cls or "rule-label" in cls):
            self.text = ("tick" if "tick-label" in cls else "rule", a, [])

    def handle_endtag(self, tag):
        if tag == "g":
            self.series = None
        if tag == "svg":
            self.current = None
        if tag == "style":
            self.in_style = False
        if tag == "title":
            self.in_title -= 1
        if tag == "text" and self.text is not None:
            kind, attrs, chunks = self.text
            if self.current is not None:
                self.current["ticks" if kind == "tick" else "rules"].append((attrs, " ".join("".join(chunks).split())))
            self.text = None
        if tag in ("td", "th") and self.cell is not None and self.table is not None:
            text = " ".join("".join(self.cell).split())
            if self.in_tbody and self.table["rows"]:
                self.table["rows"][-1].append(text)
            elif not self.in_tbody:
                self.table["head"].append(text)
            self.cell = None
        if tag == "tbody":
            self.in_tbody = False
        if tag == "table":
            self.table = None

    def handle_data(self, data):
        if self.in_style:
            self.style += data
        if self.text is not None and not self.in_title:
            self.text[2].append(data)
        if self.cell is not None:
            self.cell.append(data)


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


def chromium(html_path, *arguments):
    """Chromium headless loads the file while a listener on localhost, set as its proxy, counts
    connections: a self-contained report makes none. Returns (problems, page connections, stdout)."""
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
                   "--window-size=1400,2000", *arguments, "file://" + os.path.abspath(html_path)]
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    stop.set()
    thread.join(timeout=2)
    server.close()
    problems = []
    if result.returncode != 0:
        problems.append(f"chromium exited {result.returncode}: {result.stderr.decode(errors='replace')[-500:]}")
    # Chromium's own background services (component updater, accounts, network time, safe browsing)
    # connect whatever the page is, despite the flags: told apart by host, listed, never counted.
    page = [c for c in connections if not any(host in c for host in CHROMIUM_OWN)]
    return problems, page, result.stdout.decode(errors="replace")


def render(html_path, png_path):
    problems, page, _ = chromium(html_path, f"--screenshot={png_path}")
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
    if page:
        problems.append(f"the report made {len(page)} network connection(s): {page[:3]}")
    return problems, len(page)


# Measures the rendered page: appended to a copy of the report (the report itself has no script and
# its Content-Security-Policy forbids one: the copy drops that meta element).
MEASURE = """<script>
const out = {tracks: [], threshold: null, data: null, measured: null};
for (const svg of document.querySelectorAll('div.tracks svg')) {
  const box = svg.getBoundingClientRect();
  const ticks = {};
  for (const line of svg.querySelectorAll('line.grid')) { const b = line.getBoundingClientRect(); ticks[line.getAttribute('data-time')] = b.left + b.width / 2; }
  const frame = svg.querySelector('rect.frame');
  const f = frame ? frame.getBoundingClientRect() : null;
  out.tracks.push({chart: svg.getAttribute('data-chart'), left: box.left, top: box.top, bottom: box.bottom, width: box.width, ticks: ticks,
                   frame: f ? [f.left, f.width] : null});
}
const style = (selector) => { const e = document.querySelector(selector); if (!e) return null; const c = getComputedStyle(e);
  return {stroke: c.stroke, dash: c.strokeDasharray, fill: c.fill}; };
out.threshold = style('line.threshold');
out.data = style('g.series.line path');
out.measured = style('g.series.measured path');
const pre = document.createElement('pre'); pre.id = 'layout'; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
</script>"""


def measure(html_path, text):
    """The rendered layout, measured by Chromium in a copy of the report."""
    problems = []
    with tempfile.TemporaryDirectory() as directory:
        copy = os.path.join(directory, "measure.html")
        with open(copy, "w", encoding="utf-8") as f:
            f.write(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text).replace("</body>", MEASURE + "</body>"))
        chromium_problems, _, dom = chromium(copy, "--dump-dom")
    problems += chromium_problems
    found = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S)
    if not found:
        return problems + ["the measuring copy printed no layout"], None
    layout = json.loads(htmllib.unescape(found.group(1)))
    tracks = layout["tracks"]
    summary = {"tracks": len(tracks), "tick_spread_px": 0.0, "frame_spread_px": 0.0}
    lefts = [t["left"] for t in tracks]
    if max(lefts) - min(lefts) > 0.5 or max(t["width"] for t in tracks) - min(t["width"] for t in tracks) > 0.5:
        problems.append(f"rendered tracks differ in left or width: {[(t['chart'], t['left'], t['width']) for t in tracks]}")
    for above, below in zip(tracks, tracks[1:]):
        if below["top"] < above["bottom"] - 0.5:
            problems.append(f"track {below['chart']} is not below {above['chart']} (one column)")
    frames = [t["frame"] for t in tracks if t["frame"]]
    if frames:
        summary["frame_spread_px"] = max(max(f[0] for f in frames) - min(f[0] for f in frames), max(f[1] for f in frames) - min(f[1] for f in frames))
        if summary["frame_spread_px"] > 0.5:
            problems.append(f"plot frames differ by {summary['frame_spread_px']:.2f} px across tracks")
    times = set().union(*(t["ticks"].keys() for t in tracks)) if tracks else set()
    for time in sorted(times):
        xs = [(t["chart"], t["ticks"].get(time)) for t in tracks]
        missing = [c for c, x in xs if x is None]
        if missing:
            problems.append(f"tick {time} missing on rendered tracks {missing}")
            continue
        spread = max(x for _, x in xs) - min(x for _, x in xs)
        summary["tick_spread_px"] = max(summary["tick_spread_px"], spread)
        if spread > 0.5:
            problems.append(f"the time {time} is drawn at x from {min(x for _, x in xs):.2f} to {max(x for _, x in xs):.2f} px across tracks")
    summary["ticks"] = len(times)
    threshold, data, measured = layout["threshold"], layout["data"], layout["measured"]
    if threshold and data:
        if threshold["stroke"] == data["stroke"]:
            problems.append(f"threshold lines drawn in the data's colour {data['stroke']}")
        if threshold["dash"] in ("none", "", None):
            problems.append("threshold lines are not dashed")
    if measured and data and measured["fill"] == data["stroke"]:
        problems.append("measured P/F points in the line's colour")
    return problems, summary


def local_date(time, zone):
    return datetime.datetime.fromtimestamp(time, zone).strftime("%Y-%m-%d")


def hourly_times(start, end, zone):
    """The hourly table's times: whole hours (2, 4, 6, 12, 24 h beyond 96 h; 1, 5, 15, 30 min under 6 h) in the zone."""
    if end - start < 6 * 3600:
        step = next((s for s in (60, 300, 900, 1800, 3600) if (end - start) / s <= 24), 3600)
    else:
        step = next((s for s in (3600, 7200, 14400, 21600, 43200, 86400) if (end - start) / s <= 96), 86400)
    offset = datetime.datetime.fromtimestamp(start, zone).utcoffset().total_seconds()
    t = math.ceil((start + offset) / step) * step - offset
    times = []
    while t <= end and len(times) < 400:
        times.append(t)
        t += step
    return step, times


def hemoptysis_total_max(db, start, end, window):
    """The highest 24 h total of charted haemoptysis in the window: at each entry and each moment an
    entry leaves the window, the entries at or before it less than a window old."""
    entries = [(t, v) for t, v in db.execute("SELECT time, value FROM observation WHERE parameter = 'hemoptysis' AND time <= ? ORDER BY time", (end,))]
    entries = [(t, v) for t, v in entries if t > start - window]
    if not entries:
        return None
    changes = {start} | {t for t, _ in entries if start <= t <= end} | {t + window for t, _ in entries if start < t + window <= end}
    return max(sum(v for t, v in entries if t <= c < t + window) for c in changes)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("--db", required=True)
    parser.add_argument("--png")
    parser.add_argument("--buckets", type=int, default=500)
    parser.add_argument("--hemoptysis-limit", type=float, default=200, help="ml in the window (dah.hemoptysis_volume volume_ml)")
    parser.add_argument("--hemoptysis-window", type=float, default=86400, help="s (dah.hemoptysis_volume window_s)")
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
    zone = zoneinfo.ZoneInfo(report.time_zone or "UTC")

    # One column, in order, one geometry and one window.
    if report.order != ORDER:
        problems.append(f"tracks in the order {report.order}, expected {ORDER}")
    summary["tracks"] = report.order
    # (html.parser lowercases attribute names: viewBox is viewbox.)
    geometry = {(s["svg"].get("viewbox", "").split()[2] if len(s["svg"].get("viewbox", "").split()) == 4 else "?",
                 s["svg"]["data-plot"].split()[0], s["svg"]["data-plot"].split()[2], s["svg"]["data-from"], s["svg"]["data-to"])
                for s in report.sections.values()}
    if len(geometry) != 1:
        problems.append(f"tracks differ in width, plot x, plot width or window: {sorted(geometry)}")
    first = next(iter(report.sections.values()))["svg"]
    start, end = float(first["data-from"]), float(first["data-to"])
    plot_x, plot_w = float(first["data-plot"].split()[0]), float(first["data-plot"].split()[2])

    def x_of(t):
        return plot_x + (t - start) / max(end - start, 1) * plot_w

    # The time grid: the same times on every track, each at the x its time maps to.
    tick_sets = {}
    for chart, section in report.sections.items():
        tick_sets[chart] = [float(g["data-time"]) for g in section["grid"]]
        for g in section["grid"]:
            t = float(g["data-time"])
            if abs(float(g["x1"]) - x_of(t)) > 0.06 or g["x1"] != g["x2"]:
                problems.append(f"track {chart}: the grid line of {t} at x={g['x1']}, expected {x_of(t):.1f}")
                break
    if len({tuple(v) for v in tick_sets.values()}) != 1:
        problems.append(f"the time grid differs between tracks: {({k: len(v) for k, v in tick_sets.items()})}")
    # Dates at the first tick and at each day change, in the report's zone, and only there.
    day_ticks = 0
    for position in ("axis-top", "axis-middle", "axis-bottom"):
        previous = None
        labels = report.sections.get(position, {}).get("ticks", [])
        if not labels:
            problems.append(f"{position}: no time labels")
        for attrs, label in labels:
            t = float(attrs["data-time"])
            date = local_date(t, zone)
            clock = datetime.datetime.fromtimestamp(t, zone).strftime("%H:%M")
            if clock not in label:
                problems.append(f"{position}: the tick at {t} reads {label!r}, not {clock}")
            if date != previous and date not in label:
                problems.append(f"{position}: the tick at {t} starts the day {date} without its date: {label!r}")
            if date == previous and re.search(r"\\d{4}-\\d{2}-\\d{2}", label):
                problems.append(f"{position}: the tick at {t} repeats a date: {label!r}")
            if date != previous and position == "axis-top":
                day_ticks += 1
            previous = date
    summary["day_ticks"] = day_ticks

    prone = [(s, e) for s, e in db.execute("SELECT start_time, end_time FROM position_period WHERE position = 'prone' ORDER BY start_time")]
    prone_in = [(s, e) for s, e in prone if s <= end and (e is None or e >= start) and min(e if e is not None else end, end) > max(s, start)]
    ecmo, mode = [], 0
    for t, v in db.execute("SELECT time, value FROM derived WHERE name = 'ecmo' AND time BETWEEN ? AND ? ORDER BY time, rowid", (start, end)):
        if ecmo and ecmo[-1][1] is None:
            if v == mode:
                continue
            ecmo[-1][1] = t
        if v in (1, 2):
            ecmo.append([t, None])
            mode = v
    ecmo_in = [p for p in ecmo if min(p[1] if p[1] is not None else end, end) > max(p[0], start)]
    plex = [t for (t,) in db.execute("SELECT time FROM alarm_event WHERE rule = 'escalation.plasma_exchange' AND phase = 'start' AND time BETWEEN ? AND ?",
                                     (start, end))]
    summary["plasma_exchange_marks"] = len(plex)
    for chart in ["alarms"] + list(TRACKS):
        section = report.sections.get(chart)
        if section is None:
            continue
        if len(section["prone"]) != len(prone_in):
            problems.append(f"track {chart}: {len(section['prone'])} prone bands, the store has {len(prone_in)} prone periods in the window")
        for band, (s, _) in zip(section["prone"], prone_in):
            if abs(float(band["data-start"]) - s) > 0.05:
                problems.append(f"track {chart}: a prone band starts at {band['data-start']}, the store's at {s}")
        if len(section["ecmo"]) != len(ecmo_in):
            problems.append(f"track {chart}: {len(section['ecmo'])} ECMO bands, the store has {len(ecmo_in)} ECMO periods")
        if sorted(float(l["data-time"]) for l in section["plex"]) != sorted(plex):
            problems.append(f"track {chart}: {len(section['plex'])} plasma exchange marks, the store has {len(plex)} prompts")

    for chart, spec in TRACKS.items():
        section = report.sections.get(chart)
        if section is None or section["svg"] is None:
            problems.append(f"track {chart}: missing")
            continue
        svg = section["svg"]
        held = {key: series_points(db, key, start, end) for key in spec["series"] if key != "hemoptysis/total"}
        if not any(held.values()):
            if svg.get("data-empty") != "1" or section["series"]:
                problems.append(f"track {chart}: the store has no values for it, yet it is not marked empty")
            summary["charts"][chart] = {}
            continue
        if svg.get("data-empty") == "1":
            problems.append(f"track {chart}: marked empty, the store has values for it")
            continue
        ymin, ymax = float(svg["data-ymin"]), float(svg["data-ymax"])
        px, py, pw, ph = (float(v) for v in svg["data-plot"].split())

        def y(value):
            value = min(max(value, ymin), ymax)
            return py + ph - (value - ymin) / (ymax - ymin) * ph

        drawn = {s["attrs"]["data-series"]: s for s in section["series"]}
        summary["charts"][chart] = {}
        for key in spec["series"]:
            if key == "hemoptysis/total":
                expected = hemoptysis_total_max(db, start, end, args.hemoptysis_window)
                if expected is None:
                    continue
                if key not in drawn:
                    problems.append(f"track {chart}: the {key} series is missing")
                    continue
                shown = float(drawn[key]["attrs"]["data-max"])
                summary["hemoptysis_total_max"] = shown
                if abs(shown - expected) > 1e-6:
                    problems.append(f"track {chart}: the highest 24 h total drawn is {shown} ml, the store's entries give {expected}")
                continue
            points = held[key]
            if not points:
                if key in drawn:
                    problems.append(f"track {chart}: series {key} drawn but the store has no values for it")
                continue
            if key not in drawn:
                problems.append(f"track {chart}: series {key} missing ({len(points)} values in the store)")
                continue
            s = drawn[key]
            expected = downsample(points, start, end, args.buckets)
            values, shown = int(s["attrs"]["data-values"]), int(s["attrs"]["data-points"])
            marks = s["vertices"] if s["vertices"] else s["circles"]
            summary["charts"][chart][key] = {"values": len(points), "points": shown}
            if values != len(points):
                problems.append(f"track {chart}/{key}: data-values {values}, the store holds {len(points)}")
            if shown != expected:
                problems.append(f"track {chart}/{key}: data-points {shown}, downsampling the store's values gives {expected}")
            if marks != shown:
                problems.append(f"track {chart}/{key}: {marks} vertices or circles drawn for {shown} points")
        extra = set(drawn) - set(spec["series"])
        if extra:
            problems.append(f"track {chart}: unexpected series {sorted(extra)}")
        for value in spec["thresholds"]:
            value = args.hemoptysis_limit if value == "limit" else value
            if not ymin <= value <= ymax:
                continue
            lines = [l for l in section["lines"] if abs(float(l["data-value"]) - value) < 1e-9]
            if len(lines) != 1:
                problems.append(f"track {chart}: {len(lines)} threshold lines at {value}")
            elif abs(float(lines[0]["y1"]) - y(value)) > 0.11 or lines[0]["y1"] != lines[0]["y2"]:
                problems.append(f"track {chart}: the {value} line at y={lines[0]['y1']}, expected {y(value):.1f}")
        for low, high in spec["bands"]:
            bands = [b for b in section["bands"] if abs(float(b["data-from"]) - low) < 1e-9 and abs(float(b["data-to"]) - high) < 1e-9]
            if high <= ymin or low >= ymax:
                continue
            if len(bands) != 1:
                problems.append(f"track {chart}: {len(bands)} bands {low}-{high}")
                continue
            top, bottom = float(bands[0]["y"]), float(bands[0]["y"]) + float(bands[0]["height"])
            if abs(top - y(min(high, ymax))) > 0.21 or abs(bottom - y(max(low, ymin))) > 0.21:
                problems.append(f"track {chart}: band {low}-{high} drawn from y={top} to {bottom}, expected {y(high):.1f} to {y(low):.1f}")
        if spec["gas"]:
            gases = [t for (t,) in db.execute("SELECT DISTINCT time FROM observation WHERE parameter = 'pao2' AND time BETWEEN ? AND ?", (start, end))]
            if len(section["gas"]) != len(gases):
                problems.append(f"track {chart}: {len(section['gas'])} blood gas marks, the store has {len(gases)} blood gases")

    # The alarm lane: the alarms of the window are those with an event in it, and those started
    # before it and not ended before it; rows labelled with the store's titles, not rule ids.
    lane = report.sections.get("alarms")
    if lane is None:
        problems.append("no alarm lane among the tracks")
    else:
        in_window = {a for (a,) in db.execute("SELECT alarm_id FROM alarm_event WHERE time BETWEEN ? AND ?", (start, end))}
        ended_before = {a for (a,) in db.execute("SELECT alarm_id FROM alarm_event WHERE phase = 'end' AND time < ?", (start,))}
        started_before = {a for (a,) in db.execute("SELECT alarm_id FROM alarm_event WHERE time < ?", (start,))}
        alarms = in_window | (started_before - ended_before)
        events = sum(1 for (a,) in db.execute("SELECT alarm_id FROM alarm_event") if a in alarms)
        shown = int(lane["svg"].get("data-alarms", -1))
        summary["alarms"], summary["alarm_events"] = shown, events
        if shown != len(alarms) or len(lane["alarms"]) != len(alarms):
            problems.append(f"alarm lane: {shown} alarms ({len(lane['alarms'])} bars) drawn, the store has {len(alarms)}")
        titles = {}
        for rule, title in db.execute("SELECT DISTINCT rule, title FROM alarm_event"):
            titles.setdefault(rule, set()).add(title)
        rules = {a["data-rule"] for a in lane["alarms"]}
        labelled = {attrs.get("data-rule") for attrs, _ in lane["rules"]}
        if rules != labelled:
            problems.append(f"alarm lane: rows for {sorted(labelled)}, bars for {sorted(rules)}")
        for attrs, label in lane["rules"]:
            rule = attrs.get("data-rule")
            name = re.sub(r" \\([^)]*\\)$", "", label).rstrip("…")
            if label == rule or rule in label:
                problems.append(f"alarm lane: the row {label!r} is labelled with the rule id")
            if not any(t.startswith(name) and name for t in titles.get(rule, set()) if t):
                problems.append(f"alarm lane: the row {label!r} is not the title of {rule} ({titles.get(rule)})")
        summary["lane_rows"] = len(lane["rules"])
        # The header counts what it says.
        if report.header.get("data-alarms") != str(len(alarms)) or report.header.get("data-events") != str(events):
            problems.append(f"header: {report.header.get('data-alarms')} alarms and {report.header.get('data-events')} events, the store has {len(alarms)} and {events}")
        if f"{len(alarms)} alarm" not in text or f"{events} alarm event" not in text:
            problems.append(f"header: the words '{len(alarms)} alarms' and '{events} alarm events' are missing")

    # The hourly table: one row per whole hour, SpO2 and FiO2 the last value in the hour up to it.
    hourly = report.tables.get("hourly")
    step, times = hourly_times(start, end, zone)
    if hourly is None:
        if times:
            problems.append("no hourly table")
    else:
        rows = hourly["rows"]
        summary["hourly_rows"] = len(rows)
        if len(rows) != len(times) or hourly["attrs"].get("data-rows") != str(len(times)):
            problems.append(f"hourly table: {len(rows)} rows, the window has {len(times)} whole hours")
        for column, key in (("SpO2 (%)", "spo2"), ("FiO2 (%)", "fio2")):
            drawn = report.sections.get(key, {}).get("series", [])
            exact = drawn and drawn[0]["attrs"]["data-points"] == drawn[0]["attrs"]["data-values"]
            if column not in hourly["head"] or not exact:
                continue  # absent, or downsampled (the table reads the drawn points)
            index = hourly["head"].index(column)
            points = series_points(db, key, start, end)
            for t, row in zip(times, rows):
                before = [v for pt, v in points if t - step < pt <= t]
                expected = f"{before[-1]:.0f}" if before else "—"
                if row[index] != expected:
                    problems.append(f"hourly table: {column} at {t} reads {row[index]!r}, the store's last value in the hour is {expected}")
                    break
    # The blood gas table: one row per PaO2, with the FiO2 (%) and P/F the store derived.
    gases = [(t, v) for t, v in db.execute("SELECT time, value FROM observation WHERE parameter = 'pao2' AND time BETWEEN ? AND ? ORDER BY time, rowid",
                                           (start, end))]
    table = report.tables.get("gases")
    if table is None:
        if gases:
            problems.append("no blood gas table")
    else:
        summary["gas_rows"] = len(table["rows"])
        if len(table["rows"]) != len(gases):
            problems.append(f"blood gas table: {len(table['rows'])} rows, the store has {len(gases)} PaO2 results")
        derived = {t: (v, json.loads(i).get("fio2")) for t, v, i in db.execute("SELECT time, value, inputs FROM derived WHERE name = 'pf' AND method = 'measured'")}
        for (t, pao2), row in zip(gases, table["rows"]):
            pf, fio2 = derived.get(t, (None, None))
            expected = [f"{pao2:.0f}", f"{fio2 * 100:.0f}" if fio2 else "—", f"{pf:.0f}" if pf is not None else "—"]
            if row[1:4] != expected:
                problems.append(f"blood gas table: the gas at {t} reads {row[1:4]}, the store has PaO2, FiO2 %, P/F {expected}")

    if args.png:
        render_problems, connections = render(args.report, args.png)
        problems += render_problems
        summary["network_connections"] = connections
        layout_problems, layout = measure(args.report, text)
        problems += layout_problems
        summary["rendered"] = layout
    summary["problems"] = problems
    print(json.dumps(summary))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
