"""Mask tool latency in headless Chromium inside a real JupyterLab, on 4000x3000 JPEGs.

One segmentation job, one LabelingWidget, and per image a short brush stroke and a smart fill
before Shift+Enter. The script measures:

- **stroke**: during a brush stroke on the first image, each pointer move -> the frame that shows
  the stroke (p50, p95; target p95 <= 16.7 ms), split into the browser's input queue and the
  tool's work;
- **fills**: a click with smart fill (the kernel's superpixels) or flood fill -> the frame that
  shows the region;
- **switch**: Shift+Enter -> the next image shown with its tool drawn (p50, p95; target p50 <= 50 ms);
- **PNG**: the answer's encoding (in a Web Worker: the tool's "gtwidgets:mask-png" measure) and
  its size, and the WebSocket bytes the page sent per answer;
- **browser memory**: JS heap (after a forced GC, CDP) and the page's renderer memory every
  quarter of the images;
- **kernel**: superpixels of a 4000x3000 image (the card, then SLIC at the working resolution).

Baselines in the same run, in the same page on the same 4000x3000 labels: a naive stroke repaint
(the mask kept as a full-resolution canvas, the image and mask redrawn to the screen every move)
and a naive PNG (canvas.toBlob of the full-resolution RGBA mask, on the page's thread); in the
kernel, scikit-image's SLIC with its defaults at the card's resolution.

    .venv/bin/python bench/mask_latency.py              # 200 images, 100 pointer moves
    .venv/bin/python bench/mask_latency.py --n 20       # a loaded machine: fewer images

Needs /usr/bin/chromium, jupyterlab, playwright and psutil. Times are taken in the page with
bench/box_latency.py's probe: from the input event's ``timeStamp`` to the end of the frame that
shows the tool's draw after it (canvas draw calls, ``putImageData`` included).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from box_latency import PROBE_JS as BOX_PROBE_JS, make_images, stats  # noqa: E402
from label_latency import bench_notebook, run_widget_cell  # noqa: E402

CATS = ["road", "car", "person", "sky"]
W, H = 4000, 3000
PNG_MEASURE = "gtwidgets:mask-png"

# box_latency's probe, plus putImageData and pointerdown (a fill is a click), and the PNG measures.
# A switch counts once the next card is shown (not "loading": data-shown empty).
PROBE_JS = BOX_PROBE_JS.replace("['drawImage', 'strokeRect', 'fillRect']",
                                "['drawImage', 'strokeRect', 'fillRect', 'putImageData']") \
    .replace("['pointermove', 'keydown']", "['pointermove', 'keydown', 'pointerdown']") \
    .replace("if (window.__shown(el) === before) return false;",
             "if (window.__shown(el) === before || window.__shown(el) === '') return false;")
assert all(k in PROBE_JS for k in ("'putImageData']", "'pointerdown']", "=== '') return false")), \
    "bench/box_latency.py's probe changed: update the replacements above"
MEASURES_JS = f"""() => {{
window.__png = [];
new PerformanceObserver((list) => {{
  for (const e of list.getEntries()) if (e.name === {PNG_MEASURE!r}) window.__png.push([e.duration, e.detail.bytes, e.detail.encoder_ms]);
}}).observe({{ type: 'measure' }});
}}"""

# The naive ways, timed in the page on the same image size: a full-resolution mask canvas drawn
# over the image every move, and canvas.toBlob of the full-resolution RGBA mask.
NAIVE_JS = """async ([w, h, moves, sw, sh]) => {
  const img = document.createElement('canvas'); img.width = w; img.height = h;
  const ig = img.getContext('2d'); ig.fillStyle = '#6a8'; ig.fillRect(0, 0, w, h);
  const mask = document.createElement('canvas'); mask.width = w; mask.height = h;
  const mg = mask.getContext('2d');
  const screen = document.createElement('canvas'); screen.width = sw; screen.height = sh;
  document.body.append(screen);
  const sg = screen.getContext('2d');
  const repaint = [];
  for (let k = 0; k < moves; k++) {
    const t0 = performance.now();
    mg.fillStyle = '#1f77b4'; mg.beginPath(); mg.arc(400 + k * 30, 2000, 40, 0, 2 * Math.PI); mg.fill();
    sg.drawImage(img, 0, 0, sw, sh); sg.globalAlpha = 0.55; sg.drawImage(mask, 0, 0, sw, sh); sg.globalAlpha = 1;
    sg.getImageData(0, 0, 1, 1);  // wait for the raster
    repaint.push(performance.now() - t0);
  }
  screen.remove();
  const t0 = performance.now();
  const blob = await new Promise((r) => mask.toBlob(r, 'image/png'));
  return { repaint, png_ms: performance.now() - t0, png_bytes: blob.size };
}"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="images answered (default 200)")
    ap.add_argument("--moves", type=int, default=100, help="pointer moves in the measured stroke (default 100)")
    ap.add_argument("--fills", type=int, default=5, help="smart and flood fill clicks measured (default 5 each)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gtw-maskbench-"))
    try:
        images = make_images(work / "images", args.n + 1)
        results = {"kernel": kernel_side(images[:5])}
        results.update(browser_side(images, work, args))
        results["raw_kb"] = statistics.mean(os.path.getsize(p) for p in images) / 1024
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(args, results)


