"""Box tool latency in headless Chromium inside a real JupyterLab: gtwidgets vs jupyter-bbox-widget.

Both widgets show the same 4000x3000 JPEGs with the same 50 boxes on each image, in one
JupyterLab session, and the script measures, per tool:

- **drag repaint**: during a drag that draws a new box, each pointer move -> the frame that shows
  the box repainted (p50, p95);
- **image switch**: Enter -> the next image (and its 50 boxes) painted (p50, p95);
- **bytes per card**: WebSocket bytes the page received per image switch;
- **browser memory**: JS heap (after a forced GC, CDP ``Performance.getMetrics``), DOM nodes and
  the Chromium processes' proportional set size (PSS, by process type: decoded images and canvas
  bitmaps live outside the JS heap) at every quarter of the images.

    .venv/bin/python bench/box_latency.py              # 200 images, 100 pointer moves
    .venv/bin/python bench/box_latency.py --n 40       # a loaded machine: fewer images
    .venv/bin/python bench/box_latency.py --n 1000 --files 50 --no-peer   # memory over 1,000 images

Needs /usr/bin/chromium, jupyterlab, playwright, psutil and jupyter-bbox-widget (the ``bench``
extra).

How a time is taken, in the page, the same way for both tools: from the input event's
``timeStamp`` (Playwright sends the pointer and key events through CDP; the browser stamps them as
it receives them) to the end of **the frame that shows the change**: the first rendering update
whose layout comes after the tool's draw (a canvas draw call: gtwidgets draws on a canvas in a
requestAnimationFrame callback; or a DOM change in the widget: jupyter-bbox-widget renders boxes
as SVG) and, for a switch, in which the new image is there (gtwidgets: ``data-shown`` changed;
jupyter-bbox-widget: its new <img> is complete, in its favour, as its pixels may be decoded a
frame later). While a measurement is armed, the probe runs a requestAnimationFrame loop that
resizes a hidden 1 px element; its ResizeObserver callback runs in every frame after the
animation callbacks and layout and before paint, so what was drawn by then is in that frame;
the frame's end is a task queued from there (after paint and commit to the compositor).

Each input is sent after a random pause of 0-16.7 ms (one seeded sequence, the same for both
tools), so it lands at any phase of the 60 Hz frame clock, as a hand's input does. Chromium holds
pointer moves for the next frame (rAF-aligned input), so from the input's time stamp a drag
repaint takes that wait (0-16.7 ms, the browser's, printed as "input -> handler") plus the tool's
frame; "frames late" counts the frames between the one the event was handed to the page in and
the one that shows the change (0: every frame shows the latest move, the 60 Hz target).

Before this method (commit 7c28a05) the end was the first frame after the script *started
waiting*, which came a round trip after the input: a tool that drew in the event's own frame was
charged one more frame (16.7 ms) most of the time, both tools alike; and each input was sent just
after the previous frame, so pointer moves always waited ~12 ms for the next one.

With ``--dwell 0`` (the default) Enter comes as soon as the image is painted, 20-30 images a
second: faster than a kernel makes 12 MP cards (60-100 ms each on this 2-core machine), so
gtwidgets' prefetch runs dry now and then and its p95 is the kernel's; ``--dwell 300`` looks at
each image for 0.3 s, as a person does (the peer fetches every image on Enter either way).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from label_latency import bench_notebook, collapse, run_cell, run_widget_cell  # noqa: E402

CATS = ["car", "person", "sign", "light"]
W, H, N_BOXES = 4000, 3000, 50

# Marks every draw (canvas draw calls, DOM changes in observed elements) and, while armed, every
# frame: which draws it shows (ResizeObserver: after rAF callbacks and layout, before paint) and
# when it ends (a task queued from there). __arm(kind, el, before) then input; __paint() resolves
# with [input timeStamp, end of the frame that shows it, dispatched, last draw, frames late].
PROBE_JS = """() => {
window.__lastDraw = 0;
for (const name of ['drawImage', 'strokeRect', 'fillRect']) {
  const orig = CanvasRenderingContext2D.prototype[name];
  CanvasRenderingContext2D.prototype[name] = function (...a) { window.__lastDraw = performance.now(); return orig.apply(this, a); };
}
window.__observe = (el) => new MutationObserver(() => { window.__lastDraw = performance.now(); })
  .observe(el, { subtree: true, childList: true, attributes: true, characterData: true });
let probe = null;   // the measurement armed: {kind, el, before, t0, dispatched, frames, resolve}
for (const type of ['pointermove', 'keydown']) {
  window.addEventListener(type, (e) => {
    if (probe && probe.t0 === null) { probe.t0 = e.timeStamp; probe.dispatched = performance.now(); }
  }, true);
}
const marker = document.createElement('div');
marker.style.cssText = 'position:fixed;left:0;top:0;width:1px;height:1px;visibility:hidden;pointer-events:none;contain:strict';
document.body.append(marker);
new ResizeObserver(() => {
  const p = probe;
  if (!p || p.done) return;
  const f = { at: performance.now(), drawn: window.__lastDraw,
              switched: p.kind !== 'switch' || window.__switched(p.el, p.before) };
  p.frames.push(f);
  setTimeout(() => {
    f.end = performance.now();
    if (p.done || p.t0 === null || f.drawn < p.dispatched || !f.switched) {
      if (p.frames.length > 1200) { p.done = true; p.reject(new Error('no paint within 1200 frames')); }
      return;
    }
    p.done = true;
    const late = p.frames.filter((g) => g.at > p.dispatched && g.at < f.at).length;
    p.resolve([p.t0, f.end, p.dispatched, f.drawn, late]);
  }, 0);
}).observe(marker);
window.__arm = (kind, el, before) => {
  const p = probe = { kind, el, before, t0: null, dispatched: null, frames: [], done: false };
  p.promise = new Promise((resolve, reject) => Object.assign(p, { resolve, reject }));
  const tick = () => {   // one resize a frame, until this measurement is done
    if (probe !== p || p.done) return;
    marker.style.width = marker.style.width === '2px' ? '1px' : '2px';
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
};
window.__paint = () => probe.promise;
// what is shown now, to tell a switch: gtwidgets' data-shown, the bbox widget's <img> src
window.__shown = (el) => {
  const root = el.querySelector('.gtw-root');
  if (root) return root.dataset.shown;
  const img = el.querySelector('img');
  return img ? img.src.length + ':' + img.src.slice(-64) : null;
};
window.__switched = (el, before) => {
  if (window.__shown(el) === before) return false;
  const img = el.querySelector('img');
  return el.querySelector('.gtw-root') ? true : !!(img && img.complete && img.naturalWidth);
};
}"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="images switched per tool (default 200)")
    ap.add_argument("--moves", type=int, default=100, help="pointer moves in the drag (default 100)")
    ap.add_argument("--no-peer", action="store_true", help="skip jupyter-bbox-widget")
    ap.add_argument("--seed", type=int, default=1, help="of the random pauses before each input")
    ap.add_argument("--dwell", type=float, default=0,
                    help="ms to look at each image before Enter (default 0: Enter as soon as it is painted, "
                         "faster than the kernel makes 4000x3000 cards, so gtwidgets' prefetch runs dry now and then)")
    ap.add_argument("--files", type=int, default=0,
                    help="distinct JPEG files, the n + 1 images cycling over them (default n + 1: all distinct)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gtw-boxbench-"))
    try:
        files = make_images(work / "images", min(args.files or args.n + 1, args.n + 1))
        images = [files[i % len(files)] for i in range(args.n + 1)]   # each line has its own boxes
        results = browser_side(images, work, args)
        results["raw_kb"] = statistics.mean(os.path.getsize(p) for p in files) / 1024
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(args, results)


