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

from bundle_page import CHROMIUM, CHROMIUM_ARGS, open_tool_page  # noqa: E402
from mask_geometry import capsule, on_grid  # noqa: E402

W, H = 200, 150          # image pixels; the stage is 400 x 300 CSS pixels, so 2 CSS px per image px
COLORS = {1: "#1f77b4", 2: "#ff7f0e", 3: "#2ca02c"}
RED = (slice(30, 70), slice(20, 60))   # rows, cols of the red region in the image
NEAR_RED = (slice(30, 70), slice(60, 70))  # beside it, 15 levels redder: outside tolerance 10, inside 18

HARNESS = """<!doctype html><html><body style="margin:0">
<div id="host"></div>
<style>.gtw-masks-stage { width: 400px; height: 300px; }</style>
<script type="module">
import { createMaskTool } from "/tools/masks.js";
const img = new Image();
img.onload = () => {
  // superpixels: blocks of SP x SP cells on a GW x GH grid, numbered row by row
  const sp = new Uint16Array(%(GW)d * %(GH)d);
  for (let y = 0; y < %(GH)d; y++) for (let x = 0; x < %(GW)d; x++) sp[y * %(GW)d + x] = Math.floor(y / %(SP)d) * 64 + Math.floor(x / %(SP)d);
  window.changes = 0;
  window.tool = createMaskTool(document.getElementById("host"), {
    image: img, imageSize: { width: %(IW)d, height: %(IH)d }, tolerance: 10,
    superpixels: %(GW)d === %(IW)d ? sp : { labels: sp, width: %(GW)d, height: %(GH)d },
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
    rgb[NEAR_RED] = (215, 30, 30)
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _open(page, **size):
    """The tool on the 200 x 150 test image; ``size``: the original's size (IW, IH) and the
    superpixel grid (GW, GH, blocks of SP cells), by default all at the image's own size."""
    html = HARNESS % {"IW": W, "IH": H, "GW": W, "GH": H, "SP": 25, **size, "PNG": _image_png()}
    open_tool_page(page, "masks.js", html)
    page.locator(".gtw-masks").focus()
    return page


@pytest.fixture
def tool(page):
    return _open(page)


def mask(page, shape=(H, W)) -> np.ndarray:
    return np.array(page.evaluate("window.mask()"), np.uint8).reshape(shape)


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


def drag(page, a, b, steps) -> None:
    start, end = page.evaluate("([x, y]) => window.client(x, y)", a), page.evaluate("([x, y]) => window.client(x, y)", b)
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    page.mouse.move(end["x"], end["y"], steps=steps)
    page.mouse.up()


def test_brush_stroke_is_the_capsule_of_its_path_and_eraser_removes_it(tool):
    tool.keyboard.press("1")
    tool.keyboard.press("b")
    size = tool.evaluate("window.tool.state.size")
    assert size == 8  # 16 screen pixels at 2 screen pixels an image pixel
    drag(tool, (30, 110), (90, 110), steps=8)
    got = mask(tool)
    assert (got == capsule((H, W), (30, 110), (90, 110), size / 2)).all()

    tool.keyboard.press("]")
    assert tool.evaluate("window.tool.state.size") > size
    assert f"brush {tool.evaluate('window.tool.state.size')} px" in tool.locator(".gtw-masks-status").text_content()
    tool.keyboard.press("e")
    drag(tool, (15, 110), (105, 110), steps=12)
    assert not mask(tool).any()
    tool.keyboard.press("Control+z")
    assert (mask(tool) == got).all()


def shown(page) -> np.ndarray:
    """The mask layer as drawn: RGBA of the overlay canvas (2 screen pixels an image pixel)."""
    data = page.evaluate("""() => { const c = document.querySelector('.gtw-masks-overlay');
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""")
    return np.array(data, np.uint8).reshape(2 * H, 2 * W, 4)


