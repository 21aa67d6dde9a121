"""Servers the browser tests start on 127.0.0.1 (JupyterLab, marimo): a free port, and a process
that is up when its URL answers and gone when the test is done."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(argv: list[str], *, env: dict, cwd, log, ready: str, port: int, name: str):
    """A server process on 127.0.0.1:port, its output in ``log``: ``(url, process)`` once ``url + ready``
    answers (60 s at most), terminated (then killed) afterwards."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        try:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited: {Path(log).read_text()[-2000:]}")
                try:
                    urllib.request.urlopen(url + ready, timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{name} did not start: {Path(log).read_text()[-2000:]}") from None
                    time.sleep(0.2)
            yield url, proc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()

