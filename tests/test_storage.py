"""gtwidgets.storage against local folders and a real S3 HTTP server (moto on loopback)."""
from __future__ import annotations

import multiprocessing
import os
import socket
import threading
import urllib.request
from pathlib import Path

import pytest

from gtwidgets import storage
from gtwidgets.errors import ConflictError, NotFoundError, StorageError


@pytest.fixture(scope="session")
def localbucket_server(tmp_path_factory):
    """The student default, ``gtwidgets s3 serve`` (localbucket plus If-Match), on loopback."""
    from gtwidgets import s3server

    with s3server.serve(tmp_path_factory.mktemp("localbucket")) as server:
        yield server


@pytest.fixture(params=["local", "s3", "localbucket"])
def root(request, tmp_path, monkeypatch) -> str:
    """A fresh folder: a local path, or a prefix in a fresh bucket on moto or on the local S3."""
    if request.param == "local":
        return str(tmp_path / "root")
    bucket = request.getfixturevalue("s3")
    if request.param == "localbucket":
        for name, value in request.getfixturevalue("localbucket_server").environ.items():
            monkeypatch.setenv(name, value)  # the endpoint, and the folder whose key signs for it
        storage.s3_client().create_bucket(Bucket=storage.split_s3(bucket)[0])
    return bucket + "/root"


