"""The shipped notebooks in a real JupyterLab: label the fashion capstone by keyboard; docs screenshots.

The kernel gets its own local S3 and home (``GTWIDGETS_S3_DIR`` / ``GTWIDGETS_HOME`` in temporary
folders) through a kernelspec in the Lab server's data folder: the session's server is shared
with other tests, so its own environment cannot change. Screenshots of every
notebook's widget are written to ``docs/`` only with ``GTWIDGETS_DOCS_SCREENSHOT=1``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

from gtwidgets import storage
from gtwidgets.responses import read_worker_responses
from gtwidgets.s3server import ensure_local_s3, stop_local_s3

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS, DOCS = REPO / "notebooks", REPO / "docs"
KERNEL = "gtwidgets-notebooks"
SHOTS = os.environ.get("GTWIDGETS_DOCS_SCREENSHOT") == "1"
FASHION = ["Bag", "Eyewear", "Flipflop", "Watch"]
ERRORS_JS = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter((cell) => cell.model.type === 'code')
  .flatMap((cell) => cell.model.outputs.toJSON())
  .filter((out) => out.output_type === 'error')
  .map((out) => `${out.ename}: ${out.evalue}`)"""


@pytest.fixture(scope="module")
def nb_kernel(jupyter_lab, tmp_path_factory):
    """A kernelspec whose kernels use a private local S3 and home.

    Yields the local S3's data folder; the S3 server the kernels start (detached, so it
    outlives them) is stopped at the end.
    """
    data_dir = _lab_data_dir(jupyter_lab)
    s3_dir, home = tmp_path_factory.mktemp("nb-s3"), tmp_path_factory.mktemp("nb-home")
    spec = data_dir / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (gtwidgets notebooks)", "language": "python",
        "env": {"GTWIDGETS_S3_DIR": str(s3_dir), "GTWIDGETS_HOME": str(home)},
    }))
    yield s3_dir
    stop_local_s3(s3_dir)
    shutil.rmtree(spec, ignore_errors=True)


def _lab_data_dir(server: dict) -> Path:
    """The Lab server's JUPYTER_DATA_DIR (a sibling of its user-settings folder, see conftest)."""
    for arg in server["proc"].args:
        if str(arg).startswith("--LabApp.user_settings_dir="):
            return Path(str(arg).split("=", 1)[1]).parent / "data"
    raise RuntimeError("tests/browser/conftest.py: jupyter_lab no longer passes --LabApp.user_settings_dir; "
                       "update _lab_data_dir to find the server's JUPYTER_DATA_DIR.")


