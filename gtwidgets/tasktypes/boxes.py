"""Bounding boxes: drawing them, adjusting earlier ones, and verifying them.

The value of a box answer, as the journal keeps it::

    {"image_size": {"width": 640, "height": 480, "depth": 3},
     "boxes": [{"label": "Car", "left": 237, "top": 165, "width": 164, "height": 157}]}

Coordinates count pixels of the original image as displayed, EXIF orientation applied (see
:mod:`gtwidgets.image_geometry`); an empty ``boxes`` list ("no objects") is a valid answer.
Answers to a card that started from boxes (an adjustment's prior boxes, or pre-labels: see
:mod:`gtwidgets.tasktypes.predictions`) add ``"initial_value_modified": bool``, written as the
crowd element's ``initialValueModified``; only adjustment turns it into ``adjustment-status``.
A verification answer is ``{"label": "good", "comment": "..."}`` (comment optional), rated
against the job's categories.

Options (``TaskConfig.options``): ``prior_attribute``, the label attribute holding the boxes to
adjust or verify, or to start drawing from (required for verification, and for adjustment
unless the job has pre-labels: ``pre_labeled``); ``box_categories``, for verification, names
the reviewed boxes' classes when their pair has no ``class-map``. Ground Truth allows 1 to 50
categories for boxes.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Mapping, Sequence

import numpy as np

from .. import tasks
from ..consolidate_boxes import consolidate_boxes
from ..errors import JobError
from .base import TaskConfig, TaskType, WorkerAnswer, register, require_prior
from .predictions import COORDS as _COORDS, box_edges, box_start, place_boxes, same_boxes
from .verification import LabelVerification

__all__ = ["BoundingBox", "BoundingBoxAdjustment", "BoundingBoxVerification", "read_box_pair",
           "MAX_BOX_CATEGORIES", "BOX_ELEMENT_NAMES"]

MAX_BOX_CATEGORIES = 50
# Keys a crowd-bounding-box answer has been found under: the element's tag, and the names
# Ground Truth's built-in templates give it (the consolidation payload shows "boundingBox").
BOX_ELEMENT_NAMES = ("crowd-bounding-box", "boundingBox", "annotatedResult")


@register
class BoundingBox(TaskType):
    """Draw a box around every object of the job's categories (``groundtruth/object-detection``)."""

    name = "bounding-box"
    tool = "boxes"
    adjustment = False

    def __init__(self, config: TaskConfig):
        super().__init__(config)
        cats = tasks.check_categories(config.categories)
        if len(cats) > MAX_BOX_CATEGORIES:
            raise JobError(f"a bounding-box job takes at most {MAX_BOX_CATEGORIES} categories "
                           f"(Ground Truth's limit); this one has {len(cats)}.")
        self._index = {c: i for i, c in enumerate(cats)}
        prior = config.options.get("prior_attribute")
        if prior is not None:
            tasks.check_attribute_name(prior)
        self.prior_attribute: str | None = prior

    @property
    def gt_type(self) -> str:
        return tasks.OBJECT_DETECTION

    @property
    def element(self) -> str:
        return "crowd-bounding-box"

    # ------------------------------------------------------------- one answer

    def check_answer(self, answer: Any) -> dict:
        """Normalise ``{"image_size", "boxes"}`` (or a crowd-bounding-box answer): labels must be
        categories (or ``class_id`` indices), sizes positive; boxes are clipped to the image."""
        if not isinstance(answer, Mapping):
            raise JobError(f"a box answer is a dict with image_size and boxes, not {type(answer).__name__}.")
        if "boundingBoxes" in answer:
            return self._from_element(answer)
        size = _image_size(answer.get("image_size"))
        raw = answer.get("boxes")
        if not isinstance(raw, (list, tuple)):
            raise JobError('a box answer needs "boxes": a list (empty for an image with no objects).')
        value = {"image_size": size, "boxes": [self._box(b, size, n) for n, b in enumerate(raw)]}
        modified = answer.get("initial_value_modified", answer.get("initialValueModified"))
        if modified is not None:  # said when the card started from boxes (adjustment: False if not)
            value["initial_value_modified"] = bool(modified)
        return value

    def to_content(self, value: Mapping) -> dict:
        body = {"boundingBoxes": [{"label": b["label"], **{k: b[k] for k in _COORDS}} for b in value["boxes"]],
                "inputImageProperties": {"height": value["image_size"]["height"],
                                         "width": value["image_size"]["width"]}}
        if self.adjustment or "initial_value_modified" in value:
            body["initialValueModified"] = bool(value.get("initial_value_modified", False))
        return {self.element: body}

    def from_content(self, content: Mapping) -> dict:
        for key in BOX_ELEMENT_NAMES:
            if isinstance(content, Mapping) and isinstance(content.get(key), Mapping):
                try:
                    return self._from_element(content[key])
                except JobError as e:
                    raise ValueError(str(e)) from None
        keys = sorted(content) if isinstance(content, Mapping) else type(content).__name__
        raise ValueError(f"answerContent has no bounding-box answer (looked for {', '.join(BOX_ELEMENT_NAMES)}; "
                         f"found {keys}); is this a box job?")

    def classes_of(self, value: Mapping) -> list[str]:
        return [b["label"] for b in value["boxes"]]

    # ------------------------------------------------------------- labels

    def label_pair(self, value: Mapping, *, creation_date: str, confidence: float | Sequence[float] | None = None,
                   human_annotated: bool = True) -> dict:
        """One answer as Ground Truth writes it; ``confidence`` is one number or one per box (default 0)."""
        n = len(value["boxes"])
        if confidence is None or isinstance(confidence, (int, float)):
            confidence = [confidence or 0] * n
        status = None
        if self.adjustment:
            status = "adjusted" if value.get("initial_value_modified") else "unadjusted"
        return self._pair(value["image_size"], [self._index[b["label"]] for b in value["boxes"]],
                          [[b[k] for k in _COORDS] for b in value["boxes"]], confidence,
                          creation_date=creation_date, human_annotated=human_annotated, status=status)

    def consolidate(self, answers: Sequence[WorkerAnswer], *, creation_date: str,
                    method: str = "default", batches: Mapping[str, int] | None = None) -> dict[str, dict]:
        """Boxes matched across workers by IoU and averaged (:mod:`gtwidgets.consolidate_boxes`).

        ``method``: ``"default"`` weights workers by how well their boxes agree across the job;
        ``"equal"`` is the plain mean. ``batches`` is not used: boxes are consolidated per image.
        """
        weights = {"default": "learned", "learned": "learned", "equal": "equal"}.get(method)
        if weights is None:
            raise JobError(f"method={method!r} for boxes; use 'default' or 'equal'.")
        by_object: dict[str, list[WorkerAnswer]] = defaultdict(list)
        for a in answers:
            by_object[str(a.object_id)].append(a)
        objects = list(by_object)
        worker_ids: dict[str, int] = {}
        img, wrk, cls, coords = [], [], [], []
        n_workers = np.zeros(len(objects), np.int64)
        for i, oid in enumerate(objects):
            n_workers[i] = len({a.worker_id for a in by_object[oid]})
            for a in by_object[oid]:
                w = worker_ids.setdefault(a.worker_id, len(worker_ids))
                for b in a.value["boxes"]:
                    img.append(i)
                    wrk.append(w)
                    cls.append(self._index[b["label"]])
                    coords.append([b[k] for k in _COORDS])
        result = consolidate_boxes(img, wrk, cls, np.asarray(coords, np.float64).reshape(-1, 4), n_workers,
                                   weights=weights)
        starts = np.searchsorted(result.image, np.arange(len(objects) + 1))
        out = {}
        for i, oid in enumerate(objects):
            sl = slice(starts[i], starts[i + 1])
            status = None
            if self.adjustment:
                changed = any(a.value.get("initial_value_modified") for a in by_object[oid])
                status = "adjusted" if changed else "unadjusted"
            out[oid] = self._pair(_common_size(by_object[oid]), result.class_id[sl].tolist(),
                                  result.boxes[sl].tolist(), result.confidence[sl].tolist(),
                                  creation_date=creation_date, human_annotated=True, status=status)
        return out

    def existing(self, line: Mapping) -> dict | None:
        """This job's boxes already in the line (a re-run), else the ``prior_attribute``'s boxes."""
        own = self.read_pair(line, self.config.label_attribute)
        return own if own is not None else self.prior(line)

    def prior(self, line: Mapping) -> dict | None:
        """The boxes of ``options["prior_attribute"]`` in an input line, as a value, or None."""
        return self.read_pair(line, self.prior_attribute) if self.prior_attribute else None

    def read_pair(self, line: Mapping, attribute: str) -> dict | None:
        """An object-detection label pair of ``line`` as a value (see :func:`read_box_pair`)."""
        value = read_box_pair(line, attribute, list(self._index))
        if value is not None and self.adjustment:
            value["initial_value_modified"] = False
        return value

    # ------------------------------------------------------------- pre-labels

    def pre_label(self, raw: Any) -> dict:
        """A detector's boxes or crowd-bounding-box's ``initialValue`` (:func:`~.predictions.box_start`)."""
        return box_start(raw, list(self._index))

    def start_value(self, start: Mapping, image_size: Mapping | None) -> dict | None:
        """The pre-labelled boxes on the image: scaled when normalised, clipped, whole pixels;
        None when normalised boxes meet an image whose size is not known."""
        if image_size is None:
            return None if start.get("normalized") else {"image_size": None, "boxes": list(start["boxes"])}
        return place_boxes(start, image_size)

    def started(self, value: dict, start: Mapping | None) -> dict:
        """``initial_value_modified``: as the answer says, else whether its boxes differ from the start's."""
        if start is None or "initial_value_modified" in value:
            return value
        placed = self.start_value(start, value["image_size"]) if "normalized" in start else start
        return {**value, "initial_value_modified": not same_boxes(value["boxes"], placed["boxes"])}

    # ------------------------------------------------------------- the card

    def card_meta(self, line: Mapping, value: Mapping | None, *, start: Mapping | None = None) -> dict:
        """Categories, and the boxes to start from: the answer so far, else the pre-labels (placed),
        else this line's prior boxes; ``initial_value_modified`` when they are not this worker's
        own (the tool then says whether the worker changed them)."""
        begin = value if value is not None else start if start is not None else self.existing(line)
        meta = {"categories": list(self._index), "boxes": list(begin["boxes"]) if begin else []}
        if begin and begin.get("image_size"):
            meta["image_size"] = begin["image_size"]
        if value is not None:
            if "initial_value_modified" in value:
                meta["initial_value_modified"] = bool(value["initial_value_modified"])
        elif begin is not None or self.adjustment:
            meta["initial_value_modified"] = False
        return meta

    # ------------------------------------------------------------- helpers

    def _from_element(self, body: Mapping) -> dict:
        props = body.get("inputImageProperties")
        if not isinstance(props, Mapping):
            raise JobError("a crowd-bounding-box answer needs inputImageProperties {height, width}.")
        answer = {"image_size": {"width": props.get("width"), "height": props.get("height"),
                                 "depth": props.get("depth", 3)},
                  "boxes": body.get("boundingBoxes")}
        if self.adjustment or "initialValueModified" in body:
            answer["initial_value_modified"] = bool(body.get("initialValueModified", False))
        return self.check_answer(answer)

    def _box(self, b: Any, size: Mapping, n: int) -> dict:
        if not isinstance(b, Mapping):
            raise JobError(f"box {n} is {type(b).__name__}; give a dict with label, left, top, width, height.")
        label = b.get("label")
        if label is None and "class_id" in b:
            cats = list(self._index)
            cid = b["class_id"]
            if not isinstance(cid, int) or not 0 <= cid < len(cats):
                raise JobError(f"box {n}: class_id {cid!r} is not an index of the categories {cats!r}.")
            label = cats[cid]
        if label not in self._index:
            raise JobError(f"box {n}: label {label!r} is not one of the categories {list(self._index)!r}.")
        left, top, width, height = box_edges(b, n, _number)
        # Clip to the image, as crowd-bounding-box keeps boxes inside it.
        right = min(left + width, size["width"])
        bottom = min(top + height, size["height"])
        left, top = max(left, 0), max(top, 0)
        if right - left <= 0 or bottom - top <= 0:
            raise JobError(f"box {n} ({left}, {top}, {width} x {height}) has no area inside the "
                           f"{size['width']} x {size['height']} image; redraw it.")
        return {"label": label, "left": _tidy(left), "top": _tidy(top),
                "width": _tidy(right - left), "height": _tidy(bottom - top)}

    def _pair(self, size: Mapping, class_ids: list[int], coords: list, confidences: Sequence[float], *,
              creation_date: str, human_annotated: bool, status: str | None) -> dict:
        cats = list(self._index)
        attr = self.config.label_attribute
        class_map: dict[str, str] = {}
        for c in class_ids:
            class_map.setdefault(str(c), cats[c])   # order of first appearance, as Ground Truth writes it
        annotations = [{"class_id": int(c), "top": _tidy(t), "left": _tidy(l), "height": _tidy(h), "width": _tidy(w)}
                       for c, (l, t, w, h) in zip(class_ids, coords)]
        meta = {"objects": [{"confidence": tasks.round_confidence(c)} for c in confidences],
                "class-map": class_map, "type": self.gt_type,
                "human-annotated": "yes" if human_annotated else "no", "creation-date": creation_date,
                "job-name": tasks.job_name_value(self.config.job_name)}
        if status is not None:
            meta["adjustment-status"] = status
        return {attr: {"image_size": [{"width": size["width"], "height": size["height"], "depth": size["depth"]}],
                       "annotations": annotations},
                attr + tasks.METADATA_SUFFIX: meta}


