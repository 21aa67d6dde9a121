"""The seam every task type plugs into: what an answer is, in Ground Truth's shapes.

A task type is one unit. It knows, for its kind of answer:

- how a worker's answer is checked and normalised (``check_answer``), and the plain
  JSON value it is kept as in the journal (``to_json`` / ``from_json``);
- the ``answerContent`` of its crowd element in a worker-response file, both ways
  (``to_content`` / ``from_content``);
- the label pair one worker produces (``label_pair``) and how several workers' answers
  become one label with confidences (``consolidate``); the files a pair names, which the job
  writes before the output manifest (``files_of``: segmentation's mask PNGs, each a
  :class:`LabelFile` made only when the store has not written it yet);
- what a card needs from the kernel beside the image or text (``card_meta``) and which
  browser tool shows it (``tool``: a module under ``js/src/tools/``);
- how an existing label of the input manifest is read back (``existing``), for
  adjustment and verification jobs; how a model's prediction becomes the value a card starts
  from (``pre_label``, placed on its image by ``start_value``), and an answer to such a card
  (``started``: Ground Truth's ``initialValueModified``);
- how a value reads in the job's tables and ``job.answer`` (``table_value``, ``display``),
  and the job's ``consolidated()`` table (``consolidate_table``, by default from ``consolidate``).

The job, its store and the widget only ever call these methods; adding a task type is
one module here, one JS tool module and their tests. Task types are pure: no I/O,
no widget, nothing above the formats and consolidation layers.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Mapping, Protocol, Sequence

import pandas as pd

from ..errors import JobError
from ..tasks import format_creation_date

__all__ = ["TaskConfig", "TaskType", "WorkerAnswer", "LabelFile", "register", "task_type_for", "TASK_TYPES", "require_prior"]

JSONValue = Any  # what json/orjson round-trips: dict, list, str, int, float, bool, None


@dataclass(frozen=True)
class TaskConfig:
    """What a job tells its task type; the same for every object of the job."""

    job_name: str
    label_attribute: str
    categories: tuple[str, ...] = ()
    multi_label: bool = False
    source_key: str = "source-ref"  # "source" for text objects
    options: Mapping[str, Any] = field(default_factory=dict)  # task-specific settings


@dataclass(frozen=True)
class WorkerAnswer:
    """One worker's normalised answer to one object, as ``consolidate`` receives it."""

    object_id: str
    worker_id: str
    value: Any
    submitted: datetime


class LabelFile(Protocol):
    """A file a label pair names (a mask PNG), made on demand: a store that already wrote the same
    ``key`` to its URI neither makes nor writes it again. ``unique_name``: the URI alone says what
    it holds (it carries its answer's time), so a file already there is this one."""

    key: str
    unique_name: bool

    @property
    def data(self) -> bytes: ...


