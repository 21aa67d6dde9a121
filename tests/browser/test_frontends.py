"""anywidget's other front ends: Jupyter Notebook 7 and marimo render the widget and pass it keys.
(JupyterLab has its own modules; VS Code and Colab are not tested here: see the README.)"""
from __future__ import annotations

import io
import os
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect
from PIL import Image
from servers import free_port, running_server

pytestmark = pytest.mark.browser

CATS = ["cat", "dog", "bird", "fish"]
JOB = """\
import pandas as pd
from gtwidgets.job import LabelingJob
from gtwidgets.widget import LabelingWidget
job = LabelingJob("frontends", input=pd.DataFrame({{"source-ref": {paths!r}}}), categories={cats!r},
                  output={output!r}, journal_dir={journal!r})"""


def _job_source(tmp_path: Path, n: int = 4) -> str:
    paths = []
    for i in range(n):
        p = tmp_path / f"img{i}.jpg"
        out = io.BytesIO()
        Image.new("RGB", (640, 480), (50 * i, 120, 200 - 30 * i)).save(out, "JPEG")
        p.write_bytes(out.getvalue())
        paths.append(str(p))
    return JOB.format(paths=paths, cats=CATS, output=str(tmp_path / "out"), journal=str(tmp_path / "journal"))


def _label_two_by_keyboard(page, widget) -> None:
    expect(widget).to_have_attribute("data-shown", "0", timeout=30_000)
    widget.click(position={"x": 5, "y": 5})
    page.keyboard.press("2")
    expect(widget).to_have_attribute("data-shown", "1")
    page.keyboard.press("3")
    expect(widget).to_have_attribute("data-shown", "2")
    expect(widget.locator(".gtw-progress-text")).to_contain_text("2 / 4 labeled", timeout=15_000)  # the kernel's count


def test_jupyter_notebook_7(jupyter_lab, lab, tmp_path):
    """The same server serves Notebook 7's /notebooks/ pages (the notebook package is in the test extra)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(_job_source(tmp_path) + "\nwidget = LabelingWidget(job)\nwidget"),
                nbformat.v4.new_code_cell("print('ANSWERS', [job.answer(str(i)) for i in range(3)])")]
    nbformat.write(nb, jupyter_lab["root"] / "nb7.ipynb")
    page = lab.page
    page.goto(f"{jupyter_lab['url']}/notebooks/nb7.ipynb?token={jupyter_lab['token']}")
    page.wait_for_function("""() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
      const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
      return !!k && k.connectionStatus === 'connected' && k.status === 'idle'; }""", timeout=60_000)
    cells = page.locator(".jp-Notebook .jp-Cell")
    cells.nth(0).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    widget = cells.nth(0).locator(".gtw-root")
    _label_two_by_keyboard(page, widget)
    cells.nth(1).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    expect(cells.nth(1).locator(".jp-OutputArea-output")).to_contain_text("ANSWERS [['dog'], ['bird'], None]", timeout=30_000)


@pytest.fixture
def marimo_app(tmp_path):
    """`marimo run` (app mode: the cells run at once) on 127.0.0.1, serving one app that shows the widget."""
    pytest.importorskip("marimo", reason="marimo is in the test extra: pip install -e '.[test]'")
    app = tmp_path / "label_app.py"
    body = textwrap.indent(_job_source(tmp_path) + textwrap.dedent("""
        import marimo as mo
        widget = mo.ui.anywidget(LabelingWidget(job))
        widget"""), "    ")
    app.write_text("import marimo\n\napp = marimo.App()\n\n\n@app.cell\ndef _():\n" + body + "\n    return\n")
    port = free_port()
    with running_server([sys.executable, "-m", "marimo", "run", str(app), "--headless", "--no-token",
                         "--host", "127.0.0.1", "--port", str(port), "--no-check"],
                        env={**os.environ, "MARIMO_SKIP_UPDATE_CHECK": "1"}, cwd=tmp_path,
                        log=tmp_path / "marimo.log", ready="", port=port, name="marimo") as (url, _):
        yield {"url": url}


def test_marimo(marimo_app, page):
    page.goto(marimo_app["url"])
    widget = page.locator(".gtw-root")  # Playwright's CSS locators go into marimo's shadow roots
    _label_two_by_keyboard(page, widget)
