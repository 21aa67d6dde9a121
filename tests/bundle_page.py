"""The widget's bundle in bare headless Chromium: one way to serve it, shared by the fast-tier tests."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
STATIC = Path(__file__).resolve().parents[1] / "gtwidgets" / "static"
ORIGIN = "http://gtwidgets.test"


# The anywidget model API the widget uses, faked: state from the page's config, listeners, and
# `send` that records each batch and passes its messages to the harness's `kernel(msg)`
# (unless cfg.autoReply is false); `reply(msg, buffers)` is the kernel speaking back.
FAKE_MODEL = """
const cfg = JSON.parse(document.getElementById("cfg").textContent);
const listeners = {};
const state = cfg.state;
Object.assign(window, { sent: [], saves: [], positions: [] });
const model = {
  get: (k) => state[k],
  set(k, v) { state[k] = v; (listeners["change:" + k] || []).forEach((f) => f()); },
  save_changes() { window.saves.push({ ...state }); },
  on(ev, f) { (listeners[ev] ||= []).push(f); },
  off(ev, f) { listeners[ev] = f ? (listeners[ev] || []).filter((g) => g !== f) : []; },
  send(batch) {  // the view sends one batch at a time, with the position it shows
    window.positions.push(batch.position);
    for (const msg of batch.messages) { window.sent.push(msg); if (cfg.autoReply !== false) kernel(msg); }
  },
};
window.trigger = (ev) => (listeners[ev] || []).forEach((f) => f());  // e.g. the manager's "comm_live_update"
function reply(msg, buffers = []) {
  setTimeout(() => (listeners["msg:custom"] || []).forEach((f) => f(msg, buffers)), 0);
}
"""


def sent(page, kind: str) -> list[dict]:
    """Messages of one kind the view has sent. Answers wait for their batch (up to the view's
    SEND_GAP after the last one); a pagehide event sends what waits, as closing the tab does."""
    page.evaluate("""() => new Promise((r) => requestAnimationFrame(() => setTimeout(() => {
      window.dispatchEvent(new PageTransitionEvent("pagehide")); setTimeout(r, 0); }, 0)))""")
    return [m for m in page.evaluate("window.sent") if m["type"] == kind]


def open_harness(page, harness: str, cfg: dict, *, focus: bool = True):
    """Serve ``harness`` (which reads its config from ``#cfg``) with the real bundle; focus the widget."""
    # "</" cannot end the script element early: JSON escapes "/" as needed here.
    html = harness.replace('<div id="host"', '<script type="application/json" id="cfg">'
                           + json.dumps(cfg).replace("</", "<\\/") + '</script><div id="host"', 1)
    page.route(f"{ORIGIN}/**", lambda route: route.fulfill(**_serve(route.request.url, html)))
    page.goto(f"{ORIGIN}/index.html")
    page.wait_for_function("window.ready === true")
    if focus:
        page.locator(".gtw-root").focus()
    return page


def open_tool_page(page, tool: str, html: str):
    """Serve ``html`` with the built tool module ``/tools/<tool>`` (fails if it is not built) and
    wait for the page's ``window.ready``."""
    bundle = STATIC / "tools" / tool
    if not bundle.exists():
        pytest.fail(f"{bundle} is missing: run `cd js && npm run build`")

    def serve(route):
        if route.request.url.endswith(f"/tools/{tool}"):
            route.fulfill(body=bundle.read_bytes(), content_type="text/javascript")
        else:
            route.fulfill(body=html, content_type="text/html")
    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/index.html")
    page.wait_for_function("window.ready === true")
    return page


AXE = Path(__file__).resolve().parents[1] / "js" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page, selector: str = ".gtw-root") -> list[dict]:
    """axe-core's violations in the subtree at ``selector`` (axe-core is a devDependency in js/,
    injected from disk: no network). Each is reduced to its rule id and the nodes it names."""
    if not AXE.exists():
        raise FileNotFoundError(f"{AXE} is missing: run `cd js && npm ci` (./dev.sh test does)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("(sel) => axe.run(document.querySelector(sel)).then((r) => r.violations.map("
                           "(v) => ({id: v.id, help: v.help, nodes: v.nodes.map((n) => n.html)})))", selector)
    return result


def _serve(url: str, html: str) -> dict:
    name = url.rsplit("/", 1)[-1]
    if name in ("widget.js", "widget.css", "plotly.js"):
        return {"body": (STATIC / name).read_bytes(),
                "content_type": "text/javascript" if name.endswith(".js") else "text/css"}
    return {"body": html, "content_type": "text/html"}


# Plotly counts a double click when two presses land within its doubleClickDelay (500 ms), and it
# counts from the press that started the previous drag too. Playwright's dblclick is four round
# trips to the browser: right after a zoom drag its first press fell just inside that window and its
# release just outside, so plotly saw two single clicks (a flaky CI failure, reproduced by timing the
# events). This helper waits until the last press is out of the window, as a person's hand would, then
# dispatches the whole gesture in one page task on the element a real click would hit.
_DOUBLE_CLICK = """async ([x, y, settle]) => {
  await new Promise((done) => setTimeout(done, settle));
  const target = document.elementFromPoint(x, y);
  const at = { bubbles: true, cancelable: true, composed: true, clientX: x, clientY: y, button: 0, view: window };
  for (const detail of [1, 2]) {
    target.dispatchEvent(new PointerEvent("pointerdown", { ...at, detail, buttons: 1, pointerType: "mouse" }));
    target.dispatchEvent(new MouseEvent("mousedown", { ...at, detail, buttons: 1 }));
    target.dispatchEvent(new PointerEvent("pointerup", { ...at, detail, pointerType: "mouse" }));
    target.dispatchEvent(new MouseEvent("mouseup", { ...at, detail }));
    target.dispatchEvent(new MouseEvent("click", { ...at, detail }));
  }
  target.dispatchEvent(new MouseEvent("dblclick", { ...at, detail: 2 }));
  return target.getAttribute("class");
}"""
PLOTLY_DOUBLE_CLICK_MS = 500


def drag_across(page, box: dict, start: float, end: float) -> None:
    """A zoom drag along the middle of ``box`` from ``start`` to ``end`` (fractions of its width),
    in small steps as a hand moves, so plotly sees a drag rather than a click."""
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * (start + end) / 2, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * end, y, steps=5)
    page.mouse.up()


def double_click(page, x: float, y: float) -> str:
    """Double-click at page coordinates (x, y) as one gesture; returns the hit element's class."""
    return page.evaluate(_DOUBLE_CLICK, [x, y, PLOTLY_DOUBLE_CLICK_MS + 100])
