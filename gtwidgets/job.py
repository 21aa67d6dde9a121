"""A labeling job in the notebook: queue, answers, journal, resume, Ground Truth output layout.

The job is the truth and any widget is a view: it can be driven without a browser
(``job.submit(item, answer)``), which is how tests and notebooks under nbval use it.
Files are written where Ground Truth writes them, under ``<output>/<job-name>/``.
"""
from __future__ import annotations

import atexit
import getpass
import hashlib
import os
import random
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import orjson
import pandas as pd

from . import storage, tasks
from ._line_by_line import gc_paused
from .answer_index import AnswerIndex
from .decisions import DecisionStore, DecisionWork, decision_key, latest
from .errors import ConflictError, JobError, NotFoundError, StorageError
from .journal import Journal
from .sync import Uploader

__all__ = ["LabelingJob", "Answer"]

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
        self._store_cache: dict[str, list[dict] | None] = {}  # worker-response file -> its answers
        self._index = AnswerIndex(
            storage.join(self.job_dir, "annotations", "worker-response", f"iteration-{ITERATION}"),
            storage.join(self.job_dir, "annotations", "worker-response-index", f"iteration-{ITERATION}"),
            writer=self.worker_id, parse=_parse_answers) if answer_index else None
        self._answer_memo: dict[tuple[str, str], tuple[dict, Answer]] = {}  # (id, file) -> (entry, Answer)
        self._refresh_token = None  # where the last refresh read the index up to
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

        self.journal = Journal(self._journal_path(journal_dir))
        self._replay()
        with gc_paused():  # a big team job builds hundreds of thousands of answers here, none of them cycles
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
        from .manifest import object_from_row

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
        return {"state": state, "pending": pending, "message": message}

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
               "key": _response_key(now, self.worker_id if self.workers_per_object > 1 else None)}
        with self._lock:
            prev = self._answers.get(oid)
            if prev is not None:
                rec["prev"] = _answer_record(prev)
            rec["seq"] = self.journal.append(rec)[0]
            self._apply(rec)
            self._history.append(rec)
            self._session_times.append(time.time())
        self._uploader.poke()
        self._changed()

    def skip(self, object_id) -> None:
        oid = self._check_id(object_id)
        rec = {"op": "skip", "id": oid}
        with self._lock:
            rec["seq"] = self.journal.append(rec)[0]
            self._apply(rec)
            self._history.append(rec)
        self._changed()

    def undo(self) -> str | None:
        """Revert this worker's last answer or skip; returns its object id (None if nothing to undo)."""
        with self._lock:
            if not self._history:
                return None
            target = self._history.pop()
            rec = {"op": "undo", "target": target["seq"]}
            rec["seq"] = self.journal.append(rec)[0]
            self._revert(target)
        self._uploader.poke()
        self._changed()
        return target["id"]

    def flush(self, timeout: float | None = 60.0) -> bool:
        """Wait until every answer and the output manifest are in the output store."""
        with self._lock:
            self._manifest_dirty = True
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
            from .manifest import to_manifest

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
        from .manifest import frame_from_objects

        return frame_from_objects([orjson.loads(line) for line in self.output_lines()])

    def all_answers(self) -> pd.DataFrame:
        """Every worker's answers known here (this worker's and those read from the store), tidy."""
        return self._answer_frame()

    def _answer_frame(self, ids: Iterable[str] | None = None) -> pd.DataFrame:
        with self._lock:
            if ids is None:
                answers = list(self._answers.values())
                for by_worker in self._others.values():
                    answers.extend(by_worker.values())
            else:
                answers = [a for oid in ids for a in (
                    *((self._answers[oid],) if oid in self._answers else ()), *self._others.get(oid, {}).values())]
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

        with self._lock:  # a big team job has few complete objects: tabulate only theirs
            ids = set(self._others) | set(self._answers)
            complete = sorted(oid for oid in ids if len(self._others.get(oid, ())) + (oid in self._answers)
                              >= self.workers_per_object)
        answers = self._answer_frame(complete)
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
            return {oid: latest([self._adjudications.get(oid), self._others_decisions.get(oid)]) for oid in ids}

    def refresh(self) -> None:
        """Read the other workers' answers and the reviewers' decisions from the output store."""
        self._refresh_answers()
        self._refresh_decisions()
        self._changed()

    def _refresh_answers(self) -> None:
        """Other workers' answers (new files only; with the index, only the objects that changed)."""
        found, changed = self._scan_store_changes()
        with self._lock:
            others: dict[str, dict[str, Answer]] = {} if changed is None else dict(self._others)
            for oid in changed or ():
                others.pop(oid, None)
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
                ours = {self._decisions_synced.get(oid)}
                if oid in self._adjudications:
                    ours.add(decision_key(self._adjudications[oid]))
                decision = latest(d for key, d in files.items() if key not in ours)
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
                if have != (decision_key(decision) if decision else None):
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
        if old_key and old_key != new_key:
            storage.delete(self.worker_response_uri(oid, old_key))
            if self._index is not None:
                self._index.deleted(oid, old_key)
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
        now = time.monotonic()
        if not self._manifest_dirty:
            return
        if not final and now - self._manifest_written_at < self._manifest_interval:
            return
        with self._lock:
            self._manifest_dirty = False
        try:
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
        request_uri = responses.write_consolidation_request(self.job_dir, ITERATION, payload, when=when)
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
        responses.write_consolidation_response(self.job_dir, ITERATION, response, when=when)
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
            files = self._index.scan()
        else:
            prefix = storage.join(self.job_dir, "annotations", "worker-response", f"iteration-{ITERATION}")
            files = scan_object_files(prefix, cache=self._store_cache, parse=_parse_answers)
        return _entries(files, files.keys(), self._position)

    def _scan_store_changes(self) -> tuple[dict[str, list[tuple[str, dict]]], set[str] | None]:
        """``_scan_store()`` for the objects whose files changed since the last call, and their ids (None: all)."""
        if self._index is None:
            return self._scan_store(), None
        files, changed, self._refresh_token = self._index.scan_changes(self._refresh_token)
        return _entries(files, files.keys() if changed is None else changed, self._position), changed

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
            prev = target.get("prev")
            if prev:
                self._answers[oid] = _answer_from_record(prev)
            else:
                self._answers.pop(oid, None)
        elif target["op"] == "skip":
            self._skipped.discard(oid)

    def _replay(self) -> None:
        by_seq: dict[int, dict] = {}
        for rec in self.journal.records():
            if rec.get("op") == "undo":
                target = by_seq.get(rec.get("target"))
                if target is not None:
                    self._revert(target)
                    if self._history and self._history[-1] is target:
                        self._history.pop()
                    else:
                        self._history = [h for h in self._history if h is not target]
                continue
            if rec.get("op") == "answer" and rec.get("id") not in self._position:
                continue
            self._apply(rec)
            if rec.get("op") in ("answer", "skip"):
                by_seq[rec["seq"]] = rec
                self._history.append(rec)

    def _adopt_remote(self) -> None:
        """Learn what the output store already holds (another machine, a lost journal, other workers)."""
        try:
            found = self._scan_store()
        except StorageError:
            return  # offline at start: the uploader will report it; labeling goes on
        mine = {oid: [(k, e) for k, e in entries if e.get("workerId") == self.worker_id]
                for oid, entries in found.items()}
        mine = {oid: v for oid, v in mine.items() if v}
        for oid, have in list(self._synced.items()):
            if have and have[0] not in {k for k, _ in mine.get(oid, ())}:
                self._synced[oid] = None
                self._dirty.add(oid)  # the store lost it (a deleted bucket): upload again
        with self._lock:
            for oid, found in mine.items():
                keys = [k for k, _ in found]
                have = self._synced.get(oid)
                if oid not in self._synced and oid not in self._answers:
                    key, entry = max(found, key=lambda f: f[1].get("submissionTime", ""))
                    answer = _answer_from_entry(oid, entry, key, self.multi_label)
                    self._answers[oid] = answer
                    self._synced[oid] = (key, answer.token)
                    self._dirty.add(oid)
                    keys.remove(key)
                elif have and have[0] in keys:
                    keys.remove(have[0])
                for stale in keys:  # e.g. a crash between writing a new answer and deleting the old
                    if self._answers.get(oid) is None or self._answers[oid].key != stale:
                        try:
                            storage.delete(self.worker_response_uri(oid, stale))
                            if self._index is not None:
                                self._index.deleted(oid, stale)
                        except StorageError:
                            pass
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


