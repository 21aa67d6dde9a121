"""The output manifest of a job: which label pair each object gets, and the lines it is written as.

A reviewer's decision wins (confidence 1); otherwise the custom task's Lambda label, the
consolidated label of several workers, the one worker's answer (confidence 0), or automated
labeling's machine label (``"human-annotated": "no"``, the model's confidence). Lines that
have no label are the input lines unchanged, so the output has one line per input line.
"""
from __future__ import annotations

import weakref
from typing import Any

import orjson

from . import tasks
from .manifests._line_by_line import DUMPS_OPTS, json_default
from .output_layout import parse_time

__all__ = ["label_pairs", "decided_pair", "output"]

# job -> {(object id, time, reviewer): the decision's value}: a decision is read from its JSON once,
# not at every output-manifest write (a mask's PNG costs most of a second to decode at 12 MP).
_decided: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def label_pairs(job: Any, only: str | None = None) -> dict[str, dict]:
    """Object id -> label pair for every labeled object (or just ``only``)."""
    task, state = job.task, job._state
    with job._lock:
        decisions = state.all_decisions()
        known = _decided.setdefault(job, {})
        values = {oid: known.get((oid, d["time"], d["reviewer"])) for oid, d in decisions.items()}
        if only is not None and only in decisions:
            return {only: decided_pair(task, only, decisions[only], value=values[only])}
        if task.name == "custom":
            pairs = {oid: task.lambda_pair(label, creation_date=date)
                     for oid, (_, label, date) in state.lambda_labels.items()}
        elif job.workers_per_object > 1:
            table = job.consolidated()
            pairs = {str(oid): pair for oid, pair in zip(table["object_id"], table["pair"]) if pair}
        else:
            answers = state.answers
            ids = list(answers) if only is None else [only] if only in answers else []
            pairs = {oid: task.label_pair(task.of_object(answers[oid].value, oid),
                                          creation_date=tasks.format_creation_date(answers[oid].submitted))
                     for oid in ids}
        auto = getattr(job, "auto_labeling", None)
        if auto is not None:  # a machine label stands until a person answers (or a reviewer decides)
            for oid, pair in auto.machine_pairs(only).items():
                pairs.setdefault(oid, pair)
        if only is not None:
            return {only: pairs[only]} if only in pairs else {}
        standing = {}
        for oid, d in decisions.items():
            value = values[oid] if values[oid] is not None else task.from_json(d["labels"])
            standing[(oid, d["time"], d["reviewer"])] = value
            pairs[oid] = decided_pair(task, oid, d, value=value)
        _decided[job] = standing   # withdrawn and replaced decisions are forgotten
    return pairs


def decided_pair(task: Any, oid: str, d: dict, *, value: Any = None) -> dict:
    """A reviewer's decision as a label pair: confidence 1, dated when it was decided.
    ``value``: the decision's value when already read from its JSON."""
    date = tasks.format_creation_date(parse_time(d["time"]))
    value = task.of_object(task.from_json(d["labels"]) if value is None else value, oid)
    return task.label_pair(value, confidence=1, creation_date=date)


def output(job: Any, input_lines: list[bytes]) -> tuple[list[bytes], dict[str, Any]]:
    """The output manifest's lines, and the files its label pairs name (segmentation's mask PNGs)."""
    lines, files = list(input_lines), {}
    for oid, pair in label_pairs(job).items():
        pair, named = job.task.files_of(pair)
        files.update(named)
        obj = job.item(oid)
        obj.update(pair)
        lines[int(oid)] = orjson.dumps(obj, option=DUMPS_OPTS, default=json_default)  # as to_manifest writes
    return lines, files
