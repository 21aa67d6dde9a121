"""The labeling job: Ground Truth's output layout, journal, resume, outages."""
from __future__ import annotations

import re
import socket
import threading
import time

import orjson
import pandas as pd
import pytest

from gtwidgets import LabelingJob, storage
from gtwidgets.errors import JobError

from shared_fixtures import HAVE_SHARED, MANIFEST_FIXTURES, OWN_MANIFESTS

CATS = ["Bag", "Eyewear", "Flipflop", "Watch"]
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


def input_frame(n=6, prefix="s3://course/fashion"):
    return pd.DataFrame({"source-ref": [f"{prefix}/{i:03d}.jpg" for i in range(1, n + 1)],
                         "customer-id": [f"c-{i}" for i in range(n)]})


def make_job(output, tmp_path, **kw):
    kw.setdefault("categories", CATS)
    kw.setdefault("worker_id", "alice")
    return LabelingJob("fashion-job", input=kw.pop("input", input_frame()), output=str(output),
                       journal_dir=kw.pop("journal_dir", tmp_path / "journal"), **kw)


def read_lines(uri):
    return [orjson.loads(line) for line in storage.read_bytes(uri).splitlines()]


def worker_files(job):
    prefix = storage.join(job.job_dir, "annotations", "worker-response", "iteration-1")
    try:
        return storage.list_files(prefix + "/")
    except Exception:
        return []


def test_output_matches_ground_truth_layout(tmp_path):
    job = make_job(tmp_path / "out", tmp_path)
    job.submit("0", "Bag", time_spent=2.5)
    job.submit("2", "Watch", time_spent=1.0)
    assert job.flush(timeout=30)

    out = read_lines(tmp_path / "out" / "fashion-job" / "manifests" / "output" / "output.manifest")
    assert len(out) == 6
    assert out[1] == {"source-ref": "s3://course/fashion/002.jpg", "customer-id": "c-1"}
    line = out[0]
    assert line["fashion-job"] == 0
    meta = line["fashion-job-metadata"]
    assert set(meta) == {"class-name", "job-name", "confidence", "type", "human-annotated", "creation-date"}
    assert meta["class-name"] == "Bag" and meta["confidence"] == 0 and isinstance(meta["confidence"], int)
    assert meta["job-name"] == "labeling-job/fashion-job"
    assert meta["type"] == "groundtruth/image-classification"
    assert meta["human-annotated"] == "yes"
    assert DATE_RE.match(meta["creation-date"])
    assert out[2]["fashion-job"] == 3 and out[2]["customer-id"] == "c-2"

    # The same keys as a real Ground Truth classification line (ours, written from the reference, on a fresh clone).
    fixtures = MANIFEST_FIXTURES if HAVE_SHARED else OWN_MANIFESTS
    real = orjson.loads(next(p for p in fixtures if p.name.startswith("image-classification__")).read_bytes().splitlines()[0])
    assert set(next(v for k, v in real.items() if k.endswith("-metadata"))) == set(meta)

    files = worker_files(job)
    assert len(files) == 2
    assert re.search(r"/fashion-job/annotations/worker-response/iteration-1/0/\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.json$", files[0])
    doc = orjson.loads(storage.read_bytes(files[0]))
    (answer,) = doc["answers"]
    assert answer["answerContent"] == {"crowd-image-classifier": {"label": "Bag"}}
    assert answer["workerId"] == "alice"
    assert answer["timeSpentInSeconds"] == 2.5
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", answer["submissionTime"])
    assert answer["acceptanceTime"] < answer["submissionTime"]
    job.close()


def test_multilabel_output(tmp_path):
    job = make_job(tmp_path / "out", tmp_path, multi_label=True)
    job.submit(1, ["Watch", "Bag"])
    assert job.flush(timeout=30)
    out = read_lines(job.output_manifest_uri)
    line = out[1]
    assert line["fashion-job"] == [3, 0]
    meta = line["fashion-job-metadata"]
    assert meta["class-map"] == {"3": "Watch", "0": "Bag"}
    assert meta["confidence-map"] == {"3": 0, "0": 0}
    assert meta["type"] == "groundtruth/image-classification-multilabel"
    (f,) = worker_files(job)
    assert orjson.loads(storage.read_bytes(f))["answers"][0]["answerContent"] == {
        "crowd-image-classifier-multi-select": {"labels": ["Watch", "Bag"]}}
    job.close()