def make_images(folder: Path, n: int) -> list[str]:
    """Photo-like 4000x3000 JPEGs: smooth random colour fields plus grain."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(7)
    grain = rng.integers(-10, 11, (H, W, 1), dtype=np.int16)
    paths = []
    for i in range(n):
        small = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).resize((W, H), Image.BICUBIC)
        a = np.asarray(small, dtype=np.int16) + np.roll(grain, i * 37, axis=1)
        p = folder / f"img{i:04d}.jpg"
        Image.fromarray(a.clip(0, 255).astype(np.uint8)).save(p, "JPEG", quality=85)
        paths.append(str(p))
    return paths


def boxes_of(i: int) -> list[dict]:
    """50 boxes in the upper 60% of image i (10 x 5 grid, shifted per image); the drag is below them."""
    return [{"label": CATS[(i + k) % 4], "left": 40 + (k % 10) * 390 + (i * 7) % 50,
             "top": 40 + (k // 10) * 350 + (i * 11) % 50, "width": 300, "height": 260} for k in range(N_BOXES)]


def browser_side(images: list[str], work: Path, args) -> dict:
    import nbformat

    folder = work / "nb"
    folder.mkdir()
    setup = f"""import pandas as pd
from gtwidgets.job import LabelingJob
from gtwidgets.widget import LabelingWidget
paths, CATS = {images!r}, {CATS!r}
BOXES = {[boxes_of(i) for i in range(len(images))]!r}
boxes_of = BOXES.__getitem__
def pair(i):
    return {{"image_size": [{{"width": {W}, "height": {H}, "depth": 3}}],
            "annotations": [{{"class_id": CATS.index(b["label"]), **{{k: b[k] for k in ("left", "top", "width", "height")}}}}
                            for b in boxes_of(i)]}}
