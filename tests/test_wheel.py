"""The wheel is what a student installs: it must carry the JS bundle and the notebooks, and
`gtwidgets lab` must find the notebooks when it runs from the wheel rather than this repository."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    (built,) = out.glob("gtwidgets-*.whl")
    return built


def test_the_wheel_carries_the_bundle_and_the_notebooks_and_nothing_of_the_build(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("gtwidgets/static/widget.js", "gtwidgets/static/widget.css", "gtwidgets/static/plotly.js"):
        assert name in names
        packed = zipfile.ZipFile(wheel).read(name)
        assert packed == (ROOT / name).read_bytes()  # the bundle built from js/, byte for byte
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("gtwidgets/notebooks/")) == NOTEBOOKS
    assert not [n for n in names if "node_modules" in n or n.startswith(("tests/", "js/", "bench/"))]
    entry = [n for n in names if n.endswith("entry_points.txt")]
    assert "gtwidgets = gtwidgets.cli:main" in zipfile.ZipFile(wheel).read(entry[0]).decode()


def test_lab_copies_the_packaged_notebooks_when_not_in_the_repository(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    home = tmp_path / "home"
    code = "from gtwidgets.lab import notebooks_dir; import gtwidgets; print(notebooks_dir()); print(gtwidgets.__file__)"
    env = {**os.environ, "PYTHONPATH": str(site), "GTWIDGETS_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == [str(home / "notebooks"), str(site / "gtwidgets" / "__init__.py")]  # the wheel's code ran
    assert sorted(p.name for p in (home / "notebooks").glob("*.ipynb")) == NOTEBOOKS
    copied = json.loads((home / "notebooks" / "fashion_capstone.ipynb").read_text())
    assert copied["cells"] and copied == json.loads((ROOT / "notebooks" / "fashion_capstone.ipynb").read_text())
