"""A segmentation job in a real JupyterLab: the widget mounts the masks tool with the job's
Ground Truth colours, a polygon painted with the mouse and keys is submitted as a PNG (a binary
buffer of the submit request), the job writes Ground Truth's mask PNG pixel for pixel in
original-image pixels, and a card shows the answered mask again, in this view and in a new one."""
from __future__ import annotations

import io
from pathlib import Path

import nbformat
import numpy as np
import orjson
import pytest
from playwright.sync_api import expect
from PIL import Image

from gtwidgets import storage
from gtwidgets.manifests import read_manifest
from gtwidgets.masks import read_masks

pytestmark = pytest.mark.browser

CATS = ["cat", "dog", "bird"]  # legend and keys in this order; class values by sorted name
COLORS = {"cat": "#1f77b4", "dog": "#ff7f0e", "bird": "#2ca02c"}  # Ground Truth's (d3 category10)
SETUP = """\
import pandas as pd
from gtwidgets.job import LabelingJob
from gtwidgets.widget import LabelingWidget
job = LabelingJob("masks-test", input=pd.DataFrame({{"source-ref": {paths!r}}}), categories={cats!r},
                  output={output!r}, journal_dir={journal!r}, task="semantic-segmentation",
                  label_attribute="masks-test-ref")
widget = LabelingWidget(job)
widget"""
IMAGE_COLOR = (30, 120, 90)


def _jpeg() -> bytes:
    """1024 x 768 shown at 768 x 576: one screen pixel is 4/3 original pixels."""
    out = io.BytesIO()
    Image.new("RGB", (1024, 768), IMAGE_COLOR).save(out, "JPEG")
    return out.getvalue()


PIXEL_JS = """(el, [x, y]) => Array.from(el.getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3))"""


def _rgb(hex_color: str) -> list[int]:
    return [int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]


def _shows_dog_at_full_opacity(page, widget):
    """The mask layer at opacity 1 (o): inside the painted rectangle the dog's colour, exactly;
    outside it the image."""
    tool = widget.locator(".gtw-masks")
    expect(tool).to_be_visible(timeout=15_000)
    tool.focus()
    page.keyboard.press("o")  # opacity 0.55 -> 1
    canvas = widget.locator(".gtw-tool canvas").first
    inside = canvas.evaluate(PIXEL_JS, [150, 112])
    outside = canvas.evaluate(PIXEL_JS, [20, 20])
    assert inside == _rgb(COLORS["dog"])
    assert all(abs(a - b) <= 6 for a, b in zip(outside, IMAGE_COLOR)), outside  # the JPEG, not the mask