def test_the_mask_layer_shows_each_edit_where_it_is(tool):
    """Strokes redraw only what they changed: the layer must still be the mask, pixel for pixel."""
    rgba = np.zeros((4, 4), np.uint32)
    for value, color in COLORS.items():
        rgba[value] = [int(color[i:i + 2], 16) for i in (1, 3, 5)] + [255]
    tool.keyboard.press("2")
    polygon(tool, [(120, 30), (170, 30), (170, 80), (120, 80)])
    tool.keyboard.press("1")
    tool.keyboard.press("b")
    drag(tool, (40, 100), (150, 60), steps=15)
    tool.keyboard.press("3")
    tool.keyboard.press("s")
    click_image(tool, 60.5, 130.5)
    tool.keyboard.press("Control+z")
    expected = rgba[np.kron(mask(tool), np.ones((2, 2), np.uint8))]
    assert mask(tool).any() and (shown(tool) == expected).all()


def test_undo_gives_back_the_class_painted_over(tool):
    tool.keyboard.press("1")
    polygon(tool, [(20, 20), (180, 20), (180, 130), (20, 130)])
    first = np.zeros((H, W), np.uint8)
    first[20:130, 20:180] = 1
    tool.keyboard.press("2")
    tool.keyboard.press("b")
    tool.keyboard.press("]")
    tool.keyboard.press("]")
    size = tool.evaluate("window.tool.state.size")
    drag(tool, (10.3, 12.1), (190.3, 140.1), steps=20)   # a diagonal across tiles and the rectangle
    both = first.copy()
    both[capsule((H, W), (10.3, 12.1), (190.3, 140.1), size / 2)] = 2
    assert (mask(tool) == both).all()
    tool.keyboard.press("Control+z")
    assert (mask(tool) == first).all()
    tool.keyboard.press("Control+y")
    assert (mask(tool) == both).all()


def test_flood_fill_tolerance_keys(tool):
    tool.keyboard.press("f")
    assert "tolerance 10" in tool.locator(".gtw-masks-status").text_content()
    tool.keyboard.press(".")
    tool.keyboard.press(".")
    assert tool.evaluate("window.tool.state.tolerance") == 18
    assert "tolerance 18" in tool.locator(".gtw-masks-status").text_content()
    click_image(tool, 35.5, 45.5)
    expected = np.zeros((H, W), np.uint8)
    expected[RED] = expected[NEAR_RED] = 1
    assert (mask(tool) == expected).all()
    tool.keyboard.press("Control+z")
    tool.keyboard.press(",")
    tool.keyboard.press(",")
    click_image(tool, 35.5, 45.5)
    expected[NEAR_RED] = 0
    assert (mask(tool) == expected).all()


def test_fills_on_a_smaller_image_and_coarser_superpixels_paint_original_pixels(page):
    """The original is 400 x 300, the image shown 200 x 150 (a card), the superpixels 100 x 75
    (blocks of 10 cells): each fill paints the original pixels whose cell is in it."""
    tool = _open(page, IW=2 * W, IH=2 * H, GW=W // 2, GH=H // 2, SP=10)
    tool.keyboard.press("2")
    tool.keyboard.press("f")
    click_image(tool, 81.5, 101.5)        # in the red region of the image shown
    red = np.zeros((H, W), bool)
    red[RED] = True
    expected = np.where(on_grid((2 * H, 2 * W), red), 2, 0).astype(np.uint8)
    assert (mask(tool, (2 * H, 2 * W)) == expected).all()

    tool.keyboard.press("3")
    tool.keyboard.press("s")
    click_image(tool, 330.2, 250.7)       # superpixel cell (62, 82): block (6, 8)
    gy, gx = np.mgrid[: H // 2, : W // 2]
    block = (gy // 10 == 6) & (gx // 10 == 8)
    expected[on_grid((2 * H, 2 * W), block)] = 3
    assert (mask(tool, (2 * H, 2 * W)) == expected).all()
    painted = on_grid((2 * H, 2 * W), block)
    assert painted.sum() == 40 * 40 and not (painted & on_grid((2 * H, 2 * W), red)).any()


def test_zoomed_and_panned_view_paints_the_same_image_pixels(tool):
    before = tool.evaluate("window.tool.viewport.view.scale")
    box = tool.locator(".gtw-masks-pointer").bounding_box()
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