class TaskType(ABC):
    """Base of every task type. Subclasses set ``name``, ``tool`` and implement the methods."""

    name: ClassVar[str]   # what users pass: LabelingJob(..., task="bounding-box")
    tool: ClassVar[str]   # the browser tool: js/src/tools/<tool>.js

    def __init__(self, config: TaskConfig):
        self.config = config

    # ------------------------------------------------------------- what Ground Truth calls it

    @property
    @abstractmethod
    def gt_type(self) -> str:
        """``<attr>-metadata.type``, e.g. ``groundtruth/object-detection``."""

    @property
    @abstractmethod
    def element(self) -> str:
        """The crowd element's key under ``answerContent``, e.g. ``crowd-bounding-box``."""

    # ------------------------------------------------------------- one answer

    @abstractmethod
    def check_answer(self, answer: Any) -> Any:
        """The normalised value of a worker's answer; raises JobError saying what to fix."""

    def to_json(self, value: Any) -> JSONValue:
        """The value as plain JSON (journal records). Default: the value is JSON already."""
        return value

    def from_json(self, data: JSONValue) -> Any:
        """Inverse of ``to_json``; also reads what older versions journaled."""
        return data

    @abstractmethod
    def to_content(self, value: Any) -> dict:
        """``answerContent`` of a worker-response file: ``{element: {...}}``."""

    @abstractmethod
    def from_content(self, content: Mapping) -> Any:
        """The value inside a worker-response file's ``answerContent``.

        Raises ValueError with a reason a person can act on when it does not fit this job
        (wrong element, a category the job does not have, a malformed box...).
        """

    def classes_of(self, value: Any) -> list[str]:
        """Category names the value uses (progress counts per class)."""
        return []

    def display(self, value: Any) -> JSONValue:
        """What ``job.answer`` and ``job.existing_label`` return. Default: ``to_json``."""
        return self.to_json(value)

    def table_value(self, value: Any) -> Any:
        """The value in the job's answer tables (``all_answers()["answer"]``, ``labels``). Default: as is."""
        return value

    # ------------------------------------------------------------- labels

    @abstractmethod
    def label_pair(self, value: Any, *, creation_date: str, confidence: float | None = None,
                   human_annotated: bool = True) -> dict:
        """``{attr: ..., attr-metadata: ...}`` of one answer (one worker: confidence 0)."""

    @abstractmethod
    def consolidate(self, answers: Sequence[WorkerAnswer], *, creation_date: str,
                    method: str = "default", batches: Mapping[str, int] | None = None) -> dict[str, dict]:
        """Object id -> consolidated label pair, from every worker's answers."""

    def of_object(self, value: Any, object_id: str) -> Any:
        """The value as answered for ``object_id``, before ``label_pair``: a task whose pair names a
        file after its object (segmentation) keeps the id. Default: the value as is."""
        return value

    def files_of(self, pair: Mapping) -> tuple[dict, dict[str, LabelFile]]:
        """A label pair as JSON and the files it names, ``{uri: LabelFile}``, which the job writes
        before the output manifest that points at them. Default: the pair is JSON already, no files."""
        return dict(pair), {}

    def consolidate_table(self, answers: pd.DataFrame, *,
                          data_objects: Mapping[str, Mapping] | None = None) -> pd.DataFrame:
        """``job.consolidated()``: object_id, label, confidence, n_workers, pair, from an answers table
        (``job.all_answers()``'s columns). Default: ``consolidate`` over the ``answer`` column."""
        given = [WorkerAnswer(str(o), str(w), v, t.to_pydatetime()) for o, w, v, t in zip(
            answers["object_id"], answers["worker_id"], answers["answer"], answers["submission_time"])]
        pairs = self.consolidate(given, creation_date=format_creation_date())
        counts = answers.groupby("object_id")["worker_id"].nunique()
        attr = self.config.label_attribute
        rows = [{"object_id": oid, "label": pair.get(attr), "confidence": float("nan"),
                 "n_workers": int(counts.get(oid, 0)), "pair": pair} for oid, pair in pairs.items()]
        return pd.DataFrame(rows, columns=["object_id", "label", "confidence", "n_workers", "pair"])

    def existing(self, line: Mapping) -> Any | None:
        """This job's attribute as already present in an input line (chained jobs), or None."""
        return None

    # ------------------------------------------------------------- pre-labels

    def pre_label(self, raw: Any) -> Any:
        """A model's prediction for one object (or a pre-annotation Lambda's ``initialValue``) as
        the start of its card; JobError saying what is wrong with its shape."""
        raise JobError(f"task={self.name!r} takes no pre-labels; they are starting boxes or masks "
                       "(bounding-box and semantic-segmentation tasks and their adjustments).")

    def start_value(self, start: Any, image_size: Mapping | None) -> Any:
        """A pre-label placed on its image (``image_size``: the original size as displayed), as
        ``card_meta`` and ``started`` take it. Default: as is."""
        return start

    def started(self, value: Any, start: Any) -> Any:
        """An answer to a card that started from ``start`` (placed), saying whether it changed it
        (Ground Truth's ``initialValueModified``); what the answer says already is kept, since the
        tool knows best. Default: the value as is."""
        return value

    # ------------------------------------------------------------- the card

    def card_meta(self, line: Mapping, value: Any | None, *, start: Any | None = None) -> dict:
        """What the browser tool needs beside the image/text (JSON). ``value``: the answer so far;
        ``start``: the object's pre-label (placed), which a tool starts from when there is no answer."""
        return {}


TASK_TYPES: dict[str, type[TaskType]] = {}


def register(cls: type[TaskType]) -> type[TaskType]:
    """Class decorator: make a task type available by its ``name``."""
    TASK_TYPES[cls.name] = cls
    return cls


def task_type_for(name: str, config: TaskConfig) -> TaskType:
    """The task type called ``name``; JobError listing the known ones otherwise."""
    try:
        cls = TASK_TYPES[name]
    except KeyError:
        raise JobError(f"task={name!r} is not a task type here; use one of {sorted(TASK_TYPES)}.") from None
    return cls(config)


def require_prior(task: TaskType, what: str, to: str = "to work on") -> str:
    """``options["prior_attribute"]`` of an adjustment or verification task; JobError asks for it."""
    prior = task.config.options.get("prior_attribute")
    if not prior:
        raise JobError(f'task={task.name!r} needs options={{"prior_attribute": "<label attribute of the {what}>"}}: '
                       f"the {what} {to}.")
    return prior
