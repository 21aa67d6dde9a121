"""A reviewer's decision is shared through the store: it wins in whoever writes the output
manifest next, survives a lost journal, and can be withdrawn (moto S3 server)."""
from __future__ import annotations

from datetime import datetime, timedelta

import orjson
import pandas as pd
import pytest

import gtwidgets.job
from gtwidgets import storage
from gtwidgets.decisions import decision_key, latest
from gtwidgets.job import LabelingJob

CATS = ["cat", "dog", "bird"]
VOTES = {"ann": ["cat", "dog", "bird"], "bob": ["cat", "dog", "cat"], "cyd": ["cat", "cat", "bird"]}


def _job(output, journals, worker, *, journal=None):
    frame = pd.DataFrame({"source": ["a purring thing", "a barking thing", "a singing thing"]})
    return LabelingJob("pets", input=frame, categories=CATS, output=output, worker_id=worker,
                       workers_per_object=3, journal_dir=journals / (journal or worker), manifest_interval=0)


def _labels(output) -> list[str]:
    body = storage.read_bytes(storage.join(output, "pets", "manifests", "output", "output.manifest"))
    return [orjson.loads(line)["pets-metadata"]["class-name"] for line in body.splitlines()]


def test_a_decision_wins_in_another_workers_manifest_and_can_be_withdrawn(s3, tmp_path):
    output, journals = f"{s3}/jobs", tmp_path / "journals"
    jobs = {w: _job(output, journals, w) for w in VOTES}
    for w, answers in VOTES.items():
        for i, a in enumerate(answers[:2]):
            jobs[w].submit(i, a)
        assert jobs[w].flush(30)
    reviewer = _job(output, journals, "teacher")
    reviewer.adjudicate(1, "bird", reviewer="teacher")  # overrules dog (2 of 3)
    assert reviewer.flush(30)
    files = storage.list_files(f"{output}/pets/annotations/adjudication/iteration-1/1/")
    assert len(files) == 1 and orjson.loads(storage.read_bytes(files[0]))["labels"] == ["bird"]

    # A worker who never saw the review finishes the last object and writes the manifest.
    for w, answers in VOTES.items():
        jobs[w].submit(2, answers[2])
    assert all(j.flush(30) for j in jobs.values())
    assert _labels(output) == ["cat", "bird", "bird"]  # the decision stands in the worker's write
    assert jobs["cyd"].adjudications[["object_id", "label", "reviewer"]].values.tolist() == [["1", "bird", "teacher"]]

    # The reviewer's journal is lost: the decision is still known, from the store.
    reviewer.close()
    again = _job(output, journals, "teacher", journal="teacher-new-machine")
    assert again.adjudications["label"].tolist() == ["bird"]
    again.close()

    # Withdrawn through the original journal: the file goes, consolidation labels the object again.
    reviewer = _job(output, journals, "teacher")
    reviewer.withdraw_adjudication(1)
    assert reviewer.flush(30)
    assert storage.list_files(f"{output}/pets/annotations/adjudication/iteration-1/") == []
    assert reviewer.adjudications.empty
    jobs["ann"].refresh()
    assert jobs["ann"].adjudications.empty and jobs["ann"].flush(30)
    assert _labels(output) == ["cat", "dog", "bird"]
    for j in (*jobs.values(), reviewer):
        j.close()


def test_the_latest_decision_stands_and_a_changed_one_is_a_new_file():
    early = {"reviewer": "a", "labels": ["cat"], "time": "2026-12-02T10:00:00.000001Z"}
    late = {"reviewer": "b", "labels": ["dog"], "time": "2026-12-02T10:00:00.000002Z"}
    assert latest([early, None, late]) is late and latest([None]) is None
    assert decision_key(early) != decision_key({**early, "time": late["time"]})
    assert decision_key(early) != decision_key({**early, "reviewer": "b"})


class _ClockThreeHoursAhead(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + timedelta(hours=3)


@pytest.mark.parametrize("where", ["moto S3", "local folder"])
def test_the_decision_stored_last_stands_whatever_the_reviewers_clocks_say(s3, tmp_path, monkeypatch, where):
    output = f"{s3}/jobs" if where == "moto S3" else str(tmp_path / "out")
    journals = tmp_path / "journals"
    ahead, behind = _job(output, journals, "ahead"), _job(output, journals, "behind")
    with monkeypatch.context() as clock:
        clock.setattr(gtwidgets.job, "datetime", _ClockThreeHoursAhead)
        ahead.adjudicate(1, "bird")
    assert ahead.flush(30)
    behind.adjudicate(1, "dog")   # decided after "bird" was stored, by a clock 3 h behind its writer's
    assert behind.flush(30)
    stored = [orjson.loads(storage.read_bytes(uri))
              for uri in storage.list_files(f"{output}/pets/annotations/adjudication/iteration-1/1/")]
    times = {d["labels"][0]: d["time"] for d in stored}
    assert times["bird"] > times["dog"]  # by the reviewers' clocks, "bird" came last
    ahead.refresh()
    reader = _job(output, journals, "ann")
    for job in (ahead, behind, reader):
        assert job.adjudications["label"].tolist() == ["dog"], job.worker_id
    assert reader.flush(30)
    line = storage.read_bytes(f"{output}/pets/manifests/output/output.manifest").splitlines()[1]
    assert orjson.loads(line)["pets-metadata"]["class-name"] == "dog"

    ahead.adjudicate(1, "cat")    # decided again, later still: it stands (its clock is still ahead)
    assert ahead.flush(30)
    behind.refresh()
    assert behind.adjudications["label"].tolist() == ["cat"]
    ahead.withdraw_adjudication(1)  # withdrawn: the other reviewer's decision stands again
    assert ahead.flush(30)
    behind.refresh()
    assert behind.adjudications["label"].tolist() == ["dog"]
    for job in (ahead, behind, reader):
        job.close()
