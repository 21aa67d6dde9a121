"""Verification: a worker rates the labels of an earlier attribute with the job's categories.

Ground Truth's ``groundtruth/label-verification`` output (section 6.4): ``<attr>`` is the chosen
category's index as text, the metadata carries ``class-name``, a confidence consolidated like
classification (its modified Dawid-Skene per batch), and every worker's comment in
``worker-feedback``. Boxes and masks verify the same way; only what the card shows differs.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import tasks
from ..consolidate import dawid_skene, majority_vote
from ..errors import JobError
from .base import TaskConfig, TaskType, WorkerAnswer, require_prior

__all__ = ["LabelVerification", "VERIFICATION_ELEMENT"]

VERIFICATION_ELEMENT = "crowd-image-classifier"


class LabelVerification(TaskType):
    """Base of the verification task types: rate ``options["prior_attribute"]`` with the categories."""

    reviewed = "labels"  # what the prior attribute holds, for the error that asks for it

    def __init__(self, config: TaskConfig):
        super().__init__(config)
        self.categories = tasks.check_categories(config.categories)
        if len(self.categories) < 2:
            raise JobError("verification needs at least 2 categories (for example good, bad); add another.")
        self.prior_attribute = require_prior(self, self.reviewed, "to verify")

    @property
    def gt_type(self) -> str:
        return tasks.LABEL_VERIFICATION

    @property
    def element(self) -> str:
        return VERIFICATION_ELEMENT

    def check_answer(self, answer: Any) -> dict:
        """``"good"``, or ``{"label": "good", "comment": "..."}``."""
        if isinstance(answer, str):
            answer = {"label": answer}
        if not isinstance(answer, Mapping) or answer.get("label") not in self.categories:
            got = answer.get("label") if isinstance(answer, Mapping) else answer
            raise JobError(f"verification answer {got!r} is not one of the categories {self.categories!r}.")
        comment = answer.get("comment", answer.get("workerComment"))
        if comment is not None and not isinstance(comment, str):
            raise JobError("a verification comment must be text.")
        value = {"label": answer["label"]}
        if comment and comment.strip():
            value["comment"] = comment
        return value

    def to_content(self, value: Mapping) -> dict:
        body = {"label": value["label"]}
        if value.get("comment"):
            body["workerComment"] = value["comment"]
        return {self.element: body}

    def from_content(self, content: Mapping) -> dict:
        body = content.get(self.element) if isinstance(content, Mapping) else None
        if not isinstance(body, Mapping):
            keys = sorted(content) if isinstance(content, Mapping) else type(content).__name__
            raise ValueError(f"answerContent has no {self.element} answer (found {keys}); is this a verification job?")
        try:
            return self.check_answer(body)
        except JobError as e:
            raise ValueError(str(e)) from None

    def classes_of(self, value: Mapping) -> list[str]:
        return [value["label"]]

    def label_pair(self, value: Mapping, *, creation_date: str, confidence: float | None = None,
                   human_annotated: bool = True, comments: Sequence[str] | None = None) -> dict:
        """The verification pair: ``<attr>`` is the category's index as a string (Ground Truth's form)."""
        attr = self.config.label_attribute
        meta = {"class-name": value["label"], "confidence": tasks.round_confidence(confidence or 0),
                "type": self.gt_type, "job-name": tasks.job_name_value(self.config.job_name),
                "human-annotated": "yes" if human_annotated else "no", "creation-date": creation_date}
        comments = list(comments) if comments is not None else ([value["comment"]] if value.get("comment") else [])
        if comments:
            meta["worker-feedback"] = [{"comment": c} for c in comments]
        return {attr: str(self.categories.index(value["label"])), attr + tasks.METADATA_SUFFIX: meta}

    def consolidate(self, answers: Sequence[WorkerAnswer], *, creation_date: str,
                    method: str = "default", batches: Mapping[str, int] | None = None) -> dict[str, dict]:
        """Ground Truth's modified Dawid-Skene per batch (``method="default"``) or ``"majority"``;
        every worker's comment goes to ``worker-feedback``."""
        if method not in ("default", "dawid-skene", "majority"):
            raise JobError(f"method={method!r} for verification; use 'default' or 'majority'.")
        objects = list(dict.fromkeys(str(a.object_id) for a in answers))
        row = {oid: i for i, oid in enumerate(objects)}
        workers = list(dict.fromkeys(a.worker_id for a in answers))
        col = {w: j for j, w in enumerate(workers)}
        labels = np.full((len(objects), len(workers)), -1, np.int64)
        comments: dict[str, list[str]] = defaultdict(list)
        for a in answers:
            labels[row[str(a.object_id)], col[a.worker_id]] = self.categories.index(a.value["label"])
            if a.value.get("comment"):
                comments[str(a.object_id)].append(a.value["comment"])
        k = len(self.categories)
        if method == "majority":
            result = majority_vote(labels, k)
        else:
            batch = np.array([(batches or {}).get(oid, 0) for oid in objects])
            result = dawid_skene(labels, k, batches=batch)
        return {oid: self.label_pair({"label": self.categories[result.labels[i]]}, creation_date=creation_date,
                                     confidence=float(result.confidence[i]), comments=comments.get(oid, []))
                for i, oid in enumerate(objects)}

    def consolidate_table(self, answers: pd.DataFrame, *,
                          data_objects: Mapping[str, Mapping] | None = None) -> pd.DataFrame:
        """``job.consolidated()`` with the rating's name as ``label`` and its confidence (the pair
        holds the index as text, which reads as nothing to a reviewer)."""
        table = super().consolidate_table(answers, data_objects=data_objects)
        meta = self.config.label_attribute + tasks.METADATA_SUFFIX
        table["label"] = [pair[meta]["class-name"] for pair in table["pair"]]
        table["confidence"] = [float(pair[meta]["confidence"]) for pair in table["pair"]]
        return table

    def existing(self, line: Mapping) -> dict | None:
        """This job's verification already in the line (a re-run), as a value, or None."""
        meta = line.get(self.config.label_attribute + tasks.METADATA_SUFFIX)
        if isinstance(meta, Mapping) and meta.get("class-name") in self.categories:
            value = {"label": meta["class-name"]}
            feedback = meta.get("worker-feedback")
            if isinstance(feedback, list) and feedback and isinstance(feedback[0], Mapping):
                value["comment"] = str(feedback[0].get("comment", ""))
            return value
        return None

