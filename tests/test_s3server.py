"""The local S3 for people without AWS: localbucket on 127.0.0.1, data on disk, If-Match added,
safe on a shared machine: signed requests only, no CORS unless asked, private folder, streamed bodies."""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gtwidgets import s3server, storage
from gtwidgets.errors import NotFoundError, StorageError

GTWIDGETS = Path(sys.executable).with_name("gtwidgets")


@pytest.fixture
def student_env(tmp_path, monkeypatch):
    """A person without AWS: no credentials or config anywhere."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "GTWIDGETS_S3_DIR"):
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
        _point_at(server, student_env)
        storage.s3_client().create_bucket(Bucket="labels")
        yield server


def _point_at(server: s3server.LocalS3, monkeypatch) -> None:
    for name, value in server.environ.items():
        monkeypatch.setenv(name, value)


def _stop_recorded_server(data_dir: Path) -> None:
    state = json.loads((data_dir / ".gtwidgets-s3.json").read_text())
    os.kill(state["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 15
    while (data_dir / ".gtwidgets-s3.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_data_persists_across_a_restart(tmp_path, student_env):
    data = tmp_path / "s3data"
    with s3server.serve(data) as first:
        _point_at(first, student_env)
        storage.s3_client().create_bucket(Bucket="labels")
        storage.write_bytes("s3://labels/job/output.manifest", b'{"source":"x"}\n')
    assert (data / "labels" / "job" / "output.manifest").read_bytes() == b'{"source":"x"}\n'
    with s3server.serve(data) as second:
        _point_at(second, student_env)
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
        third = proc.stdout.readline()
        match = re.fullmatch(r"export AWS_ENDPOINT_URL=(http://127\.0\.0\.1:\d+) GTWIDGETS_S3_DIR=(.+)\n", first)
        assert match, first + proc.stderr.read() if proc.poll() is not None else first
        assert match[2] == str(data.resolve())
        assert str(data.resolve()) in second and "Ctrl+C" in second
        assert str(data.resolve() / ".gtwidgets-s3.key") in third
        student_env.setenv("AWS_ENDPOINT_URL", match[1])
        student_env.setenv("GTWIDGETS_S3_DIR", match[2])
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


# ---------------------------------------------------------------------------- safe on a shared machine

def _raw(server: s3server.LocalS3, method: str, path: str, body=None, headers: dict | None = None):
    """One plain HTTP request, as another user or a web page on the machine could send it."""
    parts = urllib.parse.urlsplit(server.endpoint_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {},
                     encode_chunked=(headers or {}).get("Transfer-Encoding") == "chunked")
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def _signed_headers(server: s3server.LocalS3, method: str, path: str, payload_hash: str, *,
                    headers: dict | None = None, when: datetime | None = None,
                    secret: str | None = None) -> tuple[dict, SigV4Verifier]:
    """SigV4 headers computed with botocore's signer at a chosen time and payload hash."""
    key = server.key
    stamp = (when or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    out = {**(headers or {}), "Host": urllib.parse.urlsplit(server.endpoint_url).netloc,
           "X-Amz-Date": stamp, "X-Amz-Content-SHA256": payload_hash}
    request = AWSRequest(method, server.endpoint_url + path, headers=out)
    request.context["timestamp"] = stamp
    auth = S3SigV4Auth(Credentials(key.access_key_id, secret or key.secret_access_key), "s3", "us-east-1")
    signature = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    signed = auth.signed_headers(auth.headers_to_sign(request))
    out["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={key.access_key_id}/{auth.credential_scope(request)}, "
                            f"SignedHeaders={signed}, Signature={signature}")
    return out, SigV4Verifier(auth, request, signature)


class SigV4Verifier:
    """Signs the chunks of an aws-chunked body after its seed signature, as the SDKs do."""

    def __init__(self, auth: S3SigV4Auth, request: AWSRequest, seed: str):
        self.auth, self.request, self.previous = auth, request, seed

    def chunk(self, data: bytes) -> bytes:
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", self.request.context["timestamp"],
                         self.auth.credential_scope(self.request), self.previous,
                         hashlib.sha256(b"").hexdigest(), hashlib.sha256(data).hexdigest()])
        self.previous = self.auth.signature(sts, self.request)
        return f"{len(data):x};chunk-signature={self.previous}\r\n".encode() + data + b"\r\n"


