"""Single- and multi-label classification of images and text: the first task types on the seam.

A value is a tuple of category names (one for a single-label job), in the order the worker
chose them. Several workers' answers are consolidated by ``gtwidgets.consolidate``: Ground
Truth's modified Dawid-Skene EM (``"dawid-skene"``, the default) or ``"majority"``.
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Mapping, Sequence

import pandas as pd

from .. import tasks
from ..errors import JobError
from .base import JSONValue, TaskConfig, TaskType, WorkerAnswer, register

__all__ = ["ImageClassification", "TextClassification", "ImageMultiLabel", "TextMultiLabel"]


class _Classification(TaskType):
    """What image and text classification share; ``text`` picks Ground Truth's names for text."""

    tool = "classify"
    text: ClassVar[bool] = False

    def __init__(self, config: TaskConfig):
        super().__init__(config)
        if len(config.categories) < 2:
            raise JobError("classification needs at least 2 categories (Ground Truth's rule); add another.")
        self.categories = list(config.categories)
        self.multi_label = bool(config.multi_label)

    @property
    def gt_type(self) -> str:
        if self.text:
            return tasks.TEXT_CLASSIFICATION_MULTILABEL if self.multi_label else tasks.TEXT_CLASSIFICATION
        return tasks.IMAGE_CLASSIFICATION_MULTILABEL if self.multi_label else tasks.IMAGE_CLASSIFICATION

    @property
    def element(self) -> str:
        if self.text:
            return "crowd-classifier-multi-select" if self.multi_label else "crowd-classifier"
        return tasks.MULTI_CLASSIFIER_ELEMENT if self.multi_label else tasks.CLASSIFIER_ELEMENT

    # ------------------------------------------------------------- one answer

    def check_answer(self, answer: str | Sequence[str]) -> tuple[str, ...]:
        labels = (answer,) if isinstance(answer, str) else tuple(answer)
        if not labels:
            raise JobError("an answer needs at least one category.")
        if not self.multi_label and len(labels) != 1:
            raise JobError(f"this job is single-label; give one category, not {list(labels)!r}.")
        unknown = [lab for lab in labels if lab not in self.categories]
        if unknown:
            raise JobError(f"{unknown[0]!r} is not a category of this job; use one of {self.categories!r}.")
        return tuple(dict.fromkeys(labels))

    def to_json(self, value: tuple[str, ...]) -> list[str]:
        return list(value)

    def from_json(self, data: JSONValue) -> tuple[str, ...]:
        return (data,) if isinstance(data, str) else tuple(data)

    def to_content(self, value: tuple[str, ...]) -> dict:
        body = {"labels": list(value)} if self.multi_label else {"label": value[0]}
        return {self.element: body}

    def from_content(self, content: Mapping) -> tuple[str, ...]:
        why = tasks.classification_problem(content, self.categories, self.multi_label)
        if why is not None:
            raise ValueError(why)
        return self.from_json(tasks.answer_from_content(content))

    def classes_of(self, value: tuple[str, ...]) -> list[str]:
        return list(value)

    def display(self, value: tuple[str, ...]) -> list[str]:
        return list(value)

    def table_value(self, value: tuple[str, ...]) -> str | tuple[str, ...]:
        return tuple(value) if self.multi_label else value[0]

    # ------------------------------------------------------------- labels

    def label_pair(self, value: tuple[str, ...], *, creation_date: str, confidence: float | None = None,
                   human_annotated: bool = True) -> dict:
        attr, cats, job = self.config.label_attribute, self.categories, self.config.job_name
        if self.multi_label:
            confidences = None if confidence is None else {c: confidence for c in value}
            return tasks.multilabel_label(attr, cats, value, job_name=job, confidences=confidences,
                                          human_annotated=human_annotated, creation_date=creation_date,
                                          task_type=self.gt_type)
        return tasks.classification_label(attr, cats, value[0], job_name=job, confidence=confidence or 0,
                                          human_annotated=human_annotated, creation_date=creation_date,
                                          task_type=self.gt_type)

    def consolidate(self, answers: Sequence[WorkerAnswer], *, creation_date: str,
                    method: str = "default", batches: Mapping[str, int] | None = None) -> dict[str, dict]:
        frame = pd.DataFrame({"object_id": [a.object_id for a in answers],
                              "worker_id": [a.worker_id for a in answers],
                              "answer": [self.table_value(a.value) for a in answers],
                              "submission_time": [pd.Timestamp(a.submitted) for a in answers]})
        table = self._consolidate(frame, method=self._method(method), creation_date=creation_date,
                                  batches="auto" if batches is None else batches)
        return {str(oid): pair for oid, pair in zip(table["object_id"], table["pair"]) if pair}

    def consolidate_table(self, answers: pd.DataFrame, *,
                          data_objects: Mapping[str, Mapping] | None = None) -> pd.DataFrame:
        return self._consolidate(answers, method=self._method("default"), data_objects=data_objects)

    def existing(self, line: Mapping) -> tuple[str, ...] | None:
        meta = line.get(self.config.label_attribute + tasks.METADATA_SUFFIX)
        if not isinstance(meta, Mapping):
            return None
        if "class-name" in meta:
            return (str(meta["class-name"]),)
        if isinstance(meta.get("class-map"), Mapping):
            return tuple(str(v) for v in meta["class-map"].values())
        return None

    # ------------------------------------------------------------- helpers

    def _method(self, method: str) -> Any:
        return self.config.options.get("consolidation", "dawid-skene") if method == "default" else method

    def _consolidate(self, answers: pd.DataFrame, *, method: Any, creation_date: str | None = None,
                     batches: Any = "auto", data_objects: Mapping[str, Mapping] | None = None) -> pd.DataFrame:
        from ..consolidate import consolidate

        return consolidate(answers, self.categories, method=method, multi_label=self.multi_label,
                           label_attribute=self.config.label_attribute, job_name=self.config.job_name,
                           task_type=self.gt_type, creation_date=creation_date, batches=batches,
                           data_objects=data_objects)


class _MultiLabel(_Classification):
    def __init__(self, config: TaskConfig):
        super().__init__(dataclasses.replace(config, multi_label=True))


@register
class ImageClassification(_Classification):
    """``groundtruth/image-classification`` (``-multilabel`` with ``multi_label=True``)."""

    name = "image-classification"


@register
class TextClassification(_Classification):
    """``groundtruth/text-classification`` (``-multilabel`` with ``multi_label=True``)."""

    name = "text-classification"
    text = True


@register
class ImageMultiLabel(_MultiLabel):
    name = "image-classification-multilabel"


@register
class TextMultiLabel(_MultiLabel):
    name = "text-classification-multilabel"
    text = True


def classification_for(source_key: str) -> str:
    """The classification task type's name for a job's source key (text for ``source``)."""
    return TextClassification.name if source_key == "source" else ImageClassification.name
