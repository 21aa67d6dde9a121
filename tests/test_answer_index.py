"""The index beside a team job's answer files: rebuilt from the files, safe with several writers,
falls back to the files when damaged, and what makes a re-open read a few objects, not every file."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import orjson
import pandas as pd
import pytest

from gtwidgets import LabelingJob, storage
from gtwidgets.answer_index import AnswerIndex
from gtwidgets.responses import scan_object_files

CATS = ["cat", "dog", "bird"]


def parse(body: bytes) -> list:
    doc = orjson.loads(body)
    if not isinstance(doc, dict) or not isinstance(doc.get("answers"), list):
        raise ValueError("not a worker response")
    return doc["answers"]


def response(worker: str, label: str) -> bytes:
    return orjson.dumps({"answers": [{"answerContent": {"crowd-image-classifier": {"label": label}},
                                      "workerId": worker, "submissionTime": "2024-01-01T10:00:00.000Z"}]})


def paths(root: str) -> tuple[str, str]:
    return (storage.join(root, "annotations", "worker-response", "iteration-1"),
            storage.join(root, "annotations", "worker-response-index", "iteration-1"))


def index(root: str, writer: str = "reader") -> AnswerIndex:
    files, idx = paths(root)
    return AnswerIndex(files, idx, writer=writer, parse=parse)


def ground_truth_files(root: str, n: int, workers=("ann", "bob")) -> None:
    """Only Ground Truth's files, as its own tools (or an older gtwidgets) leave them."""
    files, _ = paths(root)
    for i in range(n):
        for w in workers:
            storage.write_bytes(storage.join(files, str(i), f"2024-01-01_10:00:00_{w}.json"),
                                response(w, CATS[i % 3]))


def frame(n):
    return pd.DataFrame({"source-ref": [f"s3://pets/{i}.jpg" for i in range(n)]})


def job_for(output, tmp_path, worker, n, **kw):
    return LabelingJob("pets", input=frame(n), categories=CATS, output=output, worker_id=worker,
                       journal_dir=tmp_path / worker, workers_per_object=3, **kw)


def test_an_index_is_built_from_the_files_alone(tmp_path):
    root = str(tmp_path / "pets")
    ground_truth_files(root, 5)
    first = index(root)
    found = first.scan()
    assert first.rebuilds == 1  # no index yet: one scan of the files, which writes a checkpoint
    assert found == scan_object_files(paths(root)[0], cache={}, parse=parse)
    assert sum(len(v) for v in found.values()) == 10
    again = index(root)
    assert again.scan() == found and again.rebuilds == 0


def test_a_job_with_only_ground_truth_files_opens_and_sees_every_answer(tmp_path):
    out = str(tmp_path / "out")
    ground_truth_files(storage.join(out, "pets"), 4)
    cyd = job_for(out, tmp_path, "cyd", 4)
    answers = cyd.all_answers()
    assert sorted(answers["worker_id"].unique()) == ["ann", "bob"] and len(answers) == 8
    cyd.submit(0, "cat")
    assert cyd.flush(30)
    cyd.close()
    dan = index(storage.join(out, "pets"), writer="dan")
    assert len(dan.scan()["0"]) == 3 and dan.rebuilds == 0  # cyd's answer came through the index


def test_writes_and_deletes_are_indexed(tmp_path):
    root = str(tmp_path / "pets")
    ann = index(root, "ann")
    ann.scan()
    files, _ = paths(root)
    for i in range(3):
        body = response("ann", "cat")
        storage.write_bytes(storage.join(files, str(i), "a.json"), body)
        ann.wrote(str(i), "a.json", body)
    ann.commit()
    storage.delete(storage.join(files, "1", "a.json"))
    ann.deleted("1", "a.json")
    ann.commit()
    seen = index(root).scan()
    assert sorted(seen) == ["0", "2"]
    assert seen == scan_object_files(files, cache={}, parse=parse)


