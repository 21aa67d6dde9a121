"""The notebooks under nbval: a private local S3 and home, labels given through the job's API.

nbval's kernels inherit this process's environment, so setting it here is enough: each
notebook's ``ensure_local_s3()`` starts (or reuses) one server for the session's temporary
data folder, and its autopilot cells submit the answer key because no person is at the
keyboard. The server runs detached (it outlives each kernel), so the session stops it.
"""
from __future__ import annotations

import os
import shutil
import tempfile

_made: list[str] = []  # temporary folders this session created (and so owns)
_s3_dir: str | None = None


def pytest_configure(config) -> None:
    global _s3_dir
    for name, prefix in (("GTWIDGETS_S3_DIR", "gtwidgets-nb-s3-"), ("GTWIDGETS_HOME", "gtwidgets-nb-home-")):
        if not os.environ.get(name):
            os.environ[name] = tempfile.mkdtemp(prefix=prefix)
            _made.append(os.environ[name])
            if name == "GTWIDGETS_S3_DIR":
                _s3_dir = os.environ[name]
    os.environ.setdefault("GTWIDGETS_AUTOPILOT", "1")


def pytest_unconfigure(config) -> None:
    if _s3_dir is not None:  # a server for a folder the user chose is theirs to stop
        from gtwidgets.s3server import stop_local_s3

        stop_local_s3(_s3_dir)
    for folder in _made:
        shutil.rmtree(folder, ignore_errors=True)
