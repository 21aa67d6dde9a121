"""Panel cards and sensor plots in bare headless Chromium: the bundle, a fake model and a fake
kernel that answers card and zoom requests like widget.py (plotly drawn for real)."""
from __future__ import annotations

import base64
import io
import os

import pytest
from PIL import Image

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"),
                                reason="needs /usr/bin/chromium (apt-get install chromium)")

from bundle_page import CHROMIUM, CHROMIUM_ARGS, FAKE_MODEL, double_click, drag_across, open_harness, sent
CATEGORIES = ["Good Weld", "Burn Through", "Not sure"]

# A fake kernel that makes panel cards (image + 3 signals) and answers zooms with denser data.
HARNESS = """<!doctype html><html><head><link rel="stylesheet" href="/widget.css"></head><body>
<div id="host" style="width: 960px"></div>
<script type="module">
import widget from "/widget.js";
""" + FAKE_MODEL + """const jpeg = Uint8Array.from(atob(cfg.image), (c) => c.charCodeAt(0));
function signal(n, t0, t1, k) {  // n points over [t0, t1]; each column a different wave
  const t = new Float64Array(n), y = new Float32Array(n);
  for (let i = 0; i < n; i++) { t[i] = t0 + (t1 - t0) * i / (n - 1); y[i] = Math.sin(t[i] / (50 * (k + 1))) * (k + 1); }
  return [new DataView(t.buffer), new DataView(y.buffer)];
}
function seriesMeta(n, t0, t1, extra) {
  const buffers = [];
  for (let k = 0; k < 3; k++) buffers.push(...signal(n, t0, t1, k));
  const meta = { kind: "series", title: "sensors", overlay: cfg.overlay, panel: 1, total_points: 4000, range: [0, 4000],
    columns: ["current", "electrode_position", "voltage"].map((name) => ({ name, points: n })), ...extra };
  return [meta, buffers];
}
function kernel(msg) {
  if (msg.type === "asset") {  // plotly.js for the first plot, as widget.py sends it
    window.assets = (window.assets || 0) + 1;
    fetch(`/${msg.name}.js`).then((r) => r.arrayBuffer()).then((js) => reply({ type: "asset", name: msg.name }, [new DataView(js)]));
  } else if (msg.type === "cards") {
    for (const pos of msg.positions) {
      const [series, sbufs] = seriesMeta(400, 0, 4000, { buffers: [1, 2, 3, 4, 5, 6] });
      const broken = cfg.broken.includes(pos);
      const panels = [{ kind: "image", title: "weld", mime: "image/jpeg", width: 64, height: 48, buffers: [0] },
        broken ? { kind: "error", title: "sensors", message: "s3://b/weld.csv: column 'current' row 2 holds 'x'" } : series,
        { kind: "facts", title: "", items: [["station", `<b>${pos}</b>`]] }];
      reply({ type: "card", kind: "panels", pos, id: `w${pos}`, name: `dataset-${pos}.json`, source: null,
        label: null, answer: null, panels }, [new DataView(jpeg.buffer), ...(broken ? [] : sbufs)]);
    }
  } else if (msg.type === "series_range") {
    const [meta, bufs] = seriesMeta(1000, msg.start, msg.end, { type: "series_window", id: msg.id, pos: msg.pos,
      seq: msg.seq, buffers: [0, 1, 2, 3, 4, 5] });
    reply(meta, bufs);
  }
}
Object.assign(window, { model, reply, kernel });
window.cleanup = widget.render({ model, el: document.getElementById("host") });
window.ready = true;
</script></body></html>"""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def _jpeg() -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 90, 20)).save(out, "JPEG")
    return base64.b64encode(out.getvalue()).decode()


@pytest.fixture
def widget(page):
    def open_widget(n=5, *, broken=(), overlay=False):
        cfg = {"image": _jpeg(), "broken": list(broken), "overlay": overlay,
               "state": {"title": "welding", "categories": CATEGORIES, "shortcuts": ["1", "2", "3"],
                         "multi_label": False, "instructions_html": "", "full_instructions_html": "",
                         "total": n, "position": 0, "prefetch": 5,
                         "progress": {"labeled": 0, "skipped": 0, "total": n, "per_class": {}, "done": False},
                         "sync_status": {"state": "saved", "pending": 0, "message": ""}}}
        return open_harness(page, HARNESS, cfg)
    return open_widget


def _shown(page, object_id: str) -> None:
    page.wait_for_function(f"document.querySelector('.gtw-root').dataset.shown === '{object_id}'")


def _painted(page, times: int = 1) -> None:
    page.wait_for_function(f"Number(document.querySelector('.gtw-stage .gtw-series')?.dataset.painted) >= {times}")