def kernel_side(images: list[str]) -> dict:
    """The card (decode and shrink) and its superpixels, per image; scikit-image's defaults at the
    card's resolution as the baseline."""
    from PIL import Image
    from skimage.segmentation import slic

    from gtwidgets import cards, superpixels

    card_ms, sp_ms, naive_ms = [], [], []
    for path in images:
        t0 = time.perf_counter()
        data, _, _ = cards.thumbnail(Path(path).read_bytes())
        t1 = time.perf_counter()
        superpixels.superpixels(data)
        t2 = time.perf_counter()
        card_ms.append((t1 - t0) * 1000)
        sp_ms.append((t2 - t1) * 1000)
    for path in images[:2]:
        rgb = np.asarray(Image.open(path).convert("RGB").resize((768, 576)))
        t0 = time.perf_counter()
        slic(rgb, n_segments=superpixels.N_SEGMENTS)
        naive_ms.append((time.perf_counter() - t0) * 1000)
    return {"card_ms": statistics.median(card_ms), "superpixels_ms": statistics.median(sp_ms),
            "naive_slic_ms": statistics.median(naive_ms)}


def browser_side(images: list[str], work: Path, args) -> dict:
    import nbformat
    import psutil

    folder = work / "nb"
    folder.mkdir()
    setup = f"""import pandas as pd
from gtwidgets.job import LabelingJob
from gtwidgets.widget import LabelingWidget
job = LabelingJob("maskbench", input=pd.DataFrame({{"source-ref": {images!r}}}), categories={CATS!r},
                  task="semantic-segmentation", label_attribute="maskbench-ref", output={str(work / 'out')!r},
                  journal_dir={str(work / 'journal')!r})"""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (setup, "LabelingWidget(job)")]
    nbformat.write(nb, folder / "bench.ipynb")

    sent, received = {"bytes": 0}, {"bytes": 0}

    def on_ws(ws):
        size = lambda p: len(p if isinstance(p, bytes) else p.encode())  # noqa: E731
        ws.on("framesent", lambda p: sent.__setitem__("bytes", sent["bytes"] + size(p)))
        ws.on("framereceived", lambda p: received.__setitem__("bytes", received["bytes"] + size(p)))

    out: dict = {}
    with bench_notebook(folder, work / "jhome", on_websocket=on_ws, scripts=(PROBE_JS, MEASURES_JS)) as (page, cdp):
        received0 = received["bytes"]
        cell = run_widget_cell(page, 1)
        surface = cell.locator(".gtw-masks-pointer")
        surface.wait_for(timeout=60_000)
        area = cell.element_handle()
        page.evaluate("(el) => window.__observe(el)", area)
        surface.evaluate("(e) => e.scrollIntoView({block: 'center'})")
        box = surface.bounding_box()
        out["stage"] = [box["width"], box["height"]]
        page.wait_for_timeout(1500)  # the cards ahead are made and sent
        out["stroke"] = measure_stroke(page, area, box, args.moves)
        out["fills"] = measure_fills(page, area, box, args.fills)
        out.update(measure_switches(page, cdp, area, box, args.n, sent, renderer_memory(psutil)))
        # everything the page received from running the widget's cell on, over the images shown
        out["received_kb_per_card"] = (received["bytes"] - received0) / (args.n + 1) / 1024
        png = page.evaluate("() => window.__png")
        out["png_ms"] = stats([d for d, _, _ in png]) if png else None
        out["encoder_ms"] = stats([e for _, _, e in png]) if png else None
        out["png_kb"] = statistics.mean(b for _, b, _ in png) / 1024 if png else None
        sw, sh = round(box["width"]), round(box["height"])
        out["naive"] = page.evaluate(NAIVE_JS, [W, H, 20, sw, sh])
    return out


