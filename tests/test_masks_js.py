"""The mask paint tool (js/src/tools/masks.js) in bare headless Chromium, on its own bundle.

Every check compares getMask() with the expected label array pixel by pixel: shapes are chosen
so the expected pixels are unambiguous (rectangles from polygon corners on pixel corners, a
drawn colour region for the flood fill, a superpixel block, a brush stroke checked by containment).
"""
from __future__ import annotations

import base64
import io
import os

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"),
                                reason="needs /usr/bin/chromium (apt-get install chromium)")

from bundle_page import CHROMIUM, CHROMIUM_ARGS, ORIGIN, STATIC  # noqa: E402

W, H = 200, 150          # image pixels; the stage is 400 x 300 CSS pixels, so 2 CSS px per image px
COLORS = {1: "#1f77b4", 2: "#ff7f0e", 3: "#2ca02c"}
RED = (slice(30, 70), slice(20, 60))   # rows, cols of the red region in the image

HARNESS = """<!doctype html><html><body style="margin:0">
<div id="host"></div>
<style>.gtw-masks-stage { width: 400px; height: 300px; }</style>
<script type="module">
import { createMaskTool } from "/tools/masks.js";
const img = new Image();
img.onload = () => {
  const sp = new Uint16Array(%(W)d * %(H)d);
  for (let y = 0; y < %(H)d; y++) for (let x = 0; x < %(W)d; x++) sp[y * %(W)d + x] = Math.floor(y / 25) * 8 + Math.floor(x / 25);
  window.changes = 0;
  window.tool = createMaskTool(document.getElementById("host"), {
    image: img, imageSize: { width: %(W)d, height: %(H)d }, superpixels: sp, tolerance: 10,
    categories: [{ name: "Bag", color: "#1f77b4", value: 1 }, { name: "Eyewear", color: "#ff7f0e", value: 2 },
                 { name: "Watch <b>", color: "#2ca02c", value: 3 }],
    onChange: () => { window.changes++; } });
  window.changes = 0;  // creating the tool reports its fresh history once
  window.mask = () => Array.from(window.tool.getMask());
  window.client = (x, y) => window.tool.viewport.toClient(x, y);
  window.ready = true;
};
img.src = "data:image/png;base64,%(PNG)s";
</script></body></html>"""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def _image_png() -> str:
    rgb = np.full((H, W, 3), 245, np.uint8)
    rgb[RED] = (200, 30, 30)
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
def tool(page):
    bundle = STATIC / "tools" / "masks.js"
    if not bundle.exists():
        pytest.fail(f"{bundle} is missing: run `cd js && npm run build`")
    html = HARNESS % {"W": W, "H": H, "PNG": _image_png()}

    def serve(route):
        if route.request.url.endswith("/tools/masks.js"):
            route.fulfill(body=bundle.read_bytes(), content_type="text/javascript")
        else:
            route.fulfill(body=html, content_type="text/html")
    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/index.html")
    page.wait_for_function("window.ready === true")
    page.locator(".gtw-masks").focus()
    return page


def mask(page) -> np.ndarray:
    return np.array(page.evaluate("window.mask()"), np.uint8).reshape(H, W)


def click_image(page, x: float, y: float) -> None:
    p = page.evaluate("([x, y]) => window.client(x, y)", [x, y])
    page.mouse.click(p["x"], p["y"])


def polygon(page, corners) -> None:
    page.keyboard.press("p")
    for x, y in corners:
        click_image(page, x + 0.2, y - 0.2)   # off the corner by a fraction: vertices snap to it
    page.keyboard.press("Enter")


