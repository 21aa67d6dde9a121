"""What ``LabelingJob``'s keywords become, checked when the job is made.

A configuration Ground Truth would refuse (a bad name, 10 workers an object, a manifest
without ``source-ref``) is a ``JobError`` saying what to pass instead, before anything is
written. The task type, the pre-labels, the queue (its order, and what the pre-annotation
Lambda leaves of it), who the worker is and where the journal lives are settled here once.
"""
from __future__ import annotations

import getpass
import hashlib
import os
import random
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import orjson
import pandas as pd

from . import storage, tasks
from .errors import JobError
from .lambda_runs import prelabel as run_prelabel
from .pre_labels import PreLabels
from .tasktypes import TaskConfig, task_type_for
from .tasktypes.classification import classification_for

__all__ = ["configure", "worker_name", "journal_path"]


def configure(job: Any, name: str, *, input, categories, output, multi_label: bool, label_attribute: str | None,
              instructions: str, full_instructions: str, worker_id: str | None, workers_per_object: int,
              consolidation, prelabel: Callable | None, pre_labels, panels: Sequence | None, task: str | None,
              order: str, seed: int | None, options: Mapping[str, object] | None) -> None:
    """Check ``LabelingJob``'s keywords in the order given and set what they become on ``job``:
    its names, categories, worker, input frame, task type, pre-labels and queue (after the
    pre-annotation Lambda, which may take objects out of it)."""
    job.name = tasks.check_job_name(name)
    job.label_attribute = tasks.check_attribute_name(label_attribute or name)
    job.categories = _load_categories(categories)
    job.instructions = instructions
    job.full_instructions = full_instructions
    job.worker_id = worker_name(worker_id)
    if not isinstance(workers_per_object, int) or not 1 <= workers_per_object <= 9:
        raise JobError(f"workers_per_object={workers_per_object!r}: Ground Truth takes 1 to 9.")
    job.workers_per_object = workers_per_object
    job.consolidation = consolidation
    job.output = str(output)
    job.job_dir = storage.join(job.output, job.name)
    job.frame = _load_input(input)
    job._source_key = _source_key(job.frame)
    if task is None:
        task = "custom" if callable(consolidation) else classification_for(job._source_key)
    pre_labeled = {"pre_labeled": True} if pre_labels is not None or prelabel is not None else {}
    job.task = task_type_for(task, TaskConfig(
        job.name, job.label_attribute, tuple(job.categories), bool(multi_label), job._source_key,
        {"consolidation": consolidation, "output_uri": job.job_dir, **pre_labeled, **(options or {})}))
    job._pre_labels = PreLabels.build(job.task, pre_labels,
                                      input if isinstance(input, pd.DataFrame) else job.frame, job.frame)
    job.multi_label = bool(getattr(job.task, "multi_label", multi_label))
    job.task_type, job.element = job.task.gt_type, job.task.element
    job.queue = _queue(len(job.frame), order, seed)
    job.panels = list(panels) if panels is not None else None  # what a card shows (gtwidgets.panels)
    job.task_inputs, job.prelabel_errors = {}, {}
    if prelabel is not None:
        job.queue, job.task_inputs, job.prelabel_errors = run_prelabel(prelabel, job.queue, job.item, job.name)
        job._pre_labels.add_task_inputs(job.task_inputs, job.prelabel_errors)


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


def _queue(n: int, order: str, seed: int | None) -> list[str]:
    ids = [str(i) for i in range(n)]
    if order == "random":
        random.Random(seed).shuffle(ids)
    elif order != "input":
        raise JobError(f"order={order!r}: use 'input' or 'random'.")
    return ids


def worker_name(given: str | None) -> str:
    wid = given if given is not None else (
        os.environ.get("GTWIDGETS_WORKER") or os.environ.get("JUPYTERHUB_USER") or _login())
    wid = (wid or "").strip()
    if not wid:
        raise JobError("worker_id is empty; pass worker_id='your-name' (or set GTWIDGETS_WORKER).")
    return wid


def journal_path(journal_dir, name: str, job_dir: str, worker: str) -> Path:
    """One journal a job output and worker, under ``journal_dir``, ``$GTWIDGETS_HOME`` or ``~/.gtwidgets``."""
    root = Path(journal_dir or os.environ.get("GTWIDGETS_HOME") or Path.home() / ".gtwidgets")
    tag = hashlib.sha1(job_dir.encode()).hexdigest()[:10]
    who = hashlib.sha1(worker.encode()).hexdigest()[:10]
    return root / "journals" / f"{name}-{tag}" / f"{who}.jsonl"


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "worker"