def _copy_notebook(lab, name: str) -> nbformat.NotebookNode:
    """Copy notebooks/<name>.ipynb into the Lab root, set to run on the private kernel."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3 (gtwidgets notebooks)",
                                 "language": "python"}
    nbformat.write(nb, lab.root / f"{name}.ipynb")
    return nb


def _run_through(lab, nb: nbformat.NotebookNode, last: int):
    """Shift+Enter in every code cell up to and including cell ``last``; returns that cell."""
    cell = None
    for i, c in enumerate(nb.cells[:last + 1]):
        if c.cell_type == "code":
            cell = lab.run_cell(i)
    return cell


def _no_errors(lab) -> None:
    errors = lab.page.evaluate(ERRORS_JS)
    assert not errors, "a notebook cell raised: " + "; ".join(errors)


def _cell_index(nb: nbformat.NotebookNode, snippet: str) -> int:
    """The first code cell whose source contains ``snippet`` (so edits to the notebook move it too)."""
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and snippet in c.source)


def _another_object(seen) -> re.Pattern:
    """``data-shown`` of a card: an object id, not one of ``seen``."""
    return re.compile(rf"^(?!(?:{'|'.join(seen) or '-'})$)\d+$")


def _shot(locator, tmp_path: Path, name: str) -> None:
    locator.page.mouse.move(0, 0)  # no hover highlight on a button
    path = tmp_path / name
    locator.screenshot(path=path)
    assert path.stat().st_size > 1000
    if SHOTS:
        shutil.copy(path, DOCS / name)


def test_fashion_capstone_labels_five_images_by_keyboard(lab, nb_kernel, tmp_path, monkeypatch):
    nb = _copy_notebook(lab, "fashion_capstone")
    lab.open("fashion_capstone.ipynb")
    widget_cell = _cell_index(nb, "gt.LabelingWidget(job)")
    widget = _run_through(lab, nb, widget_cell).locator(".gtw-root")
    try:
        expect(widget).to_be_visible(timeout=90_000)
    finally:
        _no_errors(lab)
    expect(widget.locator(".gtw-cat")).to_have_count(len(FASHION))
    widget.click(position={"x": 5, "y": 5})

    # The job shows the images in random order, as Ground Truth does: read which one is shown.
    given: dict[str, str] = {}
    for key in "24132":
        expect(widget).to_have_attribute("data-shown", _another_object(given), timeout=15_000)
        given[widget.get_attribute("data-shown")] = FASHION[int(key) - 1]
        lab.page.keyboard.press(key)
    expect(widget.locator(".gtw-progress-text")).to_contain_text("5 / 20 labeled")
    expect(widget).to_have_attribute("data-shown", _another_object(given), timeout=15_000)
    assert sorted(given, key=int) != list(given)  # not in file order
    expect(widget.locator(".gtw-image")).to_be_visible()
    _shot(widget, tmp_path, "fashion_capstone.png")

    # The notebook's own next cell: flush() reports just our five.
    out = lab.run_cell(_cell_index(nb, 'print("all saved:", job.flush())'))
    expect(out.locator(".jp-OutputArea-output")).to_contain_text("all saved: True", timeout=60_000)
    expect(out.locator(".jp-OutputArea-output")).to_contain_text("5 of 20 labeled")
    _no_errors(lab)

    # Read back from the test process, through the kernel's local S3.
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "unset")  # restored after; ensure_local_s3 sets it
    monkeypatch.setenv("GTWIDGETS_S3_DIR", str(nb_kernel))  # likewise (where its key is)
    ensure_local_s3(nb_kernel)
    job_dir = "s3://gtwidgets-fashion/output/fashion"
    responses = read_worker_responses(job_dir)
    assert dict(zip(responses["object_id"], responses["answer"])) == given
    assert set(responses["worker_id"]) == {"student"}
    lines = [json.loads(line) for line in
             storage.read_text(f"{job_dir}/manifests/output/output.manifest").splitlines()]
    labeled = {str(i): line["fashion-metadata"]["class-name"] for i, line in enumerate(lines) if "fashion" in line}
    assert labeled == given
    for i, answer in given.items():
        assert lines[int(i)]["fashion"] == FASHION.index(answer)
        assert re.fullmatch(r"s3://gtwidgets-fashion/images/.+\.jpg", lines[int(i)]["source-ref"])


# (notebook, a snippet of the cell to run through, what to photograph, what must show in it, file name)
SCREENSHOTS = [
    ("traffic_signs_capstone", "gt.LabelingWidget(job)", ".gtw-root", ".gtw-image", "traffic_signs_capstone.png"),
    ("jsonl_manifests", "show_line(outputs", ".jp-OutputArea-output:has(.gtwidgets-line)", ".gtwidgets-line pre",
     "jsonl_manifests_line.png"),
    # last: its card (image beside sensor plots) is the newest
    ("welding", "gt.LabelingWidget(job)", ".gtw-root", ".gtw-series-plot", "welding.png"),
]


@pytest.mark.skipif(not SHOTS, reason="docs screenshots: set GTWIDGETS_DOCS_SCREENSHOT=1")
@pytest.mark.parametrize("name, snippet, selector, shows, png", SCREENSHOTS, ids=[s[0] for s in SCREENSHOTS])
def test_notebook_screenshot(lab, nb_kernel, tmp_path, name, snippet, selector, shows, png):
    nb = _copy_notebook(lab, name)
    lab.open(f"{name}.ipynb")
    view = _run_through(lab, nb, _cell_index(nb, snippet)).locator(selector)
    try:
        expect(view).to_be_visible(timeout=90_000)
    finally:
        _no_errors(lab)
    if selector == ".gtw-root":
        expect(view).to_have_attribute("data-shown", _another_object([]), timeout=15_000)
    expect(view.locator(shows).first).to_be_visible(timeout=15_000)
    lab.page.wait_for_load_state("networkidle")
    _shot(view, tmp_path, png)