def _parse_time(text: str) -> datetime:
    try:  # 20x faster than strptime, which a big team job's open would spend seconds in
        when = datetime.fromisoformat(text)
        if when.tzinfo is None or when.tzinfo is timezone.utc:
            return when.replace(tzinfo=timezone.utc)
        return when.astimezone(timezone.utc)
    except ValueError:
        pass
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


def _entries(files: dict, ids: Iterable[str], position: Mapping) -> dict[str, list[tuple[str, dict]]]:
    """object id -> [(file name, answer entry)], for the ids in this job's queue that have answers."""
    out = {}
    for oid in ids:
        by_key = files.get(oid)
        if by_key and oid in position and any(by_key.values()):
            out[oid] = [(key, entry) for key, entries in by_key.items() for entry in entries]
    return out


def _answer_from_record(rec: dict) -> Answer:
    submitted = _parse_time(rec["submitted"])
    return Answer(rec["id"], rec["worker"], tuple(rec["labels"]), _parse_time(rec["accepted"]),
                  submitted, float(rec.get("spent", 0.0)), rec.get("key") or _response_key(submitted))


def _answer_record(a: Answer) -> dict:
    return {"op": "answer", "id": a.object_id, "labels": list(a.labels), "worker": a.worker_id,
            "accepted": _fmt(a.accepted), "submitted": _fmt(a.submitted), "spent": a.time_spent,
            "key": a.key}


def _answer_from_entry(oid: str, entry: dict, key: str, multi_label: bool) -> Answer:
    content = next(iter(entry.get("answerContent", {}).values()), {})
    labels = content.get("labels") if multi_label else [content.get("label")]
    submitted = _parse_time(entry.get("submissionTime", "1970-01-01T00:00:00"))
    accepted = _parse_time(entry["acceptanceTime"]) if entry.get("acceptanceTime") else submitted
    return Answer(oid, entry["workerId"], tuple(labels or ()), accepted, submitted,
                  float(entry.get("timeSpentInSeconds", 0.0)), key)


def _parse_answers(body: bytes) -> list[dict]:
    doc = orjson.loads(body)
    answers = doc.get("answers") if isinstance(doc, dict) else None
    if not isinstance(answers, list):
        raise ValueError("not a worker-response document")
    return answers


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
        from .manifest import read_manifest

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
