"""Several annotators on one job: queues, concurrent writers on S3, consolidation, review."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import orjson
import pandas as pd
import pytest

from gtwidgets import LabelingJob, storage
from gtwidgets.errors import JobError
from gtwidgets.responses import read_worker_responses

CATS = ["cat", "dog", "bird"]


def frame(n):
    return pd.DataFrame({"source-ref": [f"s3://pets/{i}.jpg" for i in range(n)]})


def job_for(output, tmp_path, worker, n=6, **kw):
    return LabelingJob("pets", input=frame(n), categories=CATS, output=output, worker_id=worker,
                       journal_dir=tmp_path / worker, **kw)


def test_workers_per_object_is_checked(tmp_path):
    with pytest.raises(JobError, match="1 to 9"):
        job_for(str(tmp_path), tmp_path, "a", workers_per_object=10)


def test_a_worker_sees_only_what_still_needs_them(tmp_path):
    out = str(tmp_path / "out")
    a = job_for(out, tmp_path, "ann", workers_per_object=2)
    b = job_for(out, tmp_path, "bob", workers_per_object=2)
    for i in range(3):
        a.submit(i, "cat")
        b.submit(i, "dog")
    assert a.flush(30) and b.flush(30)
    c = job_for(out, tmp_path, "cyd", workers_per_object=2)
    # objects 0-2 have their two answers: not cyd's to do, and cyd never sees them
    assert c.next_unlabeled() == "3"
    assert c.answer("0") is None and c.progress()["total"] == 3
    assert a.answer("0") == ["cat"]  # nobody sees another's answer
    for j in (a, b, c):
        j.close()


def test_three_workers_consolidate_with_confidence(tmp_path):
    out = str(tmp_path / "out")
    votes = {"ann": ["cat", "dog", "bird", "cat"], "bob": ["cat", "dog", "cat", "dog"],
             "cyd": ["cat", "cat", "bird", "bird"]}
    jobs = [job_for(out, tmp_path, w, n=4, workers_per_object=3) for w in votes]
    for j, (w, answers) in zip(jobs, votes.items()):
        for i, ans in enumerate(answers):
            j.submit(i, ans)
        assert j.flush(30)
    last = jobs[-1]
    last.refresh()
    assert last.flush(30)
    lines = [orjson.loads(x) for x in storage.read_bytes(last.output_manifest_uri).splitlines()]
    assert [x["pets-metadata"]["class-name"] for x in lines[:3]] == ["cat", "dog", "bird"]
    confidences = [x["pets-metadata"]["confidence"] for x in lines]
    assert all(0 < c <= 0.95 for c in confidences)
    assert confidences[0] >= confidences[1]  # unanimous beats 2-1
    table = read_worker_responses(last.job_dir)
    assert len(table) == 12 and not table.duplicated(["object_id", "worker_id"]).any()
    for j in jobs:
        j.close()


def test_adjudication_wins_in_the_output(tmp_path):
    out = str(tmp_path / "out")
    a = job_for(out, tmp_path, "ann", n=2, workers_per_object=2)
    b = job_for(out, tmp_path, "bob", n=2, workers_per_object=2)
    a.submit(0, "cat")
    b.submit(0, "dog")
    assert a.flush(30) and b.flush(30)
    a.refresh()
    a.adjudicate(0, "dog", reviewer="teacher")
    assert a.flush(30)
    line = orjson.loads(storage.read_bytes(a.output_manifest_uri).splitlines()[0])
    assert line["pets"] == 1 and line["pets-metadata"]["class-name"] == "dog"
    assert a.adjudications.iloc[0][["object_id", "label", "reviewer"]].tolist() == ["0", "dog", "teacher"]
    a.close()
    again = job_for(out, tmp_path, "ann", n=2, workers_per_object=2)  # the decision survives a restart
    assert again.adjudications["reviewer"].tolist() == ["teacher"]
    again.close()
    b.close()


WORKER = textwrap.dedent("""
    import random, sys
    import pandas as pd
    from gtwidgets import LabelingJob
    worker, output, n, home = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    frame = pd.DataFrame({"source-ref": [f"s3://pets/{i}.jpg" for i in range(n)]})
    job = LabelingJob("pets", input=frame, categories=["cat", "dog", "bird"], output=output,
                      worker_id=worker, workers_per_object=3, journal_dir=home, manifest_interval=0)
    order = list(range(n))
    random.Random(worker).shuffle(order)
    for i in order:
        job.submit(i, ["cat", "dog", "bird"][(i + len(worker)) % 3])
    assert job.flush(120), job.sync_status()
    job.close()
    print("done", worker)
