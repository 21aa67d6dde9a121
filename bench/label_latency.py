"""Key press -> next image painted, in headless Chromium inside a real JupyterLab.

Runs gtwidgets' LabelingWidget, pigeon (pigeon-jupyter) and pigeonXT over the same
JPEGs (1024x768) in one JupyterLab session, labels every item as fast as each card
paints, and prints p50 / p95 / max / total per tool and the ratios against gtwidgets.
Then: first card of a job over a 1,000,000-line frame, browser memory over 1,000
cards, kernel memory after 10,000 items, bytes sent per card.

    .venv/bin/python bench/label_latency.py            # defaults of the issue (200 images)
    .venv/bin/python bench/label_latency.py --quick    # 30 images, smaller side runs

Needs /usr/bin/chromium, jupyterlab, playwright, psutil, pigeon-jupyter and
pigeonXT-jupyter (``pip install --no-deps pigeonXT-jupyter``; its pins are stale).
Latency is measured in the page: from the input event's timestamp to the first frame
after the new image is in the DOM and decoded (requestAnimationFrame, then a task).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

CATS = ["cat", "dog", "bird", "fish"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
CELLS = "#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"
KERNEL_READY_JS = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle'; }"""

# Arm before each input: resolves with [input timestamp, time the next image is painted].
# The same probe serves every tool: it watches <img> elements in the cell's output.
PROBE_JS = """() => {
window.__arm = (container) => {
  const visible = () => [...container.querySelectorAll('img')].find((i) => i.offsetParent !== null);
  let prev = visible();
  let prevSrc = prev ? prev.src : null;
  let t0 = null;
  const onInput = (e) => { if (t0 === null) t0 = e.timeStamp; };
  window.addEventListener('keydown', onInput, true);
  window.addEventListener('mousedown', onInput, true);
  window.__done = new Promise((resolve) => {
    let finished = false;
    const check = () => {
      if (finished) return;
      const im = visible();
      if (t0 === null) { prev = im; prevSrc = im ? im.src : null; return; }  // changed before the input
      if (!im || (im === prev && im.src === prevSrc)) return;
      if (!(im.complete && im.naturalWidth)) { im.addEventListener('load', check, { once: true }); return; }
      finished = true;
      obs.disconnect();
      requestAnimationFrame(() => setTimeout(() => {
        window.removeEventListener('keydown', onInput, true);
        window.removeEventListener('mousedown', onInput, true);
        resolve([t0, performance.now()]);
      }, 0));
    };
    const obs = new MutationObserver(check);
    obs.observe(container, { subtree: true, childList: true, attributes: true, attributeFilter: ['src'] });
  });
};
// One round trip a label: await this label's paint, and arm for the next input at once.
window.__next = async (container) => { const r = await window.__done; window.__arm(container); return r; };
}"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="labels per tool (default 200)")
    ap.add_argument("--quick", action="store_true", help="30 labels, 200 memory cards, 2,000 kernel items")
    ap.add_argument("--memory-cards", type=int, default=1000)
    ap.add_argument("--kernel-items", type=int, default=10_000)
    ap.add_argument("--big", type=int, default=1_000_000, help="lines of the big-frame job")
    ap.add_argument("--no-peers", action="store_true", help="skip pigeon and pigeonXT")
    args = ap.parse_args()
    if args.quick:
        args.n, args.memory_cards, args.kernel_items, args.big = 30, 200, 2_000, 100_000

    work = Path(tempfile.mkdtemp(prefix="gtw-bench-"))
    try:
        images = make_images(work / "images", args.n + 1)
        kernel = kernel_side(images, work, args.kernel_items)
        browser = browser_side(images, work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(args, kernel, browser)


# ---------------------------------------------------------------------------- data

def make_images(folder: Path, n: int) -> list[str]:
    """Photo-like JPEGs: smooth random colour fields plus a little grain (about 100-200 KB each)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(7)
    paths = []
    for i in range(n):
        small = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).resize((1024, 768), Image.BICUBIC)
        a = np.asarray(small, dtype=np.int16) + rng.integers(-12, 13, (768, 1024, 1), dtype=np.int16)
        p = folder / f"img{i:04d}.jpg"
        Image.fromarray(a.clip(0, 255).astype(np.uint8)).save(p, "JPEG", quality=90)
        paths.append(str(p))
    return paths


