"""A bounding-box job in a real JupyterLab: the widget mounts the boxes tool, mouse and keys draw,
and the output manifest holds the boxes in original-image pixels, exactly."""
from __future__ import annotations

import io
import re

import orjson
import pytest
from playwright.sync_api import expect

from notebook_files import open_tool_card  # this folder is on sys.path
from PIL import Image

from gtwidgets import storage

pytestmark = pytest.mark.browser

CATS = ["cat", "dog", "bird"]
SIZE = {"width": 1024, "height": 768, "depth": 3}
SETUP = """\
import pandas as pd
from gtwidgets.job import LabelingJob
from gtwidgets.widget import LabelingWidget
job = LabelingJob("boxes-test", input=pd.DataFrame({{"source-ref": {paths!r}}}), categories={cats!r},
                  output={output!r}, journal_dir={journal!r}, task="bounding-box")
widget = LabelingWidget(job)
widget"""


def _jpeg(i: int) -> bytes:
    """1024 x 768: the card is sent at 768 x 576, the tool shows it at 768 x 576 (the stage's
    576 px height), so one screen pixel is 4/3 original pixels."""
    out = io.BytesIO()
    Image.new("RGB", (1024, 768), (40 * i, 120, 90)).save(out, "JPEG")
    return out.getvalue()


# True once the canvas pixel at (x, y) is within 3 of `rgb` (the JPEG's solid colour, decoded)
NEAR_JS = """([el, x, y, rgb]) => { const p = el.getContext("2d").getImageData(x, y, 1, 1).data;
  return rgb.every((v, i) => Math.abs(p[i] - v) <= 3); }"""


def _drag(page, canvas, a, b):
    page.mouse.move(canvas["x"] + a[0], canvas["y"] + a[1])
    page.mouse.down()
    page.mouse.move(canvas["x"] + (a[0] + b[0]) / 2, canvas["y"] + (a[1] + b[1]) / 2, steps=3)
    page.mouse.move(canvas["x"] + b[0], canvas["y"] + b[1], steps=3)
    page.mouse.up()


def test_draw_two_boxes_resize_relabel_submit_in_original_pixels(lab, tmp_path):
    paths = []
    for i in range(2):
        p = tmp_path / f"img{i}.jpg"
        p.write_bytes(_jpeg(i))
        paths.append(str(p))
    output = str(tmp_path / "out")
    widget, canvas_el = open_tool_card(lab, "boxes.ipynb", [
        SETUP.format(paths=paths, cats=CATS, output=output, journal=str(tmp_path / "journal")),
        "print('FLUSHED', job.flush(timeout=30))",
    ])
    page = lab.page
    expect(widget.locator(".gtw-buttons")).to_be_hidden()  # the tool answers, not category buttons
    expect(widget.locator(".gtw-boxes")).to_be_focused()   # the widget's focus went to the tool
    canvas = canvas_el.bounding_box()
    assert (canvas["width"], canvas["height"]) == (768, 576), "the tool should fit the stage's 576 px height"
    page.wait_for_function(NEAR_JS, arg=[canvas_el.element_handle(), 20, 20, [0, 120, 90]], timeout=15_000)

    _drag(page, canvas, (75, 75), (225, 150))        # cat: screen x 4/3 = original pixels
    page.keyboard.press("Escape")                     # deselect, so "2" picks the next box's class
    page.keyboard.press("2")
    _drag(page, canvas, (300, 300), (450, 390))      # dog
    for key in ["Alt+ArrowRight", "Alt+ArrowRight", "Alt+Shift+ArrowDown"]:  # resize the dog box
        page.keyboard.press(key)
    page.keyboard.press("Tab")                        # select the first box...
    page.keyboard.press("3")                          # ...and relabel it: bird
    page.keyboard.press("Enter")
    expect(widget).to_have_attribute("data-shown", "1", timeout=15_000)
    # the same tool shows the second card: its image, without the first card's boxes
    page.wait_for_function(NEAR_JS, arg=[canvas_el.element_handle(), 20, 20, [40, 120, 90]], timeout=15_000)
    assert page.evaluate(NEAR_JS, [canvas_el.element_handle(), 75, 110, [40, 120, 90]])  # the cat box's left edge
    expect(widget.locator(".gtw-progress-text")).to_contain_text("1 / 2 labeled")
    expect(widget.locator(".gtw-tool canvas")).to_be_visible()
    expect(widget.locator(".gtw-boxes")).to_be_focused()
    page.keyboard.press("n")                          # no objects in the second image
    expect(widget.locator(".gtw-progress-text")).to_contain_text("2 / 2 labeled")

    expect(lab.run_cell(1).locator(".jp-OutputArea-output")).to_contain_text("FLUSHED True", timeout=60_000)
    lines = [orjson.loads(x) for x in
             storage.read_bytes(storage.join(output, "boxes-test", "manifests", "output", "output.manifest")).splitlines()]
    for line in lines:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", line["boxes-test-metadata"].pop("creation-date"))
    meta = {"type": "groundtruth/object-detection", "human-annotated": "yes", "job-name": "labeling-job/boxes-test"}
    assert lines == [
        {"source-ref": paths[0],
         "boxes-test": {"image_size": [SIZE], "annotations": [
             {"class_id": 2, "top": 100, "left": 100, "height": 100, "width": 200},
             {"class_id": 1, "top": 400, "left": 400, "height": 130, "width": 202}]},
         "boxes-test-metadata": {"objects": [{"confidence": 0}, {"confidence": 0}],
                                 "class-map": {"2": "bird", "1": "dog"}, **meta}},
        {"source-ref": paths[1], "boxes-test": {"image_size": [SIZE], "annotations": []},
         "boxes-test-metadata": {"objects": [], "class-map": {}, **meta}},
    ]


