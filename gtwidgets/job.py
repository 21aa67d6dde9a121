"""A labeling job in the notebook: queue, answers, journal, resume, Ground Truth output layout.

The job is the truth and any widget is a view: it can be driven without a browser
(``job.submit(item, answer)``), which is how tests and notebooks under nbval use it.
Files are written where Ground Truth writes them, under ``<output>/<job-name>/``.
"""
from __future__ import annotations

import atexit
import getpass
import hashlib
import logging
import os
import random
import threading
import time
import warnings
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Mapping, Sequence

import orjson
import pandas as pd

from . import storage, tasks
from .answer_index import AnswerIndex
from .decisions import DecisionStore, DecisionWork, latest, store_order, stored_as
from .errors import ConflictError, JobError, NotFoundError, PermanentStorageError, StorageError
from .journal import Journal, JournalWarning
from .responses import answer_from_content, answer_problem, answer_time
from .sync import Uploader

__all__ = ["LabelingJob", "Answer"]

_log = logging.getLogger(__name__)

ITERATION = 1
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


@dataclass(frozen=True)
class Answer:
    """One worker's answer for one data object, as Ground Truth records it."""
    object_id: str
    worker_id: str
    labels: tuple[str, ...]
    accepted: datetime
    submitted: datetime
    time_spent: float
    key: str = field(default="", compare=False)  # file name under worker-response/<id>/

    @property
    def token(self) -> str:
        """Identifies this exact answer, so a same-second re-answer still uploads."""
        return "|".join((self.key, _fmt(self.submitted), "\x1f".join(self.labels)))

    def content(self, element: str, multi_label: bool) -> dict:
        body = {"labels": list(self.labels)} if multi_label else {"label": self.labels[0]}
        return {element: body}


