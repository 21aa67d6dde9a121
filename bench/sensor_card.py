"""A sensor card of three 1,000,000-point series: request -> plots painted in Chromium, and bytes sent.

Runs the real kernel code (``panel_cards.panel_card`` over a CSV, as the widget does) and the
real bundle (plotly.js) in headless Chromium, twice in one run: with gtwidgets' downsampling
(MinMax-LTTB, 2,000 points a signal) and with none (every point sent and drawn, the naive
baseline). Prints median times, bytes per card and the ratios. Target: < 300 ms, < 200 KB.

    .venv/bin/python bench/sensor_card.py            # 1,000,000 points a signal
    .venv/bin/python bench/sensor_card.py --quick    # 200,000 points, fewer repeats
    .venv/bin/python bench/sensor_card.py --n 300000 --repeat 3

The page's fake model forwards the view's card request to the kernel code through an HTTP
route (one binary body: JSON + buffers, like a comm message's binary frame); the time is from
the view sending the request to the first frame after plotly has drawn every series.
"""
from __future__ import annotations

import argparse
import json
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "gtwidgets" / "static"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
ORIGIN = "http://gtwidgets.bench"

HARNESS = """<!doctype html><html><head><link rel="stylesheet" href="/widget.css"></head><body>
<div id="host" style="width: 1000px"></div>
<script type="module">
import widget from "/widget.js";
const listeners = {};
const state = { title: "bench", categories: ["ok", "bad"], shortcuts: ["1", "2"], multi_label: false,
  instructions_html: "", full_instructions_html: "", total: 1000, position: 0, prefetch: 0,
  progress: {}, sync_status: {} };
window.mode = "none";
window.log = [];
const model = {
  get: (k) => state[k], set() {}, save_changes() {},
  on(ev, f) { (listeners[ev] ||= []).push(f); },
  off(ev, f) { listeners[ev] = (listeners[ev] || []).filter((g) => g !== f); },
  async send(batch) {
    for (const msg of batch.messages) {
      if (msg.type === "asset") {  // plotly.js, asked for by the first plot (as widget.py answers)
        const js = await (await fetch(`/${msg.name}.js`)).arrayBuffer();
        listeners["msg:custom"].forEach((f) => f({ type: "asset", name: msg.name }, [new DataView(js)]));
        continue;
      }
      if (msg.type !== "cards" || window.mode === "none") continue;
      for (const pos of msg.positions.filter((p) => p === window.target)) {  // cards ahead: not timed, not sent
        const t0 = performance.now();
        const body = await (await fetch(`/card?mode=${window.mode}&pos=${pos}`)).arrayBuffer();
        const n = new DataView(body).getUint32(0, true);
        const meta = JSON.parse(new TextDecoder().decode(new Uint8Array(body, 4, n)));
        const buffers = meta._offsets.map(([a, b]) => new DataView(body.slice(4 + n + a, 4 + n + b)));
        window.log.push({ pos, t0, bytes: body.byteLength });
        listeners["msg:custom"].forEach((f) => f(meta, buffers));
      }
    }
  },
};
// A fresh view shown at `pos`: it asks for that card at once.
window.run = (pos, mode) => {
  if (window.cleanup) window.cleanup();
  document.getElementById("host").replaceChildren();
  Object.assign(window, { mode, target: pos });
  state.position = pos;
  window.cleanup = widget.render({ model, el: document.getElementById("host") });
  return window.measure(pos);
};
// t0 is when the view asked; painted is the first frame after plotly has drawn the card.
window.measure = (pos) => new Promise((resolve) => {
  const check = () => {
    const s = document.querySelector(".gtw-stage .gtw-series");
    const entry = window.log.find((e) => e.pos === pos);
    if (s && entry && s.dataset.painted && document.querySelector(".gtw-root").dataset.shown === String(pos)) {
      requestAnimationFrame(() => setTimeout(() => resolve({ ms: performance.now() - entry.t0, bytes: entry.bytes, draw: Number(s.dataset.drawMs) }), 0));
    } else setTimeout(check, 2);
  };
  check();
});
window.ready = true;
</script></body></html>"""


