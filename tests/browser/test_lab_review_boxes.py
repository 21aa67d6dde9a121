"""Review of a bounding-box job in a real JupyterLab: the card draws every worker's boxes over the
image in that worker's colour (named in the table beside it) and the consolidated boxes in gold,
editable; Enter makes what it shows the decision (unchanged: the consolidated boxes; corrected:
the reviewer's), and the output manifest holds it."""
from __future__ import annotations


import orjson
import pytest
from playwright.sync_api import expect
from PIL import Image

from gtwidgets import storage
from gtwidgets.review import CONSOLIDATED_COLOR, WORKER_COLORS

pytestmark = pytest.mark.browser

CATS = ["cat", "dog"]
SIZE = {"width": 640, "height": 480}
ANSWERS = {  # object 0: alice and bob disagree; object 1: they agree (not reviewed)
    "alice": [[{"label": "cat", "left": 100, "top": 100, "width": 200, "height": 100}], []],
    "bob": [[{"label": "cat", "left": 110, "top": 100, "width": 200, "height": 100},
             {"label": "dog", "left": 400, "top": 300, "width": 100, "height": 100}], []],
}
SETUP = """\
import pandas as pd
from gtwidgets.job import LabelingJob
from gtwidgets.review import ReviewWidget
def job_for(worker):
    return LabelingJob("boxrev", input=pd.DataFrame({{"source-ref": {paths!r}}}), categories={cats!r},
                       output={output!r}, worker_id=worker, workers_per_object=2, task="bounding-box",
                       journal_dir={journal!r} + "/" + worker)
for worker, answers in {answers!r}.items():
    j = job_for(worker)
    for i, boxes in enumerate(answers):
        j.submit(i, {{"image_size": {size!r}, "boxes": boxes}})
    assert j.flush(60)
    j.close()
job = job_for("teacher")
review = ReviewWidget(job, reviewer="teacher")
review"""
PIXEL_JS = """(el, [x, y]) => Array.from(el.getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3))"""


def _rgb(hex_color: str) -> list[int]:
    return [int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]


def _open_review(lab, tmp_path, name):
    paths = []
    for i in range(2):
        p = tmp_path / f"img{i}.png"
        Image.new("RGB", (640, 480), (255, 255, 255)).save(p)
        paths.append(str(p))
    output = str(tmp_path / "out")
    lab.open_notebook(name, [SETUP.format(paths=paths, cats=CATS, output=output, answers=ANSWERS, size=SIZE,
                                          journal=str(tmp_path / "journal")),
                             "print('FLUSHED', job.flush(timeout=60))"])
    widget = lab.run_cell(0).locator(".gtw-root.gtw-review-mode")
    expect(widget).to_be_visible(timeout=60_000)
    expect(widget).to_have_attribute("data-shown", "0", timeout=15_000)
    return widget, output


def _manifest(lab, output) -> list[dict]:
    expect(lab.run_cell(1).locator(".jp-OutputArea-output")).to_contain_text("FLUSHED True", timeout=60_000)
    uri = storage.join(output, "boxrev", "manifests", "output", "output.manifest")
    return [orjson.loads(x) for x in storage.read_bytes(uri).splitlines()]


