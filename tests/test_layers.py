"""The package's layers (design.md's table) hold: import-linter checks pyproject's contracts.

The same check runs on a copy of the package with one bad import added, once per contract,
so a broken contract is known to fail this test rather than pass unnoticed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Run import-linter on the gtwidgets package under ``root`` with ``root``'s pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", code, "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_the_package_keeps_its_layers():
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert " 0 broken." in run.stdout


def test_only_the_command_line_parses_options():
    """Parsers live in gtwidgets.cli; the rest of the package offers plain functions it calls."""
    import grimp

    graph = grimp.build_graph("gtwidgets", include_external_packages=True, cache_dir=None)
    assert graph.find_modules_that_directly_import("argparse") == {"gtwidgets.cli"}


@pytest.fixture
def package_copy(tmp_path) -> Path:
    """A copy of the package and its pyproject.toml to break on purpose."""
    shutil.copytree(ROOT / "gtwidgets", tmp_path / "gtwidgets",
                    ignore=shutil.ignore_patterns("static", "notebooks", "__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def add_lazy_import(module: Path, statement: str) -> None:
    """Add ``statement`` inside a function at the end of ``module``: lazy imports count too."""
    with module.open("a") as f:
        f.write(f"\n\ndef _added_by_test_layers():\n    {statement}\n")


LAYERS, CORE, ACYCLIC = "layers:", "the core never imports", "no import cycles"


@pytest.mark.parametrize("module, statement, broken", [
    # errors is the bottom layer: it may import nothing of ours
    ("errors.py", "from . import plots", {LAYERS}),
    # the core must work without a notebook
    ("journal.py", "import IPython", {CORE}),
    # storage reaching up to the widget: against the layers, into the widget, and round in a cycle
    ("storage.py", "from .widget import LabelingWidget", {LAYERS, CORE, ACYCLIC}),
])
def test_a_bad_import_breaks_the_check(package_copy, module, statement, broken):
    assert lint_imports(package_copy).returncode == 0  # the copy itself is fine
    add_lazy_import(package_copy / "gtwidgets" / module, statement)
    run = lint_imports(package_copy)
    assert run.returncode == 1, run.stdout + run.stderr
    assert _broken(run.stdout) == broken, run.stdout


def test_a_cycle_inside_one_layer_breaks_only_the_acyclic_contract(package_copy):
    # protocol sits beside panel_cards (either may import the other), so only a cycle is wrong
    (package_copy / "gtwidgets" / "protocol.py").write_text("from . import panel_cards\n")
    assert lint_imports(package_copy).returncode == 0  # an optional layer, now present
    add_lazy_import(package_copy / "gtwidgets" / "panel_cards.py", "from . import protocol")
    run = lint_imports(package_copy)
    assert run.returncode == 1, run.stdout + run.stderr
    assert _broken(run.stdout) == {ACYCLIC}, run.stdout


def _broken(report: str) -> set[str]:
    """Which of our contracts the report calls broken, by the start of their names."""
    names = [line[:-len(" BROKEN")] for line in _contract_lines(report) if line.endswith(" BROKEN")]
    return {start for start in (LAYERS, CORE, ACYCLIC) for name in names if name.startswith(start)}


def _contract_lines(report: str) -> list[str]:
    """The report's one line per contract, ``<name> KEPT|BROKEN`` (long names wrap: joined back)."""
    lines, current = [], ""
    for line in report.splitlines():
        current = f"{current} {line.strip()}" if current else line.strip()
        if current.endswith((" KEPT", " BROKEN")):
            lines.append(current)
            current = ""
        elif not line.strip() or set(line.strip()) <= set("-="):
            current = ""
    return lines
