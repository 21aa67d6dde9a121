"""What automated labeling needs before its loop starts: the settings, the checks, the features, the engine.

``AutoLabel`` holds the settings a person gives (``LabelingJob(..., auto_label=AutoLabel(...))``);
``engine_for`` refuses what Ground Truth would refuse and builds the engine, whose features are
computed on first use, in the first round's thread, so opening a job never waits for them.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .autolabel import MIN_OBJECTS, AutoLabeler, default_model
from .autolabel.threshold import ACCURACY_TARGET
from .errors import AutoLabelError, JobError

__all__ = ["AutoLabel", "engine_for"]

_TASKS = ("image-classification", "text-classification")


@dataclass(frozen=True, kw_only=True, eq=False)  # eq=False: features may be an array
class AutoLabel:
    """Settings of automated data labeling (``LabelingJob(..., auto_label=AutoLabel(...))``).

    model: any scikit-learn classifier with ``predict_proba`` (cloned each round); default a
        standardised logistic regression (``gtwidgets.autolabel.default_model``).
    features: one row per input line, in input order (numpy or scipy sparse), if you have them;
        default: ``image_features`` of the images (cached under ``cache``) or TF-IDF of the texts,
        computed in the first round's thread.
    embed: your own model as ``embed(batch) -> one vector per item`` (PIL images, or texts for a
        text job), called in batches in the background and cached under ``cache`` as ``embed_name``.
    target: accuracy machine labels must reach on held-out human labels (Ground Truth: 0.95).
    max_human_labels, max_percentage: Ground Truth's ``StoppingConditions``
        (``MaxHumanLabeledObjectCount``, ``MaxPercentageOfInputDatasetLabeled``).
    batch_size: objects sent to people per round (``MaxConcurrentTaskCount``); default 5% of the
        objects, 100 to 1,000.
    rule: ``"lower-bound"`` (the lower end of the 95% interval of the validation accuracy must
        reach ``target``) or ``"estimate"`` (Ground Truth's: the measured accuracy must).
    min_objects: jobs with fewer objects are refused (Ground Truth: 1,000 to 1,250); lower it
        only to try the loop on a small job.
    """

    model: Any = None
    features: Any = None
    embed: Callable[[list], Any] | None = None
    embed_name: str | None = None
    cache: str | os.PathLike | None = None
    target: float = ACCURACY_TARGET
    max_human_labels: int | None = None
    max_percentage: float = 100
    batch_size: int | None = None
    rule: str = "lower-bound"
    min_objects: int = MIN_OBJECTS
    seed: int = 0

    def __post_init__(self):
        if self.features is not None and self.embed is not None:
            raise JobError("auto_label: give features= or embed=, not both.")
        if not 0 < self.target <= 1:
            raise JobError(f"auto_label target={self.target!r}: give an accuracy in (0, 1], e.g. 0.95.")
        for name in ("max_human_labels", "batch_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise JobError(f"auto_label {name}={value!r}: give a whole number of objects, 1 or more.")
        if self.rule not in ("lower-bound", "estimate"):
            raise JobError(f'auto_label rule={self.rule!r}: use "lower-bound" or "estimate" (Ground Truth\'s).')


def engine_for(job: Any, options: AutoLabel, ids: list[str]) -> AutoLabeler:
    """The loop's engine for ``job``, or JobError saying why Ground Truth would not label it automatically."""
    if not isinstance(options, AutoLabel):
        raise JobError(f"auto_label={options!r}: pass True, or gtwidgets.AutoLabel(...) with your settings.")
    if job.task.name not in _TASKS or job.multi_label:
        raise JobError(f"auto_label: Ground Truth labels automatically single-label image or text "
                       f"classification only, and this job is {job.task.gt_type!r}; drop auto_label=.")
    if job.workers_per_object != 1:
        raise JobError("auto_label: works with one worker per object here; use workers_per_object=1.")
    if job.task_inputs or job.prelabel_errors:
        raise JobError("auto_label: does not combine with prelabel=; drop one of them.")
    if len(job.frame) < options.min_objects:
        raise JobError(f"auto_label: Ground Truth labels automatically from {options.min_objects:,} objects on "
                       f"(its minimum is 1,000 to 1,250) and this job has {len(job.frame):,}; drop auto_label= "
                       "and label them all, or pass auto_label=AutoLabel(min_objects=...) to try the loop "
                       "on a small job.")
    text = job.task.name == "text-classification"
    features = options.features
    if features is None:
        features = _LazyRows(len(ids), _features_of(job, options, text))
    elif not hasattr(features, "shape"):
        features = np.asarray(features, np.float32)
    model = options.model if options.model is not None else default_model(sparse=text and options.embed is None)
    try:
        return AutoLabeler(
            ids, job.categories, features, model=model, batch_size=options.batch_size,
            target=options.target, threshold_rule=options.rule, max_human_labeled=options.max_human_labels,
            max_percentage_labeled=options.max_percentage, min_objects=options.min_objects, seed=options.seed)
    except AutoLabelError as e:
        raise JobError(f"auto_label: {e}") from None


class _LazyRows:
    """Feature rows computed on first use (in the first round's thread): opening a job never waits."""

    def __init__(self, n: int, compute: Callable[[], Any]):
        self.shape = (n, 0)
        self._compute, self._rows, self._lock = compute, None, threading.Lock()

    def __getitem__(self, index):
        with self._lock:
            if self._rows is None:
                rows = self._compute()
                if rows.shape[0] != self.shape[0]:
                    raise AutoLabelError(f"the features have {rows.shape[0]:,} rows for {self.shape[0]:,} objects.")
                self._rows = rows
        return self._rows[index]


def _features_of(job: Any, options: AutoLabel, text: bool) -> Callable[[], Any]:
    from .autolabel import embedding_features, image_features, text_features

    sources = [str(s) for s in job.frame[job._source_key]]

    def cache():  # beside the journal: a second run, or a second worker here, reads the rows back
        return options.cache if options.cache is not None else job.journal.path.parent / "features"

    if options.embed is not None:
        name = options.embed_name or _name_of(options.embed)
        return lambda: embedding_features(sources, options.embed, name=name, cache=cache(), images=not text)
    if text:
        return lambda: text_features(sources)
    return lambda: image_features(sources, cache=cache())


def _name_of(fn: Callable) -> str:
    name = f"embed-{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__name__)}"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


