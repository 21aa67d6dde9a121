"""A segmentation job in a real JupyterLab: the widget mounts the masks tool with the job's
Ground Truth colours; polygon, brush, undo and redo on a 1024 x 768 photo (shown at 3/4), flood
fill and smart fill (the kernel's superpixels) on a 640 x 480 one; each answer is submitted as a
PNG (a binary buffer of the submit request), the job writes Ground Truth's mask PNGs pixel for
pixel in original-image pixels, as computed here from the shapes' geometry, with the colour map
exact; and a card shows the answered mask again, in this view and in a new one."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import orjson
import pytest
from playwright.sync_api import expect
from PIL import Image

from gtwidgets import storage
from gtwidgets.manifests import read_manifest
from gtwidgets.masks import read_masks
from gtwidgets.superpixels import superpixels
from mask_geometry import capsule, on_grid  # tests/ is on sys.path

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


RED = (200, 30, 30)
BLOCK = (slice(160, 320), slice(96, 256))  # rows, cols of the red block of the second image: 8-aligned


def _jpeg() -> bytes:
    """1024 x 768 shown at 768 x 576: one screen pixel is 4/3 original pixels."""
    out = io.BytesIO()
    Image.new("RGB", (1024, 768), IMAGE_COLOR).save(out, "JPEG")
    return out.getvalue()


def _blocks_jpeg() -> bytes:
    """640 x 480: a red block on a light field, two greys beside it; flat 8 x 8 blocks at quality
    100 decode to exact colours, and a JPEG this size is the card itself (no resampling)."""
    rgb = np.full((480, 640, 3), 235, np.uint8)
    rgb[:, 400:] = (120, 120, 120)
    rgb[BLOCK] = RED
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=100, subsampling=0)
    return out.getvalue()


def _rgb(hex_color: str) -> list[int]:
    return [int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]


def _screen(widget) -> np.ndarray:
    """What the tool's stage shows (image and mask composed), as RGB."""
    png = widget.locator(".gtw-masks-stage").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _shows_dog_at_full_opacity(page, widget):
    """The mask layer at opacity 1 (o): inside the painted rectangle the dog's colour, exactly;
    outside it the image."""
    tool = widget.locator(".gtw-masks")
    expect(tool).to_be_visible(timeout=15_000)
    tool.focus()
    page.keyboard.press("o")  # opacity 0.55 -> 1
    expect(widget.locator(".gtw-masks-status")).to_contain_text("mask 100%")
    shown = _screen(widget)
    assert shown[112, 150].tolist() == _rgb(COLORS["dog"])
    assert all(abs(a - b) <= 6 for a, b in zip(shown[20, 20], IMAGE_COLOR)), shown[20, 20]  # the JPEG, not the mask


def _drag(page, canvas, a, b):
    """A brush stroke between two canvas points (integers: no rounding of the events' coordinates);
    returns its ends in image pixels (the canvas shows the 1024 x 768 image at 3/4)."""
    ends = []
    for x, y in (a, b):
        cx, cy = round(canvas["x"]) + x, round(canvas["y"]) + y
        ends.append(((cx - canvas["x"]) / 0.75, (cy - canvas["y"]) / 0.75))
    page.mouse.move(round(canvas["x"]) + a[0], round(canvas["y"]) + a[1])
    page.mouse.down()
    page.mouse.move(round(canvas["x"]) + b[0], round(canvas["y"]) + b[1], steps=10)  # along a row: collinear
    page.mouse.up()
    return ends


