"""What a card shows, declared in Python: image, series, text and fact panels over ``taskInput``.

A pre-labeling handler turns a manifest line into ``taskInput``; panels say which field
each part of the card shows (``Image("image.s3Path")``, ``Series("sensor", values=[...])``).
With no panels, ``auto_panels`` lays a card out from the shape of ``taskInput``.
Everything here is data for the view; nothing imports the widget.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, Union

import numpy as np

from . import storage
from .errors import GtError
from .series import DEFAULT_POINTS, SeriesError, read_series

__all__ = ["Image", "Series", "Text", "Facts", "Panel", "auto_panels", "resolve", "render_panels",
           "series_window"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")
SERIES_SUFFIXES = (".csv", ".tsv", ".txt")


@dataclass(frozen=True)
class Image:
    field: str
    title: str | None = None


@dataclass(frozen=True)
class Series:
    """A sensor panel: ``field`` holds a CSV path/URI (or a DataFrame); the first column is time in ms.

    ``units`` maps a value column to its unit, shown on its axis: ``{"current": "A"}`` -> "current (A)".
    """
    field: str
    values: Sequence[str] | None = None
    time: str | int = 0
    overlay: bool = False  # all values in one plot instead of one plot per signal
    title: str | None = None
    points: int = DEFAULT_POINTS
    units: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Text:
    field: str
    title: str | None = None


@dataclass(frozen=True)
class Facts:
    fields: Sequence[str] | None = None  # None: every scalar field of taskInput
    title: str | None = None


Panel = Union[Image, Series, Text, Facts]


def resolve(task_input: Any, path: str) -> Any:
    """``"image.s3Path"`` -> ``task_input["image"]["s3Path"]``; a key may itself hold dots."""
    if isinstance(task_input, Mapping) and path in task_input:
        return task_input[path]
    value = task_input
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(path)
    return value


def auto_panels(task_input: Any) -> list[Panel]:
    """A sensible layout from the shape of ``taskInput``: images, then series, then text, then facts."""
    images, series, texts = [], [], []
    for path, value in _leaves(task_input):
        if isinstance(value, str):
            low = value.lower().split("?")[0]
            if low.endswith(IMAGE_SUFFIXES):
                images.append(Image(path))
            elif low.endswith(SERIES_SUFFIXES):
                series.append(Series(path))
            elif len(value) > 80 or "\n" in value:
                texts.append(Text(path))
    used = {p.field for p in images + series + texts}
    facts = [path for path, v in _leaves(task_input) if path not in used and _is_scalar(v)]
    panels: list[Panel] = [*images, *series, *texts]
    if facts:
        panels.append(Facts(facts))
    return panels


def render_panels(task_input: Any, panels: Sequence[Panel] | None, *, image_size=(768, 576),
                  cache: "SeriesCache | None" = None) -> tuple[list[dict], list[bytes]]:
    """Each panel's JSON part and its binary buffers, ready to send to the browser.

    A panel that cannot be drawn (missing file, bad CSV) becomes an error panel with the
    reason; the rest of the card still shows.
    """
    from .cards import thumbnail

    metas, buffers = [], []
    for i, panel in enumerate(panels if panels is not None else auto_panels(task_input)):
        try:
            if isinstance(panel, Image):
                data, mime, (w, h) = thumbnail(storage.read_bytes(str(resolve(task_input, panel.field))),
                                               max_size=image_size)
                metas.append({"kind": "image", "title": panel.title or panel.field, "mime": mime,
                              "width": w, "height": h, "buffers": [len(buffers)]})
                buffers.append(data)
            elif isinstance(panel, Series):
                meta, bufs = series_window(task_input, panel, cache=cache)
                meta["buffers"] = list(range(len(buffers), len(buffers) + len(bufs)))
                metas.append({**meta, "panel": i})
                buffers.extend(bufs)
            elif isinstance(panel, Text):
                metas.append({"kind": "text", "title": panel.title or panel.field,
                              "text": str(resolve(task_input, panel.field))})
            else:
                paths = panel.fields or [p for p, v in _leaves(task_input) if _is_scalar(v)]
                items = [[p, _text(_get(task_input, p))] for p in paths]
                metas.append({"kind": "facts", "title": panel.title or "", "items": items})
        except (GtError, KeyError, OSError, ValueError) as e:
            field_name = getattr(panel, "field", None) or "facts"
            reason = f"no field {field_name!r} in taskInput" if isinstance(e, KeyError) else str(e)
            metas.append({"kind": "error", "title": getattr(panel, "title", None) or field_name,
                          "message": reason})
    return metas, buffers


def series_window(task_input: Any, panel: Series, *, start: float | None = None, end: float | None = None,
                  cache: "SeriesCache | None" = None) -> tuple[dict, list[bytes]]:
    """A series panel's data for a time range (None: all), downsampled: float64 times, float32 values."""
    source = resolve(task_input, panel.field)
    key = source if isinstance(source, str) else id(source)
    series = cache.get(key) if cache is not None else None
    if series is None:
        series = read_series(source, time_column=panel.time, columns=list(panel.values) if panel.values else None)
        if cache is not None:
            cache.put(key, series)
    window = series.window(list(panel.values) if panel.values else None, start=start, end=end, points=panel.points)
    columns, bufs = [], []
    for col, (t, y) in window.items():
        unit = (panel.units or {}).get(col)
        columns.append({"name": f"{col} ({unit})" if unit else col, "points": int(len(t))})
        bufs += [np.ascontiguousarray(t, dtype="<f8").tobytes(), np.ascontiguousarray(y, dtype="<f4").tobytes()]
    meta = {"kind": "series", "title": panel.title or panel.field, "overlay": panel.overlay,
            "columns": columns, "total_points": len(series),
            "range": [float(series.time[0]), float(series.time[-1])],
            "window": [start, end]}
    return meta, bufs


class SeriesCache:
    """The last few sensor files read, so zooming does not read a CSV again."""

    def __init__(self, size: int = 8):
        self.size = size
        self._items: OrderedDict = OrderedDict()

    def get(self, key):
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def put(self, key, value) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


def _leaves(value: Any, prefix: str = ""):
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _leaves(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, value


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool)) or v is None


def _get(task_input, path):
    try:
        return resolve(task_input, path)
    except KeyError:
        return None


def _text(v: Any) -> str:
    return "" if v is None else str(v)


__all__ += ["SeriesCache", "SeriesError"]