def measure_stroke(page, area, box, moves: int) -> dict:
    """One brush stroke left to right across the lower half, each move timed."""
    page.keyboard.press("b")
    x0, y0 = box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.6
    page.mouse.move(x0, y0)
    page.mouse.down()
    total, queued, work = [], [], []
    for k in range(1, moves + 1):
        page.evaluate("(el) => window.__arm('drag', el, null)", area)
        page.mouse.move(x0 + k * box["width"] * 0.8 / moves, y0 + k * box["height"] * 0.15 / moves)
        t0, t1, dispatched, drawn, _ = page.evaluate("() => window.__paint()")
        total.append(t1 - t0)
        queued.append(dispatched - t0)
        work.append(drawn - dispatched)
    page.mouse.up()
    return {"total": stats(total), "queued": stats(queued), "work": stats(work)}


def measure_fills(page, area, box, n: int) -> dict:
    """Clicks with smart fill, then flood fill, each click -> the region on screen."""
    out = {}
    for key, name in (("s", "smart"), ("f", "flood")):
        page.keyboard.press(key)
        times = []
        for k in range(n):
            page.keyboard.press(str(k % len(CATS) + 1))
            page.evaluate("(el) => window.__arm('click', el, null)", area)
            page.mouse.click(box["x"] + box["width"] * (0.15 + 0.7 * k / max(1, n - 1)), box["y"] + box["height"] * 0.3)
            t0, t1, _, _, _ = page.evaluate("() => window.__paint()")
            times.append(t1 - t0)
        out[name] = stats(times)
    return out


def measure_switches(page, cdp, area, box, n: int, sent: dict, memory) -> dict:
    """Per image: a short stroke and a smart fill, then Shift+Enter timed; memory every quarter.

    After each switch the script waits until the kernel has taken the answer (the progress line
    counts it), as a person painting the next mask would give it time to: the kernel's time per
    answer (PNG decoded, journaled) is reported on its own."""
    switch, queued, work, heap, taken = [], [], [], [], []
    progress = page.locator(".gtw-progress-text")
    done0 = answered(progress.text_content())
    quarter = max(1, n // 4)
    sent0 = sent["bytes"]
    for i in range(n + 1):
        if i % quarter == 0 or i == n:
            cdp.send("HeapProfiler.collectGarbage")
            metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            heap.append((i, metrics["JSHeapUsedSize"] / 2**20, memory()))
        if i == n:
            break
        page.keyboard.press("b")
        y = box["y"] + box["height"] * (0.2 + 0.6 * (i % 7) / 7)
        page.mouse.move(box["x"] + 40, y)
        page.mouse.down()
        page.mouse.move(box["x"] + 240, y + 30, steps=5)
        page.mouse.up()
        page.keyboard.press("s")
        page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5)
        before = page.evaluate("(el) => window.__shown(el)", area)
        page.evaluate("([el, b]) => window.__arm('switch', el, b)", [area, before])
        page.keyboard.press("Shift+Enter")
        try:
            t0, t1, dispatched, drawn, _ = page.evaluate("() => window.__paint()")
        except Exception:
            print("stuck at image", i, page.evaluate(STATE_JS, area), file=sys.stderr)
            raise
        switch.append(t1 - t0)
        queued.append(dispatched - t0)
        work.append(drawn - dispatched)
        start = time.perf_counter()
        page.wait_for_function("([el, k]) => parseInt(el.textContent) >= k", arg=[progress.element_handle(), done0 + i + 1],
                               timeout=300_000, polling=20)
        taken.append((time.perf_counter() - start) * 1000 + (t1 - t0))
    page.wait_for_timeout(1000)  # the last PNG and its batch
    return {"switch": stats(switch), "switch_queued": stats(queued), "switch_work": stats(work), "taken": stats(taken),
            "heap": heap, "sent_kb_per_answer": (sent["bytes"] - sent0) / n / 1024}


def answered(progress: str) -> int:
    """The count of labeled items in the widget's progress line ("3 / 41 labeled ...")."""
    return int(progress.strip().split("/")[0])


