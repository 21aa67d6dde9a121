"""``gtwidgets lab``: JupyterLab opens on the capstone, and the local S3 it started stops with it."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gtwidgets.lab import jupyter_argv
from test_s3server import _alive

GTWIDGETS = Path(sys.executable).with_name("gtwidgets")


def test_jupyter_opens_the_notebook_not_the_launcher(tmp_path):
    argv = jupyter_argv(tmp_path, "fashion capstone.ipynb", no_browser=True, passthrough=["--ServerApp.port=0"])
    assert "--LabApp.default_url=/lab/tree/fashion%20capstone.ipynb" in argv
    assert argv[-1] == "--ServerApp.port=0" and "--no-browser" in argv


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to tell zombies apart")
def test_lab_prints_the_capstone_url_and_its_s3_stops_with_it(tmp_path):
    data = tmp_path / "s3"
    env = {**os.environ, "GTWIDGETS_S3_DIR": str(data), "JUPYTER_CONFIG_DIR": str(tmp_path / "jcfg"),
           "JUPYTER_DATA_DIR": str(tmp_path / "jdata"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "jrun"),
           "IPYTHONDIR": str(tmp_path / "ipython")}
    lab = subprocess.Popen(
        [str(GTWIDGETS), "lab", "--no-browser", "--ServerApp.port=0", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True)  # its own process group, as a terminal would give it
    try:
        url = None
        for line in lab.stderr:  # Jupyter logs its URL on stderr
            found = re.search(r"(http://127\.0\.0\.1:\d+/\S*\?token=\w+)", line)
            if found:
                url = found[1]
                break
        assert url is not None, "gtwidgets lab exited without printing a URL"
        assert "/lab/tree/fashion_capstone.ipynb?token=" in url
        assert _get(url) == 200
        s3_pid = json.loads((data / ".gtwidgets-s3.json").read_text())["pid"]
        assert _alive(s3_pid)
        os.killpg(lab.pid, signal.SIGINT)  # Ctrl+C in the terminal
        assert lab.wait(120) is not None
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()
        lab.stderr.close()
    deadline = time.monotonic() + 20
    while _alive(s3_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(s3_pid)
    assert not (data / ".gtwidgets-s3.json").exists()


def _get(url: str) -> int:
    """GET ``url``, waiting while Jupyter (which logs its URL before it listens) starts listening."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=60) as page:
                return page.status
        except urllib.error.URLError as e:
            if not isinstance(e.reason, ConnectionRefusedError) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
