"""Which value each card starts from, when it is not blank: pre-labels, and what an answer did to them.

Two sources, one per object, both read by the task type's ``pre_label`` (boxes:
:mod:`gtwidgets.tasktypes.predictions`; masks: ``SemanticSegmentation.pre_label``):

- ``LabelingJob(..., pre_labels=...)``: a model's predictions, one a row of the input: a Series
  (matched to the input DataFrame's rows by index), the name of a column of the input, or a list
  with one entry a line. None or NaN: that object starts blank. A bad shape is refused when the
  job is made, naming the row;
- the pre-annotation Lambda (``prelabel=``): a ``taskInput`` with ``initialValue``, the shape the
  crowd element's ``initial-value`` attribute takes (crowd-bounding-box: a list of ``{label, left,
  top, width, height}``; crowd-semantic-segmentation: ``{"src": uri, "labelMappings": {...}}``).
  A bad one gives that object an error card, as a failing Lambda does.

When both give one object a start, ``pre_labels`` wins. An answer to a card that started from a
value (a pre-label, else the line's prior label) says whether the worker changed it (the tool
tells; a Python answer is compared with the start), Ground Truth's ``initialValueModified``.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from .errors import JobError
from .tasktypes import TaskType
from .tasktypes.segmentation import MaskValue, PriorMask, load_prior

__all__ = ["PreLabels", "align"]


class PreLabels:
    """Object id -> the task type's start; and answers marked against it."""

    def __init__(self, task: TaskType, starts: Mapping[str, Any] | None = None):
        self.task = task
        self.starts: dict[str, Any] = dict(starts or {})

    @classmethod
    def build(cls, task: TaskType, given: Any, original: pd.DataFrame, frame: pd.DataFrame) -> "PreLabels":
        """``given``: the ``pre_labels`` argument; ``original``: the input as given (its index
        matches a Series), ``frame``: the job's own copy, the same rows (line numbers are object ids)."""
        starts = {}
        if given is not None:
            for pos, raw in align(given, original, frame).items():
                try:
                    starts[str(pos)] = task.pre_label(raw)
                except JobError as e:
                    source = frame.iloc[pos].get("source-ref", frame.iloc[pos].get("source"))
                    raise JobError(f"pre_labels[{original.index[pos]!r}] (input line {pos + 1}, {source}): "
                                   f"{e}") from None
        return cls(task, starts)

    def add_task_inputs(self, task_inputs: Mapping[str, Any], errors: dict[str, str]) -> None:
        """Starts from the pre-annotation Lambda's ``taskInput.initialValue``; a bad one is an
        error card (``errors``: object id -> why)."""
        for oid, task_input in task_inputs.items():
            if oid in self.starts or not isinstance(task_input, Mapping) or "initialValue" not in task_input:
                continue
            try:
                self.starts[oid] = self.task.pre_label(task_input["initialValue"])
            except JobError as e:
                errors[oid] = f"pre-labeling: taskInput.initialValue cannot start this card: {e}"

    def get(self, object_id: str) -> Any | None:
        return self.starts.get(str(object_id))

    def settle(self, object_id: str, value: Any, line: Callable[[], Mapping]) -> Any:
        """An answer, saying whether it changed the value its card started from (the pre-label,
        else the line's prior label): kept when the answer says so, else compared."""
        if type(self.task).started is TaskType.started or _said(value):
            return value  # a task type whose cards start blank, or the tool said
        start = self.starts.get(str(object_id))
        if start is None:
            start = self.task.existing(line())
        if isinstance(start, PriorMask):  # a mask named by URI: read it to compare
            start = MaskValue(load_prior(start, self.task.categories))
        return self.task.started(value, start)


def align(given: Any, original: pd.DataFrame, frame: pd.DataFrame) -> dict[int, Any]:
    """Line number -> pre-label, for the lines that have one."""
    n = len(frame)
    if isinstance(given, str):
        if given not in frame.columns:
            raise JobError(f"pre_labels={given!r} is not a column of the input; its columns are {list(frame.columns)}.")
        values = list(frame[given])
    elif isinstance(given, pd.Series):
        if not given.index.is_unique:
            raise JobError("pre_labels: the Series' index has repeated labels; give one pre-label a row.")
        extra = given.index.difference(original.index)
        if len(extra):
            raise JobError(f"pre_labels has rows {list(extra[:5])!r} that the input does not have; "
                           "give a Series indexed like the input DataFrame (e.g. one of its columns).")
        values = list(given.reindex(original.index))
    elif isinstance(given, (list, tuple)) or isinstance(given, np.ndarray) and given.ndim >= 1:
        values = list(given)  # a stack of masks (n, height, width) is n masks
    else:
        raise JobError(f"pre_labels takes a pandas Series, the name of an input column or a list with one "
                       f"entry a line, not {type(given).__name__}.")
    if len(values) != n:
        raise JobError(f"pre_labels has {len(values)} entries but the input has {n} lines; give one a line "
                       "(None where there is none).")
    return {pos: v for pos, v in enumerate(values) if not _missing(v)}


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _said(value: Any) -> bool:
    """Whether an answer says already if it changed its start (the tool does)."""
    if isinstance(value, Mapping):
        return "initial_value_modified" in value
    return getattr(value, "initial_value_modified", None) is not None