STATE_JS = """(el) => { const r = el.querySelector('.gtw-root'), a = document.activeElement;
  return { shown: r && r.dataset.shown, pos: r && r.dataset.pos, focus: a && a.className,
           errors: [...el.querySelectorAll('.gtw-error')].map((e) => e.textContent) }; }"""


def renderer_memory(psutil):
    """MB of the page's renderer processes (resident, unique where the OS says), a callable."""
    def sample() -> float:
        total = 0
        for proc in psutil.process_iter(["cmdline"]):
            cmd = proc.info["cmdline"] or []
            if cmd and "chromium" in cmd[0] and "--type=renderer" in cmd:
                try:
                    info = proc.memory_full_info()
                    total += getattr(info, "uss", info.rss)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
        return total / 2**20
    return sample


def report(args, r: dict) -> None:
    s, f, k, naive = r["stroke"], r["fills"], r["kernel"], r["naive"]
    print(f"\nMask tool in headless Chromium inside JupyterLab: {W}x{H} JPEGs ({r['raw_kb']:.0f} KB each), "
          f"stage {r['stage'][0]:.0f}x{r['stage'][1]:.0f} CSS px, {args.moves} pointer moves, {args.n} answers")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; times from the input event to the end "
          "of the frame that shows the result (ms)")
    print(f"stroke: p50 {s['total']['p50']:.1f}, p95 {s['total']['p95']:.1f} (input queue p50 {s['queued']['p50']:.1f} "
          f"/ p95 {s['queued']['p95']:.1f}; the tool's work up to the draw p50 {s['work']['p50']:.1f} / "
          f"p95 {s['work']['p95']:.1f})")
    naive_p50 = statistics.median(naive["repaint"])
    print(f"  naive repaint (full-resolution mask canvas, image and mask redrawn each move): p50 {naive_p50:.1f} "
          f"-> {naive_p50 / max(s['work']['p50'], 0.01):.0f}x the tool's work")
    print(f"smart fill click: p50 {f['smart']['p50']:.1f}, p95 {f['smart']['p95']:.1f}; flood fill click: "
          f"p50 {f['flood']['p50']:.1f}, p95 {f['flood']['p95']:.1f}")
    print(f"switch (Shift+Enter -> next image shown): p50 {r['switch']['p50']:.1f}, p95 {r['switch']['p95']:.1f}, "
          f"max {r['switch']['max']:.1f} (input queue p50 {r['switch_queued']['p50']:.1f}; key to the last draw "
          f"p50 {r['switch_work']['p50']:.1f} / p95 {r['switch_work']['p95']:.1f})")
    if r["png_ms"]:
        print(f"PNG: submit's copy to the PNG back from the worker p50 {r['png_ms']['p50']:.1f} ms, p95 "
              f"{r['png_ms']['p95']:.1f} ms (the encoder itself p50 {r['encoder_ms']['p50']:.1f}, p95 "
              f"{r['encoder_ms']['p95']:.1f}), {r['png_kb']:.0f} KB an answer; naive canvas.toBlob of the RGBA mask on the page's thread: "
              f"{naive['png_ms']:.0f} ms, {naive['png_bytes'] / 1024:.0f} KB "
              f"({naive['png_ms'] / r['png_ms']['p50']:.1f}x the time, off the page's thread here)")
    print(f"kernel: Shift+Enter -> the answer taken (PNG read, journaled; the progress line counts it) p50 "
          f"{r['taken']['p50']:.0f} ms, p95 {r['taken']['p95']:.0f} ms (the script waits for it before the next image)")
    print(f"WebSocket: {r['sent_kb_per_answer']:.0f} KB sent per answer, {r['received_kb_per_card']:.0f} KB received "
          "per card (image, superpixels; cards fetched ahead and not shown count too)")
    print(f"kernel, per 4000x3000 image: card {k['card_ms']:.0f} ms, superpixels {k['superpixels_ms']:.0f} ms; "
          f"scikit-image SLIC defaults at the card's 768x576: {k['naive_slic_ms']:.0f} ms "
          f"({k['naive_slic_ms'] / k['superpixels_ms']:.1f}x)")
    print(f"targets: stroke p95 <= 16.7 ms: {s['total']['p95']:.1f}; switch p50 <= 50 ms: {r['switch']['p50']:.1f}")
    print("browser memory (after GC): " + ", ".join(
        f"image {i}: heap {h:.1f} MB, renderers {m:.0f} MB" for i, h, m in r["heap"]))
    print(json.dumps(r, default=str), file=sys.stderr)


if __name__ == "__main__":
    main()
