"""Verification of prior boxes in a real JupyterLab: the card draws the boxes read only, the
category keys rate them, an optional comment goes with the rating; the output manifest holds the
rating and the comment as Ground Truth's label-verification pair."""
from __future__ import annotations

import orjson
import pytest
from playwright.sync_api import expect

from notebook_files import open_tool_card  # this folder is on sys.path
from PIL import Image

from gtwidgets import storage

pytestmark = pytest.mark.browser

SETUP = """\
import pandas as pd
from gtwidgets.job import LabelingJob
from gtwidgets.widget import LabelingWidget
frame = pd.DataFrame({{"source-ref": {paths!r}}})
frame["vehicle-boxes"] = [{{"image_size": [{{"width": 640, "height": 480, "depth": 3}}], "annotations": [
    {{"class_id": 0, "left": 100, "top": 100, "width": 200, "height": 100}}]}}] * 2
frame["vehicle-boxes-metadata"] = [{{"class-map": {{"0": "Car"}}, "type": "groundtruth/object-detection"}}] * 2
job = LabelingJob("verify", input=frame, categories=["good", "bad"], output={output!r}, journal_dir={journal!r},
                  task="bounding-box-verification", options={{"prior_attribute": "vehicle-boxes"}})
widget = LabelingWidget(job)
widget"""
PIXEL_JS = """(el, [x, y]) => Array.from(el.getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3))"""


def test_rate_prior_boxes_with_keys_and_a_comment(lab, tmp_path):
    paths = []
    for i in range(2):
        p = tmp_path / f"img{i}.png"
        Image.new("RGB", (640, 480), (255, 255, 255)).save(p)
        paths.append(str(p))
    output = str(tmp_path / "out")
    widget, canvas_el = open_tool_card(lab, "verify.ipynb", [
        SETUP.format(paths=paths, output=output, journal=str(tmp_path / "j")),
        "print('FLUSHED', job.flush(timeout=30))",
    ])
    page = lab.page
    expect(widget.locator(".gtw-buttons .gtw-cat")).to_have_text(["1good", "2bad"])  # the keys rate
    page.wait_for_function("el => el.getContext('2d').getImageData(0, 0, 1, 1).data[3] === 255",
                           arg=canvas_el.element_handle(), timeout=15_000)
    assert canvas_el.bounding_box()["width"] == 768  # 1.2 screen px an image px
    assert canvas_el.evaluate(PIXEL_JS, [120, 180]) != [255, 255, 255]  # the prior box's left edge
    assert canvas_el.evaluate(PIXEL_JS, [60, 180]) == [255, 255, 255]

    comment = widget.locator(".gtw-verify-comment")
    comment.click()
    page.keyboard.type("box 12 too small")  # digits in the comment are text, not ratings
    expect(widget).to_have_attribute("data-shown", "0")
    page.keyboard.press("Escape")           # back to the keys
    page.keyboard.press("2")                # bad
    expect(widget).to_have_attribute("data-shown", "1", timeout=15_000)
    expect(widget.locator(".gtw-verify-comment")).to_have_value("")
    page.keyboard.press("1")                # good, no comment
    expect(widget.locator(".gtw-progress-text")).to_contain_text("2 / 2 labeled", timeout=15_000)
    expect(lab.run_cell(1).locator(".jp-OutputArea-output")).to_contain_text("FLUSHED True", timeout=60_000)
    lines = [orjson.loads(x) for x in storage.read_bytes(
        storage.join(output, "verify", "manifests", "output", "output.manifest")).splitlines()]
    assert [line["verify"] for line in lines] == ["1", "0"]
    first, second = (line["verify-metadata"] for line in lines)
    assert (first["class-name"], first["type"], first["worker-feedback"]) == (
        "bad", "groundtruth/label-verification", [{"comment": "box 12 too small"}])
    assert second["class-name"] == "good" and "worker-feedback" not in second