meta = {{"class-map": {{str(k): c for k, c in enumerate(CATS)}}, "type": "groundtruth/object-detection",
        "human-annotated": "yes", "creation-date": "2024-01-01T00:00:00.000000", "job-name": "labeling-job/prior"}}
frame = pd.DataFrame({{"source-ref": paths, "prior": [pair(i) for i in range(len(paths))],
                      "prior-metadata": [dict(meta, objects=[{{"confidence": 0}}] * {N_BOXES}) for _ in paths]}})
job = LabelingJob("boxbench", input=frame, categories=CATS, task="bounding-box", output={str(work / 'out')!r},
                  journal_dir={str(work / 'journal')!r}, options={{"prior_attribute": "prior"}})"""
    peer = """from jupyter_bbox_widget import BBoxWidget
as_peer = lambda i: [{"x": b["left"], "y": b["top"], "width": b["width"], "height": b["height"], "label": b["label"]}
                     for b in boxes_of(i)]
peer = BBoxWidget(image=paths[0], classes=CATS, bboxes=as_peer(0))
state = {"i": 0}
@peer.on_submit
def _next():
    state["i"] = i = (state["i"] + 1) % len(paths)
    peer.bboxes = as_peer(i)
    peer.image = paths[i]
peer"""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (setup, "LabelingWidget(job)", peer)]
    nbformat.write(nb, folder / "bench.ipynb")

    out: dict = {}
    received = {"bytes": 0}

    def on_ws(ws):
        ws.on("framereceived", lambda payload: received.__setitem__(
            "bytes", received["bytes"] + len(payload if isinstance(payload, bytes) else payload.encode())))

    with bench_notebook(folder, work / "jhome", on_websocket=on_ws, scripts=(PROBE_JS,)) as (page, cdp):
        bytes0 = received["bytes"]
        cell = run_widget_cell(page, 1)
        surface = cell.locator(".gtw-tool canvas")
        surface.wait_for(timeout=60_000)
        out["gtwidgets"] = run_tool(page, cdp, cell, surface, cell.locator(".gtw-boxes"), args, received, bytes0)
        collapse(page, 1)

        if not args.no_peer:
            bytes0 = received["bytes"]
            cell = run_cell(page, 2)
            img = cell.locator("img").first
            img.wait_for(timeout=120_000)
            page.wait_for_function("(i) => i.complete && i.naturalWidth > 0", arg=img.element_handle(), timeout=120_000)
            surface = img   # the SVG the boxes are drawn in lies over the image
            focus = cell.locator("div.wrapper[tabindex]").first   # where its keydown listener is
            out["jupyter-bbox-widget"] = run_tool(page, cdp, cell, surface, focus, args, received, bytes0)
            collapse(page, 2)
    return out


def run_tool(page, cdp, cell, surface, focus, args, received, bytes0) -> dict:
    """The drag on the first image, then n image switches with Enter, memory sampled every quarter.

    Bytes per card: all the page received from running the widget's cell (``bytes0``) to the
    last switch, over the n + 1 images shown (cards fetched ahead and not shown count too)."""
    pause = random.Random(args.seed)   # the same pauses for both tools
    area = cell.element_handle()
    page.evaluate("(el) => window.__observe(el)", area)
    surface.evaluate("(e) => e.scrollIntoView({block: 'end'})")   # the drag is in its lower part
    box = surface.bounding_box()
    assert box["y"] + box["height"] <= 1000, box
    x0, y0 = box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.75   # below the 50 boxes
    page.mouse.move(x0, y0)
    page.mouse.down()
    drag, queued, work, frame, late = [], [], [], [], []
    for k in range(1, args.moves + 1):
        page.evaluate("(el) => window.__arm('drag', el, null)", area)
        time.sleep(pause.uniform(0, 1 / 60))
        page.mouse.move(x0 + k * box["width"] * 0.7 / args.moves, y0 + k * box["height"] * 0.2 / args.moves)
        t0, t1, dispatched, drawn, frames_late = page.evaluate("() => window.__paint()")
        drag.append(t1 - t0)
        queued.append(dispatched - t0)
        work.append(drawn - dispatched)
        frame.append(t1 - dispatched)
        late.append(frames_late)
    page.mouse.up()
    page.keyboard.press("Escape")
    focus.focus()

    switch, switch_late, heap = [], [], []
    quarter = max(1, args.n // 4)
    for i in range(args.n + 1):
        if i % quarter == 0 or i == args.n:
            cdp.send("HeapProfiler.collectGarbage")
            metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            heap.append((i, metrics["JSHeapUsedSize"] / 2**20, int(metrics["Nodes"]), chromium_pss_mb()))
        if i == args.n:
            break
        time.sleep(args.dwell / 1000)
        page.evaluate("(el) => window.__arm('switch', el, window.__shown(el))", area)
        time.sleep(pause.uniform(0, 1 / 60))
        page.keyboard.press("Enter")
        t0, t1, _, _, frames_late = page.evaluate("() => window.__paint()")
        switch.append(t1 - t0)
        switch_late.append(frames_late)
    return {"drag": stats(drag), "drag_queued": stats(queued), "drag_work": stats(work), "drag_frame": stats(frame),
            "drag_late": stats(late), "switch": stats(switch), "switch_late": stats(switch_late),
            "heap": heap, "kb_per_card": (received["bytes"] - bytes0) / (args.n + 1) / 1024}


def chromium_pss_mb() -> dict:
    """Proportional set size (MB) of the Chromium processes under this one, by type (renderer, GPU,
    browser, ...): what the JS heap leaves out, such as decoded images and canvas bitmaps."""
    import psutil

    out: dict = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            if "chrom" not in proc.name():
                continue
            kind = next((a[7:] for a in proc.cmdline() if a.startswith("--type=")), "browser")
            out[kind] = out.get(kind, 0) + proc.memory_full_info().pss / 2**20
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return out


def stats(ms: list[float]) -> dict:
    s = sorted(ms)
    return {"n": len(s), "p50": statistics.median(s), "p95": s[int(0.95 * (len(s) - 1))], "max": s[-1]}


def report(args, r: dict) -> None:
    print(f"\nBox tools in headless Chromium inside JupyterLab: {W}x{H} JPEGs ({r['raw_kb']:.0f} KB each), "
          f"{N_BOXES} boxes on each, {args.moves} pointer moves, {args.n} image switches")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; times from the input event to the end "
          f"of the frame that shows the result (random input phase, seed {args.seed})")
    print(f"{'tool':<20} {'drag p50':>9} {'drag p95':>9} {'switch p50':>11} {'switch p95':>11} {'KB/card':>9}")
    for name in ("gtwidgets", "jupyter-bbox-widget"):
        t = r.get(name)
        if t:
            print(f"{name:<20} {t['drag']['p50']:9.1f} {t['drag']['p95']:9.1f} {t['switch']['p50']:11.1f} "
                  f"{t['switch']['p95']:11.1f} {t['kb_per_card']:9.0f}")
    for name in ("gtwidgets", "jupyter-bbox-widget"):
        t = r.get(name)
        if t:
            print(f"{name} drag, split: input -> handler p50 {t['drag_queued']['p50']:.1f} / p95 "
                  f"{t['drag_queued']['p95']:.1f} ms (the browser holds moves for the next frame), handler -> drawn p50 "
                  f"{t['drag_work']['p50']:.1f} / p95 {t['drag_work']['p95']:.1f} ms (the tool's work, up to the draw), "
                  f"handler -> end of the frame p50 {t['drag_frame']['p50']:.1f} / p95 {t['drag_frame']['p95']:.1f} ms; "
                  f"frames late p95 {t['drag_late']['p95']}, max {t['drag_late']['max']} (0: the event's own frame); "
                  f"switch frames late p50 {t['switch_late']['p50']}, p95 {t['switch_late']['p95']}")
    ours, peer = r["gtwidgets"], r.get("jupyter-bbox-widget")
    if peer:
        print(f"jupyter-bbox-widget / gtwidgets: drag p95 {peer['drag']['p95'] / ours['drag']['p95']:.1f}x, "
              f"switch p50 {peer['switch']['p50'] / ours['switch']['p50']:.1f}x, "
              f"switch p95 {peer['switch']['p95'] / ours['switch']['p95']:.1f}x, "
              f"bytes per card {peer['kb_per_card'] / ours['kb_per_card']:.1f}x")
    print(f"targets: drag p95 <= 16.7 ms: {ours['drag']['p95']:.1f}; switch p50 <= 25 ms: {ours['switch']['p50']:.1f}"
          + (f"; >= 3x jupyter-bbox-widget at switch p50: {peer['switch']['p50'] / ours['switch']['p50']:.1f}x"
             if peer else ""))
    for name in ("gtwidgets", "jupyter-bbox-widget"):
        t = r.get(name)
        if t:
            print(f"{name} browser memory (after GC): " +
                  ", ".join(f"image {i}: heap {h:.1f} MB, {n} DOM nodes, Chromium PSS {sum(pss.values()):.0f} MB "
                            f"(renderer {pss.get('renderer', 0):.0f}, GPU {pss.get('gpu-process', 0):.0f})"
                            for i, h, n, pss in t["heap"]))
    print(json.dumps(r, default=str), file=sys.stderr)


if __name__ == "__main__":
    main()
