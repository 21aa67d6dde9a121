"""What a widget is for: labeling, review (and adjustment, verification to come) as modes given to it.

One widget class (:class:`~gtwidgets.widget.LabelingWidget`) draws cards, keeps the browser's
window full and speaks the protocol (:mod:`gtwidgets.protocol`); a mode decides the rest: the
queue, what a card carries besides its data, what submit / skip / undo / withdraw do, where the
next card without an answer is, and the progress shown. The browser has the same split
(``js/src/modes/``), chosen by the widget's ``mode`` trait.
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence

from .errors import JobError
from .protocol import Answer, Undone
from .tool_cards import category_names, tool_card_meta

__all__ = ["Mode", "LabelMode", "AuditMode"]


class Mode(Protocol):
    """What :class:`~gtwidgets.widget.LabelingWidget` asks its mode. Methods may be called from
    the widget's card threads (``card_meta``) and its message thread (the rest)."""

    name: str  # the browser's mode: "label" or "review"

    def open(self, job: Any) -> None:
        """Called once with the job, before the widget exists; may raise to refuse it."""

    @property
    def queue(self) -> Sequence[str]:
        """Object ids in the order shown."""

    def title(self) -> str: ...

    def options(self) -> dict:
        """What the browser's half of the mode needs (synced as ``mode_options``)."""

    def start_position(self) -> int: ...

    def position_of(self, object_id: str, *, near: int) -> int: ...

    def card_meta(self, object_id: str, *, image_size: dict | None = None) -> dict:
        """Extra fields for the object's card, whatever its kind; ``image_size``: the image's
        original size when the widget read it with the card (so a tool's meta need not read it again)."""

    def submit(self, object_id: str, answer: Answer, *, spent: float | None) -> None: ...

    def skip(self, object_id: str) -> None: ...

    def undo(self, *, near: int) -> Undone: ...

    def withdraw(self, object_id: str) -> None: ...

    def next_unlabeled(self, *, after: str | None, first: str | None, near: int) -> int | None:
        """Position of the next object without an answer after ``after`` (or from ``first`` on)."""

    def progress(self) -> dict:
        """The shape of ``LabelingJob.progress()``."""


class LabelMode:
    """Labeling: the job's queue; a key press is this worker's answer, undone with z."""

    name = "label"

    def __init__(self) -> None:
        self.job: Any = None

    def open(self, job: Any) -> None:
        self.job = job

    @property
    def queue(self) -> Sequence[str]:
        """The job's queue; with automated labeling, the objects sent to people (it grows as rounds end)."""
        auto = getattr(self.job, "auto_labeling", None)
        return auto.queue if auto is not None else self.job.queue

    def title(self) -> str:
        return str(getattr(self.job, "name", ""))

    def options(self) -> dict:
        return {}

    def start_position(self) -> int:
        first = self.job.next_unlabeled(None)
        return 0 if first is None else self.position_of(first, near=0)

    def position_of(self, object_id: str, *, near: int) -> int:
        """Queue index of ``object_id``, looking near the current card first (queues can be long)."""
        queue = self.queue
        lo = max(0, near - 64)
        try:
            return queue.index(object_id, lo, min(len(queue), near + 64))
        except ValueError:
            return queue.index(object_id)

    def card_meta(self, object_id: str, *, image_size: dict | None = None) -> dict:
        """The task's browser tool and what it needs (boxes, masks); the model's label under automated labeling."""
        job = self.job
        task = getattr(job, "task", None)
        if task is None:  # a job-like object without task types: category buttons
            return {}
        pre_label = getattr(job, "pre_label", None)
        meta = tool_card_meta(task, job.item(object_id), job.answer_value(object_id), job.source(object_id),
                              start=pre_label(object_id) if pre_label else None, size=image_size)
        auto = getattr(job, "auto_labeling", None)
        machine = auto.machine_info(object_id) if auto is not None else None
        return {**meta, "machine": machine} if machine else meta

    def submit(self, object_id: str, answer: Answer, *, spent: float | None) -> None:
        self.job.submit(object_id, answer, time_spent=spent)

    def skip(self, object_id: str) -> None:
        self.job.skip(object_id)

    def undo(self, *, near: int) -> Undone:
        object_id = self.job.undo()
        if object_id is None:
            return {"type": "undone", "id": None, "pos": None, "answer": None}
        answer = self.job.answer(object_id)
        if answer is not None and not isinstance(answer, list):  # a tool's value: its category names
            answer = category_names(self.job.task, self.job.answer_value(object_id))
        return {"type": "undone", "id": object_id, "pos": self.position_of(object_id, near=near),
                "answer": answer}

    def withdraw(self, object_id: str) -> None:
        """Nothing to withdraw: a worker's answer is undone (z), not withdrawn."""

    def next_unlabeled(self, *, after: str | None, first: str | None, near: int) -> int | None:
        if first is not None:
            start = self.position_of(str(first), near=near)
            after = self.queue[start - 1] if start > 0 else None
        object_id = self.job.next_unlabeled(after)
        return None if object_id is None else self.position_of(object_id, near=near)

    def progress(self) -> dict:
        return dict(self.job.progress())


class AuditMode(LabelMode):
    """A person checks a random sample of automated labeling's machine labels (``LabelingWidget(job,
    mode=AuditMode(20))``): each card shows the model's label; each answer is a human label that
    replaces it and feeds the next round. The end panel says how many agreed."""

    def __init__(self, n: int = 20, *, seed: int | None = None) -> None:
        super().__init__()
        self.n, self.seed = n, seed
        self.ids: list[str] = []

    def open(self, job: Any) -> None:
        self.job = job
        self.ids = job.audit(self.n, seed=self.seed)
        if not self.ids:
            raise JobError("no machine labels to audit yet: label until a round has labeled some "
                           "(job.label_counters['MachineLabeled']).")

    @property
    def queue(self) -> Sequence[str]:
        return self.ids

    def title(self) -> str:
        return f"Audit of {len(self.ids)} machine labels: {self.job.name}"

    def options(self) -> dict:
        return {"audit": True}

    def next_unlabeled(self, *, after: str | None, first: str | None, near: int) -> int | None:
        start = self.ids.index(first) if first in self.ids else self.ids.index(after) + 1 if after in self.ids else 0
        n = len(self.ids)
        for k in range(n):
            pos = (start + k) % n
            if self.job.answer(self.ids[pos]) is None:
                return pos
        return None

    def progress(self) -> dict:
        checked = [oid for oid in self.ids if self.job.answer(oid) is not None]
        agreed = sum(1 for oid in checked if self.job.answer(oid) == [self.job.auto_labeling.machine[oid].label])
        base = dict(self.job.progress())
        return {**base, "labeled": len(checked), "total": len(self.ids), "done": len(checked) == len(self.ids),
                "eta_seconds": None, "audit": {"checked": len(checked), "agreed": agreed, "total": len(self.ids)}}
