"""Verification of prior masks in a real JupyterLab: the card draws the prior mask over the image
(Ground Truth's colours, o toggles its opacity), the category keys rate it, an optional comment
goes with the rating; the output manifest holds Ground Truth's label-verification pair."""
from __future__ import annotations

import numpy as np
import orjson
import pytest
from playwright.sync_api import expect
from PIL import Image

from gtwidgets import storage
from gtwidgets.masks import color_map, encode_mask

pytestmark = pytest.mark.browser

SETUP = """\
import pandas as pd
from gtwidgets.job import LabelingJob
from gtwidgets.widget import LabelingWidget
frame = pd.DataFrame({{"source-ref": {paths!r}, "pets-ref": {masks!r}}})
frame["pets-ref-metadata"] = [{{"internal-color-map": {cmap!r}, "type": "groundtruth/semantic-segmentation"}}] * 2
job = LabelingJob("verify", input=frame, categories=["good", "bad"], output={output!r}, journal_dir={journal!r},
                  task="semantic-segmentation-verification", options={{"prior_attribute": "pets-ref"}})
widget = LabelingWidget(job)
widget"""
PIXEL_JS = """(el, [x, y]) => Array.from(el.getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3))"""
CMAP = color_map(["cat", "dog"])   # cat 1 #1f77b4, dog 2 #ff7f0e


def test_rate_prior_masks_with_keys_and_a_comment(lab, tmp_path):
    paths, masks = [], []
    labels = np.zeros((480, 640), np.uint8)
    labels[100:200, 100:300] = 2   # a dog
    for i in range(2):
        p = tmp_path / f"img{i}.png"
        Image.new("RGB", (640, 480), (255, 255, 255)).save(p)
        paths.append(str(p))
        m = tmp_path / f"mask{i}.png"
        m.write_bytes(encode_mask(labels, CMAP))
        masks.append(str(m))
    output = str(tmp_path / "out")
    lab.open_notebook("verify_masks.ipynb", [
        SETUP.format(paths=paths, masks=masks, cmap=CMAP, output=output, journal=str(tmp_path / "j")),
        "print('FLUSHED', job.flush(timeout=30))",
    ])
    page = lab.page
    widget = lab.run_cell(0).locator(".gtw-root")
    expect(widget).to_have_attribute("data-shown", "0", timeout=15_000)
    canvas_el = widget.locator(".gtw-maskview canvas")
    expect(canvas_el).to_be_visible(timeout=15_000)
    expect(widget.locator(".gtw-buttons .gtw-cat")).to_have_text(["1good", "2bad"])  # the keys rate
    expect(widget.locator(".gtw-maskview-class")).to_have_text(["cat", "dog"])       # the prior's legend
    assert canvas_el.bounding_box()["width"] == 768  # 1.2 screen px an image px
    inside = [180, 180]   # image (150, 150): the dog
    page.wait_for_function(f"el => el.getContext('2d').getImageData({inside[0]}, {inside[1]}, 1, 1).data[2] < 200",
                           arg=canvas_el.element_handle(), timeout=15_000)  # the mask is drawn, at 55 %
    assert canvas_el.evaluate(PIXEL_JS, [60, 60]) == [255, 255, 255]   # outside it: the image
    widget.focus()
    page.keyboard.press("o")   # opacity 100 %: the dog's colour exactly
    expect(widget.locator(".gtw-maskview-opacity")).to_have_text("mask opacity (o): 100%")
    assert canvas_el.evaluate(PIXEL_JS, inside) == [0xff, 0x7f, 0x0e]
    expect(widget).to_have_attribute("data-shown", "0")   # o is the viewer's, not an answer

    comment = widget.locator(".gtw-verify-comment")
    comment.click()
    page.keyboard.type("tail 2 missed")   # digits in the comment are text, not ratings
    page.keyboard.press("Escape")
    page.keyboard.press("2")              # bad
    expect(widget).to_have_attribute("data-shown", "1", timeout=15_000)
    page.keyboard.press("1")              # good, no comment
    expect(widget.locator(".gtw-progress-text")).to_contain_text("2 / 2 labeled", timeout=15_000)
    expect(lab.run_cell(1).locator(".jp-OutputArea-output")).to_contain_text("FLUSHED True", timeout=60_000)
    lines = [orjson.loads(x) for x in storage.read_bytes(
        storage.join(output, "verify", "manifests", "output", "output.manifest")).splitlines()]
    assert [line["verify"] for line in lines] == ["1", "0"]
    assert [line["pets-ref"] for line in lines] == masks   # the verified pair stays
    first, second = (line["verify-metadata"] for line in lines)
    assert (first["class-name"], first["type"], first["worker-feedback"]) == (
        "bad", "groundtruth/label-verification", [{"comment": "tail 2 missed"}])
    assert second["class-name"] == "good" and "worker-feedback" not in second