""")


def test_concurrent_workers_on_s3_lose_nothing(s3, tmp_path):
    n = 30
    output = f"{s3}/jobs"
    env = {**os.environ}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, w, output, str(n), str(tmp_path / w)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in ("ann", "bobby", "cy")]
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-2000:]
    table = read_worker_responses(f"{output}/pets")
    assert len(table) == 3 * n
    assert not table.duplicated(["object_id", "worker_id"]).any()
    assert set(table["worker_id"]) == {"ann", "bobby", "cy"}
    # the output manifest, written by three racing writers with If-Match, holds every object consolidated
    lines = [orjson.loads(x) for x in storage.read_bytes(f"{output}/pets/manifests/output/output.manifest").splitlines()]
    assert len(lines) == n
    assert all("pets" in line for line in lines), [i for i, line in enumerate(lines) if "pets" not in line]


NOTEBOOK = textwrap.dedent("""
    import pathlib, sys, time
    from datetime import datetime, timedelta, timezone
    import orjson, pandas as pd
    from gtwidgets import LabelingJob
    spec = orjson.loads(sys.argv[1])
    frame = pd.DataFrame({"source-ref": [f"s3://pets/{i}.jpg" for i in range(spec["n"])]})
    job = LabelingJob("pets", input=frame, categories=["cat", "dog", "bird"], output=spec["output"],
                      worker_id="ann", journal_dir=spec["journal_dir"], manifest_interval=0)
    meet = pathlib.Path(spec["meet"])
    (meet / spec["name"]).touch()
    while len(list(meet.iterdir())) < 2:  # both notebooks are open before either answers
        time.sleep(0.01)
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    for i, seconds in spec["answers"]:
        job.submit(i, spec["label"], submitted=None if seconds is None else start + timedelta(seconds=seconds))
    for _ in range(spec.get("undo", 0)):
        job.undo()
    assert job.flush(120), job.sync_status()
    job.close()
""")


def run_notebooks(tmp_path, *specs):
    """One worker's notebooks as real processes, answering at the same time."""
    meet = tmp_path / "meet"
    meet.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", NOTEBOOK, orjson.dumps({**s, "meet": str(meet)}).decode()],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for s in specs]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-2000:]


def output_for(where, tmp_path, request):
    return str(tmp_path / "out") if where == "folder" else f"{request.getfixturevalue('s3')}/jobs"


def answers_in_store(output):
    table = read_worker_responses(f"{output}/pets")
    assert not table.duplicated(["object_id", "worker_id"]).any(), "one object has two files of one worker"
    return dict(zip(table["object_id"].astype(int), table["answer"]))


@pytest.mark.parametrize("where", ["folder", "s3"])
def test_one_worker_in_two_notebooks_on_one_journal_loses_nothing(where, tmp_path, request):
    output = output_for(where, tmp_path, request)
    home = str(tmp_path / "home")  # a second tab: the same journal
    run_notebooks(tmp_path,
                  {"name": "tab1", "n": 100, "output": output, "journal_dir": home, "label": "cat",
                   "answers": [[i, None] for i in range(50)], "undo": 1},
                  {"name": "tab2", "n": 100, "output": output, "journal_dir": home, "label": "dog",
                   "answers": [[i, None] for i in range(50, 100)], "undo": 1})
    expected = {i: "cat" if i < 50 else "dog" for i in range(100) if i not in (49, 99)}  # each undid its own last
    lines = [orjson.loads(x) for x in storage.read_bytes(f"{output}/pets/manifests/output/output.manifest").splitlines()]
    assert {i: line["pets-metadata"]["class-name"] for i, line in enumerate(lines) if "pets" in line} == expected
    assert answers_in_store(output) == expected

    again = LabelingJob("pets", input=frame(100), categories=CATS, output=output, worker_id="ann", journal_dir=home)
    assert {int(o): again.answer(o)[0] for o in map(str, range(100)) if again.answer(o)} == expected
    again.close()