class LabelingJob:
    """Classify data objects into categories, one worker at a time, the way Ground Truth does.

    Parameters
    ----------
    name: the labeling job name (Ground Truth's rule: letters, digits, single hyphens).
    input: a DataFrame from ``read_manifest`` or a manifest path / ``s3://`` URI.
    categories: a list of names, a label-category document, or the path/URI of one.
    output: a local folder or ``s3://bucket/prefix``; files go under ``<output>/<name>/``.
    label_attribute: defaults to the job name.
    worker_id: who labels; defaults to the JupyterHub user or the login name.
    workers_per_object: how many workers answer each object (1-9, as Ground Truth).
    consolidation: how several answers become one label: "dawid-skene" (Ground Truth's
        modified EM, the default), "majority", or a consolidation Lambda handler
        (``handler(event)`` or AWS-style ``handler(event, context)``), which makes this a
        custom task: its request and response files are written where Ground Truth puts them.
    prelabel: a pre-annotation Lambda handler; it gets each line as Ground Truth's event and
        returns ``taskInput`` (what the card shows) and whether a human is needed.
    panels: which ``taskInput`` field each part of a card shows (``gtwidgets.panels``);
        None lays the card out from the shape of ``taskInput``.
    journal_dir: where the local journal lives (default ``$GTWIDGETS_HOME`` or ``~/.gtwidgets``).
    answer_index: keep an index beside the answer and decision files (``gtwidgets.answer_index``),
        so that opening and refreshing a team job does not read every file; False reads the
        files alone, as Ground Truth's own tools do.

    Raises JobError for a configuration Ground Truth would refuse.
    """

    def __init__(self, name: str, *, input, categories, output: str | os.PathLike = "gt-output",
                 multi_label: bool = False, label_attribute: str | None = None,
                 instructions: str = "", full_instructions: str = "",
                 worker_id: str | None = None, workers_per_object: int = 1,
                 consolidation="dawid-skene", prelabel: Callable | None = None,
                 panels: Sequence | None = None,
                 order: str = "input", seed: int | None = None,
                 journal_dir: str | os.PathLike | None = None,
                 manifest_interval: float = 2.0, retry_max_delay: float = 30.0,
                 answer_index: bool = True):
        self.name = tasks.check_job_name(name)
        self.label_attribute = tasks.check_attribute_name(label_attribute or name)
        self.categories = _load_categories(categories)
        if len(self.categories) < 2:
            raise JobError("classification needs at least 2 categories (Ground Truth's rule); add another.")
        self.multi_label = bool(multi_label)
        self.instructions = instructions
        self.full_instructions = full_instructions
        self.worker_id = _worker_id(worker_id)
        if not isinstance(workers_per_object, int) or not 1 <= workers_per_object <= 9:
            raise JobError(f"workers_per_object={workers_per_object!r}: Ground Truth takes 1 to 9.")
        self.workers_per_object = workers_per_object
        self.consolidation = consolidation
        self.output = str(output)
        self.job_dir = storage.join(self.output, self.name)
        self.frame = _load_input(input)
        self._source_key = _source_key(self.frame)
        self.task_type = tasks.CUSTOM if callable(consolidation) else _task_type(self._source_key, self.multi_label)
        self.element = _element(self._source_key, self.multi_label)
        self.queue: list[str] = [str(i) for i in range(len(self.frame))]
        if order == "random":
            random.Random(seed).shuffle(self.queue)
        elif order != "input":
            raise JobError(f"order={order!r}: use 'input' or 'random'.")
        self.panels = list(panels) if panels is not None else None  # what a card shows (gtwidgets.panels)
        self.task_inputs: dict[str, object] = {}
        self.prelabel_errors: dict[str, str] = {}
        if prelabel is not None:
            self._prelabel(prelabel)
        self._position = {oid: i for i, oid in enumerate(self.queue)}
        self._custom_labels: dict[str, tuple] = {}  # object id -> (answers token, label, date)

        self._lock = threading.RLock()
        self._answers: dict[str, Answer] = {}        # this worker's current answers
        self._others: dict[str, dict[str, Answer]] = {}  # other workers' answers seen in the store
        self._adjudications: dict[str, dict] = {}    # object id -> decision made through this job
        self._decision_store = DecisionStore(self.job_dir, ITERATION, writer=self.worker_id if answer_index else None)
        self._decisions_synced: dict[str, str | None] = {}  # object id -> our decision file in the store
        self._decisions_dirty: set[str] = set()
        self._others_decisions: dict[str, dict] = {}  # object id -> latest decision by other reviewers
        self._store_cache: dict[str, list[dict] | None] = {}  # worker-response file -> its answers (no index)
        self._problems: dict[str, str] = {}  # worker-response file set aside -> why (job.problems)
        self._problems_logged: set[str] = set()
        self._usable_memo: dict[tuple[str, str], tuple[list, list, list]] = {}  # (id, file) -> (answers, good, why)
        self._index = AnswerIndex(
            storage.join(self.job_dir, "annotations", "worker-response", f"iteration-{ITERATION}"),
            storage.join(self.job_dir, "annotations", "worker-response-index", f"iteration-{ITERATION}"),
            writer=self.worker_id, parse=_parse_worker_response, problems=self._problems) if answer_index else None
        self._answer_memo: dict[tuple[str, str], tuple[dict, Answer]] = {}  # (id, file) -> (entry, Answer)
        self._synced: dict[str, tuple[str, str] | None] = {}  # object id -> (key, token) now in the store
        self._skipped: set[str] = set()
        self._dirty: set[str] = set()                # objects whose store copy may be out of date
        self._history: list[dict] = []               # journal records that undo can revert
        self._session_times: list[float] = []
        self._listeners: list[Callable[[], None]] = []
        self._manifest_dirty = False
        self._manifest_written_at = 0.0
        self._manifest_interval = manifest_interval
        self._input_lines: list[bytes] | None = None
        self._by_seq: dict[int, dict] = {}            # answer and skip records undo may name
        self._retired: dict[str, set[str]] = {}       # object id -> our files a sound record replaced
        self._stale: dict[str, set[str]] = {}         # object id -> our older files, dropped after the upload
        self._settle_wanted = False
        self._hashes: list[str] | None = None        # each input line's source, hashed

        missing = self._check_input()
        self.journal = Journal(self._journal_path(journal_dir))
        try:
            self._replay()
            if missing:
                self._record_input()
        except BaseException:
            self.journal.close()
            raise
        self._adopt_remote()
        self._uploader = Uploader(self, on_state=self._changed, max_delay=retry_max_delay)
        self._uploader.poke()
        _open_jobs.add(self)

    # ------------------------------------------------------------------ what a view reads

    def __len__(self) -> int:
        return len(self.queue)

    def __repr__(self) -> str:
        p = self.progress()
        return (f"<LabelingJob {self.name!r}: {p['labeled']}/{p['total']} labeled by {self.worker_id!r}, "
                f"output {self.job_dir}>")

    def item(self, object_id: str) -> dict:
        """The input manifest line of a data object."""
        from .manifests import object_from_row

        return object_from_row(self.frame, int(object_id))

    def source(self, object_id: str) -> tuple[str, str]:
        value = self.frame.at[int(object_id), self._source_key]
        return self._source_key, str(value)

    def answer(self, object_id: str) -> list[str] | None:
        a = self._answers.get(str(object_id))
        return list(a.labels) if a else None

    def existing_label(self, object_id: str) -> list[str] | None:
        """The label this attribute already has in the input manifest (a chained or re-run job)."""
        meta = self.item(object_id).get(self.label_attribute + tasks.METADATA_SUFFIX)
        if not isinstance(meta, Mapping):
            return None
        if "class-name" in meta:
            return [str(meta["class-name"])]
        if isinstance(meta.get("class-map"), Mapping):
            return [str(v) for v in meta["class-map"].values()]
        return None

    def next_unlabeled(self, after: str | None = None) -> str | None:
        start = 0 if after is None else self._position.get(str(after), -1) + 1
        n = len(self.queue)
        for k in range(n):
            oid = self.queue[(start + k) % n]
            if oid not in self._answers and self.needs_answer(oid):
                return oid
        return None

    def needs_answer(self, object_id: str) -> bool:
        """Whether this object still waits for answers (other workers may have completed it)."""
        others = self._others.get(str(object_id), {})
        return len(others) < self.workers_per_object

    def progress(self) -> dict:
        with self._lock:
            per_class = {c: 0 for c in self.categories}
            for a in self._answers.values():
                for label in a.labels:
                    per_class[label] = per_class.get(label, 0) + 1
            labeled = len(self._answers)
            total = len(self.queue)
            if self.workers_per_object > 1:  # objects others completed are not this worker's to do
                total -= sum(1 for oid in self._others if oid not in self._answers and not self.needs_answer(oid))
            recent = [t for t in self._session_times if t > time.time() - 300]
            per_minute = 0.0
            if len(recent) >= 2:
                span = max(recent[-1] - recent[0], 1e-6)
                per_minute = (len(recent) - 1) * 60.0 / span
            remaining = total - labeled
            eta = remaining * 60.0 / per_minute if per_minute > 0 else None
            return {"labeled": labeled, "skipped": len(self._skipped - set(self._answers)),
                    "total": total, "per_class": per_class, "per_minute": round(per_minute, 1),
                    "eta_seconds": None if eta is None else round(eta, 1), "done": remaining == 0}

    def sync_status(self) -> dict:
        pending = len(self.pending_work())
        state = self._uploader.state
        if state == "saved" and pending:
            state = "uploading"
        message = self._uploader.message if state != "saved" else (
            f"all answers saved to {self.job_dir}")
        status = {"state": state, "pending": pending, "message": message}
        if self._problems:  # the widget shows the message of a state it does not know
            uri, why = list(self._problems.items())[0]
            more = f" and {len(self._problems) - 1} more" if len(self._problems) > 1 else ""
            status["problems"] = len(self._problems)
            if state == "saved":
                status["state"] = "problems"
                status["message"] = f"saved; skipped {uri}: {why}{more} (see job.problems)"
        return status

    @property
    def problems(self) -> pd.DataFrame:
        """Worker-response files (or answers in them) set aside because they cannot be read or do
        not fit this job, and why; everything else is labeled and consolidated as usual."""
        with self._lock:
            rows = list(self._problems.items())
        return pd.DataFrame(rows, columns=["uri", "reason"])

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (from any thread) when progress or the sync state changes."""
        self._listeners.append(callback)

    # ------------------------------------------------------------------ what a view does

    def submit(self, object_id, answer: str | Sequence[str], *, time_spent: float | None = None,
               submitted: datetime | None = None) -> None:
        """Record this worker's answer. It is on disk (journal, fsynced) when this returns."""
        oid = self._check_id(object_id)
        labels = self._check_answer(answer)
        now = submitted or datetime.now(timezone.utc)
        spent = float(time_spent) if time_spent is not None else 0.0
        rec = {"op": "answer", "id": oid, "labels": list(labels), "worker": self.worker_id,
               "accepted": _fmt(now - timedelta(seconds=spent)), "submitted": _fmt(now),
               "spent": round(spent, 3),
               "key": _response_key(now, self.worker_id if self.workers_per_object > 1 else None),
               "src": self._source_hash(oid)}
        with self._lock, self.journal.locked():
            self._catch_up()  # another notebook's answer to this object is the one this replaces
            prev = self._answers.get(oid)
            if prev is not None:
                rec["prev"] = _answer_record(prev)
            rec["seq"] = self.journal.append(rec)[0]
            self._take(rec, own=True)
            self._session_times.append(time.time())
        self._uploader.poke()
        self._changed()

    def skip(self, object_id) -> None:
        oid = self._check_id(object_id)
        rec = {"op": "skip", "id": oid, "src": self._source_hash(oid)}
        with self._lock, self.journal.locked():
            self._catch_up()
            rec["seq"] = self.journal.append(rec)[0]
            self._take(rec, own=True)
        self._changed()

    def undo(self) -> str | None:
        """Revert this worker's last answer or skip; returns its object id (None if nothing to undo)."""
        with self._lock, self.journal.locked():
            self._catch_up()  # the other notebook may have undone one of the records we share
            if not self._history:
                return None
            target = self._history[-1]
            rec = {"op": "undo", "target": target["seq"]}
            rec["seq"] = self.journal.append(rec)[0]
            self._take(rec, own=True)
        self._uploader.poke()
        self._changed()
        return target["id"]

    def flush(self, timeout: float | None = 60.0) -> bool:
        """Wait until every answer and the output manifest are in the output store.

        Returns False if that did not happen by ``timeout``, or at once when the store refuses
        for good (``sync_status()["message"]`` says why). Also settles this worker's answers
        given in another notebook with its own journal: the newest answer of an object wins.
        """
        with self._lock:
            self._manifest_dirty = True
            self._settle_wanted = True
        return self._uploader.flush(timeout)

    def close(self, timeout: float = 10.0) -> bool:
        done = self._uploader.stop(timeout)
        self.journal.close()
        _open_jobs.discard(self)
        return done

    # ------------------------------------------------------------------ results

    @property
    def labels(self) -> pd.DataFrame:
        """This worker's answers: who, what, when, how long."""
        with self._lock:
            answers = sorted(self._answers.values(), key=lambda a: self._position[a.object_id])
        rows = [{"object_id": a.object_id, "source": self.source(a.object_id)[1],
                 "worker_id": a.worker_id,
                 "label": list(a.labels) if self.multi_label else a.labels[0],
                 "accepted": pd.Timestamp(a.accepted), "submitted": pd.Timestamp(a.submitted),
                 "time_spent": a.time_spent} for a in answers]
        cols = ["object_id", "source", "worker_id", "label", "accepted", "submitted", "time_spent"]
        return pd.DataFrame(rows, columns=cols)

    def label_pair(self, object_id: str) -> dict | None:
        """``{attr: ..., attr-metadata: ...}`` for an answered object (one worker: confidence 0)."""
        oid = str(object_id)
        decision = self._all_decisions().get(oid)
        if decision is not None:
            return self._adjudicated_pair(decision)
        if callable(self.consolidation):
            return self._custom_pair(oid)
        if self.workers_per_object > 1:
            return self._consolidated_pairs().get(oid)
        a = self._answers.get(oid)
        if a is None:
            return None
        date = tasks.format_creation_date(a.submitted)
        if self.multi_label:
            return tasks.multilabel_label(self.label_attribute, self.categories, a.labels,
                                          job_name=self.name, creation_date=date, task_type=self.task_type)
        return tasks.classification_label(self.label_attribute, self.categories, a.labels[0],
                                          job_name=self.name, creation_date=date, task_type=self.task_type)

    def output_lines(self) -> list[bytes]:
        """The output manifest, one JSON line per input line, in input order (unlabeled lines unchanged)."""
        if self._input_lines is None:
            from .manifests import to_manifest

            self._input_lines = [line.encode() for line in to_manifest(self.frame)]
        with self._lock:
            if callable(self.consolidation):
                labeled = {oid: self._custom_pair(oid) for oid in self._custom_labels}
            elif self.workers_per_object > 1:
                labeled = self._consolidated_pairs()
            else:
                labeled = {oid: self.label_pair(oid) for oid in self._answers}
            for oid, decision in self._all_decisions().items():
                labeled[oid] = self._adjudicated_pair(decision)
        lines = list(self._input_lines)
        for oid, pair in labeled.items():
            if pair is None:
                continue
            obj = self.item(oid)
            obj.update(pair)
            lines[int(oid)] = orjson.dumps(obj)
        return lines

    def to_manifest(self) -> pd.DataFrame:
        """The output manifest as a DataFrame (the same layout ``read_manifest`` gives)."""
        from .manifests import frame_from_objects

        return frame_from_objects([orjson.loads(line) for line in self.output_lines()])

    def all_answers(self) -> pd.DataFrame:
        """Every worker's answers known here (this worker's and those read from the store), tidy."""
        with self._lock:
            answers = list(self._answers.values())
            for by_worker in self._others.values():
                answers.extend(by_worker.values())
        rows = [{"object_id": a.object_id, "worker_id": a.worker_id,
                 "answer": tuple(a.labels) if self.multi_label else a.labels[0],
                 "submission_time": pd.Timestamp(a.submitted), "acceptance_time": pd.Timestamp(a.accepted),
                 "time_spent": a.time_spent} for a in answers]
        cols = ["object_id", "worker_id", "answer", "submission_time", "acceptance_time", "time_spent"]
        frame = pd.DataFrame(rows, columns=cols)
        return frame.sort_values(["object_id", "submission_time"], key=_natural_key, ignore_index=True)

    def consolidated(self) -> pd.DataFrame:
        """Objects with all their answers, consolidated (``object_id, label, confidence, n_workers, pair``)."""
        from .consolidate import consolidate

        answers = self.all_answers()
        counts = answers.groupby("object_id")["worker_id"].nunique()
        complete = counts[counts >= self.workers_per_object].index
        answers = answers[answers["object_id"].isin(complete)]
        if answers.empty:
            return pd.DataFrame(columns=["object_id", "label", "confidence", "n_workers", "pair"])
        data_objects = {oid: self.item(oid) for oid in complete} if callable(self.consolidation) else None
        return consolidate(answers, self.categories, method=self.consolidation, multi_label=self.multi_label,
                           label_attribute=self.label_attribute, job_name=self.name,
                           task_type=self.task_type, data_objects=data_objects)

    def adjudicate(self, object_id, answer: str | Sequence[str], *, reviewer: str | None = None) -> None:
        """A reviewer's decision for an object; it wins over consolidation in the output manifest."""
        oid = self._check_id(object_id)
        labels = self._check_answer(answer)
        rec = {"op": "adjudicate", "id": oid, "labels": list(labels),
               "reviewer": _worker_id(reviewer if reviewer is not None else self.worker_id),
               "time": _fmt(datetime.now(timezone.utc))}
        self._record_decision(rec)

    def withdraw_adjudication(self, object_id) -> None:
        """Take back the decision made through this job: the object's label is consolidated again
        (or another reviewer's decision stands)."""
        self._record_decision({"op": "withdraw", "id": self._check_id(object_id)})

    def _record_decision(self, rec: dict) -> None:
        with self._lock:
            rec["seq"] = self.journal.append(rec)[0]
            self._apply(rec)
            self._manifest_dirty = True
        self._uploader.poke()
        self._changed()

    @property
    def adjudications(self) -> pd.DataFrame:
        """Every reviewer's standing decision, from this kernel and from the output store."""
        rows = [{"object_id": oid, "label": d["labels"] if self.multi_label else d["labels"][0],
                 "reviewer": d["reviewer"], "time": pd.Timestamp(d["time"])}
                for oid, d in sorted(self._all_decisions().items(), key=lambda kv: int(kv[0]))]
        return pd.DataFrame(rows, columns=["object_id", "label", "reviewer", "time"])

    def _all_decisions(self) -> dict[str, dict]:
        with self._lock:
            ids = set(self._adjudications) | set(self._others_decisions)
            return {oid: latest([self._own_decision(oid), self._others_decisions.get(oid)]) for oid in ids}

    def _own_decision(self, oid: str) -> dict | None:
        """The decision made through this job, with its place in the store's order (none yet: last)."""
        mine = self._adjudications.get(oid)
        synced = self._decisions_synced.get(oid)
        return {**mine, "order": store_order(synced)} if mine and stored_as(synced, mine) else mine

    def refresh(self) -> None:
        """Read the other workers' answers and the reviewers' decisions from the output store."""
        self._catch_up()
        self._refresh_answers()
        self._refresh_decisions()
        self._changed()

    def _refresh_answers(self) -> None:
        """Other workers' answers (new files only)."""
        found = self._scan_store()
        with self._lock:
            others: dict[str, dict[str, Answer]] = {}
            for oid, entries in found.items():
                for key, entry in entries:
                    wid = entry.get("workerId")
                    if not wid or wid == self.worker_id:
                        continue
                    a = self._answer_of(oid, key, entry)
                    if wid not in others.setdefault(oid, {}) or others[oid][wid].submitted < a.submitted:
                        others[oid][wid] = a
            self._others = others

    def _answer_of(self, oid: str, key: str, entry: dict) -> Answer:
        """``_answer_from_entry``, remembered: a big job's refresh must not re-parse every answer."""
        memo = self._answer_memo.get((oid, key))
        if memo is not None and memo[0] is entry:
            return memo[1]
        a = _answer_from_entry(oid, entry, key, self.multi_label)
        self._answer_memo[(oid, key)] = (entry, a)
        return a

    def _refresh_decisions(self, found: dict[str, dict[str, dict]] | None = None) -> None:
        """Other reviewers' decisions from the store (ours are known from the journal)."""
        if found is None:
            found = self._decision_store.scan()
        with self._lock:
            others: dict[str, dict] = {}
            for oid, files in found.items():
                if oid not in self._position:
                    continue
                synced, mine = self._decisions_synced.get(oid), self._adjudications.get(oid)
                decision = latest(d for key, d in files.items()
                                  if key != synced and not (mine and stored_as(key, mine)))
                if decision is not None:
                    others[oid] = decision
            self._others_decisions = others

    @property
    def output_manifest_uri(self) -> str:
        return storage.join(self.job_dir, "manifests", "output", "output.manifest")

    def worker_response_uri(self, object_id: str, key: str) -> str:
        return storage.join(self.job_dir, "annotations", "worker-response", f"iteration-{ITERATION}",
                            str(object_id), key)

    # ------------------------------------------------------------------ the uploader's side

    def pending_work(self) -> list:
        with self._lock:
            work = []
            for oid in list(self._dirty):  # only what changed: cheap however many answers there are
                a = self._answers.get(oid)
                have = self._synced.get(oid)
                if (have[1] if have else None) != (a.token if a else None):
                    work.append((oid, a, have[0] if have else None))
                else:
                    self._dirty.discard(oid)
            work.sort(key=lambda w: self._position.get(w[0], 0))
            for oid in list(self._decisions_dirty):
                decision = self._adjudications.get(oid)
                have = self._decisions_synced.get(oid)
                if not (stored_as(have, decision) if decision else have is None):
                    work.append(DecisionWork(oid, decision, have))
                else:
                    self._decisions_dirty.discard(oid)
            return work

    def do_work(self, item):
        if isinstance(item, DecisionWork):
            key = self._decision_store.write(item.object_id, item.decision) if item.decision else None
            if item.old_key and item.old_key != key:
                try:
                    self._decision_store.delete(item.object_id, item.old_key)
                except NotFoundError:
                    pass
            return item, key
        oid, answer, old_key = item
        new_key = None
        if answer is not None:
            new_key = self._put_answer(answer)
        with self._lock:  # only files a sound journal record retired, or older than the one just put
            drop = {old_key} & self._retired.get(oid, set()) if old_key else set()
            if new_key is not None:
                drop |= self._stale.get(oid, set())
        for key in drop - {new_key}:
            storage.delete(self.worker_response_uri(oid, key))
            if self._index is not None:
                self._index.deleted(oid, key)
        if new_key is not None:
            with self._lock:
                self._stale.pop(oid, None)
        return oid, (new_key, answer.token) if answer is not None else None

    def work_done(self, results: list) -> None:
        if not results:
            return
        # The index first: an answer journaled as synced is one other workers can find.
        if self._index is not None:
            self._index.commit()
        self._decision_store.commit()
        records = [{"op": "decision-synced", "id": item.object_id, "key": have} if isinstance(item, DecisionWork)
                   else {"op": "synced", "id": item, "have": have} for item, have in results]
        self.journal.append(*records)
        with self._lock:
            for rec in records:
                self._apply(rec)
            self._manifest_dirty = True

    def after_batch(self, *, final: bool) -> None:
        if final and callable(self.consolidation):
            self.run_consolidation()
        if final and self._settle_wanted:
            self._settle()
        if self._catch_up():
            self._manifest_dirty = True
        now = time.monotonic()
        if not self._manifest_dirty:
            return
        if not final and now - self._manifest_written_at < self._manifest_interval:
            return
        with self._lock:
            self._manifest_dirty = False
        try:
            self._write_output_manifest()
            for _ in range(10):  # another notebook on this journal answered meanwhile: include it
                if not self._catch_up():
                    break
                self._write_output_manifest()
        except BaseException:
            with self._lock:
                self._manifest_dirty = True
            raise
        self._manifest_written_at = now

    # ------------------------------------------------------------------ internals

    def _write_output_manifest(self) -> None:
        """Write the output manifest; with several workers, never over a newer one (If-Match)."""
        uri = self.output_manifest_uri
        if self.workers_per_object == 1:
            storage.write_bytes(uri, b"\n".join(self.output_lines()) + b"\n")
            return
        for _ in range(20):
            try:
                etag = storage.head(uri).etag
            except NotFoundError:
                etag = None
            self.refresh()
            body = b"\n".join(self.output_lines()) + b"\n"
            try:
                if etag is None:
                    storage.write_bytes(uri, body, if_none_match=True)
                else:
                    storage.write_bytes(uri, body, if_match=etag)
                return
            except ConflictError:
                time.sleep(random.uniform(0.05, 0.3))  # another worker wrote first: read again
        raise StorageError(f"{uri}: kept losing the race to other writers; it will be retried.")

    def run_consolidation(self) -> list[str]:
        """Send the objects whose answers are complete (and changed) to the consolidation Lambda.

        Writes the request payload and the response where Ground Truth does
        (``annotations/consolidated-annotation/consolidation-{request,response}/iteration-1/``)
        and returns the ids it consolidated. Called by the uploader after each batch.
        """
        from . import lambdas, responses

        answers = self.all_answers()
        if answers.empty:
            return []
        tokens = answers.groupby("object_id").apply(
            lambda g: "|".join(f"{w}:{a}" for w, a in zip(g["worker_id"], g["answer"])), include_groups=False)
        counts = answers.groupby("object_id")["worker_id"].nunique()
        todo = [oid for oid, n in counts.items() if n >= self.workers_per_object
                and self._custom_labels.get(oid, ("",))[0] != tokens[oid]]
        if not todo:
            return []
        batch = answers[answers["object_id"].isin(todo)]
        batch = batch.assign(answer_content=[
            {self.element: ({"labels": list(a)} if self.multi_label else {"label": a})} for a in batch["answer"]])
        payload = lambdas.consolidation_payload(batch, {oid: self.item(oid) for oid in todo})
        when = datetime.now(timezone.utc)
        batch_name = responses.consolidation_batch_name(when)  # request and response share it
        request_uri = responses.write_consolidation_request(self.job_dir, ITERATION, payload, name=batch_name)
        event = lambdas.consolidation_event(
            job_name=self.name, label_attribute=self.label_attribute, payload_uri=request_uri,
            output_config=storage.join(self.job_dir, "annotations"), label_categories=self.categories,
            max_workers=self.workers_per_object)
        try:
            response = lambdas.call_lambda(self.consolidation, event)
            parsed = lambdas.parse_consolidation_response(response, self.label_attribute)
        except JobError:
            raise
        except Exception as e:
            raise JobError(f"the consolidation function raised {type(e).__name__}: {e}") from e
        responses.write_consolidation_response(self.job_dir, ITERATION, response, name=batch_name)
        # Journaled, so a restart does not call the function again for the same answers.
        records = [{"op": "consolidated", "id": oid, "token": tokens.get(oid, ""),
                    "label": content[self.label_attribute], "date": tasks.format_creation_date(when)}
                   for oid, content in parsed.items() if oid in self._position and self.label_attribute in content]
        with self._lock:
            if records:
                self.journal.append(*records)
            for rec in records:
                self._apply(rec)
            self._manifest_dirty = True
        return [oid for oid in parsed if oid in self._position]

    def _custom_pair(self, oid: str) -> dict | None:
        found = self._custom_labels.get(oid)
        if found is None:
            return None
        _, label, date = found
        return {self.label_attribute: label,
                self.label_attribute + tasks.METADATA_SUFFIX: tasks.custom_metadata(self.name, creation_date=date)}

    def _prelabel(self, handler: Callable) -> None:
        """Run the pre-annotation Lambda over every line first, as Ground Truth does."""
        from . import lambdas

        arn = lambdas.job_arn(self.name)
        keep = []
        for oid in self.queue:
            try:
                event = lambdas.pre_annotation_event(self.item(oid), arn)
                task_input, human = lambdas.parse_pre_annotation_response(lambdas.call_lambda(handler, event))
            except Exception as e:  # one bad object must not stop the job: it gets an error card
                self.prelabel_errors[oid] = f"pre-labeling failed: {type(e).__name__}: {e}"
                keep.append(oid)
                continue
            self.task_inputs[oid] = task_input
            if human:
                keep.append(oid)
        self.queue = keep

    def _consolidated_pairs(self) -> dict[str, dict]:
        table = self.consolidated()
        return {str(oid): pair for oid, pair in zip(table["object_id"], table["pair"]) if pair}

    def _adjudicated_pair(self, d: dict) -> dict:
        date = tasks.format_creation_date(_parse_time(d["time"]))
        if self.multi_label:
            return tasks.multilabel_label(self.label_attribute, self.categories, d["labels"], job_name=self.name,
                                          confidences={c: 1 for c in d["labels"]}, creation_date=date,
                                          task_type=self.task_type)
        return tasks.classification_label(self.label_attribute, self.categories, d["labels"][0],
                                          job_name=self.name, confidence=1, creation_date=date,
                                          task_type=self.task_type)

    def _scan_store(self) -> dict[str, list[tuple[str, dict]]]:
        """object id -> [(file name, answer entry)] for every worker-response file in the store."""
        from .responses import scan_object_files

        if self._index is not None:
            files = self._index.scan()  # Ground Truth's files, through the index (unreadable ones in problems)
        else:
            prefix = storage.join(self.job_dir, "annotations", "worker-response", f"iteration-{ITERATION}")
            files = scan_object_files(prefix, cache=self._store_cache, parse=_parse_worker_response,
                                      problems=self._problems)
        found: dict[str, list[tuple[str, dict]]] = {}
        for oid, by_key in files.items():
            if oid not in self._position:
                continue
            for key, answers in by_key.items():
                if isinstance(answers, dict):
                    self._problems[self.worker_response_uri(oid, key)] = answers["unreadable"]
                    continue
                entries, problems = self._usable_answers(oid, key, answers)
                if problems:
                    self._problems[self.worker_response_uri(oid, key)] = "; ".join(problems)
                found.setdefault(oid, []).extend((key, entry) for entry in entries)
        self._report_problems()
        return {oid: entries for oid, entries in found.items() if entries}

    def _usable_answers(self, oid: str, key: str, answers: list) -> tuple[list[dict], list[str]]:
        """A worker-response file's answers that fit this job, and why the others do not (remembered)."""
        memo = self._usable_memo.get((oid, key))
        if memo is not None and memo[0] is answers:
            return memo[1], memo[2]
        good, problems = [], []
        for n, entry in enumerate(answers, 1):
            why = answer_problem(entry, categories=self.categories, multi_label=self.multi_label)
            if why is None:
                good.append(entry)
            else:
                problems.append(f"answer {n} {why}; fix or remove that answer")
        self._usable_memo[(oid, key)] = (answers, good, problems)
        return good, problems
    def _report_problems(self) -> None:
        """Log each set-aside file once and tell the views; labeling goes on without it."""
        new = [uri for uri in list(self._problems) if uri not in self._problems_logged]
        for uri in new:
            self._problems_logged.add(uri)
            _log.warning("%s: skipped: %s (a fixed file is read when the job is opened again)",
                         uri, self._problems[uri])
        if new:
            self._changed()

    def _put_answer(self, a: Answer) -> str:
        doc = {"answers": [{
            "answerContent": a.content(self.element, self.multi_label),
            "workerId": a.worker_id,
            "acceptanceTime": _iso_ms(a.accepted),
            "submissionTime": _iso_ms(a.submitted),
            "timeSpentInSeconds": a.time_spent,
        }]}
        body = orjson.dumps(doc)
        uri = self.worker_response_uri(a.object_id, a.key)
        try:
            storage.write_bytes(uri, body, if_none_match=True, content_type="application/json")
        except ConflictError:
            # Already there: our own earlier upload (a retry after a crash) or a same-second
            # answer we replace. Another worker's file is never overwritten.
            existing = _parse_answers(storage.read_bytes(uri))
            if existing and all(e.get("workerId") != self.worker_id for e in existing):
                raise JobError(f"{uri}: belongs to another worker; two workers share one worker id?") from None
            if storage.read_bytes(uri) != body:
                storage.write_bytes(uri, body, content_type="application/json")
        if self._index is not None:
            self._index.wrote(a.object_id, a.key, body)
        return a.key

    def _apply(self, rec: dict) -> None:
        op = rec["op"]
        if "id" in rec:
            self._dirty.add(rec["id"])
        if op == "answer":
            prev = rec.get("prev")
            if prev and prev.get("key") != rec.get("key"):
                self._retired.setdefault(rec["id"], set()).add(prev["key"])
            self._answers[rec["id"]] = _answer_from_record(rec)
            self._skipped.discard(rec["id"])
        elif op == "skip":
            self._skipped.add(rec["id"])
        elif op in ("adjudicate", "withdraw"):
            if op == "adjudicate":
                self._adjudications[rec["id"]] = rec
            else:
                self._adjudications.pop(rec["id"], None)
            self._decisions_dirty.add(rec["id"])
        elif op == "consolidated":
            self._custom_labels[rec["id"]] = (rec["token"], rec["label"], rec["date"])
        elif op == "decision-synced":
            self._decisions_synced[rec["id"]] = rec.get("key")
        elif op == "synced":
            have = rec.get("have")
            self._synced[rec["id"]] = tuple(have) if have else None

    def _revert(self, target: dict) -> None:
        oid = target["id"]
        self._dirty.add(oid)
        if target["op"] == "answer":
            current = self._answers.get(oid)
            if current is None or current.token != _answer_from_record(target).token:
                return  # a later answer (from another notebook on this journal) stands
            prev = target.get("prev")
            if prev:
                self._answers[oid] = _answer_from_record(prev)
            else:
                self._answers.pop(oid, None)
            if not prev or prev.get("key") != target.get("key"):
                self._retired.setdefault(oid, set()).add(current.key)
        elif target["op"] == "skip":
            self._skipped.discard(oid)

    def _replay(self) -> None:
        for rec in self.journal.records():
            self._take(rec, own=True, strict=True)

    def _catch_up(self) -> bool:
        """Take what other notebooks sharing this journal wrote since we last looked.

        Returns whether it changed an answer, skip or decision (not only upload bookkeeping).
        """
        changed = False
        with self._lock:
            for rec in self.journal.tail():
                changed |= self._take(rec, own=False)
        return changed

    def _take(self, rec: dict, *, own: bool, strict: bool = False) -> bool:
        """Apply one journal record; ``own`` ones join the history this instance's undo walks back.

        A record for another data object than the input now has at its line raises JobError
        when ``strict`` (opening the job); any unusable record is skipped with a warning.
        """
        op = rec.get("op")
        try:
            if op == "undo":
                target = self._by_seq.pop(rec.get("target"), None)
                if target is None:
                    return False
                self._revert(target)
                if self._history and self._history[-1] is target:
                    self._history.pop()
                else:  # the other notebook undid a record both had replayed
                    self._history = [h for h in self._history if h is not target]
                return True
            if op in ("answer", "skip"):
                if rec.get("id") not in self._position:
                    return False
                self._check_source(rec)
            self._apply(rec)
            if op in ("answer", "skip"):
                self._by_seq[rec["seq"]] = rec
                if own:
                    self._history.append(rec)
            return op not in ("synced", "decision-synced")
        except JobError as e:
            if strict:
                raise
            warnings.warn(str(e), JournalWarning, stacklevel=2)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            warnings.warn(f"{self.journal.path}: record seq={rec.get('seq')!r} cannot be used "
                          f"({type(e).__name__}: {e}); skipped, the output store says the rest.",
                          JournalWarning, stacklevel=2)
        return False

    def _check_source(self, rec: dict) -> None:
        """An answer belongs to the data object it was given to, never to whatever is at its line now."""
        src = rec.get("src")
        oid = rec["id"]
        if src is None or src == self._source_hash(oid):
            return
        hashes = self._source_hashes()
        moved = f" (that object is line {hashes.index(src) + 1} now)" if src in hashes else ""
        raise JobError(
            f"{self.journal.path}: the {rec['op']} for object {oid} was given to another data object than "
            f"line {int(oid) + 1} of the input now holds ({self.source(oid)[1]!r}){moved}: the input "
            f"manifest changed since. {_MOVED_FIX}")

    def _source_hash(self, oid: str) -> str:
        return self._source_hashes()[int(oid)]

    def _source_hashes(self) -> list[str]:
        if self._hashes is None:
            self._hashes = [_short_hash(v) for v in self.frame[self._source_key].astype(str)]
        return self._hashes

    def _check_input(self) -> bool:
        """Check at open that the output can be written and was made from this input.

        Answers are kept by line number (Ground Truth's datasetObjectId), so ``<job>/gtwidgets/
        input.json`` records each line's source; a changed line refuses the job, lines added at
        the end are fine. Offline, labeling goes on and the uploader says so. Returns whether
        the record is still to be written (after the journal agreed, see ``_record_input``).
        """
        try:
            try:
                theirs = orjson.loads(storage.read_bytes(self._input_uri))
            except PermanentStorageError:
                raise
            except NotFoundError:
                return True
            old, new = str(theirs.get("sources", "")), "".join(self._source_hashes())
            if new.startswith(old) and len(new) > len(old):
                self._record_input(replace=True)
        except PermanentStorageError as e:
            raise type(e)(f"cannot use output {self.output!r}: {e}") from None
        except (StorageError, orjson.JSONDecodeError):
            return False  # offline (or a damaged record of it): the journal's own check still holds
        if new.startswith(old) or old.startswith(new):
            return False  # lines added or removed at the end: no answer moves
        raise JobError(f"{self._input_uri}: this job's output was made from another input manifest: "
                       f"{_first_change(old, new, self.frame[self._source_key])}. {_MOVED_FIX}")

    def _record_input(self, *, replace: bool = False) -> None:
        mine = {"source-key": self._source_key, "lines": len(self.frame), "sources": "".join(self._source_hashes())}
        try:
            storage.write_bytes(self._input_uri, orjson.dumps(mine), if_none_match=not replace,
                                content_type="application/json")
        except ConflictError:
            self._check_input()  # another worker opened it first: it must be the same input
        except PermanentStorageError as e:
            raise type(e)(f"cannot use output {self.output!r}: {e}") from None
        except StorageError:
            pass  # offline: recorded by a later opening

    @property
    def _input_uri(self) -> str:
        return storage.join(self.job_dir, "gtwidgets", "input.json")

    def _settle(self) -> None:
        """Settle this worker's files against another notebook's with its own journal (on flush)."""
        self._settle_wanted = False
        try:
            found = self._scan_store()
        except StorageError:
            self._settle_wanted = True
            raise
        if self._settle_own(found):
            with self._lock:
                self._manifest_dirty = True

    def _settle_own(self, found: dict[str, list[tuple[str, dict]]]) -> bool:
        """One file of this worker per object: the newest answer wins (by submission time).

        Another notebook with its own journal (a copy, another machine) may have answered later;
        its file is adopted. An older file of ours is deleted only when a sound journal record
        retired it or a newer answer of ours is in the store; one older than an answer still to
        upload goes after that upload. Returns whether an answer changed.
        """
        mine = {oid: [(k, e) for k, e in entries if e.get("workerId") == self.worker_id]
                for oid, entries in found.items()}
        mine = {oid: v for oid, v in mine.items() if v}
        changed = False
        drop = []
        with self._lock:
            for oid, have in list(self._synced.items()):
                if have and have[0] not in {k for k, _ in mine.get(oid, ())}:
                    self._synced[oid] = None
                    self._dirty.add(oid)  # the store lost it (a deleted bucket): upload again
            for oid, files in mine.items():
                current = self._answers.get(oid)
                retired = self._retired.get(oid, set()) - {current.key if current else None}
                live = [(k, e) for k, e in files if k not in retired]
                best = max(live, key=lambda f: _newness(_entry_time(f[1]), f[0]), default=None)
                if best is not None and (current is None or _newness(_entry_time(best[1]), best[0])
                                         > _newness(current.submitted, current.key)):
                    current = _answer_from_entry(oid, best[1], best[0], self.multi_label)
                    self._answers[oid] = current
                    self._synced[oid] = (best[0], current.token)
                    self._dirty.add(oid)
                    changed = True
                keep = current.key if current else None
                in_store = any(k == keep for k, _ in files)
                for key, _ in files:
                    if key == keep:
                        continue
                    if key in retired or in_store:
                        drop.append((oid, key))
                    elif current is not None:
                        self._stale.setdefault(oid, set()).add(key)
        for oid, key in drop:
            try:
                storage.delete(self.worker_response_uri(oid, key))
            except StorageError:
                continue  # still there next time
            if self._index is not None:
                self._index.deleted(oid, key)
        return changed

    def _adopt_remote(self) -> None:
        """Learn what the output store already holds (another machine, a lost journal, other workers)."""
        try:
            found = self._scan_store()
        except StorageError:
            return  # offline at start: the uploader will report it; labeling goes on
        self._settle_own(found)
        if self._index is not None:
            try:
                self._index.commit()  # the stale files' deletions
            except StorageError:
                pass
        try:
            found = self._decision_store.scan()
        except StorageError:
            found = {}
        with self._lock:
            for oid, key in list(self._decisions_synced.items()):
                if key and key not in found.get(oid, {}):
                    self._decisions_synced[oid] = None  # the store lost our decision: write it again
                    self._decisions_dirty.add(oid)
        self._refresh_decisions(found)
        if self.workers_per_object > 1:
            self._refresh_answers()

    def _journal_path(self, journal_dir) -> Path:
        root = Path(journal_dir or os.environ.get("GTWIDGETS_HOME") or Path.home() / ".gtwidgets")
        tag = hashlib.sha1(self.job_dir.encode()).hexdigest()[:10]
        worker = hashlib.sha1(self.worker_id.encode()).hexdigest()[:10]
        return root / "journals" / f"{self.name}-{tag}" / f"{worker}.jsonl"

    def _check_id(self, object_id) -> str:
        oid = str(object_id)
        if oid not in self._position:
            raise JobError(f"object {object_id!r} is not in this job's queue (ids are 0..{len(self.queue) - 1}).")
        return oid

    def _check_answer(self, answer) -> tuple[str, ...]:
        labels = (answer,) if isinstance(answer, str) else tuple(answer)
        if not labels:
            raise JobError("an answer needs at least one category.")
        if not self.multi_label and len(labels) != 1:
            raise JobError(f"this job is single-label; give one category, not {list(labels)!r}.")
        unknown = [lab for lab in labels if lab not in self.categories]
        if unknown:
            raise JobError(f"{unknown[0]!r} is not a category of this job; use one of {self.categories!r}.")
        return tuple(dict.fromkeys(labels))

    def _changed(self) -> None:
        for cb in list(self._listeners):
            try:
                cb()
            except Exception:
                pass