# ---------------------------------------------------------------------------- kernel side

def kernel_side(images: list[str], work: Path, items: int) -> dict:
    """Bytes per card, and the kernel's memory after labeling `items` through the widget."""
    import pandas as pd
    import psutil

    from gtwidgets import cards
    from gtwidgets.job import LabelingJob
    from gtwidgets.widget import LabelingWidget

    raw = [os.path.getsize(p) for p in images]
    thumbs = [len(cards.thumbnail(Path(p).read_bytes())[0]) for p in images[:50]]
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    frame = pd.DataFrame({"source-ref": [images[i % len(images)] for i in range(items)]})
    job = LabelingJob("kernel-mem", input=frame, categories=CATS, output=work / "out-k",
                      journal_dir=work / "journal-k")
    widget = LabelingWidget(job)
    sent = {"n": 0, "bytes": 0}

    def count(content, buffers=None):
        sent["n"] += 1
        sent["bytes"] += sum(len(b) for b in buffers or ())
    widget.send = count
    t = time.perf_counter()
    for i in range(items):
        if i % 10 == 0:  # cards for every 10th item: decoding all would only measure Pillow
            widget.handle({"type": "cards", "positions": [i]})
        widget.handle({"type": "submit", "id": job.queue[i], "answer": CATS[i % 4], "spent": 1.0})
    widget._pool.shutdown(wait=True)
    seconds = time.perf_counter() - t
    rss1 = proc.memory_info().rss
    job.close(timeout=30)
    return {"raw_kb": statistics.mean(raw) / 1024, "card_kb": statistics.mean(thumbs) / 1024,
            "items": items, "rss0_mb": rss0 / 2**20, "rss1_mb": rss1 / 2**20,
            "submit_ms": 1000 * seconds / items, "labeled": job.progress()["labeled"]}


# ---------------------------------------------------------------------------- browser side

def browser_side(images: list[str], work: Path, args) -> dict:
    import nbformat

    folder = work / "nb"
    folder.mkdir()
    n = args.n
    setup = f"""import os, pandas as pd
from IPython.display import display, Image
from gtwidgets.job import LabelingJob
from gtwidgets.widget import LabelingWidget
paths = {images!r}
CATS = {CATS!r}
show = lambda p: display(Image(filename=p, width=768))
import re  # pigeonXT 0.7 hands display_fn an HTML object wrapping the example, not the example
show_xt = lambda h: show(re.search(r"<div>(.*?)</div>", getattr(h, "value", None) or h.data).group(1))
def job(name, frame):
    return LabelingJob(name, input=frame, categories=CATS, output={str(work / 'out')!r},
                       journal_dir={str(work / 'journal')!r})"""
    cells = [
        setup,
        "LabelingWidget(job('bench', pd.DataFrame({'source-ref': paths})))",
        "from pigeon import annotate\np1 = annotate(paths, options=CATS, display_fn=show)",
        "import pigeonXT\np2 = pigeonXT.annotate(paths, options=CATS, display_fn=show_xt, include_back=False)",
        f"LabelingWidget(job('memory', pd.DataFrame({{'source-ref': [paths[i % len(paths)] for i in range({args.memory_cards + 1})]}})))",
        f"big = job('big', pd.DataFrame({{'source-ref': [paths[i % len(paths)] for i in range({args.big})]}}))",
        "LabelingWidget(big)",
    ]
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, folder / "bench.ipynb")

    out: dict = {}
    with bench_notebook(folder, work / "jhome", scripts=(PROBE_JS,)) as (page, _):
        cell = run_widget_cell(page, 1)
        root = cell.locator(".gtw-root")
        root.focus()
        out["gtwidgets"] = measure(page, cell, n, lambda i: page.keyboard.press(str(i % 4 + 1)))
        collapse(page, 1)

        if not args.no_peers:
            for name, index in [("pigeon", 2), ("pigeonXT", 3)]:
                cell = run_cell(page, index)
                cell.locator("img").first.wait_for(timeout=60_000)
                buttons = [cell.locator("button", has_text=c).first for c in CATS]
                out[name] = measure(page, cell, n, lambda i: buttons[i % 4].click())
                collapse(page, index)

        out["memory"] = browser_memory(page, run_cell(page, 4), args.memory_cards)
        collapse(page, 4)
        run_cell(page, 5)
        wait_idle(page, timeout=300_000)
        cell = run_cell(page, 6)
        t0 = time.perf_counter()
        page.wait_for_function("(c) => { const r = c.querySelector('.gtw-root'); return r && r.dataset.shown; }",
                               arg=cell.element_handle(), timeout=60_000, polling=5)
        out["big"] = {"lines": args.big, "first_card_s": time.perf_counter() - t0,
                      "img_elements": cell.locator(".gtw-root img").count()}
    return out


