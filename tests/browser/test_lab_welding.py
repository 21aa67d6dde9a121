"""The welding job in a real JupyterLab: image + sensor plots from moto S3, a zoom, five welds by keyboard."""
from __future__ import annotations

import orjson
import pytest
from playwright.sync_api import expect

from bundle_page import double_click, drag_across  # tests/ is on sys.path
from notebook_files import write_notebook  # this folder is on sys.path

from gtwidgets import storage
from gtwidgets.datasets import make_welding
from gtwidgets.welding import WELDING_CATEGORIES

pytestmark = pytest.mark.browser

SETUP = """\
import os
os.environ.update({env})
import pandas as pd
from gtwidgets.lambdas import default_consolidation
from gtwidgets.welding import welding_job
from gtwidgets.widget import LabelingWidget
job = welding_job(input=pd.DataFrame({{"source": {sources!r}}}), output={output!r}, worker_id="w1",
                  journal_dir={journal!r}, consolidation=default_consolidation)
widget = LabelingWidget(job)
widget"""


def _notebook(path, *cells: str) -> None:
    write_notebook(path, cells)


def test_label_five_welds_by_keyboard_with_plots_and_zoom(lab, moto_server, s3, tmp_path):
    welds = make_welding(storage.join(s3, "welding"), n=5, progress=False)
    output = storage.join(s3, "out")
    env = {"AWS_ENDPOINT_URL": moto_server, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    _notebook(lab.root / "welding.ipynb",
              SETUP.format(env=env, sources=list(welds["source"]), output=output, journal=str(tmp_path / "j")),
              'print("FLUSHED", job.flush(60))')
    lab.open("welding.ipynb")
    page = lab.page
    widget = lab.run_cell(0).locator(".gtw-root")
    expect(widget).to_have_attribute("data-shown", "0", timeout=30_000)
    expect(widget.locator(".gtw-cat")).to_have_count(len(WELDING_CATEGORIES))
    series = widget.locator(".gtw-stage .gtw-series")
    expect(series).to_have_attribute("data-painted", "1", timeout=15_000)
    expect(widget.locator(".gtw-stage img.gtw-image")).to_have_count(1)
    overview = int(series.get_attribute("data-points"))
    assert 0 < overview <= 3 * 2000

    # Zoom on the plot: the kernel sends the range at full detail through the real comm.
    box = series.locator(".nsewdrag").first.bounding_box()
    drag_across(page, box, 0.40, 0.50)
    expect(series).to_have_attribute("data-painted", "2", timeout=15_000)
    zoomed = series.get_attribute("data-zoomed")
    start, end = map(float, zoomed.split(","))
    raw = [line.split(b",") for line in storage.read_bytes(
        orjson.loads(storage.read_bytes(welds["source"][0]))["sensor_data"]["s3Path"]).splitlines()[1:]]
    inside = sum(1 for row in raw if start <= float(row[0]) <= end)
    assert int(series.get_attribute("data-points")) == 3 * (inside + 2)  # every sample, 3 signals
    assert "nsewdrag" in double_click(page, box["x"] + box["width"] * 0.45, box["y"] + box["height"] / 2)
    expect(series).to_have_attribute("data-zoomed", "", timeout=15_000)
    assert page.evaluate("document.activeElement.classList.contains('gtw-root')")

    # Five welds by keyboard; keys work right after the mouse was on the plot.
    for i, truth in enumerate(welds["true-class"]):
        expect(widget).to_have_attribute("data-shown", str(i), timeout=15_000)
        page.keyboard.press(str(WELDING_CATEGORIES.index(truth) + 1))
    expect(widget.locator(".gtw-progress-text")).to_contain_text("5 / 5 labeled")
    expect(lab.run_cell(1).locator(".jp-OutputArea-output")).to_contain_text("FLUSHED True", timeout=60_000)

    manifest = storage.join(output, "welding", "manifests", "output", "output.manifest")
    lines = [orjson.loads(line) for line in storage.read_bytes(manifest).splitlines()]
    assert [line["source"] for line in lines] == list(welds["source"])
    assert [line["welding"]["crowd-classifier"]["label"] for line in lines] == list(welds["true-class"])
    assert all(line["welding-metadata"]["type"] == "groundtruth/custom" for line in lines)
