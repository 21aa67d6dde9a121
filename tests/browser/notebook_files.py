"""Notebooks the browser tests open: written here, one kernelspec for all."""
from __future__ import annotations

from pathlib import Path

import nbformat


def write_notebook(path: Path, cells: list) -> None:
    """A Python 3 notebook of ``cells``: code sources, or nbformat cells as they are."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) if isinstance(c, str) else c for c in cells]
    nbformat.write(nb, path)


def open_tool_card(lab, name: str, cells: list, *, root: str = ".gtw-root"):
    """Open notebook ``name`` of ``cells``, run its first cell (a widget whose cards have a tool)
    and wait for the first card's canvas: returns ``(widget, canvas)`` locators."""
    from playwright.sync_api import expect

    lab.open_notebook(name, cells)
    widget = lab.run_cell(0).locator(root)
    expect(widget).to_have_attribute("data-shown", "0", timeout=15_000)
    canvas = widget.locator(".gtw-tool canvas")
    expect(canvas).to_be_visible(timeout=15_000)
    return widget, canvas
