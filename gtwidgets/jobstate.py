"""A job's state, from its journal records alone: answers, skips, decisions, undo, catch-up.

Pure: records in, answers out, no storage. The journal (``gtwidgets.journal``) holds the
records; a job replays them when it opens (``take(rec, own=True, strict=True)``) and takes
what another notebook on the same journal appended since (``take(rec, own=False)``). What
the output store holds comes in as plain values (``settle_own``, ``set_others``,
``set_store_decisions``) and the upload bookkeeping (what is dirty, what is synced) goes out
as plain values (``pending_answers``, ``pending_decisions``).

Record shapes (one JSON object a line)::

    {"op": "answer", "id", "value", "worker", "accepted", "submitted", "spent", "key", "src", "prev"?}
    {"op": "skip", "id", "src"}        {"op": "undo", "target": <seq>}
    {"op": "adjudicate", "id", "labels", "reviewer", "time"}     {"op": "withdraw", "id"}
    {"op": "synced", "id", "have": [key, token] | null}   {"op": "decision-synced", "id", "key"}
    {"op": "consolidated", "id", "token", "label", "date"}       (a custom task's Lambda label)
    {"op": "machine_labels", "round", "ids", "classes", "confidences", "threshold", "to_humans", ...}
        (one automated-labeling round, ``gtwidgets.job_autolabel``)

Answers journaled before task types carried ``"labels"`` instead of ``"value"``; they replay
as the same value. A decision's ``labels`` is the task type's JSON value (the name is the
decision files' format, shared with other kernels).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping

import orjson

from .decisions import DecisionWork, latest, store_order, stored_as
from .errors import JobError
from .journal import JournalWarning
from .output_layout import format_time, parse_time, response_key
from .tasktypes import TaskType

__all__ = ["Answer", "JobState", "make_answer", "EPOCH"]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # an answer without a time


@dataclass(frozen=True)
class Answer:
    """One worker's answer for one data object, as Ground Truth records it."""
    object_id: str
    worker_id: str
    value: Any                 # the task type's value (classification: a tuple of category names)
    accepted: datetime
    submitted: datetime
    time_spent: float
    key: str = field(default="", compare=False)    # file name under worker-response/<id>/
    token: str = field(default="", compare=False)  # identifies this exact answer (see make_answer)

    @property
    def labels(self) -> tuple[str, ...]:
        """Classification's category names (empty for other task types)."""
        return tuple(self.value) if isinstance(self.value, tuple) else ()


def make_answer(task: TaskType, object_id: str, worker_id: str, value: Any, accepted: datetime,
                submitted: datetime, time_spent: float, key: str) -> Answer:
    """An Answer with its token: file, submission time and value, so a same-second re-answer still uploads."""
    data = task.to_json(value)
    text = ("\x1f".join(data) if isinstance(data, list) and all(isinstance(x, str) for x in data)
            else orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode())
    token = "|".join((key, format_time(submitted), text))
    return Answer(object_id, worker_id, value, accepted, submitted, time_spent, key, token)


