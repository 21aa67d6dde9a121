"""A job's automated data labeling: Ground Truth's loop (ground-truth-format.md section 6.3) on a LabelingJob.

People label a random first batch; a round (``gtwidgets.autolabel.AutoLabeler``, in a background
thread: labeling never waits) trains on their labels, measures the machine on held-out human
labels, machine-labels the objects above the confidence threshold and names the least confident
ones for people, who label those next. The job applies a finished round as ONE journal record::

    {"op": "machine_labels", "round": 3, "ids": [...], "classes": [...], "confidences": [...],
     "threshold": {"value", "accuracy", "low", "high", "support", "correct", "validation", "target", "rule"},
     "human_labeled": 412, "trained_on": 330, "to_humans": [...], "seconds": 0.4, "date": "2024-..."}

so a killed kernel re-opens with the same machine labels and queue, and never trains to derive
them again. A human answer always wins over a machine label (and counts as a human label for the
next round); machine-labeled objects leave the humans' queue unless a person is asked to audit them.
"""
from __future__ import annotations

import logging
import math
import random
import threading
from typing import Any, NamedTuple

import pandas as pd

from . import tasks
from .autolabel import label_counters
from .autolabel.threshold import Threshold
from .errors import JobError
from .job_autolabel_setup import AutoLabel, engine_for

__all__ = ["AutoLabel", "AutoLabeling", "MachineLabel"]

_log = logging.getLogger(__name__)


class MachineLabel(NamedTuple):
    label: str
    confidence: float
    round: int
    date: str