def _ytitles(page) -> list[str]:
    return page.evaluate("""() => Array.from(document.querySelectorAll('.gtw-stage .gtw-series .infolayer text'))
        .filter((t) => /^y\\d*title$/.test(t.getAttribute('class'))).map((t) => t.textContent).filter(Boolean)""")


def test_panel_card_shows_image_plots_and_facts_and_keys_still_label(widget):
    page = widget()
    _shown(page, "w0")
    _painted(page)
    stage = page.locator(".gtw-stage")
    assert stage.locator("img.gtw-image").count() == 1
    assert stage.locator(".gtw-series .main-svg").count() >= 1
    # one subplot per signal, the three traces drawn, titled by column
    assert stage.locator(".gtw-series .scatterlayer .trace").count() == 3
    assert _ytitles(page) == ["current", "electrode_position", "voltage"]
    assert stage.locator(".gtw-facts").inner_text().split() == ["station", "<b>0</b>"]  # text, never markup
    page.keyboard.press("2")
    _shown(page, "w1")
    page.keyboard.press("3")
    _shown(page, "w2")
    assert [(m["id"], m["answer"]) for m in sent(page, "submit")] == [("w0", "Burn Through"), ("w1", "Not sure")]


def test_overlay_draws_all_signals_in_one_plot(widget):
    page = widget(overlay=True)
    _shown(page, "w0")
    _painted(page)
    assert page.locator(".gtw-stage .gtw-series .scatterlayer .trace").count() == 3
    assert _ytitles(page) == []
    assert page.locator(".gtw-stage .gtw-series .legend .traces").count() == 3


def test_zoom_fetches_the_visible_range_and_double_click_resets(widget):
    page = widget()
    _shown(page, "w0")
    _painted(page)
    box = page.locator(".gtw-stage .gtw-series .nsewdrag").first.bounding_box()
    drag_across(page, box, 0.25, 0.5)
    page.wait_for_function("window.sent.some((m) => m.type === 'series_range')")  # goes by itself
    (zoom,) = sent(page, "series_range")
    assert zoom["id"] == "w0" and zoom["pos"] == 0 and zoom["panel"] == 1
    assert 500 < zoom["start"] < 1500 < zoom["end"] < 2500  # about a quarter of [0, 4000]
    _painted(page, 2)
    series = page.locator(".gtw-stage .gtw-series")
    assert series.get_attribute("data-points") == "3000"  # the kernel's denser window is drawn
    assert series.get_attribute("data-zoomed") == f"{zoom['start']},{zoom['end']}"
    # keys still label after using the mouse on the plot
    assert page.evaluate("document.activeElement.classList.contains('gtw-root')")
    assert "nsewdrag" in double_click(page, box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    _painted(page, 3)
    assert series.get_attribute("data-zoomed") == "" and series.get_attribute("data-points") == "1200"
    assert len(sent(page, "series_range")) == 1  # the overview is kept: reset asks nothing
    page.keyboard.press("1")
    _shown(page, "w1")
    assert sent(page, "submit")[0]["id"] == "w0"


def test_a_broken_sensor_file_is_an_error_panel_and_the_card_stays_usable(widget):
    page = widget(broken=[0])
    _shown(page, "w0")
    err = page.locator(".gtw-stage .gtw-panel-problem")
    assert "column 'current' row 2 holds 'x'" in err.inner_text()
    assert page.locator(".gtw-stage img.gtw-image").count() == 1
    page.keyboard.press("s")
    _shown(page, "w1")
    _painted(page)
    assert [m["id"] for m in sent(page, "skip")] == ["w0"]


def test_plots_of_cards_left_behind_are_purged(widget):
    page = widget(40)
    cdp = page.context.new_cdp_session(page)

    def counters() -> dict:
        cdp.send("HeapProfiler.collectGarbage")
        return cdp.send("Memory.getDOMCounters")
    _shown(page, "w0")
    for i in range(1, 31):
        _painted(page)
        if i == 1:
            page.evaluate("window.kept = document.querySelector('.gtw-stage .js-plotly-plot')")
        if i == 10:
            at_10 = counters()
        page.keyboard.press("1")
        _shown(page, f"w{i}")
    _painted(page)
    at_30 = counters()
    # the plot of a card that left the window was purged (plotly's state and SVG released)
    assert page.evaluate("window.kept._fullLayout === undefined && window.kept.children.length === 0")
    # a plot is ~200 nodes: 20 more cards plotted and dropped leave none of them alive
    assert at_30["nodes"] <= at_10["nodes"] + 100, (at_10, at_30)
    assert at_30["jsEventListeners"] <= at_10["jsEventListeners"] + 20, (at_10, at_30)
    assert page.evaluate("window.assets") == 1  # plotly.js came from the kernel once for 31 plots
    page.evaluate("window.cleanup()")
    assert page.evaluate("document.querySelectorAll('.js-plotly-plot').length") == 0