def test_review_card_draws_each_worker_s_boxes_and_enter_accepts_the_consolidated(lab, tmp_path):
    widget, output = _open_review(lab, tmp_path, "review_boxes.ipynb")
    page = lab.page
    expect(widget.locator(".gtw-progress-text")).to_contain_text("0 / 1 decided")
    # The table: each worker's name, their boxes' colour and classes.
    expect(widget.locator(".gtw-review-worker")).to_have_text(["alice", "bob"])
    expect(widget.locator(".gtw-review-answer")).to_have_text(["cat", "cat, dog"])
    expect(widget.locator(".gtw-review-consolidated")).to_have_text("cat, dog")
    swatches = widget.locator(".gtw-review-swatch")
    for i in range(2):
        assert swatches.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") == \
            "rgb({}, {}, {})".format(*_rgb(WORKER_COLORS[i]))
    expect(widget.locator(".gtw-buttons")).to_be_hidden()  # Enter decides a boxes card

    canvas_el = widget.locator(".gtw-tool canvas")
    expect(canvas_el).to_be_visible(timeout=15_000)
    box = canvas_el.bounding_box()
    assert (box["width"], box["height"]) == (768, 576)  # 640 x 480 at 1.2 screen px an image px
    page.wait_for_function("el => el.getContext('2d').getImageData(0, 0, 1, 1).data[3] === 255",
                           arg=canvas_el.element_handle(), timeout=15_000)  # the image is drawn
    pixel = lambda x: canvas_el.evaluate(PIXEL_JS, [x, 180])  # noqa: E731  (left edges, mid-height)
    assert pixel(120) == _rgb(WORKER_COLORS[0])    # alice's cat: left 100
    assert pixel(132) == _rgb(WORKER_COLORS[1])    # bob's cat: left 110
    assert pixel(126) == _rgb(CONSOLIDATED_COLOR)  # consolidated cat: left 105
    assert pixel(60) == [255, 255, 255]            # the image, no box

    widget.click(position={"x": 5, "y": 5})
    expect(widget.locator(".gtw-boxes")).to_be_focused()  # the tool takes the keys: the boxes are editable
    page.keyboard.press("Enter")
    expect(widget.locator(".gtw-progress-text")).to_contain_text("1 / 1 decided", timeout=15_000)
    lines = _manifest(lab, output)
    assert lines[0]["boxrev"]["annotations"] == [
        {"class_id": 0, "top": 100, "left": 105, "height": 100, "width": 200},
        {"class_id": 1, "top": 300, "left": 400, "height": 100, "width": 100}]
    assert lines[1]["boxrev"]["annotations"] == []


def test_a_reviewer_who_disagrees_corrects_the_boxes_and_they_are_the_decision(lab, tmp_path):
    widget, output = _open_review(lab, tmp_path, "review_boxes_redraw.ipynb")
    page = lab.page
    canvas_el = widget.locator(".gtw-tool canvas")
    expect(canvas_el).to_be_visible(timeout=15_000)
    canvas = canvas_el.bounding_box()
    widget.click(position={"x": 5, "y": 5})
    expect(widget.locator(".gtw-boxes")).to_be_focused()
    for key in ["Tab", "Shift+ArrowRight",   # the consolidated cat, 10 px to the right
                "Tab", "Delete"]:            # the dog only bob saw: gone
        page.keyboard.press(key)
    expect(widget.locator(".gtw-boxes-status")).to_contain_text("1 boxes")
    page.mouse.move(canvas["x"] + 30, canvas["y"] + 30)  # a box nobody drew: 25..75 image px (1.2 a px)
    page.mouse.down()
    page.mouse.move(canvas["x"] + 60, canvas["y"] + 60, steps=3)
    page.mouse.move(canvas["x"] + 90, canvas["y"] + 90, steps=3)
    page.mouse.up()
    expect(widget.locator(".gtw-boxes-status")).to_contain_text("box 2 of 2 (dog)")  # the class chosen last
    page.keyboard.press("Enter")
    expect(widget.locator(".gtw-progress-text")).to_contain_text("1 / 1 decided", timeout=15_000)
    page.keyboard.press("k")  # back to the card: it shows the decision, and the boxes decided
    expect(widget.locator(".gtw-answer")).to_contain_text("decision: cat, dog (by teacher)")
    expect(widget.locator(".gtw-boxes-status")).to_contain_text("2 boxes")
    lines = _manifest(lab, output)
    assert lines[0]["boxrev"]["annotations"] == [
        {"class_id": 0, "top": 100, "left": 115, "height": 100, "width": 200},
        {"class_id": 1, "top": 25, "left": 25, "height": 50, "width": 50}]
    assert lines[0]["boxrev-metadata"]["objects"] == [{"confidence": 1}, {"confidence": 1}]