@pytest.mark.parametrize("damage", ["missing segment", "damaged segment", "damaged checkpoint", "no heads"])
def test_a_damaged_index_falls_back_to_the_files(tmp_path, damage):
    root = str(tmp_path / "pets")
    ground_truth_files(root, 3)
    ann = index(root, "ann")
    ann.scan()
    files, idx = paths(root)
    for i in range(3, 6):  # three segments after the checkpoint
        body = response("ann", "dog")
        storage.write_bytes(storage.join(files, str(i), "a.json"), body)
        ann.wrote(str(i), "a.json", body)
        ann.commit()
    segments = storage.list_files(storage.join(idx, "chains"))
    checkpoint = storage.list_files(storage.join(idx, "checkpoints"))[0]
    if damage == "missing segment":
        storage.delete(segments[1])
    elif damage == "damaged segment":
        storage.write_bytes(segments[1], storage.read_bytes(segments[1])[:-20])  # cut short
    elif damage == "damaged checkpoint":
        storage.write_bytes(checkpoint, b"{not json")
    else:
        storage.delete(storage.join(idx, "heads.json"))
    reader = index(root)
    found = reader.scan()
    assert reader.rebuilds == 1
    assert sorted(found, key=int) == [str(i) for i in range(6)]  # not one answer lost
    assert found == scan_object_files(files, cache={}, parse=parse)
    later = index(root, "later")
    assert later.scan() == found and later.rebuilds == 0  # the rebuild's checkpoint covers the damage


WRITER = textwrap.dedent("""
    import sys
    import orjson
    from gtwidgets import answer_index, storage
    answer_index.CHECKPOINT_EVERY = 4  # checkpoints too, while the other process appends
    worker, root, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    files = storage.join(root, "annotations", "worker-response", "iteration-1")
    idx = storage.join(root, "annotations", "worker-response-index", "iteration-1")
    def parse(body):
        return orjson.loads(body)["answers"]
    index = answer_index.AnswerIndex(files, idx, writer=worker, parse=parse)
    index.scan()
    for i in range(n):
        body = orjson.dumps({"answers": [{"answerContent": {"c": {"label": "cat"}}, "workerId": worker}]})
        name = f"2024-01-01_10:00:00_{worker}.json"
        storage.write_bytes(storage.join(files, str(i), name), body, if_none_match=True)
        index.wrote(str(i), name, body)
        if i % 3 == 2:
            index.commit()  # one segment per batch of three
            index.scan()
    index.commit()
    print("done", worker)
""")


@pytest.mark.parametrize("where", ["moto", "folder"])
def test_two_processes_appending_at_once_lose_nothing(where, request, tmp_path):
    root = f"{request.getfixturevalue('s3')}/jobs/pets" if where == "moto" else str(tmp_path / "pets")
    n = 40
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, w, root, str(n)], env={**os.environ},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in ("ann", "bob")]
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-2000:]
    reader = index(root)
    found = reader.scan()
    assert reader.rebuilds == 0
    seen = [(oid, e["workerId"]) for oid, by_name in found.items() for entries in by_name.values() for e in entries]
    assert len(seen) == 2 * n and len(set(seen)) == 2 * n  # every answer, each once
    assert found == scan_object_files(paths(root)[0], cache={}, parse=parse)


def test_a_reopened_job_reads_the_index_not_every_file(s3, tmp_path):
    out = f"{s3}/jobs"
    n = 40
    for w in ("ann", "bob"):
        j = job_for(out, tmp_path, w, n)
        for i in range(n):
            j.submit(i, CATS[i % 3])
        assert j.flush(60)
        j.close()

    calls: dict[str, int] = {}

    def count(event_name, **kwargs):
        op = event_name.rsplit(".", 1)[-1]
        calls[op] = calls.get(op, 0) + 1

    events = storage.s3_client().meta.events
    events.register("before-call.s3", count)
    try:
        cyd = job_for(out, tmp_path, "cyd", n)  # a kernel restart: a new job object
        assert len(cyd.all_answers()) == 2 * n
        opened = dict(calls)
        calls.clear()
        cyd.refresh()
        refreshed = dict(calls)
        cyd.close()
        calls.clear()
        files_only = job_for(out, tmp_path, "dan", n, answer_index=False)
        baseline = dict(calls)
        files_only.close()
    finally:
        events.unregister("before-call.s3", count)
    # heads.json and one checkpoint or a few segments per index, not the 80 answer files
    assert opened.get("GetObject", 0) <= 12, opened
    assert opened.get("ListObjectsV2", 0) == 0, opened
    assert refreshed == {"GetObject": 2}, refreshed  # heads.json of the answers and of the decisions
    assert baseline.get("GetObject", 0) >= 2 * n, baseline
