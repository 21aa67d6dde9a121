"""The read-only mask viewer (js/src/tools/mask-view.js) in bare headless Chromium, on its own
bundle: the layers' colours over the image exactly at full opacity, their background left out,
the opacity and layer keys, names as text."""
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
from gtwidgets.masks import color_map, encode_mask  # noqa: E402

W, H = 200, 150     # image pixels; the host is 400 CSS px wide, so 2 CSS px an image px
GRAY = (90, 90, 90)
CMAP = color_map(["Bag", "Watch"])   # Bag 1 #1f77b4, Watch 2 #ff7f0e; background white

HARNESS = """<!doctype html><html><body style="margin:0">
<div id="host" style="width:400px"></div>
<script type="module">
import { createMaskView } from "/tools/mask-view.js";
const cfg = %(CFG)s;
const bytes = (b64) => new DataView(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer);
const img = new Image();
img.onload = async () => {
  window.view = createMaskView(document.getElementById("host"), {
    image: img, imageSize: { width: %(W)d, height: %(H)d }, maxHeight: 1000, problem: cfg.problem,
    layers: cfg.layers.map((l) => ({ ...l, data: bytes(l.png) })), legend: cfg.legend });
  await window.view.ready();
  const canvas = document.querySelector(".gtw-maskview canvas");
  window.pixel = (x, y) => Array.from(canvas.getContext("2d").getImageData(2 * x + 1, 2 * y + 1, 1, 1).data.slice(0, 3));
  window.ready = true;
};
img.src = "data:image/png;base64," + cfg.image;
</script></body></html>"""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode()


def _png_of_image() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (W, H), GRAY).save(buf, "PNG")
    return buf.getvalue()


def _masks():
    a = np.zeros((H, W), np.uint8)
    a[20:60, 30:90] = 1          # Bag
    b = np.zeros((H, W), np.uint8)
    b[80:120, 100:180] = 2       # Watch
    return a, b


def open_view(page, *, problem=None):
    a, b = _masks()
    import json
    cfg = {"image": _b64(_png_of_image()), "problem": problem,
           "layers": [{"name": "consolidated", "png": _b64(encode_mask(a, CMAP)), "background": "#ffffff"},
                      {"name": "<b>alice</b>", "png": _b64(encode_mask(b, CMAP)), "background": "#ffffff",
                       "color": "#d62728"}],
           "legend": [{"name": "Bag", "color": "#1f77b4"}, {"name": "Watch <i>", "color": "#ff7f0e"}]}
    html = HARNESS % {"W": W, "H": H, "CFG": json.dumps(cfg)}
    return open_tool_page(page, "mask-view.js", html)


def pixel(page, x, y):
    return page.evaluate("([x, y]) => window.pixel(x, y)", [x, y])


def press(page, key):
    assert page.evaluate("(k) => window.view.onKey(k)", key) is True


def test_layers_draw_over_the_image_and_the_keys_switch_them(page):
    open_view(page)
    canvas = page.locator(".gtw-maskview canvas")
    assert canvas.bounding_box()["width"] == 400 and canvas.bounding_box()["height"] == 300
    inside = pixel(page, 50, 40)   # the Bag at 55 % over gray: between the two
    assert inside != list(GRAY) and inside != [0x1f, 0x77, 0xb4]
    assert pixel(page, 150, 100) == list(GRAY)   # the background is not drawn
    press(page, "o")               # 100 %: the class colour exactly
    assert pixel(page, 50, 40) == [0x1f, 0x77, 0xb4]
    assert page.locator(".gtw-maskview-opacity").text_content() == "mask opacity (o): 100%"
    press(page, "m")               # alice's mask: the Watch, and no Bag
    page.wait_for_function("window.pixel(150, 100)[0] === 0xff")
    assert pixel(page, 150, 100) == [0xff, 0x7f, 0x0e] and pixel(page, 50, 40) == list(GRAY)
    assert page.evaluate("window.view.current().name") == "<b>alice</b>"
    press(page, "o")               # hidden: the image alone
    assert pixel(page, 150, 100) == list(GRAY)
    assert page.evaluate("window.view.onKey('x')") is False   # not its key: the widget's


def test_names_are_text_and_a_problem_is_said(page):
    open_view(page, problem="cannot read the mask s3://b/m.png")
    layers = page.locator(".gtw-maskview-layer")
    assert layers.nth(1).text_content() == "<b>alice</b>" and page.locator(".gtw-maskview b").count() == 0
    assert page.locator(".gtw-maskview-class").all_text_contents() == ["Bag", "Watch <i>"]
    assert page.locator(".gtw-maskview-problem").text_content() == "cannot read the mask s3://b/m.png"
    layers.nth(1).click()
    assert page.evaluate("window.view.current().name") == "<b>alice</b>"
    assert layers.nth(1).get_attribute("aria-pressed") == "true"
