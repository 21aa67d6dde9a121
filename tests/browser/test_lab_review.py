"""Review mode in a real JupyterLab: three workers' answers, adjudicated by keyboard."""
from __future__ import annotations

import io

import orjson
import pytest
from playwright.sync_api import expect
from PIL import Image

from gtwidgets import storage

pytestmark = pytest.mark.browser

CATS = ["cat", "dog", "bird"]
# object 0 and 2: unanimous; 1: 2-1 for dog; 3: all different (lowest confidence, reviewed first)
VOTES = {"ann": ["cat", "dog", "bird", "cat"], "bob": ["cat", "dog", "bird", "dog"],
         "cyd": ["cat", "cat", "bird", "bird"]}

SETUP = """\
from gtwidgets.job import LabelingJob
from gtwidgets.review import ReviewWidget
def job_for(worker):
    return LabelingJob("review-test", input={manifest!r}, categories={cats!r}, output={output!r},
                       worker_id=worker, workers_per_object=3, journal_dir={journal!r} + "/" + worker)
for worker, answers in {votes!r}.items():  # three workers answer through the API
    j = job_for(worker)
    for i, a in enumerate(answers):
        j.submit(i, a)
    assert j.flush(60)
    j.close()
job = job_for("teacher")
review = ReviewWidget(job, reviewer="teacher")
review"""

CHECK = """\
print("FLUSHED", job.flush(60))
print("ADJUDICATIONS", job.adjudications[["object_id", "label", "reviewer"]].values.tolist())"""


def _jpeg(i: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (60 * i, 120, 200 - 40 * i)).save(out, "JPEG")
    return out.getvalue()


def test_review_disagreements_by_keyboard(lab, tmp_path):
    manifest = tmp_path / "input.manifest"
    lines = []
    for i in range(4):
        p = tmp_path / f"img{i}.jpg"
        p.write_bytes(_jpeg(i))
        lines.append(orjson.dumps({"source-ref": str(p)}).decode())
    manifest.write_text("\n".join(lines) + "\n")
    output = tmp_path / "out"
    lab.open_notebook("review.ipynb", [
        SETUP.format(manifest=str(manifest), cats=CATS, output=str(output), journal=str(tmp_path / "journal"), votes=VOTES),
        CHECK,
    ])
    page = lab.page
    widget = lab.run_cell(0).locator(".gtw-root.gtw-review-mode")
    expect(widget).to_be_visible(timeout=60_000)
    expect(widget).to_have_attribute("data-shown", "3", timeout=15_000)
    expect(widget.locator(".gtw-review-worker")).to_have_text(["ann", "bob", "cyd"])
    expect(widget.locator(".gtw-review-answer")).to_have_text(["cat", "dog", "bird"])
    expect(widget.locator(".gtw-review-confidence")).to_contain_text("confidence 0.")
    expect(widget.locator(".gtw-progress-text")).to_contain_text("0 / 2 decided")

    widget.click(position={"x": 5, "y": 5})
    page.keyboard.press("3")  # object 3: the reviewer says bird
    expect(widget).to_have_attribute("data-shown", "1")
    expect(widget.locator(".gtw-review-consolidated")).to_have_text("dog")
    page.keyboard.press("Enter")  # object 1: accept the consolidated label
    expect(widget.locator(".gtw-done-title")).to_contain_text("all 2 disagreements decided")
    expect(widget.locator(".gtw-progress-text")).to_contain_text("2 / 2 decided")

    out = lab.run_cell(1).locator(".jp-OutputArea-output")
    expect(out).to_contain_text("FLUSHED True", timeout=60_000)
    expect(out).to_contain_text("ADJUDICATIONS [['1', 'dog', 'teacher'], ['3', 'bird', 'teacher']]")
    uri = storage.join(str(output), "review-test", "manifests", "output", "output.manifest")
    meta = [orjson.loads(line)["review-test-metadata"] for line in storage.read_bytes(uri).splitlines()]
    assert [m["class-name"] for m in meta] == ["cat", "dog", "bird", "bird"]
    assert meta[3]["confidence"] == 1 and meta[1]["confidence"] == 1  # the reviewer's decisions
    assert meta[0]["confidence"] < 1  # consolidated, not reviewed
