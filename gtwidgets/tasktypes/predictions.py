"""A model's predictions, or a pre-annotation Lambda's ``initialValue``, as the value a card starts from.

Pre-labels are suggestions a worker corrects, so they are read leniently where that is safe (a
box is clipped to the image when the card is made) and strictly where a guess would be wrong (an
unknown class, a box with no area, a mask with a class index the job does not have): those raise
JobError saying what is wrong, and the job adds which row.

Boxes (:func:`box_start`) come in Ground Truth's shapes or a detector's:

- a list of ``{"label" or "class_id", "left", "top", "width", "height"}``, crowd-bounding-box's
  ``initial-value`` (what a pre-annotation Lambda returns as ``taskInput.initialValue``), or a box
  answer ``{"image_size", "boxes": [...]}``;
- ``{"xyxy": (n, 4), "labels": (n,)}`` in original-image pixels (``"boxes"`` is the same key,
  torchvision's detection output), or ``{"xyxyn": (n, 4), "labels": (n,)}`` normalised to the
  image's displayed width and height (0..1), placed on the image when its card is made. Labels are
  category names or indices into the job's categories (0: the first); ``"cls"`` is read as
  ``"labels"`` (ultralytics). Scores (``"scores"``, ``"conf"``) are not used: keep the boxes you
  want to show.

The start is ``{"boxes": [...], "normalized": bool}``; :func:`place_boxes` turns it into a box value on an image of a known size.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import JobError

__all__ = ["box_start", "box_edges", "place_boxes", "same_boxes", "COORDS"]

COORDS = ("left", "top", "width", "height")
_PIXEL_KEYS = ("xyxy", "boxes")


def box_start(raw: Any, categories: Sequence[str]) -> dict:
    """One object's predicted boxes as a start (see the module's doc); JobError for a bad shape."""
    cats = list(categories)
    if isinstance(raw, Mapping) and "image_size" in raw and isinstance(raw.get("boxes"), (list, tuple)):
        raw = raw["boxes"]  # a box answer: its boxes count pixels of the image as displayed
    if isinstance(raw, (list, tuple)):
        return {"boxes": [_gt_box(b, n, cats) for n, b in enumerate(raw)], "normalized": False}
    if isinstance(raw, Mapping):
        keys = [k for k in (*_PIXEL_KEYS, "xyxyn") if k in raw]
        if len(keys) != 1:
            raise JobError('detector boxes need one of "xyxy" (or "boxes": pixels) or "xyxyn" (0..1) with '
                           f'"labels"; this has {sorted(map(str, raw))}.')
        key = keys[0]
        normalized = key == "xyxyn"
        xyxy = _array(raw[key], key).reshape(-1, 4) if np.size(raw[key]) else np.zeros((0, 4))
        labels = raw.get("labels", raw.get("cls"))
        if labels is None:
            raise JobError(f'detector boxes give "{key}" but no "labels" (class names or indices).')
        labels = list(np.asarray(labels, dtype=object).reshape(-1))
        if len(labels) != len(xyxy):
            raise JobError(f'{len(xyxy)} boxes but {len(labels)} labels; give one label a box.')
        boxes = []
        for n, ((x1, y1, x2, y2), label) in enumerate(zip(xyxy.tolist(), labels)):
            if x2 <= x1 or y2 <= y1:
                raise JobError(f"box {n} ({x1}, {y1}, {x2}, {y2}) is not x1 < x2, y1 < y2; {key} is "
                               "left, top, right, bottom.")
            if normalized and not (min(x1, y1) >= -0.01 and max(x2, y2) <= 1.01):
                raise JobError(f"box {n} ({x1}, {y1}, {x2}, {y2}) is not within 0..1; xyxyn is normalised "
                               'to the image; give pixels as "xyxy".')
            boxes.append({"label": _label(label, n, cats), "left": x1, "top": y1, "width": x2 - x1,
                          "height": y2 - y1})
        return {"boxes": boxes, "normalized": normalized}
    raise JobError(f"pre-labels for boxes are a list of boxes or a detector's dict, not {type(raw).__name__}.")


def place_boxes(start: Mapping, size: Mapping) -> dict:
    """A start on an image of ``size`` (original pixels as displayed): normalised boxes scaled,
    edges rounded to whole pixels (as the tool draws them) and clipped to the image, boxes left
    with no area dropped."""
    w, h = size["width"], size["height"]
    sx, sy = (w, h) if start.get("normalized") else (1, 1)
    boxes = []
    for b in start["boxes"]:
        left, top = max(round(b["left"] * sx), 0), max(round(b["top"] * sy), 0)
        right = min(round((b["left"] + b["width"]) * sx), w)
        bottom = min(round((b["top"] + b["height"]) * sy), h)
        if right > left and bottom > top:
            boxes.append({"label": b["label"], "left": left, "top": top, "width": right - left,
                          "height": bottom - top})
    return {"image_size": dict(size), "boxes": boxes}


def same_boxes(a: Sequence[Mapping], b: Sequence[Mapping]) -> bool:
    """Whether two lists hold the same boxes (any order; to the hundredth of a pixel)."""
    def key(box):
        return (box["label"], *(round(float(box[k]), 2) for k in COORDS))
    return sorted(map(key, a)) == sorted(map(key, b))


def box_edges(b: Mapping, n: int, number: Callable[[Any], float]) -> tuple:
    """Box ``n``'s left, top, width and height, each read by ``number`` (ValueError: not one);
    JobError names what is missing or wrong."""
    try:
        return tuple(number(b[k]) for k in COORDS)
    except KeyError as e:
        raise JobError(f"box {n} lacks {e.args[0]!r}; give left, top, width and height in pixels.") from None
    except (TypeError, ValueError):
        raise JobError(f"box {n}: left, top, width and height must be finite numbers.") from None


def _gt_box(b: Any, n: int, cats: list[str]) -> dict:
    if not isinstance(b, Mapping):
        raise JobError(f"box {n} is {type(b).__name__}; give a dict with label, left, top, width, height.")
    label = b.get("label", b.get("class_id"))
    left, top, width, height = box_edges(b, n, _finite)
    if width <= 0 or height <= 0:
        raise JobError(f"box {n} is {width} x {height}; width and height must be positive.")
    return {"label": _label(label, n, cats), "left": left, "top": top, "width": width, "height": height}


def _label(label: Any, n: int, cats: list[str]) -> str:
    if isinstance(label, (np.integer, np.floating)):
        label = label.item()
    if isinstance(label, float) and label.is_integer():
        label = int(label)
    if isinstance(label, int) and not isinstance(label, bool):
        if not 0 <= label < len(cats):
            raise JobError(f"box {n}: class index {label} is not an index of the categories {cats!r}.")
        return cats[label]
    if label not in cats:
        raise JobError(f"box {n}: label {label!r} is not one of the categories {cats!r}.")
    return label


def _array(raw: Any, key: str) -> np.ndarray:
    try:
        a = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise JobError(f'"{key}" must be numbers, n rows of 4.') from None
    if a.ndim not in (1, 2) or a.size % 4 or (a.ndim == 2 and a.shape[1] != 4) or not np.isfinite(a).all():
        raise JobError(f'"{key}" has shape {a.shape}; give n rows of 4 finite numbers (x1, y1, x2, y2).')
    return a


def _finite(x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not math.isfinite(x):
        raise ValueError(x)
    return x.item() if isinstance(x, (np.integer, np.floating)) else x

