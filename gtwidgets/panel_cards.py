"""Multi-panel cards for the widget: a pre-labeled ``taskInput`` (or ``job.panels``) -> one message.

A card whose object has a ``taskInput`` shows several panels (image, sensor plots, text,
facts). The widget sends their JSON parts plus every binary buffer (image bytes, float64
times, float32 values) in one custom message; zooming a sensor plot asks for the visible
range again at full detail (:func:`range_reply`). No widget imports: testable without a browser.
"""
from __future__ import annotations

import threading
from typing import Any

from . import cards
from .panels import Series, SeriesCache, auto_panels, render_panels, series_window
from .tool_cards import BUTTON_TOOLS

__all__ = ["wants_panels", "panel_card", "range_reply", "LockedSeriesCache"]


class LockedSeriesCache(SeriesCache):
    """A SeriesCache the widget's card threads can share."""

    def __init__(self, size: int = 8):
        super().__init__(size)
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            return super().get(key)

    def put(self, key, value) -> None:
        with self._lock:
            super().put(key, value)


def wants_panels(job: Any, object_id: str) -> bool:
    """Whether the object is drawn as a panel card rather than a plain image/text card.

    A task answered with a tool (boxes, masks) draws its image card, which the tool sits on: a
    pre-annotation Lambda's ``taskInput`` gives it a start (``initialValue``), not panels; only
    a failed pre-labeling is an (error) panel card."""
    oid = str(object_id)
    if oid in getattr(job, "prelabel_errors", {}):
        return True
    if getattr(getattr(job, "task", None), "tool", "classify") not in BUTTON_TOOLS:
        return False
    return oid in getattr(job, "task_inputs", {}) or getattr(job, "panels", None) is not None


def panel_card(job: Any, object_id: str, *, image_size: tuple[int, int] = cards.DEFAULT_SIZE,
               cache: SeriesCache | None = None) -> tuple[dict, list[bytes]]:
    """``(meta, buffers)`` of a panel card; a failed pre-labeling becomes an error card (never raises)."""
    oid = str(object_id)
    errors = getattr(job, "prelabel_errors", {})
    if oid in errors:
        return cards.error_card(job, oid, name=oid, message=errors[oid]).meta, []
    try:
        task_input = _task_input(job, oid)
        metas, buffers = render_panels(task_input, _panels(job, task_input), image_size=image_size, cache=cache)
    except Exception as e:  # one broken object is one error card, never a dead widget
        return cards.error_card(job, oid, name=oid, message=f"{oid}: cannot draw this card ({e})").meta, []
    meta = cards.base_meta(job, oid, "panels", _name(task_input, oid), _source(task_input))
    meta["panels"] = metas
    meta["bytes"] = sum(len(b) for b in buffers)
    return meta, buffers


def range_reply(job: Any, msg: dict, *, cache: SeriesCache | None = None) -> tuple[dict, list[bytes]]:
    """The answer to a zoom: ``series_window`` of one panel for ``[start, end]`` (None: everything).

    Raises KeyError / IndexError / TypeError for a request that names no series panel.
    """
    oid = str(msg["id"])
    task_input = _task_input(job, oid)
    panels = _panels(job, task_input)
    index = int(msg["panel"])
    if not 0 <= index < len(panels):
        raise IndexError(f"card {oid} has {len(panels)} panels; there is no panel {index}")
    panel = panels[index]
    if not isinstance(panel, Series):
        raise TypeError(f"panel {index} of card {oid} is a {type(panel).__name__}, not a Series")
    start, end = _number(msg.get("start")), _number(msg.get("end"))
    if start is not None and end is not None and end < start:
        start, end = end, start
    meta, buffers = series_window(task_input, panel, start=start, end=end, cache=cache)
    meta.update(type="series_window", id=oid, pos=msg.get("pos"), panel=index, seq=msg.get("seq"),
                buffers=list(range(len(buffers))))
    return meta, buffers


def _task_input(job: Any, oid: str) -> Any:
    inputs = getattr(job, "task_inputs", {})
    return inputs[oid] if oid in inputs else job.item(oid)


def _panels(job: Any, task_input: Any) -> list:
    panels = getattr(job, "panels", None)
    return list(panels) if panels is not None else auto_panels(task_input)


def _source(task_input: Any) -> str | None:
    if isinstance(task_input, dict):
        for key in ("dataset", "source-ref", "source"):
            if isinstance(task_input.get(key), str):
                return task_input[key]
    return None


def _name(task_input: Any, oid: str) -> str:
    source = _source(task_input)
    return cards.file_name(source) if source else f"item {oid}"


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None