def test_undo_after_submits_walks_back_answers_and_box_edits_in_one_line(lab, tmp_path):
    """z after Enter takes the answer back and shows the card as it was answered, editable; the next
    z undoes that card's last box edit, and leaving the card does not bring the undone boxes back;
    with no edit left, z takes back the answer before. Enter then answers from what is shown."""
    paths = []
    for i in range(3):
        p = tmp_path / f"img{i}.jpg"
        p.write_bytes(_jpeg(i))
        paths.append(str(p))
    output = str(tmp_path / "out")
    widget, canvas_el = open_tool_card(lab, "boxes_undo.ipynb", [
        SETUP.format(paths=paths, cats=CATS, output=output, journal=str(tmp_path / "journal")),
        "print('FLUSHED', job.flush(timeout=30))",
    ])
    page = lab.page
    canvas = canvas_el.bounding_box()
    status, progress = widget.locator(".gtw-boxes-status"), widget.locator(".gtw-progress-text")

    def shown(card, boxes, labeled):
        expect(widget).to_have_attribute("data-shown", str(card), timeout=15_000)
        expect(status).to_contain_text(f"{boxes} boxes", timeout=15_000)
        expect(progress).to_contain_text(f"{labeled} / 3 labeled", timeout=15_000)

    _drag(page, canvas, (75, 75), (225, 150))      # card 0: a cat
    page.keyboard.press("Enter")
    shown(1, 0, 1)
    _drag(page, canvas, (300, 300), (450, 390))    # card 1: a cat
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    shown(2, 0, 2)
    page.keyboard.press("z")                        # the answer to card 1 is taken back...
    shown(1, 1, 1)                                  # ...and the card shows it, editable
    page.keyboard.press("z")                        # its box edit is undone
    shown(1, 0, 1)
    page.keyboard.press("j")
    shown(2, 0, 1)
    page.keyboard.press("k")
    shown(1, 0, 1)                                  # the undone box stays undone
    page.keyboard.press("z")                        # no edit left here: the answer to card 0
    shown(0, 1, 0)
    page.keyboard.press("Enter")                    # card 0 again, as shown
    shown(1, 0, 1)
    page.keyboard.press("Enter")                    # card 1: no objects
    shown(2, 0, 2)

    expect(lab.run_cell(1).locator(".jp-OutputArea-output")).to_contain_text("FLUSHED True", timeout=60_000)
    lines = [orjson.loads(x) for x in
             storage.read_bytes(storage.join(output, "boxes-test", "manifests", "output", "output.manifest")).splitlines()]
    assert lines[0]["boxes-test"]["annotations"] == [{"class_id": 0, "top": 100, "left": 100, "height": 100, "width": 200}]
    assert lines[1]["boxes-test"]["annotations"] == []
    assert "boxes-test" not in lines[2]
