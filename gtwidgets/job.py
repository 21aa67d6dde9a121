"""A labeling job in the notebook: queue, answers, journal, resume, Ground Truth output layout.

The job is the truth and any widget is a view: it can be driven without a browser
(``job.submit(item, answer)``), which is how tests and notebooks under nbval use it.
Files are written where Ground Truth writes them, under ``<output>/<job-name>/``.

``LabelingJob`` is a facade over four parts: the task type (``gtwidgets.tasktypes``: what an
answer is), the state (``gtwidgets.jobstate``: journal records -> answers, skips, decisions,
undo), the output store (``gtwidgets.job_store``, paths from ``gtwidgets.output_layout``) and
what the uploader drives (``gtwidgets.job_sync``).
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
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping, Sequence

import orjson
import pandas as pd

from . import job_output, storage, tasks
from .autolabel import label_counters
from .errors import JobError
from .job_autolabel import AutoLabel, AutoLabeling
from .job_input import InputIdentity
from .job_store import JobStore
from .job_sync import StoreSync
from .jobstate import Answer, JobState
from .journal import Journal
from .lambda_runs import consolidation_records, prelabel as run_prelabel
from .manifests._line_by_line import gc_paused
from .pre_labels import PreLabels
from .output_layout import format_time
from .sync import Uploader
from .tasktypes import TaskConfig, task_type_for
from .tasktypes.classification import classification_for

__all__ = ["LabelingJob", "Answer", "AutoLabel"]

_log = logging.getLogger(__name__)


class LabelingJob:
    """Label data objects, one worker at a time, the way Ground Truth does.

    Parameters
    ----------
    name: the labeling job name (Ground Truth's rule: letters, digits, single hyphens).
    input: a DataFrame from ``read_manifest`` or a manifest path / ``s3://`` URI.
    categories: a list of names, a label-category document, or the path/URI of one.
    output: a local folder or ``s3://bucket/prefix``; files go under ``<output>/<name>/``.
    task: the task type (``gtwidgets.tasktypes``), e.g. ``"image-classification"``; by default
        image or text classification (from the input's ``source-ref``/``source``), or ``"custom"``
        when ``consolidation`` is a function.
    label_attribute: defaults to the job name.
    worker_id: who labels; defaults to the JupyterHub user or the login name.
    workers_per_object: how many workers answer each object (1-9, as Ground Truth).
    consolidation: how several answers become one label: "dawid-skene" (Ground Truth's
        modified EM, the default), "majority", or a consolidation Lambda handler
        (``handler(event)`` or AWS-style ``handler(event, context)``), which makes this a
        custom task: its request and response files are written where Ground Truth puts them.
    prelabel: a pre-annotation Lambda handler; it gets each line as Ground Truth's event and
        returns ``taskInput`` (what the card shows; for boxes and masks, its ``initialValue`` is
        what the card starts from) and whether a human is needed.
    pre_labels: a model's predictions, which the cards of a box or mask job start from, editable:
        a Series matched to the input DataFrame's rows, the name of an input column, or a list
        with one entry a line (None: blank). Boxes: a detector's ``{"xyxy" or "xyxyn", "labels"}``
        or Ground Truth's box list; masks: a class-index array, PNG bytes or a PNG's URI
        (``gtwidgets.pre_labels``). Answers to such cards say whether the worker changed them.
    panels: which ``taskInput`` field each part of a card shows (``gtwidgets.panels``);
        None lays the card out from the shape of ``taskInput``.
    journal_dir: where the local journal lives (default ``$GTWIDGETS_HOME`` or ``~/.gtwidgets``).
    options: settings of the task type (``gtwidgets.tasktypes``), e.g. ``{"prior_attribute": "boxes"}``
        for a bounding-box adjustment or verification job: the label attribute of the boxes to work on.
    answer_index: keep an index beside the answer and decision files (``gtwidgets.answer_index``),
        so that opening and refreshing a team job does not read every file; False reads the
        files alone, as Ground Truth's own tools do.
    auto_label: ``True`` or an ``AutoLabel(...)`` (``gtwidgets.job_autolabel``): Ground Truth's automated
        data labeling for single-label image or text classification of 1,000 objects or more. People
        label a random batch, then the objects a model trained on their labels is least sure of; the
        model labels what clears its confidence threshold (``job.auto_labeling``, ``job.label_counters``).

    Raises JobError for a configuration Ground Truth would refuse.
    """

    def __init__(self, name: str, *, input, categories, output: str | os.PathLike = "gt-output",
                 multi_label: bool = False, label_attribute: str | None = None,
                 instructions: str = "", full_instructions: str = "",
                 worker_id: str | None = None, workers_per_object: int = 1,
                 consolidation="dawid-skene", prelabel: Callable | None = None, pre_labels=None,
                 panels: Sequence | None = None, task: str | None = None,
                 order: str = "input", seed: int | None = None,
                 journal_dir: str | os.PathLike | None = None,
                 manifest_interval: float = 2.0, retry_max_delay: float = 30.0,
                 answer_index: bool = True, options: Mapping[str, object] | None = None,
                 auto_label: bool | AutoLabel | None = None):
        self.name = tasks.check_job_name(name)
        self.label_attribute = tasks.check_attribute_name(label_attribute or name)
        self.categories = _load_categories(categories)
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
        if task is None:
            task = "custom" if callable(consolidation) else classification_for(self._source_key)
        pre_labeled = {"pre_labeled": True} if pre_labels is not None or prelabel is not None else {}
        self.task = task_type_for(task, TaskConfig(
            self.name, self.label_attribute, tuple(self.categories), bool(multi_label), self._source_key,
            {"consolidation": consolidation, "output_uri": self.job_dir, **pre_labeled, **(options or {})}))
        self._pre_labels = PreLabels.build(self.task, pre_labels,
                                           input if isinstance(input, pd.DataFrame) else self.frame, self.frame)
        self.multi_label = bool(getattr(self.task, "multi_label", multi_label))
        self.task_type, self.element = self.task.gt_type, self.task.element
        self.queue: list[str] = _queue(len(self.frame), order, seed)
        self.panels = list(panels) if panels is not None else None  # what a card shows (gtwidgets.panels)
        self.task_inputs: dict[str, object] = {}
        self.prelabel_errors: dict[str, str] = {}
        if prelabel is not None:
            self.queue, self.task_inputs, self.prelabel_errors = run_prelabel(prelabel, self.queue, self.item, self.name)
            self._pre_labels.add_task_inputs(self.task_inputs, self.prelabel_errors)
        self._position = {oid: i for i, oid in enumerate(self.queue)}

        self._lock = threading.RLock()
        self._session_times, self._listeners, self._input_lines = [], [], None
        self._input = InputIdentity(self.frame, self._source_key, self.job_dir, self.output)
        self.journal = Journal(_journal_path(journal_dir, self.name, self.job_dir, self.worker_id))
        self._state = JobState(self.task, self._position, where=str(self.journal.path),
                               check_record=lambda rec: self._input.check_record(rec, str(self.journal.path)))
        self._store = JobStore(self.job_dir, self.worker_id, self.task, index=answer_index,
                               is_object=self._position.__contains__, on_problems=self._changed)
        self._sync = StoreSync(
            self._state, self._store, self.journal, self._lock, worker_id=self.worker_id,
            catch_up=self._catch_up, manifest_body=self._manifest_body,
            refresh=self.refresh, run_lambda=self.run_consolidation if self.task.name == "custom" else None,
            shared=workers_per_object > 1, manifest_interval=manifest_interval)
        try:
            missing = self._input.check_store()
            self._state.take_all(self.journal.records(), own=True, strict=True)
            if missing:
                self._input.record()
            self.auto_labeling = AutoLabeling(self, AutoLabel() if auto_label is True else auto_label) \
                if auto_label else None
        except BaseException:
            self.journal.close()
            raise
        with gc_paused():  # a big team job builds hundreds of thousands of answers here, none of them cycles
            self._sync.adopt()
        self._uploader = Uploader(self._sync, on_state=self._changed, max_delay=retry_max_delay)
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

    def answer(self, object_id: str):
        """This worker's answer as the task type shows it (classification: a list of category names)."""
        a = self._state.answers.get(str(object_id))
        return self.task.display(a.value) if a else None

    def existing_label(self, object_id: str):
        """The label this attribute already has in the input manifest (a chained or re-run job)."""
        value = self.task.existing(self.item(object_id))
        return None if value is None else self.task.display(value)

    def pre_label(self, object_id: str):
        """The pre-label this object's card starts from (the task type's start), or None."""
        return self._pre_labels.get(object_id)

    def answer_value(self, object_id: str):
        """This worker's answer as its task type keeps it (boxes, a mask...), or None."""
        a = self._state.answers.get(str(object_id))
        return a.value if a else None

    def next_unlabeled(self, after: str | None = None) -> str | None:
        if self.auto_labeling is not None:  # the objects the loop sends to people, in its order
            return self.auto_labeling.next_for_humans(None if after is None else str(after))
        start = 0 if after is None else self._position.get(str(after), -1) + 1
        n = len(self.queue)
        for k in range(n):
            oid = self.queue[(start + k) % n]
            if oid not in self._state.answers and self.needs_answer(oid):
                return oid
        return None

    def needs_answer(self, object_id: str) -> bool:
        """Whether this object still waits for answers (other workers may have completed it)."""
        return len(self._state.others.get(str(object_id), {})) < self.workers_per_object

    def progress(self) -> dict:
        with self._lock:
            answers, others, skipped = self._state.answers, self._state.others, self._state.skipped
            per_class = {c: 0 for c in self.categories}
            for a in answers.values():
                for name in self.task.classes_of(a.value):
                    per_class[name] = per_class.get(name, 0) + 1
            labeled, total = len(answers), len(self.queue)
            if self.workers_per_object > 1:  # objects others completed are not this worker's to do
                total -= sum(1 for oid in others if oid not in answers and not self.needs_answer(oid))
            per_minute = _per_minute(self._session_times)
            remaining = total - labeled
            eta = remaining * 60.0 / per_minute if per_minute > 0 else None
            p = {"labeled": labeled, "skipped": len(skipped - set(answers)),
                    "total": total, "per_class": per_class, "per_minute": round(per_minute, 1),
                    "eta_seconds": None if eta is None else round(eta, 1), "done": remaining == 0}
            return self.auto_labeling.progress(p) if self.auto_labeling is not None else p

    def audit(self, n: int = 20, *, seed: int | None = None) -> list[str]:
        """Send ``n`` random machine labels to this worker to check (first in the queue); returns their ids.

        Each answer replaces the machine's label and feeds the next round; ``progress()["auto_label"]``
        counts how many agreed. ``gtwidgets.AuditMode`` shows only the sample in a widget.
        """
        if self.auto_labeling is None:
            raise JobError("audit checks machine labels: open the job with auto_label=True.")
        return self.auto_labeling.audit(n, seed=seed)

    @property
    def label_counters(self) -> dict[str, int]:
        """Ground Truth's ``LabelCounters``: human and machine labels (this worker's answers are the human ones)."""
        if self.auto_labeling is not None:
            return self.auto_labeling.counters()
        with self._lock:
            return label_counters(len(self.queue), len(self._state.answers), 0)

    def sync_status(self) -> dict:
        pending = len(self._sync.pending_work())
        state = self._uploader.state
        if state == "saved" and pending:
            state = "uploading"
        message = self._uploader.message if state != "saved" else f"all answers saved to {self.job_dir}"
        return self._store.with_problems({"state": state, "pending": pending, "message": message})

    @property
    def problems(self) -> pd.DataFrame:
        """Worker-response files (or answers in them) set aside because they cannot be read or do
        not fit this job, and why; everything else is labeled and consolidated as usual."""
        with self._lock:
            rows = list(self._store.problems.items())
        return pd.DataFrame(rows, columns=["uri", "reason"])

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (from any thread) when progress or the sync state changes."""
        self._listeners.append(callback)

    # ------------------------------------------------------------------ what a view does

    def submit(self, object_id, answer, *, time_spent: float | None = None,
               submitted: datetime | None = None) -> None:
        """Record this worker's answer. It is on disk (journal, fsynced) when this returns."""
        oid = self._check_id(object_id)
        value = self._pre_labels.settle(oid, self.task.check_answer(answer), lambda: self.item(oid))
        with self._lock, self.journal.locked():
            self._catch_up()  # another notebook's answer to this object is the one this replaces
            rec = self._state.answer_record(
                oid, value, worker=self.worker_id, submitted=submitted or datetime.now(timezone.utc),
                spent=float(time_spent) if time_spent is not None else 0.0, src=self._input.source_hash(oid),
                key_worker=self.worker_id if self.workers_per_object > 1 else None)
            self._journal(rec)
            self._session_times.append(time.time())
        self._uploader.poke()
        self._changed()
        if self.auto_labeling is not None:
            self.auto_labeling.after_answer()

    def skip(self, object_id) -> None:
        oid = self._check_id(object_id)
        with self._lock, self.journal.locked():
            self._catch_up()
            self._journal({"op": "skip", "id": oid, "src": self._input.source_hash(oid)})
        self._changed()

    def undo(self) -> str | None:
        """Revert this worker's last answer or skip; returns its object id (None if nothing to undo)."""
        with self._lock, self.journal.locked():
            self._catch_up()  # the other notebook may have undone one of the records we share
            target = self._state.undo_target()
            if target is None:
                return None
            self._journal({"op": "undo", "target": target["seq"]})
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
            self._sync.manifest_dirty = True
            self._sync.settle_wanted = True
        return self._uploader.flush(timeout)

    def close(self, timeout: float = 10.0) -> bool:
        if self.auto_labeling is not None:
            self.auto_labeling.close()
        done = self._uploader.stop(timeout)
        self.journal.close()
        _open_jobs.discard(self)
        return done

    # ------------------------------------------------------------------ results

    @property
    def labels(self) -> pd.DataFrame:
        """This worker's answers: who, what, when, how long."""
        with self._lock:
            answers = sorted(self._state.answers.values(), key=lambda a: self._position[a.object_id])
        frame = _answers_frame(self.task, answers, list)
        frame.insert(1, "source", [self.source(oid)[1] for oid in frame["object_id"]])
        return frame.rename(columns={"answer": "label", "acceptance_time": "accepted",
                                     "submission_time": "submitted"})[
            ["object_id", "source", "worker_id", "label", "accepted", "submitted", "time_spent"]]

    def label_pair(self, object_id: str) -> dict | None:
        """``{attr: ..., attr-metadata: ...}`` for an answered object (one worker: confidence 0)."""
        oid = str(object_id)
        pair = self._label_pairs(only=oid).get(oid)
        return None if pair is None else self.task.files_of(pair)[0]

    def output_lines(self) -> list[bytes]:
        """The output manifest, one JSON line per input line, in input order (unlabeled lines unchanged)."""
        return self._output()[0]

    def _output(self) -> tuple[list[bytes], dict]:
        if self._input_lines is None:
            from .manifests import to_manifest

            self._input_lines = [line.encode() for line in to_manifest(self.frame)]
        return job_output.output(self, self._input_lines)

    def _manifest_body(self) -> bytes:
        """The output manifest, after writing the files it points at (the uploader's thread)."""
        lines, files = self._output()
        self._store.put_files(files)
        return b"\n".join(lines) + b"\n"

    def to_manifest(self) -> pd.DataFrame:
        """The output manifest as a DataFrame (the same layout ``read_manifest`` gives)."""
        from .manifests import frame_from_objects

        return frame_from_objects([orjson.loads(line) for line in self.output_lines()])

    def all_answers(self) -> pd.DataFrame:
        """Every worker's answers known here (this worker's and those read from the store), tidy."""
        with self._lock:
            answers = list(self._state.answers.values())
            for by_worker in self._state.others.values():
                answers.extend(by_worker.values())
        frame = _answers_frame(self.task, answers)
        return frame.sort_values(["object_id", "submission_time"], key=_natural_key, ignore_index=True)

    def consolidated(self) -> pd.DataFrame:
        """Objects with all their answers, consolidated (``object_id, label, confidence, n_workers, pair``)."""
        with self._lock:  # a big team job has few complete objects: tabulate only theirs
            mine, others = self._state.answers, self._state.others
            complete = sorted((oid for oid in set(others) | set(mine)
                               if len(others.get(oid, ())) + (oid in mine) >= self.workers_per_object),
                              key=lambda oid: (0, int(oid), "") if oid.isdigit() else (1, 0, oid))
            answers = [a for oid in complete for a in (*((mine[oid],) if oid in mine else ()),
                                                       *others.get(oid, {}).values())]
        answers = _answers_frame(self.task, answers).sort_values(
            ["object_id", "submission_time"], key=_natural_key, ignore_index=True)
        if answers.empty:
            return pd.DataFrame(columns=["object_id", "label", "confidence", "n_workers", "pair"])
        data_objects = {oid: self.item(oid) for oid in complete} if callable(self.consolidation) else None
        return self.task.consolidate_table(answers, data_objects=data_objects)

    def run_consolidation(self) -> list[str]:
        """A custom task: send the objects whose answers are complete (and changed) to the consolidation
        Lambda (request and response files where Ground Truth puts them); returns their ids."""
        records, ids = consolidation_records(
            self.task, self.all_answers(), labeled=dict(self._state.lambda_labels), item=self.item,
            workers_per_object=self.workers_per_object, job_dir=self.job_dir, is_object=self._position.__contains__)
        with self._lock:
            if records:  # journaled, so a restart does not call the function again for the same answers
                self.journal.append(*records)
            self._state.take_all(records, own=True)
            self._sync.manifest_dirty = True
        return ids

    def adjudicate(self, object_id, answer, *, reviewer: str | None = None) -> None:
        """A reviewer's decision for an object; it wins over consolidation in the output manifest."""
        oid = self._check_id(object_id)
        value = self.task.check_answer(answer)
        self._record_decision({"op": "adjudicate", "id": oid, "labels": self.task.to_json(value),
                               "reviewer": _worker_id(reviewer if reviewer is not None else self.worker_id),
                               "time": format_time(datetime.now(timezone.utc))})

    def withdraw_adjudication(self, object_id) -> None:
        """Take back the decision made through this job: the object's label is consolidated again
        (or another reviewer's decision stands)."""
        self._record_decision({"op": "withdraw", "id": self._check_id(object_id)})

    @property
    def adjudications(self) -> pd.DataFrame:
        """Every reviewer's standing decision, from this kernel and from the output store."""
        with self._lock:
            decisions = self._state.all_decisions()
        rows = [{"object_id": oid, "label": _listed(self.task.table_value(self.task.from_json(d["labels"]))),
                 "reviewer": d["reviewer"], "time": pd.Timestamp(d["time"])}
                for oid, d in sorted(decisions.items(), key=lambda kv: int(kv[0]))]
        return pd.DataFrame(rows, columns=["object_id", "label", "reviewer", "time"])

    def refresh(self) -> None:
        """Read the other workers' answers and the reviewers' decisions from the output store."""
        self._catch_up()
        self._sync.refresh_answers()
        self._sync.refresh_decisions()
        self._changed()

    @property
    def output_manifest_uri(self) -> str:
        return self._store.output_manifest_uri

    def worker_response_uri(self, object_id: str, key: str) -> str:
        return self._store.worker_response_uri(object_id, key)

    # ------------------------------------------------------------------ internals

    def _label_pairs(self, only: str | None = None) -> dict[str, dict]:
        return job_output.label_pairs(self, only)

    def _record_decision(self, rec: dict) -> None:
        with self._lock:
            self._journal(rec)
            self._sync.manifest_dirty = True
        self._uploader.poke()
        self._changed()

    def _journal(self, rec: dict) -> None:
        rec["seq"] = self.journal.append(rec)[0]
        self._state.take(rec, own=True)

    def _catch_up(self) -> bool:
        """Take what other notebooks on this journal wrote since; whether an answer, skip or decision changed."""
        with self._lock:
            return self._state.take_all(self.journal.tail(), own=False)

    def _check_id(self, object_id) -> str:
        oid = str(object_id)
        if oid not in self._position:
            raise JobError(f"object {object_id!r} is not in this job's queue (ids are 0..{len(self.queue) - 1}).")
        return oid

    def _changed(self) -> None:
        for cb in list(self._listeners):
            try:
                cb()
            except Exception:  # a view's bug must not stop labeling; say it where it can be seen
                _log.exception("%s: a job listener (on_change) failed", self.name)


# ---------------------------------------------------------------------- helpers

_open_jobs: "weakref.WeakSet[LabelingJob]" = weakref.WeakSet()


@atexit.register
def _flush_open_jobs() -> None:
    for job in list(_open_jobs):
        try:
            job._uploader.flush(timeout=10)
        except Exception:
            _log.exception("%s: flushing at exit failed; its answers stay in the journal", job.name)


def _queue(n: int, order: str, seed: int | None) -> list[str]:
    queue = [str(i) for i in range(n)]
    if order == "random":
        random.Random(seed).shuffle(queue)
    elif order != "input":
        raise JobError(f"order={order!r}: use 'input' or 'random'.")
    return queue


def _per_minute(times: list[float]) -> float:
    """Answers a minute over the last five minutes of this session."""
    recent = [t for t in times if t > time.time() - 300]
    return (len(recent) - 1) * 60.0 / max(recent[-1] - recent[0], 1e-6) if len(recent) >= 2 else 0.0


def _answers_frame(task, answers: list[Answer], shown: Callable = tuple) -> pd.DataFrame:
    """Answers as a tidy table; ``shown``: how a tuple of names (multi-label) appears in it."""
    rows = [{"object_id": a.object_id, "worker_id": a.worker_id, "answer": _listed(task.table_value(a.value), shown),
             "submission_time": pd.Timestamp(a.submitted), "acceptance_time": pd.Timestamp(a.accepted),
             "time_spent": a.time_spent} for a in answers]
    cols = ["object_id", "worker_id", "answer", "submission_time", "acceptance_time", "time_spent"]
    return pd.DataFrame(rows, columns=cols)


def _listed(value, shown: Callable = list):
    """A tuple of names (multi-label) as the list the tables show."""
    return shown(value) if isinstance(value, tuple) else value


def _journal_path(journal_dir, name: str, job_dir: str, worker_id: str) -> Path:
    root = Path(journal_dir or os.environ.get("GTWIDGETS_HOME") or Path.home() / ".gtwidgets")
    tag = hashlib.sha1(job_dir.encode()).hexdigest()[:10]
    worker = hashlib.sha1(worker_id.encode()).hexdigest()[:10]
    return root / "journals" / f"{name}-{tag}" / f"{worker}.jsonl"


def _natural_key(col: pd.Series) -> pd.Series:
    """Sort object ids as numbers (2 before 10), times as times."""
    if col.name == "object_id":
        return col.map(lambda v: (0, int(v), "") if str(v).isdigit() else (1, 0, str(v)))
    return col


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
