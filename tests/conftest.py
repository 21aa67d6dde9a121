"""Shared fixtures: real servers on loopback, started once a session."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from shared_fixtures import FIXTURES, LAMBDA_EVENTS, MANIFEST_FIXTURES, SHARED  # noqa: F401


@pytest.fixture(scope="session")
def moto_server():
    """A real S3 HTTP server (moto) on 127.0.0.1; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_server, monkeypatch):
    """Point gtwidgets (and boto3) at the moto server, and give a fresh bucket: yields ``s3://<bucket>``."""
    import uuid

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    from gtwidgets import storage

    bucket = f"test-{uuid.uuid4().hex[:12]}"
    storage.s3_client().create_bucket(Bucket=bucket)
    yield f"s3://{bucket}"


def pytest_collection_modifyitems(config, items):
    """Browser tests need Debian's chromium; say so plainly instead of failing obscurely."""
    if os.path.exists("/usr/bin/chromium"):
        return
    skip = pytest.mark.skip(reason="needs /usr/bin/chromium (apt-get install chromium); ./dev.sh test installs it")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _private_home(tmp_path_factory):
    """Journals and local-S3 state of the tests stay out of the user's home."""
    home = tmp_path_factory.mktemp("gtwidgets-home")
    old = os.environ.get("GTWIDGETS_HOME")
    os.environ["GTWIDGETS_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("GTWIDGETS_HOME", None)
    else:
        os.environ["GTWIDGETS_HOME"] = old


@pytest.fixture
def boards(tmp_path):
    """Two small circuit-board photos (32 x 24) for segmentation jobs: their input frame."""
    import pandas as pd
    from PIL import Image

    paths = []
    for i in range(2):
        p = tmp_path / f"board{i}.png"
        Image.new("RGB", (32, 24), (20 * i, 90, 60)).save(p)
        paths.append(str(p))
    return pd.DataFrame({"source-ref": paths})