class AutoLabeling:
    """The automated-labeling part of one job: its engine, the humans' queue and the machine labels.

    ``queue`` lists the objects sent to people, in order (append-only while the job is open).
    Machine labels live in the job's journal; this part derives them from its records.
    """

    def __init__(self, job: Any, options: AutoLabel):
        self.options, self._job = options, job
        self._ids = [str(i) for i in range(len(job.frame))]
        self.engine = engine_for(job, options, self._ids)
        self.queue: list[str] = []
        self.machine: dict[str, MachineLabel] = {}
        self.audits: dict[str, None] = {}  # machine labels a person was asked to check, in order
        self.error: str | None = None
        self._queued: set[str] = set()
        self._seen = -1            # machine_labels records derived so far (-1: the queue is not built)
        self._snapshot = 0         # human labels the newest round started with
        self._running = False
        self._closed = False
        self._idle = threading.Condition(job._lock)
        with job._lock:
            self._derive()

    # ------------------------------------------------------------------ what the job asks

    def next_for_humans(self, after: str | None = None) -> str | None:
        """The next object a person should label after ``after``: the queue's, or more when it runs dry."""
        job = self._job
        with job._lock:
            self._derive()
            stopped = self.stop is not None
            audit = next((oid for oid in self.audits if self._open(oid, stopped)), None)
            if audit is not None:  # asked for: before the rest
                return audit
            start = self.queue.index(after) + 1 if after in self._queued else 0
            n = len(self.queue)
            for k in range(n):
                oid = self.queue[(start + k) % n]
                if self._open(oid, stopped):
                    return oid
            if stopped:
                return None
            human = job._state.answers
            busy = {o for o in self._queued if o not in human} | self.standing()
            more = self.engine.next_for_humans(human, busy, n=max(1, self.engine.batch_size // 5))
            self._extend(more)
        self.after_answer()
        return more[0] if more else None

    def after_answer(self) -> None:
        """Start a round when a batch's worth of human labels came in, or the queue ran dry."""
        job = self._job
        with job._lock:
            if self._closed or self._running or self.stop is not None:
                return
            human = self.human_labels()
            new = len(human) - self._snapshot
            if new <= 0 or (new < self.engine.batch_size and any(self._open(o, False) for o in self.queue)):
                return
            self._start(human)

    def machine_pairs(self, only: str | None = None) -> dict[str, dict]:
        """Object id -> label pair of each standing machine label (``"human-annotated": "no"``)."""
        job = self._job
        with job._lock:
            self._derive()
            ids = self.standing() if only is None else {only} & self.standing()
            return {oid: job.task.label_pair((m.label,), creation_date=m.date, confidence=m.confidence,
                                             human_annotated=False)
                    for oid in ids for m in (self.machine[oid],)}

    def counters(self) -> dict[str, int]:
        """Ground Truth's ``LabelCounters``."""
        with self._job._lock:
            self._derive()
            return label_counters(len(self._ids), len(self._job._state.answers), len(self.standing()))

    def progress(self, base: dict) -> dict:
        """The job's progress with machine labels counted, and what the loop is doing."""
        with self._job._lock:
            self._derive()
            c = self.counters()
            pending = any(self._open(o, True) for o in self.audits)
            return {**base, "labeled": c["TotalLabeled"], "total": len(self._ids), "eta_seconds": None,
                    "done": self.stop is not None and not pending, "auto_label": self.summary()}

    def close(self) -> None:
        with self._job._lock:
            self._closed = True

    # ------------------------------------------------------------------ what a person reads

    @property
    def training(self) -> bool:
        return self._running

    @property
    def stop(self) -> str | None:
        """Why the job is done (a stopping condition, or everything labeled), or None."""
        with self._job._lock:
            self._derive()
            return self.engine.stop_reason(len(self._job._state.answers), len(self.standing()))

    def standing(self) -> set[str]:
        """Machine-labeled objects no person has answered."""
        answers = self._job._state.answers
        return {oid for oid in self.machine if oid not in answers}

    def human_labels(self) -> dict[str, str]:
        return {oid: a.value[0] for oid, a in self._job._state.answers.items() if a.value}

    def machine_info(self, object_id: str) -> dict | None:
        """The model's label of an object (a card shows it), or None."""
        with self._job._lock:
            self._derive()
            m = self.machine.get(object_id)
            return None if m is None else {"label": m.label, "confidence": round(m.confidence, 4), "round": m.round,
                                           "audit": object_id in self.audits}

    @property
    def accuracy(self) -> dict | None:
        """What held-out human labels say of the machine: the newest round that machine-labeled.

        ``accuracy`` is the share of validation objects above that round's threshold the model got
        right (``correct`` of ``support``), ``low``/``high`` its 95% Wilson interval: the claim is the
        interval, measured on human labels the model never trained on. None before any machine label.
        """
        with self._job._lock:
            self._derive()
            for rec in reversed(self._job._state.machine_rounds):
                t = rec["threshold"]
                if rec["ids"] and t.get("accuracy") is not None:
                    return {"round": rec["round"], **{k: t[k] for k in ("accuracy", "low", "high", "support",
                                                                        "correct", "validation", "target")}}
        return None

    def summary(self) -> dict:
        """Counters, the accuracy estimate and the audit so far, as plain JSON (what the widget shows)."""
        with self._job._lock:
            self._derive()
            answers = self._job._state.answers
            checked = [oid for oid in self.machine if oid in answers]
            agreed = sum(1 for oid in checked if self.machine[oid].label in answers[oid].value)
            return {"human": len(answers), "machine": len(self.standing()), "total": len(self._ids),
                    "rounds": len(self._job._state.machine_rounds), "training": self._running,
                    "stop": self.stop, "accuracy": self.accuracy, "error": self.error,
                    "audited": len(checked), "agreed": agreed,
                    "audit_pending": sum(1 for oid in self.audits if oid not in answers)}

    @property
    def rounds(self) -> pd.DataFrame:
        """One row per applied round: what it labeled, and what the validation set measured."""
        with self._job._lock:
            return rounds_frame(list(self._job._state.machine_rounds))

    @property
    def machine_labels(self) -> pd.DataFrame:
        """Every machine label, with the person's answer where one overrides it."""
        with self._job._lock:
            self._derive()
            return machine_frame(self._job, self.machine)

    # ------------------------------------------------------------------ what a person does

    def train(self) -> bool:
        """Start a round now on the human labels so far (if none is running); whether one started."""
        with self._job._lock:
            if self._closed or self._running:
                return False
            self._derive()
            self._start(self.human_labels())
            return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no round is training (the running one applied); False if still training at ``timeout``."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._running, timeout)

    def audit(self, n: int = 20, *, seed: int | None = None) -> list[str]:
        """Queue ``n`` random standing machine labels for a person to check; returns their ids.

        The person's answers are human labels: they replace the machine's, feed the next round, and
        ``summary()`` counts how many agreed with the machine.
        """
        if not isinstance(n, int) or n < 1:
            raise JobError(f"audit n={n!r}: give how many machine labels to check, 1 or more.")
        with self._job._lock:
            self._derive()
            pool = sorted(self.standing() - set(self.audits), key=int)
            picked = random.Random(seed).sample(pool, min(n, len(pool)))
            self.audits.update(dict.fromkeys(picked))
            self._extend(picked)  # append-only: a view's positions stay valid
        self._job._changed()
        return picked

    # ------------------------------------------------------------------ rounds

    def _start(self, human: dict[str, str]) -> None:
        """Start a round (the job's lock held)."""
        self._snapshot = len(human)
        self._running = True
        try:
            future = self.engine.start_round(human, self.standing())
        except BaseException:
            self._running = False
            raise
        future.add_done_callback(self._finished)

    def _finished(self, future) -> None:
        """A round ended (its thread): journal what it decided, then let the next one start."""
        job = self._job
        try:
            result = future.result()
        except BaseException as e:  # noqa: BLE001 - shown in the summary; labeling goes on
            _log.warning("%s: an automated-labeling round failed: %s: %s", job.name, type(e).__name__, e)
            with job._lock:
                self.error = f"{type(e).__name__}: {e}"
                self._running = False
                self._idle.notify_all()
            job._changed()
            return
        try:
            self._apply(result)
        except BaseException as e:  # noqa: BLE001 - e.g. a full disk: the round is lost, not a label
            _log.exception("%s: applying an automated-labeling round failed", job.name)
            with job._lock:
                self.error = f"{type(e).__name__}: {e}"
        finally:
            with job._lock:
                self._running = False
                self._idle.notify_all()
        job._uploader.poke()
        job._changed()
        self.after_answer()  # people labeled a batch's worth while it trained

    def _apply(self, result) -> None:
        job = self._job
        with job._lock, job.journal.locked():
            if self._closed:
                return
            job._catch_up()
            self._derive()
            answers, standing = job._state.answers, self.standing()
            fresh = sorted(((oid, lbl, conf) for oid, (lbl, conf) in result.machine_labels.items()
                            if oid not in answers and oid not in self.machine), key=lambda m: -m[2])
            room = math.floor(self.options.max_percentage * len(self._ids) / 100) - len(answers) - len(standing)
            fresh = fresh[:max(room, 0)]
            labeled = {oid for oid, _, _ in fresh}
            to_humans = [oid for oid in result.to_humans
                         if oid not in answers and oid not in self.machine and oid not in labeled]
            job._journal({"op": "machine_labels", "round": len(job._state.machine_rounds) + 1,
                          "ids": [m[0] for m in fresh], "classes": [m[1] for m in fresh],
                          "confidences": [round(m[2], 6) for m in fresh],
                          "threshold": _threshold_json(result.threshold), "human_labeled": result.human_labeled,
                          "trained_on": result.trained_on, "to_humans": to_humans,
                          "seconds": round(result.seconds, 3), "date": tasks.format_creation_date()})
            self.error = None
            self._derive()
            job._sync.manifest_dirty = True

    # ------------------------------------------------------------------ derived from the journal

    def _derive(self) -> None:
        """Take the machine_labels records the state has that this part has not (the job's lock held)."""
        job = self._job
        if self._seen < 0:  # the queue as it was: the seeded first batch, then each round's choice
            self._extend(self.engine.first_batch())
            self._seen = 0
        records = job._state.machine_rounds
        for rec in records[self._seen:]:
            for oid, label, conf in zip(rec["ids"], rec["classes"], rec["confidences"]):
                if oid in job._position and label in job.categories and oid not in self.machine:
                    self.machine[oid] = MachineLabel(label, float(conf), int(rec["round"]), str(rec["date"]))
            self._extend(oid for oid in rec["to_humans"] if oid in job._position)
            self._snapshot = max(self._snapshot, int(rec.get("human_labeled", 0)))
        self._seen = len(records)
        self._extend(oid for oid in job._state.answers if oid not in self._queued)

    def _extend(self, ids) -> None:
        for oid in ids:
            if oid not in self._queued:
                self._queued.add(oid)
                self.queue.append(oid)

    def _open(self, oid: str, stopped: bool) -> bool:
        """Whether a person should label ``oid`` now."""
        if oid in self._job._state.answers:
            return False
        if oid in self.audits:
            return True
        return not stopped and oid not in self.machine


def _threshold_json(t: Threshold) -> dict:
    def num(v: float) -> float | None:
        return float(v) if math.isfinite(v) else None
    return {"value": num(t.value), "accuracy": num(t.accuracy), "low": t.interval[0], "high": t.interval[1],
            "support": t.support, "correct": t.correct, "validation": t.validation_size, "target": t.target,
            "rule": t.rule}




def rounds_frame(records: list[dict]) -> pd.DataFrame:
    """The machine_labels records as a table: one row per round."""
    rows = [{"round": r["round"], "date": r["date"], "human_labeled": r["human_labeled"],
             "trained_on": r["trained_on"], "machine_labeled": len(r["ids"]),
             **{k: r["threshold"][k] for k in ("value", "validation", "support", "accuracy", "low", "high")},
             "to_humans": len(r["to_humans"]), "seconds": r["seconds"]} for r in records]
    cols = ["round", "date", "human_labeled", "trained_on", "machine_labeled", "threshold", "validation",
            "support", "accuracy", "low", "high", "to_humans", "seconds"]
    return pd.DataFrame(rows, columns=[c if c != "threshold" else "value" for c in cols]).rename(
        columns={"value": "threshold"})


def machine_frame(job: Any, machine: dict[str, MachineLabel]) -> pd.DataFrame:
    """Machine labels as a table, with the person's answer where one replaced the machine's."""
    answers = job._state.answers
    rows = [{"object_id": oid, "source": job.source(oid)[1], "label": m.label, "confidence": m.confidence,
             "round": m.round, "human_label": answers[oid].value[0] if oid in answers else None}
            for oid, m in sorted(machine.items(), key=lambda kv: int(kv[0]))]
    return pd.DataFrame(rows, columns=["object_id", "source", "label", "confidence", "round", "human_label"])
