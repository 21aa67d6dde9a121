"""The local S3 for people without AWS: localbucket on 127.0.0.1, data on disk, If-Match added."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gtwidgets import s3server, storage
from gtwidgets.errors import NotFoundError, StorageError

GTWIDGETS = Path(sys.executable).with_name("gtwidgets")


@pytest.fixture
def student_env(tmp_path, monkeypatch):
    """A person without AWS: no credentials or config anywhere."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty-aws-config"
    empty.write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.fixture
def local_s3(tmp_path, student_env):
    """A local S3 on a fresh data folder, with gtwidgets pointed at it and a bucket made."""
    with s3server.serve(tmp_path / "s3data") as server:
        student_env.setenv("AWS_ENDPOINT_URL", server.endpoint_url)
        storage.s3_client().create_bucket(Bucket="labels")
        yield server


def _stop_recorded_server(data_dir: Path) -> None:
    state = json.loads((data_dir / ".gtwidgets-s3.json").read_text())
    os.kill(state["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 15
    while (data_dir / ".gtwidgets-s3.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_data_persists_across_a_restart(tmp_path, student_env):
    data = tmp_path / "s3data"
    with s3server.serve(data) as first:
        student_env.setenv("AWS_ENDPOINT_URL", first.endpoint_url)
        storage.s3_client().create_bucket(Bucket="labels")
        storage.write_bytes("s3://labels/job/output.manifest", b'{"source":"x"}\n')
    assert (data / "labels" / "job" / "output.manifest").read_bytes() == b'{"source":"x"}\n'
    with s3server.serve(data) as second:
        student_env.setenv("AWS_ENDPOINT_URL", second.endpoint_url)
        assert storage.read_bytes("s3://labels/job/output.manifest") == b'{"source":"x"}\n'
        assert storage.list_files("s3://labels") == ["s3://labels/job/output.manifest"]


def test_if_match_on_a_missing_object_is_no_such_key_as_on_s3(local_s3):
    from botocore.exceptions import ClientError

    client = storage.s3_client()
    etag = client.put_object(Bucket="labels", Key="present", Body=b"v")["ETag"]
    with pytest.raises(ClientError) as err:
        client.put_object(Bucket="labels", Key="never-written", Body=b"x", IfMatch=etag)
    assert err.value.response["Error"]["Code"] == "NoSuchKey"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert not storage.exists("s3://labels/never-written")


def test_if_match_is_never_ignored(local_s3):
    """localbucket would silently overwrite on a copy or multipart upload with If-Match: refuse instead."""
    from botocore.exceptions import ClientError

    client = storage.s3_client()
    etag = client.put_object(Bucket="labels", Key="src", Body=b"v")["ETag"]
    events = client.meta.events

    def add_if_match(params, **kwargs):
        params.setdefault("headers", {})["If-Match"] = etag

    events.register("before-call.s3.CopyObject", add_if_match)
    try:
        with pytest.raises(ClientError) as err:
            client.copy_object(Bucket="labels", Key="dst", CopySource={"Bucket": "labels", "Key": "src"})
    finally:
        events.unregister("before-call.s3.CopyObject", add_if_match)
    assert err.value.response["Error"]["Code"] == "NotImplemented"
    assert not storage.exists("s3://labels/dst")


def test_one_server_per_data_folder(local_s3):
    with pytest.raises(StorageError, match=re.escape(f"already served by a local S3 at {local_s3.endpoint_url}")):
        s3server.serve(local_s3.data_dir)


def test_refuses_to_listen_beyond_loopback(tmp_path):
    with pytest.raises(StorageError, match="only listens on 127.0.0.1"):
        s3server.serve(tmp_path, host="0.0.0.0")
    assert list(tmp_path.iterdir()) == []


def test_ensure_local_s3_starts_once_and_is_reused(tmp_path, student_env):
    data = tmp_path / "s3data"
    endpoint = s3server.ensure_local_s3(data, port=0)
    try:
        assert os.environ["AWS_ENDPOINT_URL"] == endpoint
        assert s3server.ensure_local_s3(data, port=0) == endpoint
        # a new kernel (another process) finds the same detached server
        again = subprocess.run(
            [sys.executable, "-c", "import sys; from gtwidgets.s3server import ensure_local_s3; "
                                   "print(ensure_local_s3(sys.argv[1], port=0))", str(data)],
            capture_output=True, text=True, timeout=60, check=True)
        assert again.stdout.strip() == endpoint
        storage.s3_client().create_bucket(Bucket="labels")
        storage.write_bytes("s3://labels/k", b"v")
    finally:
        _stop_recorded_server(data)
    # once stopped, the next call starts a fresh server on the same data
    endpoint = s3server.ensure_local_s3(data, port=0)
    try:
        assert storage.read_bytes("s3://labels/k") == b"v"
    finally:
        _stop_recorded_server(data)


def test_cli_prints_the_export_line_and_serves(tmp_path, student_env):
    data = tmp_path / "served"
    proc = subprocess.Popen([str(GTWIDGETS), "s3", "serve", str(data), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        second = proc.stdout.readline()
        match = re.fullmatch(r"export AWS_ENDPOINT_URL=(http://127\.0\.0\.1:\d+)\n", first)
        assert match, first + proc.stderr.read() if proc.poll() is not None else first
        assert str(data.resolve()) in second and "Ctrl+C" in second
        student_env.setenv("AWS_ENDPOINT_URL", match[1])
        storage.s3_client().create_bucket(Bucket="cli-bucket")
        storage.write_bytes("s3://cli-bucket/x", b"served")
        assert (data / "cli-bucket" / "x").read_bytes() == b"served"
    finally:
        proc.terminate()
        proc.wait(15)
    assert proc.returncode == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to tell zombies apart")
def test_server_exits_with_the_process_that_started_it(tmp_path):
    data = tmp_path / "orphan"
    parent = subprocess.run(
        [sys.executable, "-c", "import os, sys; from gtwidgets.s3server import serve; "
                               "s = serve(sys.argv[1]); print(s.pid, flush=True); os._exit(0)", str(data)],
        capture_output=True, text=True, timeout=60, check=True)
    child = int(parent.stdout.strip())
    deadline = time.monotonic() + 20
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by init) counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