def test_polygon_fill_smart_fill_undo_redo_give_exact_pixels(tool):
    expected = np.zeros((H, W), np.uint8)

    tool.keyboard.press("1")
    polygon(tool, [(100, 20), (140, 20), (140, 60), (100, 60)])
    expected[20:60, 100:140] = 1
    assert (mask(tool) == expected).all()

    tool.keyboard.press("2")
    tool.keyboard.press("f")
    click_image(tool, 35.5, 45.5)         # inside the red region: fills exactly that region
    expected[RED] = 2
    assert (mask(tool) == expected).all()

    tool.keyboard.press("3")
    tool.keyboard.press("s")
    click_image(tool, 160.5, 110.5)       # superpixel block rows 100-124, cols 150-174
    expected[100:125, 150:175] = 3
    assert (mask(tool) == expected).all()
    assert tool.evaluate("window.changes") == 3

    tool.keyboard.press("Control+z")
    after_undo = expected.copy()
    after_undo[100:125, 150:175] = 0
    assert (mask(tool) == after_undo).all()
    tool.keyboard.press("Control+z")
    after_undo[RED] = 0
    assert (mask(tool) == after_undo).all()
    tool.keyboard.press("Control+Shift+z")
    tool.keyboard.press("Control+y")
    assert (mask(tool) == expected).all()


def test_brush_stroke_stays_within_its_radius_and_eraser_removes_it(tool):
    tool.keyboard.press("1")
    tool.keyboard.press("b")
    start, end = tool.evaluate("window.client(30, 110)"), tool.evaluate("window.client(90, 110)")
    tool.mouse.move(start["x"], start["y"])
    tool.mouse.down()
    tool.mouse.move(end["x"], end["y"], steps=8)
    tool.mouse.up()
    got = mask(tool)
    size = tool.evaluate("window.tool.state.size")
    ys, xs = np.nonzero(got)
    # every painted pixel centre lies within size/2 of the segment; the segment itself is covered
    dist = np.where(xs + 0.5 < 30, np.hypot(xs + 0.5 - 30, ys + 0.5 - 110),
                    np.where(xs + 0.5 > 90, np.hypot(xs + 0.5 - 90, ys + 0.5 - 110), np.abs(ys + 0.5 - 110)))
    assert len(xs) and (dist <= size / 2 + 1e-6).all()
    assert (got[109:111, 30:90] == 1).all()
    assert set(np.unique(got).tolist()) == {0, 1}

    tool.keyboard.press("]")
    assert tool.evaluate("window.tool.state.size") > size
    tool.keyboard.press("e")
    tool.mouse.move(start["x"] - 30, start["y"])
    tool.mouse.down()
    tool.mouse.move(end["x"] + 30, end["y"], steps=12)
    tool.mouse.up()
    assert not mask(tool).any()
    tool.keyboard.press("Control+z")
    assert (mask(tool) == got).all()


def test_zoomed_and_panned_view_paints_the_same_image_pixels(tool):
    before = tool.evaluate("window.tool.viewport.view.scale")
    box = tool.locator("canvas").bounding_box()
    tool.mouse.move(box["x"] + 100, box["y"] + 80)
    tool.mouse.wheel(0, -100)
    tool.keyboard.press("+")
    tool.keyboard.press("ArrowLeft")
    assert tool.evaluate("window.tool.viewport.view.scale") > before * 1.5
    tool.keyboard.press("2")
    polygon(tool, [(40, 30), (52, 30), (52, 41), (40, 41)])
    expected = np.zeros((H, W), np.uint8)
    expected[30:41, 40:52] = 2
    assert (mask(tool) == expected).all()


def test_png_is_the_mask_in_its_colours_and_the_legend_is_text(tool):
    tool.keyboard.press("3")
    polygon(tool, [(10, 10), (30, 10), (30, 20), (10, 20)])
    data = tool.evaluate("""async () => { const b = await window.tool.getPNG();
        const a = new Uint8Array(await b.arrayBuffer()); let s = ""; for (const c of a) s += String.fromCharCode(c);
        return btoa(s); }""")
    rgba = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA"))
    assert rgba.shape == (H, W, 4)
    assert (rgba[10:20, 10:30] == (0x2c, 0xa0, 0x2c, 255)).all()
    assert rgba[..., 3].sum() == 255 * 200
    names = tool.locator(".gtw-masks-name").all_text_contents()
    assert names == ["1 Bag", "2 Eyewear", "3 Watch <b>"]
    assert tool.locator(".gtw-masks-name b").count() == 0
    tool.keyboard.press("o")
    assert tool.evaluate("window.tool.state.opacity") == 1
