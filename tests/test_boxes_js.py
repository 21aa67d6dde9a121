"""The box tool (js/src/tools/boxes.js, built to gtwidgets/static/tools/boxes.js) in bare headless
Chromium: a page that creates it on an 800 x 600 image shown at 400 x 300 (from a 200 x 150 card),
then mouse and keyboard, compared with getBoxes() in original-image pixels, exactly."""
from __future__ import annotations

import base64
import io
import json
import os

import pytest
from PIL import Image

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"),
                                reason="needs /usr/bin/chromium (apt-get install chromium)")

from bundle_page import CHROMIUM, CHROMIUM_ARGS, open_tool_page

CATS = ["cat", "dog", "bird", "<img src=x onerror=window.pwned=1>"]
PAGE = """<!doctype html><html><body style="margin:0">
<div id="host" style="width:400px"></div>
<script type="module">
import { createBoxTool } from "/tools/boxes.js";
const cfg = JSON.parse(document.getElementById("cfg").textContent);
const img = new Image();
img.src = "data:image/jpeg;base64," + cfg.card;
await img.decode();
window.submitted = [];
window.frames_asked = 0;
const raf = window.requestAnimationFrame.bind(window);
window.requestAnimationFrame = (f) => { window.frames_asked++; return raf(f); };
window.tool = createBoxTool(document.getElementById("host"), {
  image: img, imageSize: { width: 800, height: 600 }, categories: cfg.categories, boxes: cfg.boxes,
  history: cfg.history, onSubmit: (boxes, info) => window.submitted.push({ boxes, ...info }) });
window.tool.element.focus();
window.ready = true;
</script></body></html>"""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def _card() -> str:
    out = io.BytesIO()
    Image.new("RGB", (200, 150), (90, 120, 60)).save(out, "JPEG")
    return base64.b64encode(out.getvalue()).decode()


@pytest.fixture
def tool(page):
    def open_tool(boxes=(), history=()):
        cfg = json.dumps({"card": _card(), "categories": CATS, "boxes": list(boxes), "history": list(history)})
        html = PAGE.replace('<div id="host"', f'<script type="application/json" id="cfg">{cfg}</script><div id="host"')
        open_tool_page(page, "boxes.js", html)
        canvas = page.locator("canvas").bounding_box()
        assert (canvas["width"], canvas["height"]) == (400, 300)
        return page, canvas
    return open_tool


def boxes(page):
    return page.evaluate("window.tool.getBoxes()")


def drag(page, canvas, a, b):
    page.mouse.move(canvas["x"] + a[0], canvas["y"] + a[1])
    page.mouse.down()
    page.mouse.move(canvas["x"] + (a[0] + b[0]) / 2, canvas["y"] + (a[1] + b[1]) / 2, steps=3)
    page.mouse.move(canvas["x"] + b[0], canvas["y"] + b[1], steps=3)
    page.mouse.up()


def test_mouse_draws_resizes_moves_and_relabels_in_original_pixels(tool):
    page, canvas = tool()
    drag(page, canvas, (50, 40), (150, 140))            # view px x 2 = original px
    assert boxes(page) == [{"label": "cat", "left": 100, "top": 80, "width": 200, "height": 200}]
    drag(page, canvas, (150, 140), (170, 150))          # the selected box's bottom-right handle
    assert boxes(page) == [{"label": "cat", "left": 100, "top": 80, "width": 240, "height": 220}]
    drag(page, canvas, (100, 100), (110, 95))           # the body: move
    assert boxes(page) == [{"label": "cat", "left": 120, "top": 70, "width": 240, "height": 220}]
    page.get_by_role("button", name="bird").click()     # a class chip relabels the selected box
    assert boxes(page)[0]["label"] == "bird"
    drag(page, canvas, (300, 200), (301, 201))          # a click-sized drag is no box
    assert len(boxes(page)) == 1