@pytest.mark.parametrize("where", ["folder", "s3"])
def test_one_worker_in_two_notebooks_with_own_journals_keeps_the_newest_answer(where, tmp_path, request):
    output = output_for(where, tmp_path, request)
    run_notebooks(tmp_path,  # a copied notebook (or another machine): a journal each
                  {"name": "copy1", "n": 15, "output": output, "journal_dir": str(tmp_path / "home1"),
                   "label": "cat", "answers": [[i, 10 * i] for i in range(10)]},
                  {"name": "copy2", "n": 15, "output": output, "journal_dir": str(tmp_path / "home2"),
                   "label": "dog", "answers": [[i, 10 * i + (-5 if i < 7 else 5)] for i in range(5, 15)]})
    newest = {i: "cat" if i < 7 else "dog" for i in range(15)}
    assert answers_in_store(output) == newest

    for home in ("home1", "home2"):  # re-opening either notebook reverts nothing
        again = LabelingJob("pets", input=frame(15), categories=CATS, output=output, worker_id="ann",
                            journal_dir=tmp_path / home)
        assert {i: again.answer(str(i))[0] for i in range(15)} == newest
        assert again.flush(60)
        again.close()
        assert answers_in_store(output) == newest
    lines = [orjson.loads(x) for x in storage.read_bytes(f"{output}/pets/manifests/output/output.manifest").splitlines()]
    assert [line["pets-metadata"]["class-name"] for line in lines] == [newest[i] for i in range(15)]


BAD_FILES = {   # what a broken notebook or a hand edit left in the job's folder
    "a time that is not a time": {"answers": [{"answerContent": {"crowd-image-classifier": {"label": "cat"}},
                                               "workerId": "zed", "submissionTime": "yesterday"}]},
    "answers that are not answers": {"answers": [1, "x"]},
    "no answerContent": {"answers": [{"workerId": "zed", "submissionTime": "2024-01-01T00:00:00.000Z"}]},
    "a typo for a category": {"answers": [{"answerContent": {"crowd-image-classifier": {"label": "Cat"}},
                                           "workerId": "zed", "submissionTime": "2024-01-01T00:00:00.000Z"}]},
    "not JSON": b'{"answers": [',
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_one_bad_worker_response_file_stops_nobody(tmp_path, caplog, case):
    from gtwidgets.widget import LabelingWidget

    out = str(tmp_path / "out")
    bad = storage.join(out, "pets", "annotations", "worker-response", "iteration-1", "0", "2024-01-01_00:00:00_zed.json")
    body = BAD_FILES[case]
    storage.write_bytes(bad, body if isinstance(body, bytes) else orjson.dumps(body))
    jobs = [job_for(out, tmp_path, w, n=3, workers_per_object=3) for w in ("ann", "bob", "cyd")]
    for j, answer in zip(jobs, CATS):
        for i in range(3):
            j.submit(i, answer if i == 0 else "cat")
        assert j.flush(30), j.sync_status()
    last = jobs[-1]
    last.refresh()
    assert last.flush(30)
    lines = [orjson.loads(x) for x in storage.read_bytes(last.output_manifest_uri).splitlines()]
    assert [x["pets-metadata"]["class-name"] for x in lines[1:]] == ["cat", "cat"]
    assert last.consolidated().set_index("object_id").loc["0", "n_workers"] == 3  # the bad answer is not counted
    problems = last.problems
    assert problems["uri"].tolist() == [bad] and problems["reason"][0]
    logged = [r for r in caplog.records if bad in r.getMessage()]
    assert len(logged) == len(jobs)  # once per job, however often it reads the store again
    status = LabelingWidget(last).sync_status
    assert status["state"] == "problems" and bad in status["message"] and status["problems"] == 1
    for j in jobs:
        j.close()
