"""``gtwidgets lab``: the main job in one command.

Starts (or reuses) the local S3 store, points the environment at it, and opens
JupyterLab on the fashion capstone notebook. No AWS account, no internet. A store it
started stops when JupyterLab does.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import urllib.parse
from pathlib import Path

DEFAULT_NOTEBOOK = "fashion_capstone.ipynb"


def notebooks_dir() -> Path:
    """The repository's notebooks/ folder, or a copy of the packaged ones in the user's home."""
    repo = Path(__file__).resolve().parents[1] / "notebooks"
    if repo.is_dir():
        return repo
    packaged = Path(__file__).resolve().parent / "notebooks"
    home = Path(os.environ.get("GTWIDGETS_HOME") or Path.home() / ".gtwidgets") / "notebooks"
    if packaged.is_dir() and not home.exists():
        shutil.copytree(packaged, home)
    return home


def run_lab(notebook: str = DEFAULT_NOTEBOOK, *, port: int | None = None, no_browser: bool = False,
            passthrough: list[str] = ()) -> int:
    """Start (or reuse) the local S3, run JupyterLab until it exits, then stop the S3 we started.

    ``port``: the local S3's (default: reuse or pick one); ``passthrough``: more options for
    jupyter lab. Returns JupyterLab's exit code.
    """
    from .s3server import attach_local_s3

    server = attach_local_s3(port=port or None)
    try:
        os.environ.update(server.environ)  # inherited by JupyterLab and its kernels
        folder = notebooks_dir()
        if not (folder / notebook).exists():
            print(f"gtwidgets: {folder / notebook} not found; opening {folder}", file=sys.stderr)
            notebook = ""
        print(f"Local S3 store: {server.endpoint_url}  (AWS_ENDPOINT_URL is set for the notebooks)",
              file=sys.stderr)
        return _run_until_exit(jupyter_argv(folder, notebook, no_browser=no_browser, passthrough=passthrough))
    finally:
        server.stop()  # only if this call started it; data stays on disk


def jupyter_argv(folder: Path, notebook: str, *, no_browser: bool = False,
                 passthrough: list[str] = ()) -> list[str]:
    """The command line for JupyterLab on ``folder``, whose printed URL opens ``notebook``."""
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}",
            "--ServerApp.ip=127.0.0.1"]
    if notebook:
        # The URL Jupyter prints and opens; without it the link shows the Launcher.
        argv.append(f"--LabApp.default_url=/lab/tree/{urllib.parse.quote(notebook)}")
    if no_browser:
        argv.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    return argv + list(passthrough)


def _run_until_exit(argv: list[str]) -> int:
    """Run JupyterLab as a child and wait for it, so what we started stops with it.

    Ctrl+C reaches JupyterLab too (same process group) and JupyterLab decides: it asks
    for confirmation at a terminal. A SIGTERM to us is passed on.
    """
    proc = subprocess.Popen(argv)  # before ignoring SIGINT: the child must not inherit that
    sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)
    sigterm = signal.signal(signal.SIGTERM, lambda signum, frame: proc.terminate())
    try:
        code = proc.wait()
    finally:
        signal.signal(signal.SIGINT, sigint)
        signal.signal(signal.SIGTERM, sigterm)
        if proc.poll() is None:
            proc.terminate()
            proc.wait()
    return code if code >= 0 else 128 - code