def test_text_items_use_text_types(tmp_path):
    frame = pd.DataFrame({"source": ["great food", "awful service"]})
    job = make_job(tmp_path / "out", tmp_path, input=frame, categories=["positive", "negative"])
    job.submit(0, "positive")
    assert job.flush(timeout=30)
    meta = read_lines(job.output_manifest_uri)[0]["fashion-job-metadata"]
    assert meta["type"] == "groundtruth/text-classification"
    (f,) = worker_files(job)
    assert "crowd-classifier" in orjson.loads(storage.read_bytes(f))["answers"][0]["answerContent"]
    job.close()


def test_resume_after_restart_keeps_answers_and_undo(tmp_path):
    job = make_job(tmp_path / "out", tmp_path)
    job.submit(0, "Bag")
    job.submit(1, "Eyewear")
    job.skip(2)
    job.close(timeout=0)  # a kernel restart: whatever was not uploaded stays in the journal

    again = make_job(tmp_path / "out", tmp_path)
    assert again.answer("0") == ["Bag"] and again.answer("1") == ["Eyewear"]
    assert again.progress()["labeled"] == 2 and again.progress()["skipped"] == 1
    assert again.next_unlabeled() == "2"
    assert again.undo() == "2"  # the skip
    assert again.undo() == "1"
    assert again.answer("1") is None
    assert again.flush(timeout=30)
    out = read_lines(again.output_manifest_uri)
    assert "fashion-job" in out[0] and "fashion-job" not in out[1]
    assert len(worker_files(again)) == 1
    again.close()


def test_relabel_then_undo_restores_previous_answer_in_store(tmp_path):
    job = make_job(tmp_path / "out", tmp_path)
    job.submit(0, "Bag")
    assert job.flush(timeout=30)
    job.submit(0, "Watch")  # same second as the first answer, most likely
    assert job.flush(timeout=30)
    (f,) = worker_files(job)
    assert orjson.loads(storage.read_bytes(f))["answers"][0]["answerContent"]["crowd-image-classifier"]["label"] == "Watch"
    assert job.undo() == "0"
    assert job.flush(timeout=30)
    (f,) = worker_files(job)
    assert orjson.loads(storage.read_bytes(f))["answers"][0]["answerContent"]["crowd-image-classifier"]["label"] == "Bag"
    assert read_lines(job.output_manifest_uri)[0]["fashion-job-metadata"]["class-name"] == "Bag"
    job.close()


def test_answers_in_the_store_are_adopted_when_the_journal_is_lost(s3, tmp_path):
    job = make_job(f"{s3}/out", tmp_path, journal_dir=tmp_path / "machine-a")
    job.submit(0, "Bag")
    job.submit(3, "Flipflop")
    assert job.flush(timeout=30)
    job.close()
    other = make_job(f"{s3}/out", tmp_path, journal_dir=tmp_path / "machine-b")
    assert other.answer("0") == ["Bag"] and other.answer("3") == ["Flipflop"]
    assert other.progress()["labeled"] == 2
    other.close()


def test_crash_between_journal_and_upload_loses_nothing_and_doubles_nothing(s3, tmp_path, monkeypatch):
    with socket.socket() as sock:  # a port nobody listens on: the store is unreachable
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    good = storage.endpoint_url()
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    job = make_job(f"{s3}/out", tmp_path, retry_max_delay=0.5)
    for i, cat in enumerate(CATS):
        job.submit(i, cat)
    assert job.sync_status()["pending"] == 4
    assert not job.flush(timeout=1)
    job.close(timeout=0)  # the kernel dies before anything reached S3

    monkeypatch.setenv("AWS_ENDPOINT_URL", good)
    again = make_job(f"{s3}/out", tmp_path)
    assert again.flush(timeout=30)
    assert again.sync_status() == {"state": "saved", "pending": 0, "message": again.sync_status()["message"]}
    files = worker_files(again)
    assert len(files) == 4  # each answer once
    assert [o["fashion-job-metadata"]["class-name"] for o in read_lines(again.output_manifest_uri)[:4]] == CATS
    again.close()
    third = make_job(f"{s3}/out", tmp_path)  # resuming twice uploads nothing twice
    assert third.flush(timeout=30)
    assert worker_files(third) == files
    third.close()


