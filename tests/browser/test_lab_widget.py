"""The widget in a real JupyterLab, driven by keyboard, over a job on the moto S3 server."""
from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import nbformat
import orjson
import pytest
from playwright.sync_api import expect
from PIL import Image

from notebook_files import write_notebook  # this folder is on sys.path

from bundle_page import axe_violations
from conftest import KERNEL_READY_JS
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
    write_notebook(path, cells)


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
    # The last gap filled: the done screen, not card 11 (answered already), nothing highlighted.
    expect(widget.locator(".gtw-done-title")).to_have_text("Done: all 20 items labeled.")
    expect(widget.locator(".gtw-cat.gtw-chosen")).to_have_count(0)
    page.keyboard.press("u")  # nothing left: still the done screen, no error
    expect(widget.locator(".gtw-done")).to_be_visible()
    expect(widget.locator(".gtw-error")).to_be_hidden()

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
    expect(widget.locator(".gtw-done-title")).to_have_text("Done: all 20 items labeled.")
    expect(widget).not_to_be_focused()  # a reload does not take the focus: the widget was shown before
    widget.click(position={"x": 5, "y": 5})
    page.keyboard.press("k")  # and it takes keys again
    _wait_shown(widget, "19")
    expect(widget.locator(".gtw-answer")).to_have_text(f"your answer: {answers[19]}")

    # Keys pressed in the widget never reach the notebook: "m" does not make a Markdown cell.
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell")
    n_cells = cells.count()
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


LOCAL = """\
import pandas as pd
from gtwidgets.job import LabelingJob
from gtwidgets.widget import LabelingWidget
job = LabelingJob("local", input=pd.DataFrame({{"source-ref": {paths!r}}}), categories={cats!r},
                  output={output!r}, journal_dir={journal!r}, instructions="Which animal is it? Press its key.")
widget = LabelingWidget(job)
widget"""


def _local_notebook(lab, tmp_path: Path, name: str, n: int = 6, markdown: str | None = None) -> None:
    """A notebook whose first cell shows a widget over ``n`` local images (no S3: the front end is tested)."""
    paths = []
    for i in range(n):
        p = tmp_path / f"img{i}.jpg"
        p.write_bytes(_jpeg(i))
        paths.append(str(p))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(LOCAL.format(paths=paths, cats=CATS, output=str(tmp_path / "out"),
                                                       journal=str(tmp_path / "journal")))]
    if markdown is not None:
        nb.cells.append(nbformat.v4.new_markdown_cell(markdown))
    nbformat.write(nb, lab.root / name)


def test_a_widget_run_by_keyboard_takes_the_first_key_and_passes_axe(lab, tmp_path):
    """Shift+Enter moves JupyterLab to the next cell; the "1" the instructions ask for must still
    reach the widget, not turn the Markdown cell below into a heading."""
    _local_notebook(lab, tmp_path, "first-key.ipynb", markdown="Notes on the labels")
    lab.open("first-key.ipynb")
    widget = lab.run_cell(0).locator(".gtw-root")
    _wait_shown(widget, "0")
    expect(widget).to_be_focused()
    lab.page.keyboard.press("1")
    expect(widget.locator(".gtw-progress-text")).to_contain_text("1 / 6 labeled")
    _wait_shown(widget, "1")
    source = lab.page.evaluate("window.jupyterapp.shell.currentWidget.content.widgets[1].model.sharedModel.getSource()")
    assert source == "Notes on the labels"
    expect(lab.page.locator(".jp-MarkdownCell h1")).to_have_count(0)
    widget.locator(".gtw-help-btn").click()  # the help overlay open too
    assert axe_violations(lab.page, ".gtw-root") == []


def test_image_and_buttons_fit_a_laptop_screen(lab, tmp_path):
    lab.page.set_viewport_size({"width": 1366, "height": 768})
    _local_notebook(lab, tmp_path, "laptop.ipynb")
    lab.open("laptop.ipynb")
    widget = lab.run_cell(0).locator(".gtw-root")
    _wait_shown(widget, "0")
    widget.evaluate("(root) => root.scrollIntoView({block: 'start'})")
    # What the notebook shows: its scrolling panel, between JupyterLab's bars.
    view = lab.page.evaluate("""() => {
      const r = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer').getBoundingClientRect();
      return {top: r.top, bottom: r.bottom}; }""")
    image = widget.locator(".gtw-image").bounding_box()
    assert image["height"] >= 250, image  # the image gets the room, not a thumbnail
    for box in [widget.bounding_box(), image] + [b.bounding_box() for b in widget.locator(".gtw-cat").all()]:
        assert view["top"] - 1 <= box["y"] and box["y"] + box["height"] <= view["bottom"] + 1, (box, view)


def test_after_a_kernel_restart_the_widget_says_so_and_takes_no_answers(lab, tmp_path):
    _local_notebook(lab, tmp_path, "restart.ipynb")
    lab.open("restart.ipynb")
    page = lab.page
    widget = lab.run_cell(0).locator(".gtw-root")
    _wait_shown(widget, "0")
    widget.click(position={"x": 5, "y": 5})
    page.keyboard.press("2")
    _wait_shown(widget, "1")
    expect(widget.locator(".gtw-progress-text")).to_contain_text("1 / 6 labeled")
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:restart-kernel'); }")  # it waits for the dialog
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.wait_for_function(KERNEL_READY_JS, timeout=60_000)
    widget.click(position={"x": 5, "y": 5})
    page.keyboard.press("3")
    expect(widget.locator(".gtw-gone-note")).to_be_visible()
    expect(widget.locator(".gtw-gone-note")).to_contain_text("run this cell again")
    expect(widget).to_have_attribute("data-shown", "1")  # no card advance
    expect(widget.locator(".gtw-pos")).to_have_text("2 / 6")