def test_paint_submit_and_read_the_mask_pngs_back(lab, tmp_path):
    paths = [tmp_path / "img0.jpg", tmp_path / "img1.jpg"]
    paths[0].write_bytes(_jpeg())
    paths[1].write_bytes(_blocks_jpeg())
    paths = [str(p) for p in paths]
    output = str(tmp_path / "out")
    lab.open_notebook("masks.ipynb", [
        SETUP.format(paths=paths, cats=CATS, output=output, journal=str(tmp_path / "journal")),
        "print('FLUSHED', job.flush(timeout=30))",
        "LabelingWidget(job)",
    ])
    page = lab.page
    widget = lab.run_cell(0).locator(".gtw-root")
    expect(widget).to_have_attribute("data-shown", "0", timeout=15_000)
    surface = widget.locator(".gtw-masks-pointer")  # the top canvas takes the pointer
    expect(surface).to_be_visible(timeout=15_000)
    expect(widget.locator(".gtw-buttons")).to_be_hidden()
    expect(widget.locator(".gtw-masks")).to_be_focused()
    # The legend: the job's categories in order, with Ground Truth's colours.
    legend = widget.locator(".gtw-masks-class")
    expect(legend).to_have_count(3)
    for i, name in enumerate(CATS):
        expect(legend.nth(i)).to_have_text(f"{i + 1} {name}")
        swatch = legend.nth(i).locator(".gtw-masks-swatch")
        assert swatch.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb({}, {}, {})".format(*_rgb(COLORS[name]))
    canvas = surface.bounding_box()
    assert (canvas["width"], canvas["height"]) == (768, 576), "the tool should fit the stage's 576 px height"
    status = widget.locator(".gtw-masks-status")

    # Image 0: a dog polygon; two cat strokes, both undone, the first redone.
    page.keyboard.press("p")  # polygon
    page.keyboard.press("2")  # dog
    for x, y in [(75, 75), (225, 75), (225, 150), (75, 150)]:  # x 4/3: (100, 100) to (300, 200) original
        page.mouse.click(canvas["x"] + x, canvas["y"] + y)
    page.keyboard.press("Enter")        # closes the polygon
    page.keyboard.press("b")
    page.keyboard.press("1")  # cat
    expect(status).to_contain_text("brush 21 px")  # 16 screen pixels at 3/4
    page.keyboard.press("[")
    page.keyboard.press("[")
    expect(status).to_contain_text("brush 14 px")
    kept = _drag(page, canvas, (60, 130), (260, 130))    # across the rectangle's lower part
    _drag(page, canvas, (40, 90), (300, 90))             # across its upper part: undone
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+Shift+z")               # the first stroke again
    first = np.zeros((768, 1024), np.uint8)
    first[100:200, 100:300] = 3          # dog: classes by sorted name, bird 1, cat 2, dog 3
    first[capsule(first.shape, *kept, 7)] = 2
    page.keyboard.press("Shift+Enter")  # submits the mask
    expect(widget).to_have_attribute("data-shown", "1", timeout=15_000)
    expect(widget.locator(".gtw-progress-text")).to_contain_text("1 / 2 labeled")
    expect(widget.locator(".gtw-masks")).to_be_focused(timeout=15_000)

    # Image 1 (640 x 480 at 6/5): flood fill the red block; smart fill two regions, the second undone.
    canvas = surface.bounding_box()
    assert (canvas["width"], canvas["height"]) == (768, 576)

    def click(x, y):  # near image pixel (x, y), at whole screen pixels; the image pixel it hit
        cx, cy = round(canvas["x"] + x * 1.2), round(canvas["y"] + y * 1.2)
        page.mouse.click(cx, cy)
        return int((cx - canvas["x"]) // 1.2), int((cy - canvas["y"]) // 1.2)

    page.keyboard.press("3")  # bird
    page.keyboard.press("f")
    expect(status).to_contain_text("tolerance 24")
    click(170, 240)
    page.keyboard.press("s")
    page.keyboard.press("2")  # dog
    px, py = click(40, 400)   # the light field, far from the block
    page.keyboard.press("1")  # cat
    click(500, 100)           # the grey field: undone
    page.keyboard.press("Control+z")
    second = np.zeros((480, 640), np.uint8)
    second[BLOCK] = 1
    regions = superpixels(Path(paths[1]).read_bytes())  # the kernel's, from the card's image (this JPEG)
    assert regions.shape == (384, 512)
    at = on_grid((480, 640), regions)
    second[at == at[py, px]] = 3
    assert 0 < (at == at[py, px]).sum() < 480 * 640 // 50  # one region, not the field
    page.keyboard.press("Shift+Enter")
    expect(widget.locator(".gtw-progress-text")).to_contain_text("2 / 2 labeled", timeout=15_000)

    expect(lab.run_cell(1).locator(".jp-OutputArea-output")).to_contain_text("FLUSHED True", timeout=60_000)
    job_dir = storage.join(output, "masks-test")
    frame = read_manifest(storage.join(job_dir, "manifests", "output", "output.manifest"))
    masks = read_masks(frame, "masks-test-ref")
    for got, expected in zip(masks, [first, second]):
        assert got.shape == expected.shape
        assert np.array_equal(got, expected), (np.argwhere(got != expected)[:5], (got != expected).sum())
    written = sorted(Path(job_dir, "annotations", "consolidated-annotation", "output").glob("*.png"))
    assert [p.name.split("_")[0] for p in written] == ["0", "1"]
    png = np.asarray(Image.open(written[0]).convert("RGB"))  # Ground Truth's file itself: white background
    assert (png[first == 3] == _rgb(COLORS["dog"])).all() and (png[first == 2] == _rgb(COLORS["cat"])).all()
    assert (png[first == 0] == 255).all()
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
    second_view = lab.run_cell(2).locator(".gtw-root")
    expect(second_view).to_have_attribute("data-shown", "0", timeout=15_000)
    _shows_dog_at_full_opacity(page, second_view)