def test_s3_outage_mid_session_then_everything_uploads(tmp_path, monkeypatch):
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    storage.s3_client().create_bucket(Bucket="outage")
    states = []
    job = make_job("s3://outage/out", tmp_path, retry_max_delay=0.5)
    job.on_change(lambda: states.append(job.sync_status()["state"]))
    job.submit(0, "Bag")
    assert job.flush(timeout=30)
    server.stop()
    try:
        for i in range(1, 5):
            job.submit(i, CATS[i % 4])  # labeling goes on while S3 is down
        deadline = time.monotonic() + 30
        while job.sync_status()["state"] != "offline" and time.monotonic() < deadline:
            time.sleep(0.05)
        status = job.sync_status()
        assert status["state"] == "offline" and status["pending"] == 4
        assert "offline" in status["message"]
    finally:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
    try:
        assert job.flush(timeout=60)
        assert "offline" in states
        out = read_lines("s3://outage/out/fashion-job/manifests/output/output.manifest")
        assert [o.get("fashion-job") for o in out] == [0, 1, 2, 3, 0, None]
        assert len(worker_files(job)) == 5
    finally:
        job.close()
        server.stop()


def test_labels_frame_and_output_frame(tmp_path):
    job = make_job(tmp_path / "out", tmp_path)
    job.submit(1, "Eyewear", time_spent=3)
    labels = job.labels
    assert list(labels.columns) == ["object_id", "source", "worker_id", "label", "accepted", "submitted", "time_spent"]
    assert labels.iloc[0].to_dict()["label"] == "Eyewear"
    assert labels.iloc[0]["source"] == "s3://course/fashion/002.jpg"
    out = job.to_manifest()
    assert len(out) == 6
    assert out.gt.label_attributes == {"fashion-job": "groundtruth/image-classification"}
    job.close()


@pytest.mark.parametrize("kwargs, message", [
    ({"categories": ["Bag"]}, "at least 2 categories"),
    ({"categories": ["Bag", "Bag"]}, "appears twice"),
    ({"worker_id": "  "}, "worker_id is empty"),
    ({"label_attribute": "bad_name"}, "letters, digits and single hyphens"),
    ({"label_attribute": "x-metadata"}, "may not end in '-metadata'"),
])
def test_bad_configuration_is_refused_with_a_fix(tmp_path, kwargs, message):
    with pytest.raises(JobError, match=re.escape(message)):
        make_job(tmp_path / "out", tmp_path, **kwargs)


def test_bad_answers_are_refused(tmp_path):
    job = make_job(tmp_path / "out", tmp_path)
    with pytest.raises(JobError, match="not a category"):
        job.submit(0, "Sock")
    with pytest.raises(JobError, match="single-label"):
        job.submit(0, ["Bag", "Watch"])
    with pytest.raises(JobError, match="not in this job's queue"):
        job.submit(99, "Bag")
    assert job.progress()["labeled"] == 0
    job.close()


def test_label_category_file(tmp_path):
    doc = {"document-version": "2018-11-28", "labels": [{"label": c} for c in CATS]}
    path = tmp_path / "categories.json"
    path.write_bytes(orjson.dumps(doc))
    job = make_job(tmp_path / "out", tmp_path, categories=str(path))
    assert job.categories == CATS
    job.close()