@register
class BoundingBoxAdjustment(BoundingBox):
    """Edit the boxes of ``prior_attribute`` (``groundtruth/object-detection`` + ``adjustment-status``)."""

    name = "bounding-box-adjustment"
    adjustment = True

    def __init__(self, config: TaskConfig):
        super().__init__(config)
        if not config.options.get("pre_labeled"):
            require_prior(self, "boxes")


@register
class BoundingBoxVerification(LabelVerification):
    """Rate the boxes of ``prior_attribute`` with the job's categories, e.g. good / bad, plus an
    optional comment (``groundtruth/label-verification``, consolidated like classification)."""

    name = "bounding-box-verification"
    tool = "boxes"

    reviewed = "boxes"

    def __init__(self, config: TaskConfig):
        super().__init__(config)
        tasks.check_attribute_name(self.prior_attribute)

    def prior(self, line: Mapping) -> dict | None:
        """The boxes under review (``prior_attribute``), labels from their own class-map."""
        return read_box_pair(line, self.prior_attribute, self.config.options.get("box_categories") or ())

    def card_meta(self, line: Mapping, value: Mapping | None, *, start: Any = None) -> dict:
        """The rating categories, the boxes to show (read only), and the answer so far."""
        boxes = self.prior(line)
        meta = {"categories": list(self.categories), "boxes": boxes["boxes"] if boxes else [],
                "read_only": True}
        if boxes:
            meta["image_size"] = boxes["image_size"]
        if value is not None:
            meta["answer"] = dict(value)
        return meta


