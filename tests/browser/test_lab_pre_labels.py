"""Pre-labels in a real JupyterLab: a card whose object has a detector's boxes starts with them
drawn, editable, and Enter on it unchanged writes them to the output manifest in original-image
pixels, the worker response saying they were not modified."""
from __future__ import annotations


import orjson
import pytest
from playwright.sync_api import expect

from notebook_files import open_tool_card  # this folder is on sys.path
from PIL import Image

from gtwidgets import storage
from gtwidgets.output_layout import parse_answers

pytestmark = pytest.mark.browser

CATS = ["cat", "dog"]
SETUP = """\
import pandas as pd
from gtwidgets.job import LabelingJob
from gtwidgets.widget import LabelingWidget
frame = pd.DataFrame({{"source-ref": {paths!r}}})
predictions = [{{"xyxy": [[100, 100, 300, 200]], "labels": [0], "scores": [0.9]}},   # pixels, class ids
               {{"xyxyn": [[0.5, 0.5, 0.75, 0.75]], "labels": ["dog"]}}]            # normalised, names
job = LabelingJob("pre-test", input=frame, categories={cats!r}, output={output!r}, journal_dir={journal!r},
                  task="bounding-box", pre_labels=predictions)
widget = LabelingWidget(job)
widget"""
PIXEL_JS = """(el, [x, y]) => Array.from(el.getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3))"""


def test_a_pre_labelled_card_shows_its_boxes_and_enter_keeps_them(lab, tmp_path):
    paths = []
    for i in range(2):
        p = tmp_path / f"img{i}.png"
        Image.new("RGB", (1024, 768), (255, 255, 255)).save(p)  # shown at 768 x 576: 0.75 a pixel
        paths.append(str(p))
    output = str(tmp_path / "out")
    widget, canvas_el = open_tool_card(lab, "pre_labels.ipynb", [
        SETUP.format(paths=paths, cats=CATS, output=output, journal=str(tmp_path / "journal")),
        "print('FLUSHED', job.flush(timeout=30))",
    ])
    page = lab.page
    expect(widget.locator(".gtw-boxes-status")).to_contain_text("1 boxes")
    page.wait_for_function("el => el.getContext('2d').getImageData(0, 0, 1, 1).data[3] === 255",
                           arg=canvas_el.element_handle(), timeout=15_000)  # the image is drawn
    pixel = lambda x, y: canvas_el.evaluate(PIXEL_JS, [x, y])  # noqa: E731
    assert pixel(75, 110) == [0x1F, 0x77, 0xB4]    # the cat's left edge: 100 px x 0.75, in class 0's colour
    assert pixel(150, 110) == [255, 255, 255]     # inside it, the image
    expect(widget.locator(".gtw-boxes")).to_be_focused()
    page.keyboard.press("Enter")                    # unchanged
    expect(widget).to_have_attribute("data-shown", "1", timeout=15_000)
    expect(widget.locator(".gtw-boxes-status")).to_contain_text("1 boxes")
    page.wait_for_function("([el, x, y]) => el.getContext('2d').getImageData(x, y, 1, 1).data[2] === 0x0E",
                           arg=[canvas_el.element_handle(), 576, 400], timeout=15_000)
    assert pixel(576, 400) == [0xFF, 0x7F, 0x0E]   # the dog's right edge: 768 px x 0.75, class 1's colour
    page.keyboard.press("Enter")
    expect(widget.locator(".gtw-progress-text")).to_contain_text("2 / 2 labeled", timeout=15_000)

    expect(lab.run_cell(1).locator(".jp-OutputArea-output")).to_contain_text("FLUSHED True", timeout=60_000)
    job_dir = storage.join(output, "pre-test")
    lines = [orjson.loads(x) for x in storage.read_bytes(
        storage.join(job_dir, "manifests", "output", "output.manifest")).splitlines()]
    assert [x["pre-test"] for x in lines] == [
        {"image_size": [{"width": 1024, "height": 768, "depth": 3}],
         "annotations": [{"class_id": 0, "top": 100, "left": 100, "height": 100, "width": 200}]},
        {"image_size": [{"width": 1024, "height": 768, "depth": 3}],
         "annotations": [{"class_id": 1, "top": 384, "left": 512, "height": 192, "width": 256}]}]
    for i in range(2):
        (file,) = storage.list_files(storage.join(job_dir, "annotations", "worker-response", "iteration-1", str(i)) + "/")
        (answer,) = parse_answers(storage.read_bytes(file))
        assert answer["answerContent"]["crowd-bounding-box"]["initialValueModified"] is False
