"""Automated labeling in a real JupyterLab: the counters and the model's accuracy in label mode, and an audit."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TESTS = Path(__file__).resolve().parents[1]

SETUP = """\
import sys
sys.path.insert(0, {tests!r})
import pandas as pd
from PIL import Image
from autolabel_data import CATS, KnownModel, known
from gtwidgets import AuditMode, AutoLabel, LabelingJob, LabelingWidget
frame, x, key = known()
paths = []
for i in range(len(frame)):
    paths.append(f"{images}/{{i}}.png")
    Image.new("RGB", (24, 16), (i % 256, 80, 160)).save(paths[-1])
frame = pd.DataFrame({{"source-ref": paths}})
job = LabelingJob("signs", input=frame, categories=CATS, output={output!r}, journal_dir={journal!r},
                  worker_id="ann", auto_label=AutoLabel(features=x, model=KnownModel(), batch_size=300,
                                                        rule="estimate"))
for oid in list(job.auto_labeling.queue):   # a simulated person labels the first batch
    job.submit(oid, key[oid])
job.auto_labeling.wait(600)
widget = LabelingWidget(job)
widget"""

AUDIT = """\
audit = LabelingWidget(job, mode=AuditMode(1, seed=0))
checked = audit.queue[0]
print("MACHINE", job.auto_labeling.machine_info(checked)["label"])
audit"""


def test_label_mode_shows_the_counters_and_an_audit_checks_a_machine_label(lab, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    lab.open_notebook("autolabel.ipynb", [
        SETUP.format(tests=str(TESTS), images=images, output=str(tmp_path / "out"), journal=str(tmp_path / "j")),
        AUDIT,
        'print("PAIR", job.label_pair(checked)["signs-metadata"]["human-annotated"], job.label_counters["HumanLabeled"])',
    ])
    page = lab.page

    widget = lab.run_cell(0).locator(".gtw-root")
    expect(widget).to_be_visible(timeout=120_000)
    progress = widget.locator(".gtw-progress-text")
    expect(progress).to_contain_text("300 by people · ", timeout=30_000)
    expect(progress).to_contain_text("by the model / 1200")
    expect(progress).to_contain_text("held-out (95%: ")
    # the first batch is done: the view shows the first object the round chose for people
    expect(widget.locator(".gtw-pos")).to_have_text("301 / 600")

    cell = lab.run_cell(1)
    audit = cell.locator(".gtw-root")
    expect(audit).to_be_visible(timeout=30_000)
    machine = cell.locator(".jp-RenderedText").filter(has_text="MACHINE").inner_text().split()[-1]
    expect(audit.locator(".gtw-machine")).to_contain_text(f"the model's label: {machine} (confidence ")
    expect(audit.locator(".gtw-machine")).to_contain_text("is it right?")
    expect(audit.locator(".gtw-progress-text")).to_have_text("0 / 1 machine labels checked · 0 agreed")
    other = next(i for i, c in enumerate(["cat", "dog", "bird"]) if c != machine)
    audit.click(position={"x": 5, "y": 5})
    page.keyboard.press(str(other + 1))
    expect(audit.locator(".gtw-progress-text")).to_have_text("1 / 1 machine labels checked · 0 agreed")
    expect(audit.locator(".gtw-done-title")).to_have_text("Audit done: you agreed with 0 of 1 machine labels.")
    expect(lab.run_cell(2).locator(".jp-OutputArea-output")).to_contain_text("PAIR yes 301", timeout=30_000)
