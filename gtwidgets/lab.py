"""``gtwidgets lab``: the main job in one command.

Starts (or reuses) the local S3 store, points the environment at it, and opens
JupyterLab on the fashion capstone notebook. No AWS account, no internet.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
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


def run(args: argparse.Namespace) -> int:
    from .s3server import ensure_local_s3

    endpoint = ensure_local_s3(port=args.port) if args.port else ensure_local_s3()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    folder = notebooks_dir()
    notebook = args.notebook
    if not (folder / notebook).exists():
        print(f"gtwidgets: {folder / notebook} not found; opening {folder}", file=sys.stderr)
        notebook = ""
    print(f"Local S3 store: {endpoint}  (AWS_ENDPOINT_URL is set for the notebooks)", file=sys.stderr)
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}",
            "--ServerApp.ip=127.0.0.1"]
    if notebook:
        argv.append(str(folder / notebook))
    if args.no_browser:
        argv.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    argv += args.passthrough
    os.execv(sys.executable, argv)
    return 0  # not reached


def register_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "lab", help="start the local S3 store and open JupyterLab on the fashion capstone",
        description="Start (or reuse) the local S3 store and open JupyterLab on a capstone notebook. "
                    "Other options (e.g. --ServerApp.port=8888) go to jupyter lab.")
    p.add_argument("--notebook", default=DEFAULT_NOTEBOOK, help=f"notebook to open (default {DEFAULT_NOTEBOOK})")
    p.add_argument("--port", type=int, default=0, help="port of the local S3 store (default: reuse or pick one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.set_defaults(func=run, passthrough=[])  # any other option goes to jupyter lab