def test_submissions_from_threads_are_all_journaled(tmp_path):
    job = make_job(tmp_path / "out", tmp_path, input=input_frame(40))
    threads = [threading.Thread(target=job.submit, args=(i, CATS[i % 4])) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    job.close(timeout=0)
    again = make_job(tmp_path / "out", tmp_path, input=input_frame(40))
    assert again.progress()["labeled"] == 40
    assert again.flush(timeout=60)
    assert len(worker_files(again)) == 40
    again.close()


def test_a_store_that_lost_its_files_gets_them_again(tmp_path):
    import shutil

    job = make_job(tmp_path / "out", tmp_path)
    job.submit(0, "Bag")
    job.submit(1, "Watch")
    assert job.flush(timeout=30)
    job.close()
    shutil.rmtree(tmp_path / "out")  # the student deleted the local S3 folder, kept the journal
    again = make_job(tmp_path / "out", tmp_path)
    assert again.flush(timeout=30)
    assert len(worker_files(again)) == 2
    again.close()


def test_two_notebooks_on_one_journal_keep_each_others_answers_and_undo_only_their_own(tmp_path):
    a = make_job(tmp_path / "out", tmp_path, input=input_frame(60))
    b = make_job(tmp_path / "out", tmp_path, input=input_frame(60))  # a second tab: same worker, same journal
    a.submit("1", "Bag")
    b.submit("50", "Watch")
    b.submit("51", "Watch")
    assert a.undo() == "1"
    assert a.flush(timeout=30) and b.flush(timeout=30)
    labeled = {i for i, o in enumerate(read_lines(a.output_manifest_uri)) if "fashion-job" in o}
    assert labeled == {50, 51}  # whoever wrote the manifest last, it holds both notebooks' answers
    a.close(), b.close()

    again = make_job(tmp_path / "out", tmp_path, input=input_frame(60))
    assert again.answer("1") is None
    assert again.answer("50") == ["Watch"] and again.answer("51") == ["Watch"]
    assert sorted(f.split("/")[-2] for f in worker_files(again)) == ["50", "51"]
    again.close()


@pytest.mark.parametrize("flip", ["digit of the submission time", "quote of a key"])
def test_a_damaged_journal_line_is_skipped_and_the_store_keeps_the_answer(tmp_path, flip):
    job = make_job(tmp_path / "out", tmp_path)
    job.submit(0, "Bag")
    job.submit(1, "Eyewear")
    job.submit(2, "Watch")
    assert job.flush(timeout=30)
    job.close()
    path = job.journal.path
    lines = path.read_bytes().splitlines(keepends=True)
    n = next(i for i, line in enumerate(lines) if b'"answer"' in line and b'"id":"1"' in line)
    line = bytearray(lines[n])
    at = line.index(b'"submitted":"') + len(b'"submitted":"') + 2 if flip.startswith("digit") else line.index(b'"value"')
    line[at] = ord("x")
    lines[n] = bytes(line)
    path.write_bytes(b"".join(lines))

    with pytest.warns(UserWarning, match=re.escape(f"{path}:{n + 1}: damaged journal record")):
        again = make_job(tmp_path / "out", tmp_path)
    assert again.answer("1") == ["Eyewear"]  # the store knows what the journal cannot say
    assert again.flush(timeout=30)
    assert len(worker_files(again)) == 3  # a damaged record never deletes a file
    assert read_lines(again.output_manifest_uri)[1]["fashion-job-metadata"]["class-name"] == "Eyewear"
    again.close()


def test_an_edited_input_manifest_is_refused_instead_of_moving_answers(tmp_path):
    job = make_job(tmp_path / "out", tmp_path)
    job.submit(0, "Bag")
    job.submit(1, "Watch")
    assert job.flush(timeout=30)
    job.close()
    inserted = pd.concat([input_frame(1, prefix="s3://course/new"), input_frame()], ignore_index=True)
    with pytest.raises(JobError, match=r"line 1 now holds 's3://course/new/001.jpg', which it did not have "
                                       r"\(it had 6 lines, the input has 7\).*Open the job with the input"):
        make_job(tmp_path / "out", tmp_path, input=inserted)

    # a job folder without the input's record (made before it existed): the journal still knows
    storage.delete(storage.join(job.job_dir, "gtwidgets", "input.json"))
    with pytest.raises(JobError, match=r"the answer for object 0 was given to another data object than line 1 "
                                       r"of the input now holds \('s3://course/new/001.jpg'\) \(that object is line 2 now\)"):
        make_job(tmp_path / "out", tmp_path, input=inserted)

    longer = make_job(tmp_path / "out", tmp_path, input=input_frame(8))  # lines added at the end are fine
    assert longer.answer("0") == ["Bag"] and longer.answer("1") == ["Watch"]
    longer.close()


def test_an_output_that_cannot_be_written_is_refused_when_the_job_opens(tmp_path, s3):
    from gtwidgets.errors import PermanentStorageError

    with pytest.raises(PermanentStorageError, match=r"cannot use output 's3://no-such-bucket-here/jobs'.*"
                                                    r"bucket 'no-such-bucket-here' does not exist; create it"):
        make_job("s3://no-such-bucket-here/jobs", tmp_path)
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(PermanentStorageError, match=r"cannot create its folder \(Not a directory\); "
                                                    r"choose an output you can write to"):
        make_job(tmp_path / "a-file" / "out", tmp_path)


def test_a_store_that_refuses_for_good_is_an_error_not_offline(tmp_path, s3):
    job = make_job(f"{s3}/out", tmp_path)
    job.submit(0, "Bag")
    assert job.flush(timeout=30)
    client = storage.s3_client()
    bucket = s3[5:]
    for o in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        client.delete_object(Bucket=bucket, Key=o["Key"])
    client.delete_bucket(Bucket=bucket)  # someone removed the bucket mid-session

    job.submit(1, "Watch")
    assert job.flush(timeout=None) is False  # returns (no timeout given): retrying cannot help
    status = job.sync_status()
    assert status["state"] == "error" and status["pending"] == 1
    assert f"bucket {bucket!r} does not exist" in status["message"]
    assert job.answer("1") == ["Watch"]  # labeling goes on against the journal
    job.close(timeout=0)


def test_a_journal_written_before_task_types_replays(tmp_path):
    """Journals of earlier versions hold answers and decisions as "labels"; a job opens them unchanged."""
    import hashlib

    from gtwidgets.journal import Journal

    job = make_job(tmp_path / "out", tmp_path)
    path = job.journal.path
    job.close()
    path.unlink()
    src = [hashlib.sha1(s.encode()).hexdigest()[:8] for s in input_frame()["source-ref"]]
    first = {"op": "answer", "id": "0", "labels": ["Bag"], "worker": "alice",
             "accepted": "2024-01-01T09:59:58.000000", "submitted": "2024-01-01T10:00:00.000000",
             "spent": 2.0, "key": "2024-01-01_10:00:00.json", "src": src[0]}
    journal = Journal(path)
    journal.append(first)
    journal.append({**first, "labels": ["Watch"], "submitted": "2024-01-01T10:00:05.000000",
                    "key": "2024-01-01_10:00:05.json", "prev": {k: v for k, v in first.items() if k != "src"}})
    journal.append({"op": "answer", "id": "1", "labels": ["Eyewear"], "worker": "alice",
                    "accepted": "2024-01-01T10:01:00.000000", "submitted": "2024-01-01T10:01:01.000000",
                    "spent": 1.0, "key": "2024-01-01_10:01:01.json", "src": src[1]})
    journal.append({"op": "skip", "id": "2", "src": src[2]})
    journal.append({"op": "adjudicate", "id": "3", "labels": ["Flipflop"], "reviewer": "rita",
                    "time": "2024-01-01T11:00:00.000000"})
    journal.close()

    job = make_job(tmp_path / "out", tmp_path)
    assert job.answer("0") == ["Watch"] and job.answer("1") == ["Eyewear"]
    assert job.progress()["skipped"] == 1
    assert job.adjudications["label"].tolist() == ["Flipflop"]
    assert job.undo() == "2" and job.undo() == "1"
    assert job.answer("1") is None
    assert job.flush(timeout=30)
    lines = read_lines(job.output_manifest_uri)
    assert lines[0]["fashion-job-metadata"]["class-name"] == "Watch"
    assert lines[3]["fashion-job-metadata"]["confidence"] == 1
    assert [f.replace("\\", "/").rsplit("/", 2)[-2:] for f in worker_files(job)] == [["0", "2024-01-01_10:00:05.json"]]
    job.close()


def test_a_failing_listener_is_logged_and_labeling_goes_on(tmp_path, caplog):
    job = make_job(tmp_path / "out", tmp_path)

    def broken():
        raise RuntimeError("view bug")

    job.on_change(broken)
    with caplog.at_level("ERROR", logger="gtwidgets.job"):
        job.submit(0, "Bag")
    assert job.answer(0) == ["Bag"]
    assert any("listener" in r.getMessage() and r.exc_info and "view bug" in str(r.exc_info[1])
               for r in caplog.records)
    job.close()


def test_task_names_the_task_type_and_defaults_as_before(tmp_path):
    job = make_job(tmp_path / "out", tmp_path, task="image-classification-multilabel")
    assert job.multi_label and job.task_type == "groundtruth/image-classification-multilabel"
    job.submit(0, ["Bag", "Watch"])
    assert job.answer(0) == ["Bag", "Watch"]
    job.close()
    with pytest.raises(JobError, match="not a task type here"):
        make_job(tmp_path / "out2", tmp_path, task="bounding-circles")
