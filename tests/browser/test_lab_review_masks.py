"""Review of a segmentation job in a real JupyterLab: the card draws the consolidated mask over the
image, m steps through each worker's mask and where they disagree (each named in the table beside
it, with their IoU), and Enter makes the mask shown the decision; the output manifest's PNG holds it."""
from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect
from PIL import Image

from gtwidgets import storage
from gtwidgets.manifests import read_manifest
from gtwidgets.masks import read_masks
from gtwidgets.review import WORKER_COLORS

pytestmark = pytest.mark.browser

SETUP = """\
import numpy as np
import pandas as pd
from gtwidgets.job import LabelingJob
from gtwidgets.review import ReviewWidget
def job_for(worker):
    return LabelingJob("maskrev", input=pd.DataFrame({{"source-ref": {paths!r}}}), categories=["cat", "dog"],
                       output={output!r}, worker_id=worker, workers_per_object=2, task="semantic-segmentation",
                       label_attribute="maskrev-ref", journal_dir={journal!r} + "/" + worker)
def painted(left):
    labels = np.zeros((480, 640), np.uint8)
    labels[100:200, left:left + 200] = 2   # a dog
    return labels
for worker, left in (("alice", 100), ("bob", 200)):
    j = job_for(worker)
    j.submit(0, painted(left))
    j.submit(1, painted(50))              # they agree: not reviewed
    assert j.flush(60)
    j.close()
job = job_for("teacher")
review = ReviewWidget(job, reviewer="teacher")
review"""
PIXEL_JS = """(el, [x, y]) => Array.from(el.getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3))"""
DOG = [0xff, 0x7f, 0x0e]
WHITE = [255, 255, 255]


def _rgb(hex_color: str) -> str:
    return "rgb({}, {}, {})".format(*(int(hex_color[i:i + 2], 16) for i in (1, 3, 5)))


def test_review_steps_through_the_masks_and_enter_decides_the_one_shown(lab, tmp_path):
    paths = []
    for i in range(2):
        p = tmp_path / f"img{i}.png"
        Image.new("RGB", (640, 480), (255, 255, 255)).save(p)
        paths.append(str(p))
    output = str(tmp_path / "out")
    lab.open_notebook("review_masks.ipynb", [
        SETUP.format(paths=paths, output=output, journal=str(tmp_path / "j")),
        "print('FLUSHED', job.flush(timeout=60))",
    ])
    page = lab.page
    widget = lab.run_cell(0).locator(".gtw-root.gtw-review-mode")
    expect(widget).to_be_visible(timeout=60_000)
    expect(widget).to_have_attribute("data-shown", "0", timeout=15_000)
    expect(widget.locator(".gtw-progress-text")).to_contain_text("0 / 1 decided")
    expect(widget.locator(".gtw-review-worker")).to_have_text(["alice", "bob"])
    expect(widget.locator(".gtw-review-iou")).to_have_count(2)
    swatches = widget.locator(".gtw-review-swatch")
    assert swatches.nth(1).evaluate("e => getComputedStyle(e).backgroundColor") == _rgb(WORKER_COLORS[1])
    expect(widget.locator(".gtw-buttons")).to_be_hidden()   # Enter decides a masks card
    expect(widget.locator(".gtw-maskview-layer")).to_have_text(["consolidated", "alice", "bob", "disagreement"])

    canvas_el = widget.locator(".gtw-maskview canvas")
    expect(canvas_el).to_be_visible(timeout=15_000)
    assert canvas_el.bounding_box()["width"] == 768   # 640 x 480 at 1.2 screen px an image px
    view = widget.locator(".gtw-maskview")
    widget.click(position={"x": 5, "y": 5})
    page.keyboard.press("o")                           # full opacity: exact colours
    expect(view).to_have_attribute("data-opacity", "1")
    pixel = lambda x: canvas_el.evaluate(PIXEL_JS, [x, 180])  # noqa: E731  image row 150
    # the consolidated mask: the vote of two keeps neither worker's lone strip of dog
    page.wait_for_function("el => el.getContext('2d').getImageData(300, 180, 1, 1).data[2] < 100",
                           arg=canvas_el.element_handle(), timeout=15_000)  # image x 250: both painted it
    assert pixel(300) == DOG and pixel(180) == WHITE and pixel(420) == WHITE   # image x 150, 350: one each
    page.keyboard.press("m")                           # alice's mask
    expect(view).to_have_attribute("data-layer", "alice")
    page.wait_for_function("el => el.getContext('2d').getImageData(180, 180, 1, 1).data[2] < 100",
                           arg=canvas_el.element_handle(), timeout=15_000)
    assert pixel(180) == DOG and pixel(420) == WHITE
    page.keyboard.press("1")                           # a category key does not decide a masks card
    expect(widget.locator(".gtw-error")).to_contain_text("press Enter")
    page.keyboard.press("Enter")                       # alice's mask is the decision
    expect(widget.locator(".gtw-progress-text")).to_contain_text("1 / 1 decided", timeout=15_000)
    expect(lab.run_cell(1).locator(".jp-OutputArea-output")).to_contain_text("FLUSHED True", timeout=60_000)
    masks = read_masks(read_manifest(storage.join(output, "maskrev", "manifests", "output", "output.manifest")),
                       "maskrev-ref")
    expected = np.zeros((480, 640), np.uint8)
    expected[100:200, 100:300] = 2
    assert np.array_equal(masks[0], expected)
