"""Review mode: a reviewer walks through the objects whose workers disagreed and decides.

The same browser bundle as :class:`~gtwidgets.widget.LabelingWidget` draws it (a ``mode``
trait switches the view), so image cards, keys and prefetch behave the same. What differs is
the queue (the disagreements, lowest confidence first), what a card carries (every worker's
answer, the consolidated label and its confidence) and what a key press does: it records
``job.adjudicate(...)``, which wins over consolidation in the output manifest.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Sequence

import traitlets as t

from . import cards
from .agreement import disagreements
from .errors import JobError
from .widget import DEFAULT_PREFETCH, LabelingWidget

__all__ = ["ReviewWidget", "review_queue"]


def review_queue(job) -> list[str]:
    """Object ids to review: those whose workers did not all agree, lowest confidence first.

    Reads the other workers' answers from the store first (``job.refresh()``).
    """
    return list(_review_table(job))


class ReviewWidget(LabelingWidget):
    """Adjudicate a job's disagreements one card at a time, keyboard first.

    A category key records the reviewer's decision (who, when) and moves on; Enter accepts the
    consolidated label as the decision. ``reviewer`` defaults to the job's worker id. The queue
    is taken when the widget is made: make a new one to see answers that arrived since.
    """

    mode = t.Unicode("review").tag(sync=True)
    reviewer = t.Unicode("").tag(sync=True)  # shown with decisions made in this view

    def __init__(self, job, *, reviewer: str | None = None, prefetch: int = DEFAULT_PREFETCH,
                 image_size: tuple[int, int] = cards.DEFAULT_SIZE, shortcuts: Sequence[str] | None = None,
                 workers: int = 4):
        if reviewer is not None and not str(reviewer).strip():
            raise JobError("reviewer is empty; pass reviewer='your-name' or leave it out to use the job's worker id.")
        self._summary = _review_table(job)
        self._queue = list(self._summary)
        self._index = {oid: i for i, oid in enumerate(self._queue)}
        self._review_lock = threading.Lock()
        self._decisions = {str(oid): _decision_row(row) for oid, row in
                           job.adjudications.set_index("object_id").iterrows() if str(oid) in self._index}
        self._skipped: set[str] = set()
        self._decided_at: list[float] = []
        super().__init__(job, prefetch=prefetch, image_size=image_size, shortcuts=shortcuts, workers=workers)
        self._handlers["withdraw"] = self._on_withdraw
        with self.hold_sync():
            self.title = f"Review: {job.name}"
            self.reviewer = reviewer if reviewer is not None else job.worker_id
            self.total = len(self._queue)
            self.progress = self._progress()

    @property
    def queue(self) -> list[str]:
        """The object ids under review, in the order shown."""
        return list(self._queue)

    def close(self) -> None:
        if hasattr(self, "_refresh_lock"):  # a refused reviewer stops __init__ before the widget exists
            super().close()

    # ------------------------------------------------------------------ messages from the browser

    def _on_cards(self, msg: dict) -> None:
        for pos in msg.get("positions", ()):
            if isinstance(pos, int) and 0 <= pos < len(self._queue):
                self._pool.submit(self._send_card, pos, self._queue[pos])

    def send(self, content, buffers=None) -> None:
        """Cards (whatever kind the labeling widget makes) go out with what the reviewer weighs."""
        if isinstance(content, dict) and content.get("type") == "card" and content.get("id") in self._index:
            content = {**content, **self._review_meta(content["id"])}
        super().send(content, buffers)

    def _review_meta(self, object_id: str) -> dict:
        with self._review_lock:
            decision = self._decisions.get(object_id)
        adjudication = None if decision is None else {"reviewer": decision["reviewer"], "time": decision["time"]}
        return {"answer": None if decision is None else decision["labels"],
                "review": {**self._summary[object_id], "adjudication": adjudication}}

    def _on_submit(self, msg: dict) -> None:
        object_id = str(msg["id"])
        if object_id not in self._index:
            raise ValueError(f"object {object_id} is not under review here")
        answer = msg["answer"]
        if self.multi_label and isinstance(answer, str):
            answer = [answer]
        self.job.adjudicate(object_id, answer, reviewer=self.reviewer)
        table = self.job.adjudications
        row = table[table["object_id"] == object_id].iloc[0]
        with self._review_lock:
            self._decisions[object_id] = _decision_row(row)
            self._skipped.discard(object_id)
            self._decided_at.append(time.time())
        self._refresh_soon()

    def _on_withdraw(self, msg: dict) -> None:
        """The reviewer takes a decision back: the consolidated label stands again."""
        object_id = str(msg["id"])
        if object_id not in self._index:
            raise ValueError(f"object {object_id} is not under review here")
        self.job.withdraw_adjudication(object_id)
        table = self.job.adjudications
        standing = table[table["object_id"] == object_id]  # another reviewer's decision, if any
        with self._review_lock:
            if standing.empty:
                self._decisions.pop(object_id, None)
            else:
                self._decisions[object_id] = _decision_row(standing.iloc[0])
        self._refresh_soon()

    def _on_skip(self, msg: dict) -> None:
        with self._review_lock:
            self._skipped.add(str(msg["id"]))
        self._refresh_soon()

    def _on_undo(self, msg: dict) -> None:
        # A decision cannot be withdrawn, only changed: the view goes back to the card itself.
        self.send({"type": "undone", "id": None, "pos": None, "answer": None})

    def _on_next_unlabeled(self, msg: dict) -> None:
        """The next undecided object: after ``after``, or from ``from`` on (that one included)."""
        after, first = msg.get("after"), msg.get("from")
        if first is not None:
            start = self._index.get(str(first), 0)
        else:
            start = self._index.get(str(after), -1) + 1 if after is not None else 0
        decided = self._decided_ids()
        n = len(self._queue)
        pos = next(((start + k) % n for k in range(n) if self._queue[(start + k) % n] not in decided), None)
        self.send({"type": "goto", "pos": pos, "id": None if pos is None else self._queue[pos], "seq": msg.get("seq")})

    # ------------------------------------------------------------------ job -> traits

    def _current_progress(self) -> dict:
        return self._progress()

    def _progress(self) -> dict:
        """The same shape as ``job.progress()``, counted over the review queue."""
        per_class = {c: 0 for c in self.categories}
        with self._review_lock:
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

    # ------------------------------------------------------------------ helpers

    def _start_position(self) -> int:
        decided = self._decided_ids()
        return next((i for i, oid in enumerate(self._queue) if oid not in decided), len(self._queue))

    def _position_of(self, object_id: str, *, near: int) -> int:
        return self._index[str(object_id)]

    def _decided_ids(self) -> set[str]:
        with self._review_lock:
            return set(self._decisions)


def _review_table(job) -> dict[str, dict]:
    """object id -> {answers: [{worker, answer}], consolidated, confidence, n_workers}, in review order."""
    job.refresh()
    answers, consolidated = job.all_answers(), job.consolidated()
    if answers.empty or consolidated.empty:
        return {}
    table = disagreements(answers, consolidated)
    return {str(oid): {
        "answers": [{"worker": str(w), "answer": _labels(a)} for w, a in given.items()],
        "consolidated": _labels(label),
        "confidence": _number(confidence),
        "n_workers": int(n),
    } for oid, label, confidence, n, given in zip(table["object_id"], table["label"], table["confidence"],
                                                 table["n_workers"], table["answers"])}


def _decision_row(row) -> dict:
    return {"labels": _labels(row["label"]), "reviewer": str(row["reviewer"]), "time": row["time"].isoformat()}


def _labels(value) -> list[str]:
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def _number(value) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x