class JobState:
    """Answers, skips and decisions of one worker's job, and what the output store still lacks.

    ``positions``: the queue's object ids (records for other ids are ignored). ``check_record``
    raises JobError when an answer or skip record was given to another data object than the
    input now holds at its line. ``where`` names the journal in warnings.
    """

    def __init__(self, task: TaskType, positions: Mapping[str, int], *,
                 check_record: Callable[[dict], None] = lambda rec: None, where: str = "the journal"):
        self.task = task
        self.where = where
        self._positions = positions
        self._check_record = check_record
        self.answers: dict[str, Answer] = {}          # this worker's current answers
        self.skipped: set[str] = set()
        self.others: dict[str, dict[str, Answer]] = {}  # other workers' answers seen in the store
        self.adjudications: dict[str, dict] = {}      # object id -> decision made through this job
        self.others_decisions: dict[str, dict] = {}   # object id -> latest decision by other reviewers
        self.lambda_labels: dict[str, tuple] = {}     # object id -> (answers token, label, date)
        self.machine_rounds: list[dict] = []          # automated labeling's rounds, as journaled
        self.history: list[dict] = []                 # records undo can revert, oldest first
        self._by_seq: dict[int, dict] = {}            # answer and skip records undo may name
        # Upload bookkeeping: what the store holds of ours, and what changed since.
        self.synced: dict[str, tuple[str, str] | None] = {}  # object id -> (key, token) in the store
        self.dirty: set[str] = set()
        self.decisions_synced: dict[str, str | None] = {}
        self.decisions_dirty: set[str] = set()
        self.retired: dict[str, set[str]] = {}  # object id -> our files a sound record replaced
        self.stale: dict[str, set[str]] = {}    # object id -> our older files, dropped after the upload

    # ------------------------------------------------------------------ records

    def answer_record(self, object_id: str, value: Any, *, worker: str, submitted: datetime,
                      spent: float, key_worker: str | None, src: str | None) -> dict:
        """A new answer's record (``key_worker``: the worker in its file name, for team jobs)."""
        rec = {"op": "answer", "id": object_id, "value": self.task.to_json(value), "worker": worker,
               "accepted": format_time(submitted - timedelta(seconds=spent)), "submitted": format_time(submitted),
               "spent": round(spent, 3), "key": response_key(submitted, key_worker), "src": src}
        prev = self.answers.get(object_id)
        if prev is not None:
            rec["prev"] = self.record_of(prev)
        return rec

    def record_of(self, a: Answer) -> dict:
        return {"op": "answer", "id": a.object_id, "value": self.task.to_json(a.value), "worker": a.worker_id,
                "accepted": format_time(a.accepted), "submitted": format_time(a.submitted),
                "spent": a.time_spent, "key": a.key}

    def answer_from_record(self, rec: dict) -> Answer:
        submitted = parse_time(rec["submitted"])
        value = self.task.from_json(rec["value"] if "value" in rec else rec["labels"])
        return make_answer(self.task, rec["id"], rec["worker"], value, parse_time(rec["accepted"]), submitted,
                           float(rec.get("spent", 0.0)), rec.get("key") or response_key(submitted))

    def take(self, rec: dict, *, own: bool, strict: bool = False) -> bool:
        """Apply one journal record; ``own`` ones join the history this instance's undo walks back.

        A record for another data object than the input now has at its line raises JobError
        when ``strict`` (opening the job); any unusable record is skipped with a warning.
        Returns whether it changed an answer, skip or decision (not only upload bookkeeping).
        """
        op = rec.get("op")
        try:
            if op == "undo":
                target = self._by_seq.pop(rec.get("target"), None)
                if target is None:
                    return False
                self._revert(target)
                if self.history and self.history[-1] is target:
                    self.history.pop()
                else:  # the other notebook undid a record both had replayed
                    self.history = [h for h in self.history if h is not target]
                return True
            if op in ("answer", "skip"):
                if rec.get("id") not in self._positions:
                    return False
                self._check_record(rec)
            self._apply(rec)
            if op in ("answer", "skip"):
                self._by_seq[rec["seq"]] = rec
                if own:
                    self.history.append(rec)
            return op not in ("synced", "decision-synced")
        except JobError as e:
            if strict:
                raise
            warnings.warn(str(e), JournalWarning, stacklevel=3)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            warnings.warn(f"{self.where}: record seq={rec.get('seq')!r} cannot be used "
                          f"({type(e).__name__}: {e}); skipped, the output store says the rest.",
                          JournalWarning, stacklevel=3)
        return False

    def take_all(self, records: Iterable[dict], *, own: bool, strict: bool = False) -> bool:
        changed = False
        for rec in records:
            changed |= self.take(rec, own=own, strict=strict)
        return changed

    # ------------------------------------------------------------------ queries

    def undo_target(self) -> dict | None:
        """The record ``undo`` reverts next (this instance's last answer or skip), or None."""
        return self.history[-1] if self.history else None

    def pending_answers(self) -> list[tuple[str, Answer | None, str | None]]:
        """``(id, answer or None, file in the store or None)`` for each object whose store copy is out of date."""
        work = []
        for oid in list(self.dirty):  # only what changed: cheap however many answers there are
            a = self.answers.get(oid)
            have = self.synced.get(oid)
            if (have[1] if have else None) != (a.token if a else None):
                work.append((oid, a, have[0] if have else None))
            else:
                self.dirty.discard(oid)
        work.sort(key=lambda w: self._positions.get(w[0], 0))
        return work

    def pending_decisions(self) -> list[DecisionWork]:
        work = []
        for oid in list(self.decisions_dirty):
            decision = self.adjudications.get(oid)
            have = self.decisions_synced.get(oid)
            if not (stored_as(have, decision) if decision else have is None):
                work.append(DecisionWork(oid, decision, have))
            else:
                self.decisions_dirty.discard(oid)
        return work

    def all_decisions(self) -> dict[str, dict]:
        """Every standing decision: ours (with its place in the store's order) and other reviewers'."""
        ids = set(self.adjudications) | set(self.others_decisions)
        return {oid: latest([self._own_decision(oid), self.others_decisions.get(oid)]) for oid in ids}

    # ------------------------------------------------------------------ what the store holds

    def settle_own(self, mine: Mapping[str, list[Answer]]) -> tuple[bool, list[tuple[str, str]]]:
        """One file of this worker per object: the newest answer wins (by submission time).

        ``mine``: this worker's answers found in the store, by object. Another notebook with
        its own journal may have answered later; its answer is adopted. Returns whether an
        answer changed, and the files to delete: an older file of ours goes only when a sound
        journal record retired it or a newer answer of ours is in the store; one older than an
        answer still to upload goes after that upload (``stale``).
        """
        changed, drop = False, []
        for oid, have in list(self.synced.items()):
            if have and have[0] not in {a.key for a in mine.get(oid, ())}:
                self.synced[oid] = None
                self.dirty.add(oid)  # the store lost it (a deleted bucket): upload again
        for oid, files in mine.items():
            current = self.answers.get(oid)
            retired = self.retired.get(oid, set()) - {current.key if current else None}
            best = max((a for a in files if a.key not in retired), key=_newness, default=None)
            if best is not None and (current is None or _newness(best) > _newness(current)):
                current = self.answers[oid] = best
                self.synced[oid] = (best.key, best.token)
                self.dirty.add(oid)
                changed = True
            keep = current.key if current else None
            in_store = any(a.key == keep for a in files)
            for a in files:
                if a.key == keep:
                    continue
                if a.key in retired or in_store:
                    drop.append((oid, a.key))
                elif current is not None:
                    self.stale.setdefault(oid, set()).add(a.key)
        return changed, drop

    def set_others(self, found: Mapping[str, list[Answer]], worker_id: str, changed: set[str] | None = None) -> None:
        """Other workers' answers in the store: each worker's latest per object.

        ``changed``: the objects ``found`` is about (the others stay as they are); None: all of them.
        """
        others: dict[str, dict[str, Answer]] = {} if changed is None else dict(self.others)
        for oid in changed or ():
            others.pop(oid, None)
        for oid, answers in found.items():
            for a in answers:
                if not a.worker_id or a.worker_id == worker_id:
                    continue
                if a.worker_id not in others.setdefault(oid, {}) or others[oid][a.worker_id].submitted < a.submitted:
                    others[oid][a.worker_id] = a
        self.others = others

    def decisions_lost(self, found: Mapping[str, Mapping[str, dict]]) -> None:
        """Our decisions the store no longer has (a deleted bucket): write them again."""
        for oid, key in list(self.decisions_synced.items()):
            if key and key not in found.get(oid, {}):
                self.decisions_synced[oid] = None
                self.decisions_dirty.add(oid)

    def set_store_decisions(self, found: Mapping[str, Mapping[str, dict]]) -> None:
        """Other reviewers' decisions from the store (ours are known from the journal)."""
        others: dict[str, dict] = {}
        for oid, files in found.items():
            if oid not in self._positions:
                continue
            synced, mine = self.decisions_synced.get(oid), self.adjudications.get(oid)
            decision = latest(d for key, d in files.items() if key != synced and not (mine and stored_as(key, mine)))
            if decision is not None:
                others[oid] = decision
        self.others_decisions = others

    # ------------------------------------------------------------------ internals

    def _apply(self, rec: dict) -> None:
        op = rec["op"]
        if "id" in rec:
            self.dirty.add(rec["id"])
        if op == "answer":
            prev = rec.get("prev")
            if prev and prev.get("key") != rec.get("key"):
                self.retired.setdefault(rec["id"], set()).add(prev["key"])
            self.answers[rec["id"]] = self.answer_from_record(rec)
            self.skipped.discard(rec["id"])
        elif op == "skip":
            self.skipped.add(rec["id"])
        elif op in ("adjudicate", "withdraw"):
            if op == "adjudicate":
                self.adjudications[rec["id"]] = rec
            else:
                self.adjudications.pop(rec["id"], None)
            self.decisions_dirty.add(rec["id"])
        elif op == "consolidated":
            self.lambda_labels[rec["id"]] = (rec["token"], rec["label"], rec["date"])
        elif op == "machine_labels":
            n = len(rec["ids"])
            if len(rec["classes"]) != n or len(rec["confidences"]) != n or not isinstance(rec["to_humans"], list) \
                    or not isinstance(rec["threshold"], dict) or not isinstance(rec["round"], int):
                raise ValueError("a machine_labels record needs ids, classes and confidences of one length, "
                                 "to_humans, threshold and round")
            self.machine_rounds.append(rec)
        elif op == "decision-synced":
            self.decisions_synced[rec["id"]] = rec.get("key")
        elif op == "synced":
            have = rec.get("have")
            self.synced[rec["id"]] = tuple(have) if have else None

    def _revert(self, target: dict) -> None:
        oid = target["id"]
        self.dirty.add(oid)
        if target["op"] == "answer":
            current = self.answers.get(oid)
            if current is None or current.token != self.answer_from_record(target).token:
                return  # a later answer (from another notebook on this journal) stands
            prev = target.get("prev")
            if prev:
                self.answers[oid] = self.answer_from_record(prev)
            else:
                self.answers.pop(oid, None)
            if not prev or prev.get("key") != target.get("key"):
                self.retired.setdefault(oid, set()).add(current.key)
        elif target["op"] == "skip":
            self.skipped.discard(oid)

    def _own_decision(self, oid: str) -> dict | None:
        """The decision made through this job, with its place in the store's order (none yet: last)."""
        mine = self.adjudications.get(oid)
        synced = self.decisions_synced.get(oid)
        return {**mine, "order": store_order(synced)} if mine and stored_as(synced, mine) else mine


def _newness(a: Answer) -> tuple:
    """Order of two answers of one worker: submission time to the millisecond (what the store keeps), then file."""
    t = a.submitted
    return t.replace(microsecond=t.microsecond // 1000 * 1000), a.key