def test_paint_a_polygon_submit_and_read_the_mask_png_back(lab, tmp_path):
    paths = []
    for i in range(2):
        p = tmp_path / f"img{i}.jpg"
        p.write_bytes(_jpeg())
        paths.append(str(p))
    output = str(tmp_path / "out")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(SETUP.format(paths=paths, cats=CATS, output=output,
                                                       journal=str(tmp_path / "journal"))),
                nbformat.v4.new_code_cell("print('FLUSHED', job.flush(timeout=30))"),
                nbformat.v4.new_code_cell("LabelingWidget(job)")]
    nbformat.write(nb, Path(lab.root) / "masks.ipynb")
    lab.open("masks.ipynb")
    page = lab.page
    widget = lab.run_cell(0).locator(".gtw-root")
    expect(widget).to_have_attribute("data-shown", "0", timeout=15_000)
    canvas_el = widget.locator(".gtw-tool canvas")
    expect(canvas_el).to_be_visible(timeout=15_000)
    expect(widget.locator(".gtw-buttons")).to_be_hidden()
    expect(widget.locator(".gtw-masks")).to_be_focused()
    # The legend: the job's categories in order, with Ground Truth's colours.
    legend = widget.locator(".gtw-masks-class")
    expect(legend).to_have_count(3)
    for i, name in enumerate(CATS):
        expect(legend.nth(i)).to_have_text(f"{i + 1} {name}")
        swatch = legend.nth(i).locator(".gtw-masks-swatch")
        assert swatch.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb({}, {}, {})".format(*_rgb(COLORS[name]))
    canvas = canvas_el.bounding_box()
    assert (canvas["width"], canvas["height"]) == (768, 576), "the tool should fit the stage's 576 px height"

    page.keyboard.press("p")  # polygon
    page.keyboard.press("2")  # dog
    for x, y in [(75, 75), (225, 75), (225, 150), (75, 150)]:  # x 4/3: (100, 100) to (300, 200) original
        page.mouse.click(canvas["x"] + x, canvas["y"] + y)
    page.keyboard.press("Enter")        # closes the polygon
    page.keyboard.press("Shift+Enter")  # submits the mask
    expect(widget).to_have_attribute("data-shown", "1", timeout=15_000)
    expect(widget.locator(".gtw-progress-text")).to_contain_text("1 / 2 labeled")
    expect(widget.locator(".gtw-masks")).to_be_focused(timeout=15_000)
    page.keyboard.press("Shift+Enter")  # nothing painted in the second image: all background
    expect(widget.locator(".gtw-progress-text")).to_contain_text("2 / 2 labeled", timeout=15_000)

    expect(lab.run_cell(1).locator(".jp-OutputArea-output")).to_contain_text("FLUSHED True", timeout=60_000)
    job_dir = storage.join(output, "masks-test")
    frame = read_manifest(storage.join(job_dir, "manifests", "output", "output.manifest"))
    expected = np.zeros((768, 1024), np.uint8)
    expected[100:200, 100:300] = 3  # dog: classes by sorted name, bird 1, cat 2, dog 3
    masks = read_masks(frame, "masks-test-ref")
    assert masks.iloc[0].shape == (768, 1024)
    assert np.array_equal(masks.iloc[0], expected), np.argwhere(masks.iloc[0] != expected)[:5]
    assert not masks.iloc[1].any()
    written = sorted(Path(job_dir, "annotations", "consolidated-annotation", "output").glob("*.png"))
    assert [p.name.split("_")[0] for p in written] == ["0", "1"]
    png = np.asarray(Image.open(written[0]).convert("RGB"))  # Ground Truth's file itself: white background
    assert (png[100:200, 100:300] == _rgb(COLORS["dog"])).all()
    assert (png[expected == 0] == 255).all()
    lines = [orjson.loads(x) for x in storage.read_bytes(
        storage.join(job_dir, "manifests", "output", "output.manifest")).splitlines()]
    assert [storage.read_bytes(line["masks-test-ref"]) for line in lines] == [p.read_bytes() for p in written]
    for line in lines:
        assert line["masks-test-ref-metadata"]["internal-color-map"] == {
            "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": 0},
            "1": {"class-name": "bird", "hex-color": "#2ca02c", "confidence": 0},
            "2": {"class-name": "cat", "hex-color": "#1f77b4", "confidence": 0},
            "3": {"class-name": "dog", "hex-color": "#ff7f0e", "confidence": 0}}
        assert line["masks-test-ref-metadata"]["type"] == "groundtruth/semantic-segmentation"

    # Back in this view: the card shows the mask answered in the page.
    widget.focus()  # the end panel: back twice
    page.keyboard.press("k")
    expect(widget).to_have_attribute("data-shown", "1", timeout=15_000)
    page.keyboard.press("k")
    expect(widget).to_have_attribute("data-shown", "0", timeout=15_000)
    _shows_dog_at_full_opacity(page, widget)
    # A new view of the job: the kernel sends the answered mask with the card, as a binary buffer.
    second = lab.run_cell(2).locator(".gtw-root")
    expect(second).to_have_attribute("data-shown", "0", timeout=15_000)
    _shows_dog_at_full_opacity(page, second)
