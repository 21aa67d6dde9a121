"""Review mode: a reviewer walks through the objects whose workers disagreed and decides.

:class:`ReviewMode` is given to the one widget, :class:`~gtwidgets.widget.LabelingWidget`, so
image cards, keys and prefetch behave the same (the browser draws it with its review mode).
What differs is the queue (the disagreements, lowest confidence first), what a card carries
(every worker's answer, the consolidated label and its confidence) and what a key press does:
it records ``job.adjudicate(...)``, which wins over consolidation in the output manifest.

A bounding-box card is the box tool: each worker's boxes drawn in their colour for reference,
and the decision to be, editable, in gold: the consolidated boxes (or the decision made so far).
Enter decides what it shows: unchanged, the consolidated boxes; a reviewer who disagrees moves,
resizes, relabels, deletes or draws boxes first, and those boxes are the decision.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Sequence

from collections.abc import Mapping

from . import cards, protocol
from .agreement import disagreements
from .errors import JobError
from .review_masks import mask_review_meta, picked_mask
from .tasktypes.segmentation import MaskFile, MaskValue
from .tasktypes.verification import LabelVerification
from .tool_cards import BUFFERS, tool_card_meta
from .widget import DEFAULT_PREFETCH, LabelingWidget

# A bounding-box job's review card shows every worker's boxes, one colour a worker, and the
# decision to be (at first the consolidated boxes) in its own colour; the names are the boxes'
# captions and the table's. A segmentation job's card shows the masks one at a time
# (gtwidgets.review_masks).
WORKER_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
CONSOLIDATED_COLOR = "#ffd700"

__all__ = ["ReviewWidget", "ReviewMode", "review_queue"]


def review_queue(job) -> list[str]:
    """Object ids to review: those whose workers did not all agree, lowest confidence first.

    Reads the other workers' answers from the store first (``job.refresh()``).
    """
    return list(_review_table(job)[0])


def ReviewWidget(job, *, reviewer: str | None = None, prefetch: int = DEFAULT_PREFETCH,  # noqa: N802
                 image_size: tuple[int, int] = cards.DEFAULT_SIZE, shortcuts: Sequence[str] | None = None,
                 workers: int = 4) -> LabelingWidget:
    """Adjudicate a job's disagreements one card at a time, keyboard first.

    A category key records the reviewer's decision (who, when) and moves on; Enter accepts the
    consolidated label as the decision. ``reviewer`` defaults to the job's worker id. The queue
    is taken when the widget is made: make a new one to see answers that arrived since.
    Returns the one widget class, given a :class:`ReviewMode`.
    """
    return LabelingWidget(job, mode=ReviewMode(reviewer=reviewer), prefetch=prefetch, image_size=image_size,
                          shortcuts=shortcuts, workers=workers)


class ReviewMode:
    """Review: the queue is the disagreements; a key press is the reviewer's decision.

    What a card carries besides its data: every worker's answer, the consolidated label and
    its confidence, and the decision made so far (``job.adjudicate``, which wins over
    consolidation in the output manifest). Progress counts decisions over the review queue.
    """

    name = "review"

    def __init__(self, *, reviewer: str | None = None):
        if reviewer is not None and not str(reviewer).strip():
            raise JobError("reviewer is empty; pass reviewer='your-name' or leave it out to use the job's worker id.")
        self.reviewer = reviewer
        self.job = None
        self._lock = threading.Lock()
        self._skipped: set[str] = set()
        self._decided_at: list[float] = []

    def open(self, job) -> None:
        self.job = job
        if self.reviewer is None:
            self.reviewer = job.worker_id
        self._summary, self._values = _review_table(job)
        self._queue = list(self._summary)
        self._index = {oid: i for i, oid in enumerate(self._queue)}
        self._decisions = {str(oid): _decision_row(job, row) for oid, row in
                           job.adjudications.set_index("object_id").iterrows() if str(oid) in self._index}

    @property
    def queue(self) -> list[str]:
        """The object ids under review, in the order shown."""
        return self._queue

    def title(self) -> str:
        return f"Review: {self.job.name}"

    def options(self) -> dict:
        return {"reviewer": self.reviewer}  # shown with decisions made in this view

    def start_position(self) -> int:
        decided = self._decided_ids()
        return next((i for i, oid in enumerate(self._queue) if oid not in decided), len(self._queue))

    def position_of(self, object_id: str, *, near: int) -> int:
        return self._index[str(object_id)]

    def card_meta(self, object_id: str, *, image_size: dict | None = None) -> dict:
        """Cards (whatever kind the widget makes) go out with what the reviewer weighs."""
        if object_id not in self._index:
            return {}
        with self._lock:
            decision = self._decisions.get(object_id)
        adjudication = None if decision is None else {"reviewer": decision["reviewer"], "time": decision["time"]}
        review = {**self._summary[object_id], "adjudication": adjudication}
        meta = {"answer": None if decision is None else decision["labels"], "review": review}
        values = self._values.get(object_id)
        if values is not None and values.get("kind") == "masks":
            meta.update(mask_review_meta(self.job.task, review, values, self._colors(values),
                                         CONSOLIDATED_COLOR))
        elif values is not None and getattr(self.job.task, "tool", None) == "boxes":
            meta.update(self._boxes_meta(object_id, review, values, decision, image_size))
        elif isinstance(self.job.task, LabelVerification):
            meta.update(self._verified_meta(object_id, image_size))
        return meta

    def _verified_meta(self, object_id: str, image_size: dict | None) -> dict:
        """A verification job: the boxes or mask under review, read only, as its workers saw them;
        the category keys decide, as they rated."""
        job = self.job
        shown = tool_card_meta(job.task, job.item(object_id), None, job.source(object_id), size=image_size)
        return {k: v for k, v in shown.items() if k in ("tool", "tool_meta", BUFFERS)}

    @staticmethod
    def _colors(values: dict) -> dict[str, str]:
        return {w: WORKER_COLORS[i % len(WORKER_COLORS)] for i, w in enumerate(values["workers"])}

    def _boxes_meta(self, object_id: str, review: dict, values: dict, decision: dict | None,
                    image_size: dict | None) -> dict:
        """The boxes tool over the image: each worker's boxes for reference, in their colour and
        captioned with their name; editable, in gold, the decision made so far, else the
        consolidated boxes (``review.value``: what Enter accepts when the tool is not there yet)."""
        job = self.job
        colors = self._colors(values)
        review["answers"] = [{**a, "color": colors[a["worker"]]} for a in review["answers"]]
        reference = [{**b, "color": colors[w], "caption": f"{w}: {b['label']}"}
                     for w, value in values["workers"].items() for b in value["boxes"]]
        consolidated = values["consolidated"]
        if consolidated is not None:
            review["value"] = consolidated
        meta = tool_card_meta(job.task, job.item(object_id), None, job.source(object_id), size=image_size)
        if not meta:
            return {}
        start = decision["value"] if decision and decision.get("value") else consolidated
        tool_meta = {"categories": meta["tool_meta"]["categories"], "image_size": meta["tool_meta"].get("image_size"),
                     "boxes": list(start["boxes"]) if start else [], "reference": reference,
                     "color": CONSOLIDATED_COLOR}
        size = (start or next(iter(values["workers"].values()), {})).get("image_size")
        if size:
            tool_meta["image_size"] = size
        return {"tool": meta["tool"], "tool_meta": tool_meta}

    def submit(self, object_id: str, answer, *, spent: float | None) -> None:
        self._under_review(object_id)
        values = self._values.get(object_id)
        if values is not None and values.get("kind") == "masks" and isinstance(answer, Mapping):
            answer = picked_mask(values, answer)  # the browser names a mask; the job takes its pixels
        self.job.adjudicate(object_id, answer, reviewer=self.reviewer)
        table = self.job.adjudications
        row = table[table["object_id"] == object_id].iloc[0]
        with self._lock:
            self._decisions[object_id] = _decision_row(self.job, row)
            self._skipped.discard(object_id)
            self._decided_at.append(time.time())

    def withdraw(self, object_id: str) -> None:
        """The reviewer takes a decision back: the consolidated label stands again."""
        self._under_review(object_id)
        self.job.withdraw_adjudication(object_id)
        table = self.job.adjudications
        standing = table[table["object_id"] == object_id]  # another reviewer's decision, if any
        with self._lock:
            if standing.empty:
                self._decisions.pop(object_id, None)
            else:
                self._decisions[object_id] = _decision_row(self.job, standing.iloc[0])

    def skip(self, object_id: str) -> None:
        with self._lock:
            self._skipped.add(object_id)

    def undo(self, *, near: int) -> protocol.Undone:
        # A decision cannot be undone, only changed or withdrawn: the view goes back to the card itself.
        return {"type": "undone", "id": None, "pos": None, "answer": None}

    def next_unlabeled(self, *, after: str | None, first: str | None, near: int) -> int | None:
        """The next undecided object: after ``after``, or from ``first`` on (that one included)."""
        if first is not None:
            start = self._index.get(first, 0)
        else:
            start = self._index.get(str(after), -1) + 1 if after is not None else 0
        decided = self._decided_ids()
        n = len(self._queue)
        return next(((start + k) % n for k in range(n) if self._queue[(start + k) % n] not in decided), None)

    def progress(self) -> dict:
        """The same shape as ``job.progress()``, counted over the review queue."""
        per_class = {c: 0 for c in self.job.categories}
        with self._lock:
            for d in self._decisions.values():
                for name in d["labels"]:
                    per_class[name] = per_class.get(name, 0) + 1
            decided = len(self._decisions)
            skipped = len(self._skipped - set(self._decisions))
            recent = [x for x in self._decided_at if x > time.time() - 300]
        per_minute = (len(recent) - 1) * 60.0 / max(recent[-1] - recent[0], 1e-6) if len(recent) >= 2 else 0.0
        remaining = len(self._queue) - decided
        return {"labeled": decided, "skipped": skipped, "total": len(self._queue), "per_class": per_class,
                "per_minute": round(per_minute, 1),
                "eta_seconds": round(remaining * 60.0 / per_minute, 1) if per_minute else None,
                "done": remaining == 0}

    def _under_review(self, object_id: str) -> None:
        if object_id not in self._index:
            raise ValueError(f"object {object_id} is not under review here")

    def _decided_ids(self) -> set[str]:
        with self._lock:
            return set(self._decisions)


def _review_table(job) -> tuple[dict[str, dict], dict[str, dict]]:
    """object id -> {answers: [{worker, answer}], consolidated, confidence, n_workers}, in review
    order; and, for a tool's answers (boxes), object id -> {workers: {worker: value}, consolidated:
    value or None}, the values the card draws (``answer`` and ``consolidated`` are category names)."""
    job.refresh()
    answers, consolidated = job.all_answers(), job.consolidated()
    if answers.empty or consolidated.empty:
        return {}, {}
    table = disagreements(answers, consolidated)
    summary, values = {}, {}
    verifying = isinstance(job.task, LabelVerification)  # its answers are ratings: names
    for oid, label, confidence, n, given, pair in zip(
            table["object_id"], table["label"], table["confidence"], table["n_workers"], table["answers"],
            table["object_id"].map(dict(zip(consolidated["object_id"].astype(str), consolidated["pair"])))):
        oid = str(oid)
        if verifying:
            pass
        elif any(isinstance(a, MaskValue) for a in given.values()):  # masks: names, and the masks
            value = pair.get(job.task.config.label_attribute) if isinstance(pair, Mapping) else None
            values[oid] = {"kind": "masks", "workers": {str(w): a for w, a in given.items()},
                           "consolidated": value if isinstance(value, MaskFile) else None}
        elif any(isinstance(a, Mapping) for a in given.values()):  # a tool's values: names, and the values
            value = _tool_value(job, pair)
            values[oid] = {"workers": {str(w): a for w, a in given.items()}, "consolidated": value}
            label = label if value is None else value
        summary[oid] = {
            "answers": [{"worker": str(w), "answer": _names(job, a)} for w, a in given.items()],
            "consolidated": _names(job, label),
            "confidence": _number(confidence),
            "n_workers": int(n),
        }
    return summary, values


def _tool_value(job, pair) -> dict | None:
    """The consolidated label pair as the task type's value (boxes), or None."""
    read = getattr(job.task, "read_pair", None)
    if read is None or not isinstance(pair, Mapping):
        return None
    try:
        return read(pair, job.task.config.label_attribute)
    except (KeyError, TypeError, ValueError):
        return None


def _names(job, value) -> list[str]:
    """Category names of an answer: a name, names, or a tool's value (its classes)."""
    if isinstance(value, (Mapping, MaskValue)):
        try:
            return list(dict.fromkeys(job.task.classes_of(value)))
        except (AttributeError, KeyError, TypeError):
            return []
    return _labels(value)


def _decision_row(job, row) -> dict:
    """A standing decision as a card shows it: its category names, who and when; a tool's value
    (a reviewer's boxes) as ``value``, which the card starts from when shown again."""
    label = row["label"]
    return {"labels": _names(job, label), "reviewer": str(row["reviewer"]), "time": row["time"].isoformat(),
            "value": dict(label) if isinstance(label, Mapping) else None}


def _labels(value) -> list[str]:
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def _number(value) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x