def _error_code(body: bytes) -> str:
    return re.search(rb"<Code>(\w+)</Code>", body)[1].decode()


def test_unsigned_requests_are_refused(local_s3):
    """Another user on the machine can neither read, list, overwrite nor delete."""
    storage.write_bytes("s3://labels/job/output.manifest", b"mine\n")
    stored = local_s3.data_dir / "labels" / "job" / "output.manifest"
    for method, path, body in [("GET", "/", None), ("GET", "/labels/job/output.manifest", None),
                               ("GET", "/labels?list-type=2", None), ("HEAD", "/labels/job/output.manifest", None),
                               ("PUT", "/labels/job/output.manifest", b"theirs\n"),
                               ("DELETE", "/labels/job/output.manifest", None), ("PUT", "/other", b""),
                               ("POST", "/labels/job/x?uploads", b"")]:
        status, headers, text = _raw(local_s3, method, path, body)
        assert status == 403, (method, path, status)
        if method != "HEAD":
            assert _error_code(text) == "AccessDenied"
            assert b"ensure_local_s3" in text  # says what to do
        assert "x-gtwidgets-data-dir" not in headers  # not even where the data lives
    assert stored.read_bytes() == b"mine\n"
    assert not (local_s3.data_dir / "other").exists()


def test_a_wrong_secret_or_key_is_refused_and_the_right_one_works(local_s3):
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    def client(**creds):
        return boto3.client("s3", endpoint_url=local_s3.endpoint_url, region_name="eu-west-1",
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}), **creds)

    right = local_s3.key.as_client_kwargs()
    wrong_secret = {**right, "aws_secret_access_key": "not-" + right["aws_secret_access_key"]}
    wrong_key = {**right, "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE"}
    for creds, code in [(wrong_secret, "SignatureDoesNotMatch"), (wrong_key, "InvalidAccessKeyId")]:
        with pytest.raises(ClientError) as err:
            client(**creds).put_object(Bucket="labels", Key="k", Body=b"forged")
        assert err.value.response["Error"]["Code"] == code
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert not (local_s3.data_dir / "labels" / "k").exists()
    client(**right).put_object(Bucket="labels", Key="k", Body=b"signed")
    assert client(**right).get_object(Bucket="labels", Key="k")["Body"].read() == b"signed"


def test_a_body_changed_after_signing_is_refused(local_s3):
    path = "/labels/job/output.manifest"
    headers, _ = _signed_headers(local_s3, "PUT", path, hashlib.sha256(b"good\n").hexdigest())
    status, _, text = _raw(local_s3, "PUT", path, b"evil\n", headers)
    assert (status, _error_code(text)) == (400, "XAmzContentSHA256Mismatch")
    assert not (local_s3.data_dir / "labels" / "job" / "output.manifest").exists()
    assert [p.name for p in (local_s3.data_dir / "labels").rglob("*") if p.is_file()] == []  # no temp file left
    status, _, _ = _raw(local_s3, "PUT", path, b"good\n", headers)
    assert status == 200


def test_an_old_signed_request_cannot_be_replayed(local_s3):
    long_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    headers, _ = _signed_headers(local_s3, "GET", "/", hashlib.sha256(b"").hexdigest(), when=long_ago)
    status, _, text = _raw(local_s3, "GET", "/", None, headers)
    assert (status, _error_code(text)) == (403, "RequestTimeTooSkewed")


def test_presigned_urls_work_and_do_not_open_other_objects(local_s3):
    storage.write_bytes("s3://labels/img/a.jpg", b"A")
    storage.write_bytes("s3://labels/img/b.jpg", b"B")
    url = storage.presign("s3://labels/img/a.jpg")
    assert urllib.request.urlopen(url).read() == b"A"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url.replace("/a.jpg?", "/b.jpg?"))
    assert err.value.code == 403 and _error_code(err.value.read()) == "SignatureDoesNotMatch"


