"""The widget in a real JupyterLab, driven by keyboard, over a job on the moto S3 server."""
from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import orjson
import pytest
from playwright.sync_api import expect
from PIL import Image

from gtwidgets import storage, tasks

pytestmark = pytest.mark.browser

CATS = ["cat", "dog", "bird", "fish"]
DOCS = Path(__file__).resolve().parents[2] / "docs"

SETUP = """\
import os
os.environ.update({env})
import pandas as pd
from gtwidgets.job import LabelingJob
from gtwidgets.widget import LabelingWidget
job = LabelingJob({name!r}, input=pd.DataFrame({frame}), categories={cats!r}, output={output!r},
                  journal_dir={journal!r}, instructions={instructions!r},
                  full_instructions="Label the **animal** you see. If unsure, press `s` to skip.")
widget = LabelingWidget(job)
widget"""


def _notebook(path: Path, *cells: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)


def _setup_cell(moto_server: str, tmp_path: Path, name: str, frame: dict, output: str, cats: list[str],
                instructions: str = "Which animal is it?") -> str:
    env = {"AWS_ENDPOINT_URL": moto_server, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    return SETUP.format(env=env, name=name, frame=frame, cats=cats, output=output,
                        journal=str(tmp_path / "journal"), instructions=instructions)


def _jpeg(i: int) -> bytes:
    im = Image.new("RGB", (1024, 768), (i * 12 % 256, 90, 200 - i * 8))
    im.paste((250, 250, 250), (100 + 30 * i, 200, 300 + 30 * i, 500))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85)
    return out.getvalue()


def _wait_shown(widget, object_id: str) -> None:
    expect(widget).to_have_attribute("data-shown", object_id, timeout=15_000)


def test_label_twenty_images_by_keyboard_then_reload(lab, moto_server, s3, tmp_path):
    uris = [storage.join(s3, "images", f"img{i:02d}.jpg") for i in range(20)]
    for i, uri in enumerate(uris):
        storage.write_bytes(uri, _jpeg(i))
    output = storage.join(s3, "out")
    _notebook(lab.root / "label.ipynb",
              _setup_cell(moto_server, tmp_path, "lab-test", {"source-ref": uris}, output, CATS),
              'print("FLUSHED", job.flush(60))')
    lab.open("label.ipynb")
    page = lab.page
    widget = lab.run_cell(0).locator(".gtw-root")
    expect(widget).to_be_visible(timeout=30_000)
    expect(widget.locator(".gtw-cat")).to_have_count(4)
    widget.click(position={"x": 5, "y": 5})

    answers = [CATS[i % 4] for i in range(20)]
    key = {c: str(i + 1) for i, c in enumerate(CATS)}
    for i in range(20):
        _wait_shown(widget, str(i))
        if i == 5:  # a wrong answer, undone
            page.keyboard.press(key[CATS[(i + 1) % 4]])
            _wait_shown(widget, "6")
            page.keyboard.press("z")
            _wait_shown(widget, "5")
        if i == 10:  # skipped now, answered at the end via "u"
            page.keyboard.press("s")
            continue
        page.keyboard.press(key[answers[i]])
        if i == 7:
            expect(widget.locator(".gtw-progress-text")).to_contain_text("8 / 20 labeled")
            shot = tmp_path / "widget.png"
            widget.screenshot(path=shot)
            if os.environ.get("GTWIDGETS_DOCS_SCREENSHOT"):
                shutil.copy(shot, DOCS / "widget.png")
    expect(widget.locator(".gtw-done-title")).to_contain_text("1 item not labeled yet")
    page.keyboard.press("u")
    _wait_shown(widget, "10")
    page.keyboard.press(key[answers[10]])
    expect(widget.locator(".gtw-progress-text")).to_contain_text("20 / 20 labeled")

    expect(lab.run_cell(1).locator(".jp-OutputArea-output")).to_contain_text("FLUSHED True", timeout=60_000)
    lines = [orjson.loads(line) for line in
             storage.read_bytes(storage.join(output, "lab-test", "manifests", "output", "output.manifest")).splitlines()]
    for line in lines:
        date = line["lab-test-metadata"].pop("creation-date")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", date)
    expected = []
    for uri, answer in zip(uris, answers):
        pair = tasks.classification_label("lab-test", CATS, answer, job_name="lab-test", creation_date="x")
        del pair["lab-test-metadata"]["creation-date"]
        expected.append({"source-ref": uri, **pair})
    assert lines == expected

    # Reload the page: the view comes back from the kernel's model, state intact.
    lab.save()
    page.reload()
    page.wait_for_function("() => !!document.querySelector('.gtw-root')", timeout=60_000)
    widget = lab.cell(0).locator(".gtw-root")
    expect(widget.locator(".gtw-progress-text")).to_contain_text("20 / 20 labeled")
    _wait_shown(widget, "11")
    expect(widget.locator(".gtw-answer")).to_have_text(f"your answer: {answers[11]}")

    # Keys pressed in the widget never reach the notebook: "m" does not make a Markdown cell.
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell")
    n_cells = cells.count()
    widget.click(position={"x": 5, "y": 5})
    for k in ["m", "a", "b", "x"]:
        page.keyboard.press(k)
    expect(lab.cell(0)).to_have_class(re.compile(r"\bjp-CodeCell\b"))
    expect(page.locator(".jp-MarkdownCell")).to_have_count(0)
    expect(cells).to_have_count(n_cells)
    expect(widget).to_be_visible()


def test_hostile_manifest_shows_as_text_and_runs_nothing(lab, moto_server, s3, tmp_path):
    evil = '<img src=x onerror="window.pwned=1">'
    uri = storage.join(s3, "images", f"{evil}.jpg")
    storage.write_bytes(uri, _jpeg(3))
    cats = [evil, "</script><script>window.pwned=2</script>", "plain"]
    frame = {"source-ref": [uri], evil: ["</script><script>window.pwned=3</script>"]}
    _notebook(lab.root / "hostile.ipynb",
              _setup_cell(moto_server, tmp_path, "hostile", frame, storage.join(s3, "out"), cats,
                          instructions=f'{evil} <script>window.pwned=4</script> Be **careful**.'))
    lab.open("hostile.ipynb")
    widget = lab.run_cell(0).locator(".gtw-root")
    _wait_shown(widget, "0")
    expect(widget.locator(".gtw-cat .gtw-cat-name")).to_have_text(cats)
    expect(widget.locator(".gtw-name")).to_have_text(f"{evil}.jpg")
    expect(widget.locator(".gtw-instr-short strong")).to_have_text("careful")
    # nh3 may keep a harmless <img src="x"> in the instructions; nothing else becomes markup.
    assert widget.locator("script, [onerror]").count() == 0
    assert widget.locator(".gtw-header img, .gtw-card img:not(.gtw-image), .gtw-buttons img").count() == 0
    widget.click(position={"x": 5, "y": 5})
    lab.page.keyboard.press("1")
    expect(widget.locator(".gtw-progress-text")).to_contain_text("1 / 1 labeled")
    assert lab.page.evaluate("window.pwned") is None