def test_keyboard_alone_draws_resizes_nudges_relabels_deletes_and_undoes(tool):
    page, _ = tool()
    page.keyboard.press("2")                            # class for the next box
    page.keyboard.press("b")                            # a box at the crosshair (the centre)
    assert boxes(page) == [{"label": "dog", "left": 360, "top": 270, "width": 80, "height": 60}]
    for key in ["Alt+ArrowRight", "Alt+ArrowRight", "Alt+Shift+ArrowDown", "ArrowLeft", "Shift+ArrowUp"]:
        page.keyboard.press(key)
    assert boxes(page) == [{"label": "dog", "left": 359, "top": 260, "width": 82, "height": 70}]
    page.keyboard.press("3")
    assert boxes(page)[0]["label"] == "bird"
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+ArrowRight")             # nothing selected: the crosshair moves
    page.keyboard.press("b")
    assert boxes(page)[1] == {"label": "bird", "left": 370, "top": 270, "width": 80, "height": 60}
    page.keyboard.press("Tab")                          # cycles: box 1 after box 2
    assert page.evaluate("window.tool.selected()") == 0
    page.keyboard.press("Delete")
    assert [b["left"] for b in boxes(page)] == [370]
    page.keyboard.press("z")
    assert [b["left"] for b in boxes(page)] == [359, 370]
    page.keyboard.press("Enter")
    assert page.evaluate("window.submitted")[-1]["boxes"] == boxes(page)


def test_zoom_then_draw_and_pan_keep_original_pixels(tool):
    page, canvas = tool()
    page.mouse.move(canvas["x"] + 0, canvas["y"] + 0)
    page.mouse.wheel(0, -100)                           # zoom in 1.25x about the top-left corner
    drag(page, canvas, (100, 100), (200, 150))          # 1 view px = 1.6 original px now
    assert boxes(page) == [{"label": "cat", "left": 160, "top": 160, "width": 160, "height": 80}]
    page.keyboard.down(" ")                             # Space + drag pans by 50 view px
    drag(page, canvas, (300, 250), (250, 250))
    page.keyboard.up(" ")
    drag(page, canvas, (10, 10), (60, 60))              # view x 10 is original (10 + 50) x 1.6
    assert boxes(page)[1] == {"label": "cat", "left": 96, "top": 16, "width": 80, "height": 80}
    page.keyboard.press("-")
    page.keyboard.press("+")
    assert len(boxes(page)) == 2


def test_n_answers_no_objects_and_prior_boxes_start_editable(tool):
    page, canvas = tool([{"label": "dog", "left": 10, "top": 20, "width": 30, "height": 40}])
    assert boxes(page) == [{"label": "dog", "left": 10, "top": 20, "width": 30, "height": 40}]
    assert page.evaluate("window.tool.isModified()") is False
    page.keyboard.press("n")
    assert page.evaluate("window.submitted") == [{"boxes": [], "noObjects": True, "modified": True, "history": [
        {"boxes": [{"label": "dog", "left": 10, "top": 20, "width": 30, "height": 40}], "selected": -1}]}]


def test_a_card_comes_back_with_the_edits_that_led_to_its_answer(tool):
    """What a submit reports as its history starts the tool again (an undone answer): z walks it back."""
    cat = {"label": "cat", "left": 100, "top": 100, "width": 200, "height": 100}
    dog = {"label": "dog", "left": 10, "top": 20, "width": 30, "height": 40}
    page, _ = tool([cat, dog], history=[{"boxes": [], "selected": -1}, {"boxes": [cat], "selected": 0}])
    assert page.evaluate("window.tool.isModified()") is True
    page.keyboard.press("z")
    assert boxes(page) == [cat]
    page.keyboard.press("z")
    assert boxes(page) == [] and page.evaluate("window.tool.isModified()") is False
    page.keyboard.press("z")                       # nothing left: the host's z takes the answer before
    assert boxes(page) == []


def test_names_are_text_and_repaints_wait_for_a_frame(tool):
    page, _ = tool()
    assert page.get_by_role("button", name=CATS[3]).count() == 1
    assert page.locator("img").count() == 0 and page.evaluate("window.pwned") is None
    asked = page.evaluate("""() => { const before = window.frames_asked;
      for (const k of ["ArrowRight", "ArrowRight", "ArrowDown", "+", "-"])
        window.tool.element.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));
      return window.frames_asked - before; }""")
    assert asked == 1


def test_the_browser_reports_an_exif_rotated_jpeg_at_its_displayed_size(tool):
    """Why original-image pixels mean the displayed image: naturalWidth is the oriented width."""
    page, _ = tool()
    im = Image.new("RGB", (60, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif)
    size = page.evaluate("""async (b64) => { const i = new Image(); i.src = "data:image/jpeg;base64," + b64;
      await i.decode(); return [i.naturalWidth, i.naturalHeight]; }""", base64.b64encode(out.getvalue()).decode())
    assert size == [40, 60]
