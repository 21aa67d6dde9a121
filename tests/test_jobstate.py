"""A job's state from journal records alone: no storage, no journal file, no widget."""
from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone

import pytest

from gtwidgets.errors import JobError
from gtwidgets.jobstate import JobState, make_answer
from gtwidgets.journal import JournalWarning
from gtwidgets.tasktypes import TaskConfig, task_type_for

CATS = ("Bag", "Eyewear", "Flipflop", "Watch")
T0 = datetime(2024, 1, 1, 10, 0, 0, tzinfo=timezone.utc)


def new_state(multi_label=False, **kw):
    task = task_type_for("image-classification", TaskConfig("fashion", "fashion", CATS, multi_label))
    return JobState(task, {str(i): i for i in range(6)}, **kw)


def answer(state, oid, value, seq, *, second=0, worker="alice"):
    rec = state.answer_record(str(oid), state.task.check_answer(value), worker=worker,
                              submitted=T0.replace(second=second), spent=2.0, key_worker=None, src=None)
    rec["seq"] = seq
    return rec


def test_answers_and_skips_replay_from_records():
    state = new_state()
    records = [answer(state, 0, "Bag", 1), {"op": "skip", "id": "1", "seq": 2}]
    state.take_all(records, own=True, strict=True)
    assert state.answers["0"].value == ("Bag",)
    spent = state.answers["0"].submitted - state.answers["0"].accepted  # recorded in the answer, not measured
    assert spent == timedelta(0, 2)
    assert state.skipped == {"1"}
    assert state.undo_target()["op"] == "skip"


def test_a_record_journaled_with_labels_replays_as_the_same_value():
    """Journals written before task types carried "labels"; they must replay unchanged."""
    state = new_state(multi_label=True)
    old = {"op": "answer", "id": "2", "labels": ["Watch", "Bag"], "worker": "alice",
           "accepted": "2024-01-01T09:59:58.000000", "submitted": "2024-01-01T10:00:00.000000",
           "spent": 2.0, "key": "2024-01-01_10:00:00.json", "seq": 1}
    state.take(old, own=True, strict=True)
    a = state.answers["2"]
    assert a.value == ("Watch", "Bag") and a.labels == ("Watch", "Bag")
    assert state.task.display(a.value) == ["Watch", "Bag"]
    # the token, which the store's "synced" records hold, is the one the old code computed
    assert a.token == "2024-01-01_10:00:00.json|2024-01-01T10:00:00.000000|Watch\x1fBag"


def test_undo_reverts_to_the_previous_answer_and_retires_its_file():
    state = new_state()
    first = answer(state, 0, "Bag", 1, second=0)
    state.take(first, own=True)
    second = answer(state, 0, "Watch", 2, second=5)
    assert second["prev"]["value"] == ["Bag"]
    state.take(second, own=True)
    assert state.answers["0"].value == ("Watch",)
    assert state.take({"op": "undo", "target": 2, "seq": 3}, own=True)
    assert state.answers["0"].value == ("Bag",)
    assert state.retired["0"] == {first["key"], second["key"]}  # replaced, then undone
    state.take({"op": "undo", "target": 1, "seq": 4}, own=True)
    assert "0" not in state.answers and state.undo_target() is None


def test_catch_up_takes_another_notebooks_records_without_making_them_undoable_here():
    mine, theirs = new_state(), new_state()
    rec = answer(theirs, 3, "Flipflop", 1)
    theirs.take(rec, own=True)
    assert mine.take(rec, own=False)  # what journal.tail() hands over
    assert mine.answers["3"].value == ("Flipflop",) and mine.undo_target() is None
    # their undo of it reaches us too
    assert mine.take({"op": "undo", "target": 1, "seq": 2}, own=False)
    assert "3" not in mine.answers


def test_upload_bookkeeping_says_what_the_store_lacks():
    state = new_state()
    rec = answer(state, 0, "Bag", 1)
    state.take(rec, own=True)
    [(oid, a, old_key)] = state.pending_answers()
    assert (oid, old_key) == ("0", None)
    assert not state.take({"op": "synced", "id": "0", "have": [a.key, a.token], "seq": 2}, own=True)
    assert state.pending_answers() == []


def test_a_record_for_another_object_raises_when_opening_and_warns_later():
    def check(rec):
        raise JobError("moved")

    state = new_state(check_record=check)
    rec = answer(state, 0, "Bag", 1)
    with pytest.raises(JobError, match="moved"):
        state.take(rec, own=True, strict=True)
    with pytest.warns(JournalWarning, match="moved"):
        assert not state.take(rec, own=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not state.take({"op": "answer", "id": "99", "seq": 5}, own=True)  # not in the queue: ignored


def test_an_unusable_record_is_skipped_with_a_warning_naming_the_journal():
    state = new_state(where="j.jsonl")
    with pytest.warns(JournalWarning, match=r"j.jsonl: record seq=7"):
        assert not state.take({"op": "answer", "id": "0", "seq": 7}, own=True)


def test_settle_own_adopts_a_newer_answer_from_the_store_and_drops_retired_files():
    state = new_state()
    state.take(answer(state, 0, "Bag", 1, second=0), own=True)
    mine = state.answers["0"]
    newer = make_answer(state.task, "0", "alice", ("Watch",), T0, T0.replace(second=30), 1.0, "later.json")
    changed, drop = state.settle_own({"0": [mine, newer]})
    assert changed and state.answers["0"] is newer
    assert drop == [("0", mine.key)]  # the newer answer of ours is in the store already


def test_decisions_other_reviewers_and_ours_the_one_stored_last_stands():
    state = new_state()
    state.take({"op": "adjudicate", "id": "0", "labels": ["Bag"], "reviewer": "rita",
                "time": "2024-01-01T10:00:00.000000", "seq": 1}, own=True)
    assert [w.object_id for w in state.pending_decisions()] == ["0"]
    theirs = {"reviewer": "bob", "labels": ["Watch"], "time": "2024-01-01T09:00:00.000000"}
    state.set_store_decisions({"0": {"n00000001_x.json": {**theirs, "order": 1}}})
    # ours is not stored yet: it will be stored after theirs, so it stands
    assert state.all_decisions()["0"]["reviewer"] == "rita"
    state.take({"op": "withdraw", "id": "0", "seq": 2}, own=True)
    assert state.all_decisions()["0"]["reviewer"] == "bob"


def test_other_workers_answers_keep_each_workers_latest():
    state = new_state()
    a1 = make_answer(state.task, "0", "bob", ("Bag",), T0, T0, 1.0, "a.json")
    a2 = make_answer(state.task, "0", "bob", ("Watch",), T0, T0.replace(second=9), 1.0, "b.json")
    own = make_answer(state.task, "0", "alice", ("Bag",), T0, T0, 1.0, "c.json")
    state.set_others({"0": [a2, a1, own]}, "alice")
    assert state.others == {"0": {"bob": a2}}