# ---------------------------------------------------------------------- helpers

_open_jobs: "weakref.WeakSet[LabelingJob]" = weakref.WeakSet()


@atexit.register
def _flush_open_jobs() -> None:
    for job in list(_open_jobs):
        try:
            job._uploader.flush(timeout=10)
        except Exception:
            pass


def _natural_key(col: pd.Series) -> pd.Series:
    """Sort object ids as numbers (2 before 10), times as times."""
    if col.name == "object_id":
        return col.map(lambda v: (0, int(v), "") if str(v).isdigit() else (1, 0, str(v)))
    return col


def _fmt(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime(_TIME_FORMAT)


_MOVED_FIX = ("Answers are kept by line number (Ground Truth's datasetObjectId), so they would land on "
              "other objects. Open the job with the input it was started with, or give the edited "
              "manifest a job of its own (another name or output).")


def _short_hash(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()[:8]


def _first_change(old: str, new: str, sources: pd.Series) -> str:
    """Where two inputs' hashed sources (8 characters a line) part, in a user's words."""
    old_lines = [old[i:i + 8] for i in range(0, len(old), 8)]
    new_lines = [new[i:i + 8] for i in range(0, len(new), 8)]
    i = next((i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b), min(len(old_lines), len(new_lines)))
    sizes = f" (it had {len(old_lines)} lines, the input has {len(new_lines)})" if len(old_lines) != len(new_lines) else ""
    if i >= len(new_lines):
        return f"lines {i + 1}.. are gone{sizes}"
    where = (f"which was line {old_lines.index(new_lines[i]) + 1} then" if new_lines[i] in old_lines
             else "which it did not have")
    return f"line {i + 1} now holds {str(sources.iloc[i])!r}, {where}{sizes}"


def _entry_time(entry: dict) -> datetime:
    return _parse_time(entry.get("submissionTime") or "1970-01-01T00:00:00")


def _newness(submitted: datetime, key: str) -> tuple:
    """Order of two answers of one worker: submission time to the millisecond (what the store keeps), then file."""
    return submitted.replace(microsecond=submitted.microsecond // 1000 * 1000), key


def _parse_time(text: str) -> datetime:
    text = text.rstrip("Z")
    for fmt in (_TIME_FORMAT, "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def _iso_ms(when: datetime) -> str:
    """Ground Truth's answer times: ``2024-01-01T10:00:00.123Z``."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _response_key(submitted: datetime, worker: str | None = None) -> str:
    """Ground Truth's ``<YYYY-MM-DD_HH:MM:SS>.json``; with several workers, one file each
    (``..._<worker hash>.json``) so that no writer ever overwrites another."""
    stamp = submitted.astimezone(timezone.utc).strftime("%Y-%m-%d_%H:%M:%S")
    if worker is None:
        return stamp + ".json"
    return f"{stamp}_{hashlib.sha1(worker.encode()).hexdigest()[:8]}.json"


def _answer_from_record(rec: dict) -> Answer:
    submitted = _parse_time(rec["submitted"])
    return Answer(rec["id"], rec["worker"], tuple(rec["labels"]), _parse_time(rec["accepted"]),
                  submitted, float(rec.get("spent", 0.0)), rec.get("key") or _response_key(submitted))


def _answer_record(a: Answer) -> dict:
    return {"op": "answer", "id": a.object_id, "labels": list(a.labels), "worker": a.worker_id,
            "accepted": _fmt(a.accepted), "submitted": _fmt(a.submitted), "spent": a.time_spent,
            "key": a.key}


def _answer_from_entry(oid: str, entry: dict, key: str, multi_label: bool) -> Answer:
    """An answer from the store, already checked by ``responses.answer_problem``."""
    answer = answer_from_content(entry.get("answerContent"))
    labels = (answer,) if isinstance(answer, str) else tuple(answer or ())
    submitted = answer_time(entry.get("submissionTime")) or datetime(1970, 1, 1, tzinfo=timezone.utc)
    accepted = answer_time(entry.get("acceptanceTime")) or submitted
    return Answer(oid, entry["workerId"], labels, accepted, submitted,
                  float(entry.get("timeSpentInSeconds") or 0.0), key)


def _parse_answers(body: bytes) -> list[dict]:
    doc = orjson.loads(body)
    answers = doc.get("answers") if isinstance(doc, dict) else None
    if not isinstance(answers, list):
        raise ValueError("not a worker-response document")
    return answers


def _parse_worker_response(body: bytes) -> list[dict] | dict:
    """The answers of a worker-response file, or ``{"unreadable": why}``: kept in the index
    too, so that every job opening it reports the file instead of silently missing it."""
    try:
        return _parse_answers(body)
    except orjson.JSONDecodeError as e:
        return {"unreadable": f"not JSON ({e}); restore the file or delete it"}
    except ValueError:
        return {"unreadable": 'not a worker response (expected {"answers": [...]}); fix or delete the file'}


def _worker_id(given: str | None) -> str:
    wid = given if given is not None else (
        os.environ.get("GTWIDGETS_WORKER") or os.environ.get("JUPYTERHUB_USER") or _login())
    wid = (wid or "").strip()
    if not wid:
        raise JobError("worker_id is empty; pass worker_id='your-name' (or set GTWIDGETS_WORKER).")
    return wid


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "worker"


def _load_categories(categories) -> list[str]:
    if isinstance(categories, (str, os.PathLike)):
        try:
            doc = orjson.loads(storage.read_bytes(categories))
        except orjson.JSONDecodeError as e:
            raise JobError(f"{categories}: not a JSON label-category file ({e}); "
                           'expected {"document-version":"2018-11-28","labels":[{"label":"..."}]}.') from None
        return tasks.read_label_categories(doc)
    return tasks.read_label_categories(categories)


def _load_input(input) -> pd.DataFrame:
    if isinstance(input, pd.DataFrame):
        frame = input
    elif isinstance(input, (str, os.PathLike)):
        from .manifests import read_manifest

        frame = read_manifest(input)
    else:
        raise JobError("input= takes a DataFrame from read_manifest or a manifest path / s3:// URI.")
    if len(frame) == 0:
        raise JobError("the input manifest has no lines; nothing to label.")
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0 or frame.index.step != 1:
        frame = frame.reset_index(drop=True)
    return frame


def _source_key(frame: pd.DataFrame) -> str:
    for key in tasks.SOURCE_KEYS:
        if key in frame.columns:
            return key
    raise JobError('the input has neither "source-ref" nor "source"; every Ground Truth line needs one.')


def _task_type(source_key: str, multi_label: bool) -> str:
    if source_key == "source":
        return tasks.TEXT_CLASSIFICATION_MULTILABEL if multi_label else tasks.TEXT_CLASSIFICATION
    return tasks.IMAGE_CLASSIFICATION_MULTILABEL if multi_label else tasks.IMAGE_CLASSIFICATION


def _element(source_key: str, multi_label: bool) -> str:
    if source_key == "source":
        return "crowd-classifier-multi-select" if multi_label else "crowd-classifier"
    return tasks.MULTI_CLASSIFIER_ELEMENT if multi_label else tasks.CLASSIFIER_ELEMENT