@pytest.fixture
def no_aws_config(tmp_path, monkeypatch):
    """No credentials anywhere: env unset, empty config files, no instance metadata lookups."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty-aws-config"
    empty.write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # 169.254.169.254 is not loopback


# ---------------------------------------------------------------------------- reading and writing

@pytest.mark.parametrize("data", [b"", b"hello", bytes(range(256)) * 10])
def test_write_then_read_gives_the_same_bytes(root, data):
    uri = storage.join(root, "deep", "er", "object.bin")
    etag = storage.write_bytes(uri, data)
    assert storage.read_bytes(uri) == data
    assert storage.head(uri) == storage.ObjectInfo(uri, len(data), etag)
    assert storage.exists(uri)


def test_read_text_decodes_utf8(root):
    uri = storage.join(root, "labels.txt")
    storage.write_bytes(uri, "chat, café, 猫\n".encode())
    assert storage.read_text(uri) == "chat, café, 猫\n"


def test_overwrite_changes_etag(root):
    uri = storage.join(root, "a.json")
    first = storage.write_bytes(uri, b"1")
    second = storage.write_bytes(uri, b"2")
    assert first != second
    assert storage.head(uri).etag == second


def test_missing_object_is_not_found(root):
    uri = storage.join(root, "missing.txt")
    assert not storage.exists(uri)
    for call in (storage.read_bytes, storage.head, storage.open_read):
        with pytest.raises(NotFoundError, match="missing.txt"):
            call(uri)


def test_delete_removes_and_tolerates_missing(root):
    uri = storage.join(root, "gone.txt")
    storage.write_bytes(uri, b"x")
    storage.delete(uri)
    assert not storage.exists(uri)
    storage.delete(uri)  # deleting twice is fine, as on S3


def test_open_read_streams_in_chunks(root):
    data = os.urandom(3 * 1024 * 1024 + 17)
    uri = storage.join(root, "big.bin")
    storage.write_bytes(uri, data)
    with storage.open_read(uri) as stream:
        first = stream.read(1024)
        chunks = list(storage.iter_chunks(stream, 256 * 1024))
    assert first == data[:1024]
    assert max(len(c) for c in chunks) == 256 * 1024
    assert first + b"".join(chunks) == data


def test_presigned_url_can_be_fetched_over_http(root):
    uri = storage.join(root, "img", "cat 1.png")
    storage.write_bytes(uri, b"\x89PNG fake", content_type="image/png")
    url = storage.presign(uri, expires=60)
    assert url.startswith(storage.endpoint_url() + "/" if storage.is_s3(uri) else "file://")
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"\x89PNG fake"


# ---------------------------------------------------------------------------- listing and joining

def _fill(root: str) -> None:
    for name in ("b.PNG", "a.jpg", "notes.txt", "sub/c.jpg", "sub/deeper/d.jpeg"):
        storage.write_bytes(storage.join(root, name), b"x")


def test_list_files_recursive_sorted(root):
    _fill(root)
    assert storage.list_files(root) == [storage.join(root, n) for n in
                                        ("a.jpg", "b.PNG", "notes.txt", "sub/c.jpg", "sub/deeper/d.jpeg")]


def test_list_files_filters_suffixes_case_insensitively(root):
    _fill(root)
    got = storage.list_files(root, suffixes=(".jpg", ".png"))
    assert got == [storage.join(root, n) for n in ("a.jpg", "b.PNG", "sub/c.jpg")]


def test_list_files_under_a_subfolder(root):
    _fill(root)
    assert storage.list_files(storage.join(root, "sub")) == [
        storage.join(root, "sub/c.jpg"), storage.join(root, "sub/deeper/d.jpeg")]


def test_list_files_non_recursive(request, root):
    _fill(root)
    assert storage.list_files(root, recursive=False) == [
        storage.join(root, n) for n in ("a.jpg", "b.PNG", "notes.txt")]


def test_list_files_does_not_leak_into_sibling_folders(request, root):
    storage.write_bytes(storage.join(root, "img", "x.jpg"), b"x")
    storage.write_bytes(storage.join(root, "img2", "y.jpg"), b"y")
    assert storage.list_files(storage.join(root, "img")) == [storage.join(root, "img", "x.jpg")]


def test_list_files_follows_continuation_tokens(root):
    if not storage.is_s3(root):
        pytest.skip("local folders have no pages")
    keys = [f"many/{i:02d}.txt" for i in range(7)]
    for k in keys:
        storage.write_bytes(f"{root}/{k}", b"")
    events = storage.s3_client().meta.events

    def small_pages(params, **kwargs):  # real server-side paging, 2 keys a page
        params["MaxKeys"] = 2

    events.register("provide-client-params.s3.ListObjectsV2", small_pages)
    try:
        assert storage.list_files(f"{root}/many") == [f"{root}/{k}" for k in keys]
    finally:
        events.unregister("provide-client-params.s3.ListObjectsV2", small_pages)


def test_list_files_of_missing_local_folder_is_not_found(tmp_path):
    with pytest.raises(NotFoundError, match="no such folder"):
        storage.list_files(tmp_path / "nope")


def test_join():
    assert storage.join("s3://bkt/a/", "/b", "c.jpg") == "s3://bkt/a/b/c.jpg"
    assert storage.join("s3://bkt", "c.jpg") == "s3://bkt/c.jpg"
    assert storage.join("/data/x", "b", "c.jpg") == str(Path("/data/x/b/c.jpg"))
    assert storage.split_s3("s3://bkt/a/b") == ("bkt", "a/b")
    with pytest.raises(StorageError, match="s3://bucket/key"):
        storage.split_s3("s3:///key")


# ---------------------------------------------------------------------------- conditional writes

def test_if_none_match_refuses_the_second_writer(root):
    uri = storage.join(root, "manifest.json")
    storage.write_bytes(uri, b"first", if_none_match=True)
    with pytest.raises(ConflictError, match="manifest.json"):
        storage.write_bytes(uri, b"second", if_none_match=True)
    assert storage.read_bytes(uri) == b"first"


def test_if_match_refuses_a_stale_etag(root):
    uri = storage.join(root, "shared.manifest")
    stale = storage.write_bytes(uri, b"v1")
    current = storage.write_bytes(uri, b"v2 by someone else")
    with pytest.raises(ConflictError, match="shared.manifest"):
        storage.write_bytes(uri, b"v3 from stale copy", if_match=stale)
    assert storage.read_bytes(uri) == b"v2 by someone else"
    newest = storage.write_bytes(uri, b"v3", if_match=current)
    assert storage.read_bytes(uri) == b"v3"
    assert storage.head(uri).etag == newest


def test_if_match_on_a_deleted_object_is_a_conflict(request, root):
    uri = storage.join(root, "deleted.manifest")
    etag = storage.write_bytes(uri, b"v1")
    storage.delete(uri)
    with pytest.raises(ConflictError):
        storage.write_bytes(uri, b"v2", if_match=etag)


def _race(n: int, write) -> list[int]:
    """Start ``write(i)`` in n threads at once; return the i of those that did not conflict."""
    barrier = threading.Barrier(n)
    wins: list[int] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            write(i)
            wins.append(i)
        except ConflictError:
            pass

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return wins


def test_concurrent_if_none_match_has_exactly_one_winner(root):
    uri = storage.join(root, "claim.json")
    wins = _race(8, lambda i: storage.write_bytes(uri, f"writer {i}".encode(), if_none_match=True))
    assert len(wins) == 1
    assert storage.read_text(uri) == f"writer {wins[0]}"


def test_concurrent_if_match_has_exactly_one_winner(root):
    # localbucket alone ignores If-Match; gtwidgets.s3server's handler adds it.
    uri = storage.join(root, "counter.json")
    etag = storage.write_bytes(uri, b"0")
    wins = _race(8, lambda i: storage.write_bytes(uri, str(i + 1).encode(), if_match=etag))
    assert len(wins) == 1
    assert storage.read_text(uri) == str(wins[0] + 1)


def _claim_in_process(path: str, i: int, barrier, results) -> None:
    barrier.wait()
    try:
        storage.write_bytes(path, f"process {i}".encode(), if_none_match=True)
        results.put(i)
    except ConflictError:
        results.put(-1)


def test_if_none_match_across_processes_has_exactly_one_winner(tmp_path):
    path = str(tmp_path / "claim.json")
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_claim_in_process, args=(path, i, barrier, results)) for i in range(4)]
    for p in procs:
        p.start()
    outcome = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    winners = [i for i in outcome if i >= 0]
    assert len(winners) == 1
    assert Path(path).read_text() == f"process {winners[0]}"
    assert [p.name for p in tmp_path.iterdir()] == ["claim.json"]  # no temporary files left


# ---------------------------------------------------------------------------- S3 errors, one line each

def test_missing_bucket_names_bucket_and_fix(s3):
    uri = "s3://gtwidgets-no-such-bucket/a/b.txt"
    for call in (storage.read_bytes, lambda u: storage.write_bytes(u, b"x"), storage.list_files):
        with pytest.raises(NotFoundError) as err:
            call(uri)
        msg = str(err.value)
        assert msg.startswith(uri) and "'gtwidgets-no-such-bucket' does not exist" in msg
        assert "create it" in msg and "\n" not in msg


def test_missing_key_names_uri_and_fix(s3):
    uri = f"{s3}/no/such.key"
    with pytest.raises(NotFoundError) as err:
        storage.read_bytes(uri)
    assert str(err.value) == f"{uri}: no such object; check the key."


def test_unreachable_endpoint_says_what_to_do(s3, monkeypatch):
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(StorageError) as err:
        storage.read_bytes(f"{s3}/k")
    msg = str(err.value)
    assert f"cannot reach the S3 endpoint http://127.0.0.1:{port}" in msg
    assert "gtwidgets s3 serve" in msg
    assert not isinstance(err.value, NotFoundError)


class _NoRequestsAllowed(Exception):
    pass


def test_no_credentials_fails_before_any_request(no_aws_config, monkeypatch):
    # TEST-NET-1: a non-loopback address reserved for documentation; never contacted.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://192.0.2.1:9")
    sent = []

    def refuse(request, **kwargs):
        sent.append(request.url)
        raise _NoRequestsAllowed(request.url)

    events = storage.s3_client().meta.events
    events.register("before-send.s3", refuse)
    try:
        with pytest.raises(StorageError) as err:
            storage.read_bytes("s3://bkt/key.txt")
    finally:
        events.unregister("before-send.s3", refuse)
    assert sent == []
    msg = str(err.value)
    assert msg.startswith("s3://bkt/key.txt: no AWS credentials found")
    assert "aws configure" in msg and "gtwidgets s3 serve" in msg


def test_loopback_endpoint_needs_no_credentials(s3, no_aws_config):
    uri = f"{s3}/student.txt"
    storage.write_bytes(uri, b"no account needed")
    assert storage.read_bytes(uri) == b"no account needed"


@pytest.fixture
def denied_credentials(s3, moto_server, monkeypatch):
    """Turn on moto's IAM checks (its own /moto-api/reset-auth switch) and log in as a user with no policy."""
    import boto3

    def reset_auth(count: str) -> None:
        req = urllib.request.Request(f"{moto_server}/moto-api/reset-auth", data=count.encode(),
                                     method="POST", headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(req, timeout=10).read()

    reset_auth("2")  # the next two requests (create user, create key) go unchecked
    try:
        iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        iam.create_user(UserName="no-rights")
        key = iam.create_access_key(UserName="no-rights")["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        yield s3
    finally:
        reset_auth("inf")


def test_access_denied_says_to_check_credentials(denied_credentials):
    uri = f"{denied_credentials}/secret.txt"
    with pytest.raises(StorageError) as err:
        storage.read_bytes(uri)
    assert not isinstance(err.value, NotFoundError)
    assert str(err.value).startswith(f"{uri}: access denied (AccessDenied); check that your credentials")


# ---------------------------------------------------------------------------- local errors

def test_reading_a_folder_says_so(tmp_path):
    for call in (storage.read_bytes, storage.open_read):
        with pytest.raises(StorageError, match="is a folder, not a file"):
            call(tmp_path)


def test_writing_onto_a_folder_is_a_storage_error(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(StorageError, match="taken"):
        storage.write_bytes(tmp_path / "taken", b"x")
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]  # the temporary file is gone


def test_writing_below_a_file_says_the_folder_cannot_be_made(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match="cannot create its folder"):
        storage.write_bytes(tmp_path / "file" / "child.txt", b"x")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root ignores file permissions, so EACCES cannot happen")
def test_permission_denied_says_so(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "f.txt").write_text("x")
    (locked / "f.txt").chmod(0)
    with pytest.raises(StorageError, match="permission denied"):
        storage.read_bytes(locked / "f.txt")
    locked.chmod(0o500)
    try:
        with pytest.raises(StorageError, match="permission denied"):
            storage.write_bytes(locked / "g.txt", b"x")
    finally:
        locked.chmod(0o700)


# ---------------------------------------------------------------------------- hostile files

def test_max_bytes_refuses_big_files_and_objects_before_reading_them(root):
    uri = storage.join(root, "big.bin")
    storage.write_bytes(uri, b"x" * 5000)
    with pytest.raises(storage.TooLargeError, match="5,000 bytes, over the limit of 4,999 bytes") as e:
        storage.read_bytes(uri, max_bytes=4999)
    assert (e.value.size, e.value.limit) == (5000, 4999)
    assert storage.read_bytes(uri, max_bytes=5000) == b"x" * 5000


def test_max_bytes_reads_only_regular_files(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # O_RDWR keeps a writer on the FIFO, so the old blocking read would wait here for ever.
    keep_open = os.open(fifo, os.O_RDWR)
    try:
        with pytest.raises(StorageError, match=r"is a FIFO \(named pipe\), not a regular file"):
            storage.read_bytes(fifo, max_bytes=1000)
    finally:
        os.close(keep_open)
    with pytest.raises(StorageError, match="is a character device, not a regular file"):
        storage.read_bytes("/dev/zero", max_bytes=1000)
    assert storage.read_bytes("/dev/null") == b""  # without max_bytes a device named on purpose is read


@pytest.fixture
def own_temp(tmp_path, monkeypatch) -> Path:
    """The system temp folder, replaced by an empty one of this test's own."""
    import tempfile

    temp = tmp_path / "system-tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


def test_local_writes_leave_no_lock_files_anywhere(tmp_path, own_temp):
    data = tmp_path / "data"
    for i in range(20):
        storage.write_bytes(data / f"f{i}.json", b"{}")
        storage.write_bytes(data / f"f{i}.json", b"[]", if_match=storage.head(data / f"f{i}.json").etag)
    storage.write_stream(data / "stream.bin", [b"a", b"b"])
    assert list(own_temp.iterdir()) == []  # nothing in a folder shared with other users
    assert sorted(p.name for p in data.iterdir()) == sorted([f"f{i}.json" for i in range(20)] + ["stream.bin"])


def test_another_users_lock_folder_in_temp_does_not_break_writes(tmp_path, own_temp):
    # Root may write anywhere, so the other user's folder is stood for by what no one can use as one.
    (own_temp / "gtwidgets-locks").write_text("not a folder")
    storage.write_bytes(tmp_path / "a.json", b"1")
    storage.write_bytes(tmp_path / "a.json", b"2", if_match=storage.head(tmp_path / "a.json").etag)
    assert storage.read_bytes(tmp_path / "a.json") == b"2"


WINDOWS_FORBIDDEN = set('<>:"\\|?*') | {chr(c) for c in range(32)}
HOSTILE_NAMES = ["2019-04-18_16:13:05.json", 'a<b>c"d|e?f*g.txt', "tab\there", "100%.txt", "a%3Ab.txt",
                 "photo%20one.jpg", "back\\slash"]


def test_local_names_windows_cannot_store_are_stored_safely_and_listed_as_written(tmp_path):
    root = tmp_path / "out"
    for name in HOSTILE_NAMES:
        storage.write_bytes(storage.join(root, "iteration:1", name), name.encode())
    on_disk = [p.name for p in root.rglob("*")]
    assert not [n for n in on_disk if WINDOWS_FORBIDDEN & set(n)]
    assert "photo%20one.jpg" in on_disk  # names that need nothing are stored as they are
    listed = storage.list_files(root)
    assert listed == sorted(storage.join(root, "iteration:1", n) for n in HOSTILE_NAMES)
    for uri in listed:
        assert storage.read_bytes(uri) == Path(uri).name.encode() and storage.exists(uri)
        assert storage.head(uri).size == len(Path(uri).name.encode())
    storage.delete(listed[0])
    assert not storage.exists(listed[0]) and len(storage.list_files(root)) == len(HOSTILE_NAMES) - 1


def test_names_on_s3_are_kept_exact(s3):
    uri = storage.join(s3, "iteration:1", "2019-04-18_16:13:05.json")
    storage.write_bytes(uri, b"{}")
    assert storage.list_files(s3) == [uri]
    bucket, _ = storage.split_s3(s3)
    assert [o["Key"] for o in storage.s3_client().list_objects_v2(Bucket=bucket)["Contents"]] == \
        ["iteration:1/2019-04-18_16:13:05.json"]


def test_files_other_tools_made_under_exact_names_are_still_read(tmp_path):
    (tmp_path / "cam:1").mkdir()
    (tmp_path / "cam:1" / "img:2.jpg").write_bytes(b"jpeg")
    uri = str(tmp_path / "cam:1" / "img:2.jpg")
    assert storage.list_files(tmp_path) == [uri]
    assert storage.read_bytes(uri) == b"jpeg"
    storage.write_bytes(storage.join(tmp_path, "cam:1", "new:3.json"), b"{}")
    assert sorted(p.name for p in (tmp_path / "cam:1").iterdir()) == ["img:2.jpg", "new%3A3.json"]


def test_a_local_labeling_job_writes_no_name_windows_cannot_store(tmp_path):
    import pandas as pd

    from gtwidgets import LabelingJob
    from gtwidgets.lambdas import default_consolidation

    images = [str(tmp_path / f"img{i}.jpg") for i in range(3)]
    out = tmp_path / "out"

    def job(worker, name="pets", journal="first", **kw):
        return LabelingJob(name, input=pd.DataFrame({"source-ref": images}), categories=["cat", "dog"],
                           output=out, worker_id=worker, journal_dir=tmp_path / journal / worker / name,
                           manifest_interval=0, **kw)

    for worker, answers in {"ann": ["cat", "dog", "cat"], "bob": ["cat", "cat", "dog"],
                            "cyd": ["dog", "cat", "cat"]}.items():
        j = job(worker, workers_per_object=3)
        for i, a in enumerate(answers):
            j.submit(i, a)
        assert j.flush(30)
        j.close()
    teacher = job("teacher", workers_per_object=3)
    teacher.adjudicate("1", "dog", reviewer="teacher")
    assert teacher.flush(30)
    teacher.close()
    custom = job("w", name="custom", consolidation=default_consolidation)
    custom.submit(0, "dog")
    assert custom.flush(30)
    custom.close()

    written = list(out.rglob("*"))
    assert len(written) > 20
    assert [str(p.relative_to(out)) for p in written if WINDOWS_FORBIDDEN & set(p.name)] == []
    responses = storage.list_files(storage.join(out, "pets", "annotations", "worker-response"))
    assert len(responses) == 9 and all(":" in Path(uri).name for uri in responses)  # Ground Truth's keys
    again = job("ann", journal="new-computer", workers_per_object=3)  # no journal: answers come from the files
    assert [again.answer(str(i)) for i in range(3)] == [["cat"], ["dog"], ["cat"]]
    again.close()