@pytest.mark.parametrize("signed_chunks", [True, False], ids=["signed-chunks", "unsigned-trailer"])
def test_aws_chunked_uploads_are_decoded_and_their_chunks_checked(local_s3, signed_chunks):
    """What other SDKs send (signed chunks), and boto3 over HTTPS (unsigned chunks, checksum trailer)."""
    data = os.urandom(200_000)
    pieces = [data[i:i + 65536] for i in range(0, len(data), 65536)]
    path = "/labels/chunked.bin"
    extra = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
             "Transfer-Encoding": "chunked"}
    if signed_chunks:
        headers, signer = _signed_headers(local_s3, "PUT", path, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", headers=extra)
        body = [signer.chunk(p) for p in pieces] + [signer.chunk(b"")]
    else:
        extra["x-amz-trailer"] = "x-amz-checksum-crc32"
        headers, _ = _signed_headers(local_s3, "PUT", path, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", headers=extra)
        body = [f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces] + [b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"]
    status, _, text = _raw(local_s3, "PUT", path, iter(body), headers)
    assert status == 200, text
    assert (local_s3.data_dir / "labels" / "chunked.bin").read_bytes() == data
    if signed_chunks:  # a chunk changed in transit fails its signature
        headers, signer = _signed_headers(local_s3, "PUT", "/labels/forged.bin",
                                          "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", headers=extra)
        good = signer.chunk(pieces[0])
        forged = good[:-3] + bytes([good[-3] ^ 1]) + good[-2:]
        status, _, text = _raw(local_s3, "PUT", "/labels/forged.bin", iter([forged, signer.chunk(b"")]), headers)
        assert (status, _error_code(text)) == (403, "SignatureDoesNotMatch")
        assert not (local_s3.data_dir / "labels" / "forged.bin").exists()


def test_no_cross_origin_access_by_default(local_s3):
    """A web page open in the same browser can neither preflight nor read a response."""
    status, headers, text = _raw(local_s3, "OPTIONS", "/labels/job/output.manifest", None, {
        "Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"})
    assert status == 403 and "--cors-origin" in text.decode()
    assert "Access-Control-Allow-Origin" not in headers
    signed, _ = _signed_headers(local_s3, "GET", "/", hashlib.sha256(b"").hexdigest(),
                                headers={"Origin": "https://evil.example"})
    status, headers, _ = _raw(local_s3, "GET", "/", None, signed)
    assert status == 200 and "Access-Control-Allow-Origin" not in headers


def test_cors_origin_is_opt_in_for_one_origin(tmp_path, student_env):
    origin = "http://localhost:8888"
    with s3server.serve(tmp_path / "s3data", cors_origin=origin) as server:
        preflight = {"Access-Control-Request-Method": "PUT"}
        status, headers, _ = _raw(server, "OPTIONS", "/b/k", None, {"Origin": origin, **preflight})
        assert status == 200 and headers["Access-Control-Allow-Origin"] == origin
        status, headers, _ = _raw(server, "OPTIONS", "/b/k", None, {"Origin": "https://evil.example", **preflight})
        assert status == 403 and "Access-Control-Allow-Origin" not in headers
        signed, _ = _signed_headers(server, "GET", "/", hashlib.sha256(b"").hexdigest(), headers={"Origin": origin})
        status, headers, _ = _raw(server, "GET", "/", None, signed)
        assert status == 200 and headers["Access-Control-Allow-Origin"] == origin


def test_data_folder_and_its_files_are_private(tmp_path, student_env):
    data = tmp_path / "s3data"
    (data / "old-bucket").mkdir(parents=True)
    data.chmod(0o755)  # as main left it
    with s3server.serve(data) as server:
        _point_at(server, student_env)
        storage.s3_client().create_bucket(Bucket="labels")
        storage.write_bytes("s3://labels/job/output.manifest", b"x\n")
        modes = {p.relative_to(data).as_posix(): p.stat().st_mode & 0o777 for p in data.rglob("*")}
    assert data.stat().st_mode & 0o777 == 0o700
    for name in (".gtwidgets-s3.key", ".gtwidgets-s3.lock", ".gtwidgets-s3.log", ".gtwidgets-s3.json"):
        assert modes[name] == 0o600, name
    assert modes["labels"] == modes["labels/job"] == 0o700
    assert modes["labels/job/output.manifest"] == 0o600


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the server's peak memory from /proc")
def test_a_large_upload_streams_to_disk(local_s3, tmp_path):
    size = 200 * 1024 * 1024
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        block = os.urandom(1024 * 1024)
        for _ in range(size // len(block)):
            f.write(block)
    with open(big, "rb") as f:
        etag = storage.s3_client().put_object(Bucket="labels", Key="big.bin", Body=f)["ETag"]
    peak_kib = int(re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{local_s3.pid}/status").read_text())[1])
    assert peak_kib < 100 * 1024, f"the server peaked at {peak_kib // 1024} MiB for a 200 MiB upload"
    stored = local_s3.data_dir / "labels" / "big.bin"
    assert stored.stat().st_size == size
    assert etag == storage.head("s3://labels/big.bin").etag


def test_multipart_uploads_work(local_s3, tmp_path):
    from boto3.s3.transfer import TransferConfig

    data = os.urandom(11 * 1024 * 1024)
    (tmp_path / "f").write_bytes(data)
    storage.s3_client().upload_file(str(tmp_path / "f"), "labels", "multi.bin", Config=TransferConfig(
        multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
    assert (local_s3.data_dir / "labels" / "multi.bin").read_bytes() == data


def test_real_aws_credentials_are_left_alone(tmp_path, student_env):
    """The local key signs for the local endpoint only; AWS keys in the environment stay."""
    student_env.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    student_env.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    endpoint = s3server.ensure_local_s3(tmp_path / "s3data", port=0)
    try:
        assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAIOSFODNN7EXAMPLE"
        storage.s3_client().create_bucket(Bucket="labels")
        storage.write_bytes("s3://labels/k", b"v")
        assert storage.read_bytes("s3://labels/k") == b"v"
        student_env.delenv("AWS_ENDPOINT_URL")  # back to AWS: its own credentials
        aws = storage.s3_client()._request_signer._credentials.get_frozen_credentials()
        assert aws.access_key == "AKIAIOSFODNN7EXAMPLE"
    finally:
        assert s3server.stop_local_s3(tmp_path / "s3data")
    assert endpoint


def test_a_program_on_the_recorded_port_is_not_trusted(tmp_path, student_env):
    """After a restart, whoever took the old port gets neither signed requests nor data."""
    import http.server

    data = tmp_path / "s3data"
    s3server.serve(data).stop()  # makes the folder and its key

    class Squatter(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # claims to serve the folder, but cannot know its key
            self.send_response(200)
            self.send_header("x-gtwidgets-data-dir", urllib.parse.quote(str(data.resolve())))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    squatter = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Squatter)
    threading.Thread(target=squatter.serve_forever, daemon=True).start()
    port = squatter.server_address[1]
    (data / ".gtwidgets-s3.json").write_text(json.dumps(
        {"endpoint": f"http://127.0.0.1:{port}", "port": port, "pid": os.getpid()}))
    try:
        endpoint = s3server.ensure_local_s3(data)
        assert endpoint != f"http://127.0.0.1:{port}"
    finally:
        squatter.shutdown()
        squatter.server_close()
        s3server.stop_local_s3(data)


def test_s3_stop_stops_the_server_for_a_folder(tmp_path, student_env):
    data = tmp_path / "s3data"
    s3server.ensure_local_s3(data, port=0)
    pid = json.loads((data / ".gtwidgets-s3.json").read_text())["pid"]
    out = subprocess.run([str(GTWIDGETS), "s3", "stop", str(data)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "stopped" in out.stdout, out.stdout + out.stderr
    assert not _alive(pid)
    assert not (data / ".gtwidgets-s3.json").exists()
    again = subprocess.run([str(GTWIDGETS), "s3", "stop", str(data)], capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "nothing to stop" in again.stdout


def test_a_client_without_the_key_is_told_what_to_do(local_s3, student_env, tmp_path):
    student_env.setenv("GTWIDGETS_S3_DIR", str(tmp_path / "another-folder"))
    with pytest.raises(StorageError, match=r"refused the request \(InvalidAccessKeyId\)") as err:
        storage.read_bytes("s3://labels/anything")
    assert "ensure_local_s3()" in str(err.value)


KEYS = ["a.txt", "ab/x", "job/ann/1/a.json", "job/ann/1/b.json", "job/ann/10/c.json", "job/ann/2/d.json",
        "job/ann2/e", "job/z", "jobx/y", "job/ann/1/sub/deep.json"]


def _expected_listing(keys: list[str], prefix: str, delimiter: str) -> tuple[list[str], list[str]]:
    """S3's answer, worked out from the key set: sorted by bytes, common prefixes folded."""
    contents, prefixes = [], []
    for key in sorted(keys, key=str.encode):
        if not key.startswith(prefix):
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        if cut >= 0:
            common = key[: cut + len(delimiter)]
            if common not in prefixes:
                prefixes.append(common)
        else:
            contents.append(key)
    return contents, prefixes


@pytest.mark.parametrize("page", [1, 2, 1000])
def test_listing_a_prefix_gives_what_s3_gives(local_s3, page):
    """The listing walks only the prefix's folder; every page, marker and common prefix is as S3's."""
    client = storage.s3_client()
    client.create_bucket(Bucket="other")
    client.put_object(Bucket="other", Key="secret", Body=b"x")
    for key in KEYS:
        client.put_object(Bucket="labels", Key=key, Body=b"x")
    prefixes = ["", "j", "job", "job/", "job/ann", "job/ann/", "job/ann/1", "job/ann/1/", "job/ann/1/s",
                "job/ann/3/", "nothing/", "a", "../other/", "job/../a", "job//"]
    for prefix in prefixes:
        for delimiter in ("", "/"):
            want = _expected_listing(KEYS, prefix, delimiter)
            for operation in ("list_objects_v2", "list_objects"):
                got_keys, got_prefixes = [], []
                pages = client.get_paginator(operation).paginate(
                    Bucket="labels", Prefix=prefix, Delimiter=delimiter, PaginationConfig={"PageSize": page})
                for answer in pages:
                    got_keys += [item["Key"] for item in answer.get("Contents", [])]
                    got_prefixes += [item["Prefix"] for item in answer.get("CommonPrefixes", [])]
                assert (got_keys, got_prefixes) == want, (operation, prefix, delimiter, page)


def test_listing_after_a_marker_in_another_folder(local_s3):
    client = storage.s3_client()
    for key in KEYS:
        client.put_object(Bucket="labels", Key=key, Body=b"x")
    after = lambda prefix, start: [o["Key"] for o in client.list_objects_v2(  # noqa: E731
        Bucket="labels", Prefix=prefix, StartAfter=start).get("Contents", [])]
    assert after("job/ann/1/", "job/ann/0") == ["job/ann/1/a.json", "job/ann/1/b.json", "job/ann/1/sub/deep.json"]
    assert after("job/ann/1/", "job/ann/1/a.json") == ["job/ann/1/b.json", "job/ann/1/sub/deep.json"]
    assert after("job/ann/1/", "job/ann/2") == []


def test_a_prefix_listing_walks_only_its_folder(tmp_path, monkeypatch):
    """localbucket walked the whole bucket per page (seconds at 100,000 answers); ours walks the folder."""
    import localbucket

    from gtwidgets._s3handler import Handler

    bucket = tmp_path / "labels"
    for key in KEYS:
        (bucket / key).parent.mkdir(parents=True, exist_ok=True)
        (bucket / key).write_bytes(b"x")
    walked = []
    real_walk = os.walk
    monkeypatch.setattr(localbucket.os, "walk", lambda top, *a, **k: walked.append(Path(top)) or real_walk(top, *a, **k))
    handler = object.__new__(Handler)
    contents, common, truncated, last = handler._list_entries(bucket, "job/ann/1/", "/", "", False, 1000)
    assert walked == [bucket / "job" / "ann" / "1"]
    assert [key for key, _ in contents] == ["job/ann/1/a.json", "job/ann/1/b.json"]
    assert (common, truncated, last) == (["job/ann/1/sub/"], False, "P:job/ann/1/sub/")