def make_csv(path: Path, n: int) -> None:
    """Three welding-like signals of n samples: noise, drift and a few sharp spikes."""
    rng = np.random.default_rng(3)
    t = np.arange(n, dtype=np.float64) * 0.25
    current = 150 + 10 * np.sin(t / 400) + rng.normal(0, 2, n)
    current[rng.integers(0, n, 20)] += 80
    position = np.cumsum(rng.normal(0, 0.01, n))
    voltage = 24 + rng.normal(0, 0.5, n)
    voltage[rng.integers(0, n, 20)] -= 15
    with open(path, "w") as f:
        f.write("t,current,electrode_position,voltage\n")
        np.savetxt(f, np.column_stack([t, current, position, voltage]), fmt="%.3f", delimiter=",")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="points per series (default 1,000,000)")
    ap.add_argument("--repeat", type=int, default=5, help="cards timed with downsampling (default 5)")
    ap.add_argument("--naive-repeat", type=int, default=2, help="cards timed with no downsampling (default 2)")
    ap.add_argument("--quick", action="store_true", help="200,000 points, 3 and 1 repeats")
    args = ap.parse_args()
    if args.quick:
        args.n, args.repeat, args.naive_repeat = 200_000, 3, 1

    import pandas as pd
    from playwright.sync_api import sync_playwright

    from gtwidgets import panel_cards
    from gtwidgets.job import LabelingJob
    from gtwidgets.panels import Series
    from gtwidgets.series import read_series

    work = Path(tempfile.mkdtemp(prefix="gtw-sensor-bench-"))
    csv = work / "sensor.csv"
    t = time.perf_counter()
    make_csv(csv, args.n)
    print(f"wrote {csv.stat().st_size / 2**20:.1f} MB CSV, 3 x {args.n:,} points in {time.perf_counter() - t:.1f} s",
          file=sys.stderr)
    t = time.perf_counter()
    read_series(str(csv))
    read_ms = 1000 * (time.perf_counter() - t)

    cols = ["current", "electrode_position", "voltage"]
    jobs = {}
    for mode, points in (("downsampled", 2000), ("naive", args.n + 10)):
        jobs[mode] = LabelingJob(f"bench-{mode}", input=pd.DataFrame({"source": ["x"] * 1000, "sensor": [str(csv)] * 1000}),
                                 categories=["ok", "bad"], output=str(work / "out"), worker_id="b",
                                 journal_dir=work / "j", panels=[Series("sensor", values=cols, points=points)])
    cache = panel_cards.LockedSeriesCache()
    kernel_ms: dict[str, list[float]] = {m: [] for m in jobs}

    def serve(route):
        from urllib.parse import parse_qs, urlparse

        url = urlparse(route.request.url)
        if url.path.endswith((".js", ".css")):
            name = url.path.rsplit("/", 1)[-1]
            return route.fulfill(body=(STATIC / name).read_bytes(),
                                 content_type="text/javascript" if name.endswith(".js") else "text/css")
        if url.path == "/card":
            q = parse_qs(url.query)
            mode, pos = q["mode"][0], int(q["pos"][0])
            t0 = time.perf_counter()
            meta, buffers = panel_cards.panel_card(jobs[mode], str(pos), cache=cache)
            offsets, at = [], 0
            for b in buffers:
                offsets.append([at, at + len(b)])
                at += len(b)
            head = json.dumps({"type": "card", "pos": pos, **meta, "_offsets": offsets}).encode()
            body = struct.pack("<I", len(head)) + head + b"".join(buffers)
            kernel_ms[mode].append(1000 * (time.perf_counter() - t0))
            return route.fulfill(body=body, content_type="application/octet-stream")
        return route.fulfill(body=HARNESS, content_type="text/html")

    results: dict[str, list[dict]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route(f"{ORIGIN}/**", serve)
        page.goto(f"{ORIGIN}/index.html")
        page.wait_for_function("window.ready === true", timeout=60_000)
        page.set_default_timeout(300_000)
        pos = 0
        for mode, reps in (("downsampled", args.repeat), ("naive", args.naive_repeat)):
            results[mode] = []
            for r in range(reps + 1):  # the first card of each mode warms the file cache and the JIT
                pos += 1
                m = page.evaluate("([pos, mode]) => window.run(pos, mode)", [pos, mode])
                if r:
                    results[mode].append(m)
            kernel_ms[mode] = kernel_ms[mode][1:]
        browser.close()
    for job in jobs.values():
        job.close()

    print(f"\nsensor card: 3 series x {args.n:,} points (CSV read once, cold: {read_ms:.0f} ms; cached after)")
    print(f"{'':14s}{'painted p50':>12s}{'max':>9s}{'kernel p50':>12s}{'plotly p50':>12s}{'KB sent':>11s}")
    row = {}
    for mode in results:
        ms = [m["ms"] for m in results[mode]]
        kb = statistics.median(m["bytes"] for m in results[mode]) / 1024
        row[mode] = (statistics.median(ms), kb)
        draw = statistics.median(m["draw"] for m in results[mode])
        print(f"{mode:14s}{statistics.median(ms):10.0f} ms{max(ms):6.0f} ms{statistics.median(kernel_ms[mode]):9.0f} ms"
              f"{draw:9.0f} ms{kb:11,.0f}")
    (d_ms, d_kb), (n_ms, n_kb) = row["downsampled"], row["naive"]
    print(f"\nnaive / downsampled: {n_ms / d_ms:.1f}x the time, {n_kb / d_kb:.0f}x the bytes")
    ok_ms, ok_kb = d_ms < 300, d_kb < 200
    print(f"target < 300 ms painted: {'met' if ok_ms else 'MISSED'} ({d_ms:.0f} ms); "
          f"< 200 KB sent: {'met' if ok_kb else 'MISSED'} ({d_kb:.0f} KB)")


if __name__ == "__main__":
    main()