def measure(page, cell, n: int, press) -> dict:
    """Press n times; each press waits until the next image is painted."""
    area = cell.element_handle()
    lat, first, last = [], None, None
    wall = time.perf_counter()
    page.evaluate("(c) => window.__arm(c)", area)
    for i in range(n):
        press(i)
        t0, t1 = page.evaluate("(c) => window.__next(c)", area)
        first = t0 if first is None else first
        last = t1
        lat.append(t1 - t0)
    lat.sort()
    wall = time.perf_counter() - wall
    return {"n": n, "p50": statistics.median(lat), "p95": lat[int(0.95 * (n - 1))], "max": lat[-1],
            "total_s": sum(lat) / 1000, "wall_s": wall, "page_s": (last - first) / 1000}


def browser_memory(page, cell, cards: int) -> dict:
    """JS heap and DOM nodes (after a forced GC) every quarter of `cards` labels."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    root = cell.locator(".gtw-root")
    root.wait_for(timeout=60_000)
    handle = root.element_handle()
    page.wait_for_function("(r) => r.dataset.shown === '0'", arg=handle, timeout=60_000)
    root.focus()
    samples = []
    for i in range(cards + 1):
        if i % max(1, cards // 4) == 0:
            cdp.send("HeapProfiler.collectGarbage")
            metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            samples.append((i, metrics["JSHeapUsedSize"] / 2**20, int(metrics["Nodes"])))
        if i < cards:
            page.keyboard.press(str(i % 4 + 1))
            try:
                page.wait_for_function("([r, p]) => r.dataset.shown === String(p)", arg=[handle, i + 1], polling=2)
            except Exception:
                print("STUCK", i, page.evaluate("(r) => [r.dataset.pos, r.dataset.shown, r.innerText, document.activeElement.className]", handle), file=sys.stderr)
                raise
    return {"cards": cards, "samples": samples}


# ---------------------------------------------------------------------------- JupyterLab

class jupyter_lab:
    """A throwaway JupyterLab on 127.0.0.1 (as in tests/browser/conftest.py)."""

    def __init__(self, root: Path, home: Path):
        self.root, self.home = root, home

    def __enter__(self) -> dict:
        home = self.home
        settings = home / "user-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        token = secrets.token_hex(16)
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
               "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython")}
        self.log = open(home / "jupyter.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={self.root}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
             f"--LabApp.user_settings_dir={home / 'user-settings'}", "--LabApp.news_url=None",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.expose_app_in_browser=True"],
            env=env, cwd=self.root, stdout=self.log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            if self.proc.poll() is not None:
                raise RuntimeError((home / "jupyter.log").read_text()[-2000:])
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                return {"url": url, "token": token}
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("JupyterLab did not start in 60 s")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@contextlib.contextmanager
def bench_notebook(folder: Path, home: Path, *, on_websocket=None, scripts: tuple[str, ...] = ()):
    """JupyterLab on ``folder`` and its ``bench.ipynb`` open in headless Chromium, ``scripts``
    evaluated in the page and the first (set-up) cell run: yields ``(page, cdp)``."""
    from playwright.sync_api import sync_playwright

    with jupyter_lab(folder, home) as lab, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        if on_websocket is not None:
            page.on("websocket", on_websocket)
        page.goto(f"{lab['url']}/lab/tree/bench.ipynb?reset&token={lab['token']}")
        page.wait_for_function(KERNEL_READY_JS, timeout=60_000)
        for script in scripts:
            page.evaluate(script)
        run_cell(page, 0)
        wait_idle(page, timeout=300_000)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        try:
            yield page, cdp
        finally:
            browser.close()


def run_widget_cell(page, i: int):
    """Run cell ``i`` (a LabelingWidget) and wait until its first card is shown; returns the cell."""
    cell = run_cell(page, i)
    root = cell.locator(".gtw-root")
    root.wait_for(timeout=60_000)
    page.wait_for_function("(r) => r.dataset.shown === '0'", arg=root.element_handle(), timeout=120_000)
    return cell


def run_cell(page, i: int):
    cell = page.locator(CELLS).nth(i)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    return cell


def wait_idle(page, timeout: int = 120_000) -> None:
    page.wait_for_timeout(200)  # let the execute request reach the kernel first
    page.wait_for_function(KERNEL_READY_JS, timeout=timeout, polling=100)


def collapse(page, i: int) -> None:
    """Clear a finished cell's output so the next tool's run is not slowed by a big page."""
    page.locator(CELLS).nth(i).locator(".jp-InputArea-editor").click()
    page.evaluate("window.jupyterapp.commands.execute('notebook:clear-cell-output')")


# ---------------------------------------------------------------------------- report

def report(args, kernel: dict, browser: dict) -> None:
    print(f"\nLabel latency: key press -> next 1024x768 JPEG painted, {args.n} labels each, "
          "headless Chromium in JupyterLab")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; total = sum of key->paint times, "
          "wall = the whole loop incl. Playwright round trips")
    print(f"{'tool':<10} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'total s':>8} {'wall s':>8}")
    ours = browser["gtwidgets"]
    for name in ("gtwidgets", "pigeon", "pigeonXT"):
        r = browser.get(name)
        if r:
            print(f"{name:<10} {r['p50']:8.1f} {r['p95']:8.1f} {r['max']:8.1f} {r['total_s']:8.2f} {r['wall_s']:8.2f}")
    for name in ("pigeon", "pigeonXT"):
        r = browser.get(name)
        if r:
            print(f"{name} / gtwidgets: p50 {r['p50'] / ours['p50']:.1f}x, p95 {r['p95'] / ours['p95']:.1f}x, "
                  f"total {r['total_s'] / ours['total_s']:.1f}x, wall {r['wall_s'] / ours['wall_s']:.1f}x")
    per200 = ours["total_s"] * 200 / args.n
    print(f"targets: p50 <= 25 ms: {ours['p50']:.1f}; p95 <= 50 ms: {ours['p95']:.1f}; "
          f"200 labels < 10 s: {per200:.1f} s" + (f"; >= 3.5x pigeon at p50: {browser['pigeon']['p50'] / ours['p50']:.1f}x"
                                                   if "pigeon" in browser else ""))
    b = browser["big"]
    print(f"\nbig job: {b['lines']:,}-line frame, first card painted {b['first_card_s']:.2f} s after Shift+Enter "
          f"(widget construction included); <img> elements in the widget: {b['img_elements']}")
    m = browser["memory"]
    print(f"browser over {m['cards']} cards (after GC): " +
          ", ".join(f"card {i}: heap {h:.1f} MB, {nodes} DOM nodes" for i, h, nodes in m["samples"]))
    print(f"\nbytes per card: {kernel['card_kb']:.0f} KB JPEG (binary buffer) for {kernel['raw_kb']:.0f} KB source files "
          "(768x576 max, quality 85)")
    print(f"kernel: RSS {kernel['rss0_mb']:.0f} MB before, {kernel['rss1_mb']:.0f} MB after a job of {kernel['items']:,} "
          f"items labeled through the widget ({kernel['labeled']:,} answers; {kernel['submit_ms']:.2f} ms per submit "
          "incl. fsynced journal, cards for every 10th)")
    print(json.dumps({"kernel": kernel, "browser": browser}, default=str), file=sys.stderr)


if __name__ == "__main__":
    main()