# ---------------------------------------------------------------------------- helpers

def read_box_pair(line: Mapping, attribute: str, categories: Sequence[str] = ()) -> dict | None:
    """An object-detection label pair of ``line`` as a box value, or None when absent or malformed.

    Class names come from the pair's ``class-map``, else from ``categories`` by ``class_id``, else
    the id as text; a box whose class a job does not have is refused only when submitted.
    """
    label = line.get(attribute)
    meta = line.get(attribute + tasks.METADATA_SUFFIX)
    if not isinstance(label, Mapping):
        return None
    cmap = meta.get("class-map") if isinstance(meta, Mapping) else None
    cmap = cmap if isinstance(cmap, Mapping) else {}
    try:
        size = _image_size(label.get("image_size"))
        boxes = []
        for a in label.get("annotations") or []:
            cid = int(a["class_id"])
            name = cmap.get(str(cid)) or (categories[cid] if 0 <= cid < len(categories) else str(cid))
            boxes.append({"label": str(name), **{k: _number(a[k]) for k in _COORDS}})
    except (JobError, KeyError, TypeError, ValueError):
        return None
    return {"image_size": size, "boxes": boxes}



def _image_size(raw: Any) -> dict:
    if isinstance(raw, list) and len(raw) == 1:   # Ground Truth's one-element list
        raw = raw[0]
    if not isinstance(raw, Mapping):
        raise JobError('a box answer needs "image_size": {"width": W, "height": H} in original-image pixels.')
    try:
        w, h = int(raw["width"]), int(raw["height"])
        depth = int(raw.get("depth", 3))
    except (KeyError, TypeError, ValueError):
        raise JobError(f"image_size {dict(raw)!r} needs integer width and height.") from None
    if w <= 0 or h <= 0 or depth <= 0:
        raise JobError(f"image_size {w} x {h} (depth {depth}) must be positive.")
    return {"width": w, "height": h, "depth": depth}


def _common_size(answers: Sequence[WorkerAnswer]) -> dict:
    """The image size most workers reported (they see the same image, so normally all of them)."""
    sizes = [tuple(a.value["image_size"].items()) for a in answers]
    return dict(max(set(sizes), key=lambda s: (sizes.count(s), -sizes.index(s))))


def _number(x: Any) -> float | int:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise ValueError(x)
    return x


def _tidy(x: float | int) -> float | int:
    """Whole numbers as ints (what a single worker's box is); averages stay floats."""
    x = float(x)
    return int(x) if x.is_integer() else x
