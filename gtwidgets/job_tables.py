"""What a job's answers add up to, read under its lock: progress counts and tidy tables.

``LabelingJob.progress()``, ``labels``, ``all_answers()``, ``consolidated()`` and
``adjudications`` and ``problems`` are these functions; the job's state (``gtwidgets.jobstate``) holds the
answers, and the task type says how a value shows in a table (``table_value``) and how
several answers consolidate (``consolidate_table``).
"""
from __future__ import annotations

import time
from typing import Any, Callable

import pandas as pd

from .jobstate import Answer

__all__ = ["progress", "labels", "all_answers", "consolidated", "adjudications", "problems", "answers_frame"]


def progress(job: Any) -> dict:
    """Labeled, skipped and total objects of this worker, per class, its pace and what remains."""
    with job._lock:
        answers, others, skipped = job._state.answers, job._state.others, job._state.skipped
        per_class = {c: 0 for c in job.categories}
        for a in answers.values():
            for name in job.task.classes_of(a.value):
                per_class[name] = per_class.get(name, 0) + 1
        labeled, total = len(answers), len(job.queue)
        if job.workers_per_object > 1:  # objects others completed are not this worker's to do
            total -= sum(1 for oid in others if oid not in answers and not job.needs_answer(oid))
        per_minute = _per_minute(job._session_times)
        remaining = total - labeled
        eta = remaining * 60.0 / per_minute if per_minute > 0 else None
        p = {"labeled": labeled, "skipped": len(skipped - set(answers)),
             "total": total, "per_class": per_class, "per_minute": round(per_minute, 1),
             "eta_seconds": None if eta is None else round(eta, 1), "done": remaining == 0}
        return job.auto_labeling.progress(p) if job.auto_labeling is not None else p


def labels(job: Any) -> pd.DataFrame:
    """This worker's answers in queue order: who, what, when, how long."""
    with job._lock:
        answers = sorted(job._state.answers.values(), key=lambda a: job._position[a.object_id])
    frame = answers_frame(job.task, answers, list)
    frame.insert(1, "source", [job.source(oid)[1] for oid in frame["object_id"]])
    return frame.rename(columns={"answer": "label", "acceptance_time": "accepted",
                                 "submission_time": "submitted"})[
        ["object_id", "source", "worker_id", "label", "accepted", "submitted", "time_spent"]]


def all_answers(job: Any) -> pd.DataFrame:
    """Every worker's answers known to the job, by object id then submission time."""
    with job._lock:
        answers = list(job._state.answers.values())
        for by_worker in job._state.others.values():
            answers.extend(by_worker.values())
    frame = answers_frame(job.task, answers)
    return frame.sort_values(["object_id", "submission_time"], key=_natural_key, ignore_index=True)


def consolidated(job: Any) -> pd.DataFrame:
    """The objects whose answers are complete, consolidated by the task type."""
    with job._lock:  # a big team job has few complete objects: tabulate only theirs
        mine, others = job._state.answers, job._state.others
        complete = sorted((oid for oid in set(others) | set(mine)
                           if len(others.get(oid, ())) + (oid in mine) >= job.workers_per_object),
                          key=lambda oid: (0, int(oid), "") if oid.isdigit() else (1, 0, oid))
        answers = [a for oid in complete for a in (*((mine[oid],) if oid in mine else ()),
                                                   *others.get(oid, {}).values())]
    answers = answers_frame(job.task, answers).sort_values(
        ["object_id", "submission_time"], key=_natural_key, ignore_index=True)
    if answers.empty:
        return pd.DataFrame(columns=["object_id", "label", "confidence", "n_workers", "pair"])
    data_objects = {oid: job.item(oid) for oid in complete} if callable(job.consolidation) else None
    return job.task.consolidate_table(answers, data_objects=data_objects)


def adjudications(job: Any) -> pd.DataFrame:
    """Every reviewer's standing decision, one row an object."""
    with job._lock:
        decisions = job._state.all_decisions()
    rows = [{"object_id": oid, "label": _listed(job.task.table_value(job.task.from_json(d["labels"]))),
             "reviewer": d["reviewer"], "time": pd.Timestamp(d["time"])}
            for oid, d in sorted(decisions.items(), key=lambda kv: int(kv[0]))]
    return pd.DataFrame(rows, columns=["object_id", "label", "reviewer", "time"])


def problems(job: Any) -> pd.DataFrame:
    """The worker-response files (or answers in them) the store set aside, and why."""
    with job._lock:
        rows = list(job._store.problems.items())
    return pd.DataFrame(rows, columns=["uri", "reason"])


def answers_frame(task: Any, answers: list[Answer], shown: Callable = tuple) -> pd.DataFrame:
    """Answers as a tidy table; ``shown``: how a tuple of names (multi-label) appears in it."""
    rows = [{"object_id": a.object_id, "worker_id": a.worker_id, "answer": _listed(task.table_value(a.value), shown),
             "submission_time": pd.Timestamp(a.submitted), "acceptance_time": pd.Timestamp(a.accepted),
             "time_spent": a.time_spent} for a in answers]
    cols = ["object_id", "worker_id", "answer", "submission_time", "acceptance_time", "time_spent"]
    return pd.DataFrame(rows, columns=cols)


def _listed(value, shown: Callable = list):
    """A tuple of names (multi-label) as the list the tables show."""
    return shown(value) if isinstance(value, tuple) else value


def _natural_key(col: pd.Series) -> pd.Series:
    """Sort object ids as numbers (2 before 10), times as times."""
    if col.name == "object_id":
        return col.map(lambda v: (0, int(v), "") if str(v).isdigit() else (1, 0, str(v)))
    return col


def _per_minute(times: list[float]) -> float:
    """Answers a minute over the last five minutes of this session."""
    recent = [t for t in times if t > time.time() - 300]
    return (len(recent) - 1) * 60.0 / max(recent[-1] - recent[0], 1e-6) if len(recent) >= 2 else 0.0
