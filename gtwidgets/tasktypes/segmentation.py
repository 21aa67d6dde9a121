"""Semantic segmentation: painting masks, adjusting earlier ones, and verifying them.

A mask answer's value is a :class:`MaskValue`: the class-index array (``uint8``, at the original
image's resolution, indices of the job's ``internal-color-map``: see :mod:`gtwidgets.masks`)
and, for adjustment, whether the worker changed the starting mask. It is journaled as the
``crowd-semantic-segmentation`` answer itself (``to_json``), PNG and all.

Where the mask PNG goes (the hook for the job). ``<attr>`` is the URI of a PNG that must be
written, which a pure task type cannot do. So a label pair from :meth:`label_pair` or
:meth:`consolidate` holds a :class:`MaskFile` (the URI and the PNG bytes) at ``<attr>``;
the job calls :meth:`SemanticSegmentation.files_of` on each pair, writes the files it returns
and keeps the JSON pair. The URI is :func:`consolidated_mask_uri` under
``options["output_uri"]`` (the job's output folder, ``<S3OutputPath>/<job name>``), named
``<datasetObjectId>_<creation-date>.png`` as Ground Truth names it; ``label_pair`` takes the
object id from ``value.object_id`` or a URI the job chose from ``value.uri``.

Written once. Making a PNG (and, with several workers, voting) is the costly part of a label
pair, and the output manifest is rebuilt after every batch, so a :class:`MaskFile` makes its mask
and PNG only when asked, and says by its ``key`` what it was made from: the store writes a URI
again only when the key changes. One answer's (or decision's) PNG is named after its time, so its
URI is its key. A consolidated PNG is dated by its object's latest answer (not by when the
manifest was written), so its name, too, stays while the answers do; its key adds every answer's
worker and time, and the vote is remembered by that key (its confidence; the mask is voted again
only if a store needs the file).

Options (``TaskConfig.options``): ``output_uri`` (above); ``prior_attribute``, the ``-ref``
attribute of masks to adjust or verify, or to start painting from (required for verification,
and for adjustment unless the job has pre-labels: ``pre_labeled``; a model's masks are pre-labels,
:meth:`SemanticSegmentation.pre_label`); ``colors``, category -> ``#rrggbb``, to keep a prior
job's colours. Answers to a card that started from a mask carry ``initialValueModified``.
"""
from __future__ import annotations

import base64
import io
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from PIL import Image

from .. import masks, tasks
from ..consolidate_masks import vote_masks
from ..errors import JobError
from .base import TaskConfig, TaskType, WorkerAnswer, register, require_prior
from .mask_files import MaskFile, PriorMask, answers_key, consolidated_mask_uri, load_prior, read_mask_pair
from .verification import LabelVerification

__all__ = ["SemanticSegmentation", "SemanticSegmentationAdjustment", "SemanticSegmentationVerification",
           "MaskValue", "MaskFile", "PriorMask", "consolidated_mask_uri", "load_prior"]

ELEMENT = "crowd-semantic-segmentation"
# The keys a crowd-semantic-segmentation answer is found under: its tag, or the name the
# developer guide's templates give it.
ELEMENT_NAMES = (ELEMENT, "annotatedResult")
_DECODED_KEPT = 4  # records' masks kept decoded (12 MP: 12 MB each)


@dataclass(frozen=True, eq=False)
class MaskValue:
    """One worker's mask: class indices at the image's resolution."""

    labels: np.ndarray
    initial_value_modified: bool | None = None  # adjustment jobs only
    object_id: str | None = None                # names the PNG in label_pair
    uri: str | None = None                      # or the job says where it goes
    # its PNG in the job's colours, once made (png_of) or read from a journal record: a 12 MP
    # answer is journaled, keyed and uploaded from one encoding, not one each
    png: bytes | None = field(default=None, repr=False)


@register
class SemanticSegmentation(TaskType):
    """Paint every pixel of the job's categories (``groundtruth/semantic-segmentation``)."""

    name = "semantic-segmentation"
    tool = "masks"
    adjustment = False

    def __init__(self, config: TaskConfig):
        super().__init__(config)
        self.categories = tasks.check_categories(config.categories)
        if len(self.categories) > masks.MAX_CLASSES:
            raise JobError(f"a segmentation job takes at most {masks.MAX_CLASSES} categories.")
        tasks.check_attribute_name(config.label_attribute, task_type=tasks.SEMANTIC_SEGMENTATION)
        self.color_map = masks.color_map(self.categories, colors=config.options.get("colors"))
        self.index = masks.class_indices(self.categories)
        self.colors = {e["class-name"]: e["hex-color"] for k, e in self.color_map.items() if k != "0"}
        self.prior_attribute: str | None = config.options.get("prior_attribute")
        if self.prior_attribute is not None:
            tasks.check_attribute_name(self.prior_attribute)
        self._decoded: dict[tuple, tuple[np.ndarray, bytes | None]] = {}  # see _remember
        self._votes: dict[str, tuple[str, float, tuple]] = {}  # object id -> (answers' key, confidence, classes)

    @property
    def gt_type(self) -> str:
        return tasks.SEMANTIC_SEGMENTATION

    @property
    def element(self) -> str:
        return ELEMENT

    # ------------------------------------------------------------- one answer

    def check_answer(self, answer: Any) -> MaskValue:
        """A mask from the tool or a model: a class-index array, PNG bytes in the job's colours, a
        ``crowd-semantic-segmentation`` answer (its own ``labelMappings``), or a MaskValue; or
        ``{"mask": <array or PNG bytes>, "initial_value_modified": bool}`` (the tool, on a card
        that started from a mask)."""
        if isinstance(answer, Mapping) and "mask" in answer:
            modified = answer.get("initial_value_modified")
            value = self.check_answer(answer["mask"])
            return value if modified is None else replace(value, initial_value_modified=bool(modified))
        if isinstance(answer, MaskValue):
            value = replace(answer, labels=masks._check_labels(answer.labels))
        elif isinstance(answer, np.ndarray):
            value = MaskValue(masks._check_labels(answer))
        elif isinstance(answer, (bytes, bytearray, memoryview)):
            value = MaskValue(masks.decode_mask(bytes(answer), self.color_map))
        elif isinstance(answer, Mapping) and "labeledImage" in answer:
            value = self._from_element(answer)
        else:
            raise JobError("a mask answer is a class-index array, PNG bytes or a crowd-semantic-segmentation "
                           f"answer, not {type(answer).__name__}.")
        top = int(value.labels.max(initial=0))
        if top > len(self.categories):
            raise JobError(f"mask has class index {top}; this job's indices are 0..{len(self.categories)}.")
        return value

    def modified(self, value: MaskValue) -> bool | None:
        """``initialValueModified`` of an answer: as said; an adjustment that did not say counts as
        adjusted; None for a card that started from nothing."""
        flag = value.initial_value_modified
        return flag is not False if self.adjustment else flag

    def to_json(self, value: MaskValue) -> dict:
        return self.to_content(value)[ELEMENT]

    def from_json(self, data: Mapping) -> MaskValue:
        return self._from_element(data)

    def to_content(self, value: MaskValue) -> dict:
        h, w = value.labels.shape
        body = {"inputImageProperties": {"height": h, "width": w},
                "labelMappings": {c: {"color": self.colors[c]} for c in self.classes_of(value)},
                "labeledImage": {"pngImageData": base64.b64encode(self.png_of(value)).decode()}}
        self._remember(_memo_key(body["labeledImage"]["pngImageData"], body["labelMappings"]), value.labels, value.png)
        if self.modified(value) is not None:
            body["initialValueModified"] = self.modified(value)
        return {ELEMENT: body}

    def from_content(self, content: Mapping) -> MaskValue:
        for key in ELEMENT_NAMES:
            if isinstance(content, Mapping) and isinstance(content.get(key), Mapping):
                try:
                    return self.check_answer(content[key])
                except JobError as e:
                    raise ValueError(str(e)) from None
        keys = sorted(content) if isinstance(content, Mapping) else type(content).__name__
        raise ValueError(f"answerContent has no {ELEMENT} answer (found {keys}); is this a segmentation job?")

    def classes_of(self, value: MaskValue) -> list[str]:
        present = set(np.flatnonzero(np.bincount(value.labels.ravel())).tolist())
        return [c for c in self.categories if self.index[c] in present]

    def png_of(self, value: MaskValue) -> bytes:
        """The mask as Ground Truth's colour PNG (made once a value: kept on it)."""
        if value.png is None:
            object.__setattr__(value, "png", masks.encode_mask(value.labels, self.color_map))
        return value.png

    # ------------------------------------------------------------- labels

    def label_pair(self, value: MaskValue, *, creation_date: str, confidence: float | None = None,
                   human_annotated: bool = True) -> dict:
        """``{attr: MaskFile, attr-metadata: {...}}``; the job writes the file (:meth:`files_of`)."""
        uri = value.uri
        if uri is None:
            if value.object_id is None:
                raise JobError("label_pair needs the mask's object_id or uri (MaskValue) to name its PNG.")
            uri = self.mask_uri(value.object_id, creation_date)
        labels = value.labels
        return self._pair(MaskFile(uri, uri, lambda: labels, self.color_map, encoded=value.png), confidence=confidence,
                          creation_date=creation_date, human_annotated=human_annotated,
                          modified=self.modified(value))

    def _pair(self, file: MaskFile, *, confidence: float | None, creation_date: str, human_annotated: bool = True,
              modified: bool | None = None) -> dict:
        attr = self.config.label_attribute
        meta = {"internal-color-map": _with_confidence(self.color_map, tasks.round_confidence(confidence or 0)),
                "type": self.gt_type, "human-annotated": "yes" if human_annotated else "no",
                "creation-date": creation_date, "job-name": tasks.job_name_value(self.config.job_name)}
        if self.adjustment:
            meta["adjustment-status"] = "adjusted" if modified else "unadjusted"
        return {attr: file, attr + tasks.METADATA_SUFFIX: meta}

    def consolidate(self, answers: Sequence[WorkerAnswer], *, creation_date: str,
                    method: str = "default", batches: Mapping[str, int] | None = None) -> dict[str, dict]:
        """Per-pixel vote smoothed over a 5x5 window where workers disagree
        (:mod:`gtwidgets.consolidate_masks`); ``method="majority"`` is the unsmoothed vote.
        One worker's mask is kept as is, confidence 0. Adjusted when any worker adjusted.
        An object voted before with the same answers is not voted again (its mask is, lazily,
        only if the PNG must be made)."""
        radius = {"default": 2, "smoothed": 2, "majority": 0}.get(method)
        if radius is None:
            raise JobError(f"method={method!r} for segmentation; use 'default' or 'majority'.")
        by_object: dict[str, list[WorkerAnswer]] = defaultdict(list)
        for a in answers:
            by_object[str(a.object_id)].append(a)
        out = {}
        for oid, group in by_object.items():
            sizes = {a.value.labels.shape for a in group}
            if len(sizes) > 1:
                raise JobError(f"object {oid}: workers' masks differ in size {sorted(sizes)}; masks are at the "
                               "original image's resolution.")
            given = [a.value.labels for a in group]
            uri = self.mask_uri(oid, creation_date)
            key = answers_key(uri, radius, group)
            memo = self._votes.get(oid)
            if memo is not None and memo[0] == key:
                confidence = memo[1]
                make = lambda given=given: vote_masks(given, radius=radius).labels  # noqa: E731
            else:
                vote = vote_masks(given, radius=radius)
                confidence = vote.confidence
                self._votes[oid] = (key, confidence, tuple(self.classes_of(MaskValue(vote.labels))))
                make = lambda labels=vote.labels: labels  # noqa: E731
            modified = any(self.modified(a.value) for a in group) if self.adjustment else None
            one = group[0].value.png if len(group) == 1 else None  # one answer: its mask as is
            out[oid] = self._pair(MaskFile(uri, key, make, self.color_map, unique_name=len(group) == 1, encoded=one),
                                  creation_date=creation_date, confidence=confidence, modified=modified)
        return out

    def consolidate_table(self, answers: pd.DataFrame, *,
                          data_objects: Mapping[str, Mapping] | None = None) -> pd.DataFrame:
        """``job.consolidated()``: each object's pair dated by its latest answer, so that its PNG's
        name stays while its answers do; ``label`` the class names the mask uses, ``confidence``
        the image's."""
        rows = []
        meta_key = self.config.label_attribute + tasks.METADATA_SUFFIX
        for oid, group in answers.groupby(answers["object_id"].astype(str), sort=False):
            given = [WorkerAnswer(oid, str(w), v, t.to_pydatetime())
                     for w, v, t in zip(group["worker_id"], group["answer"], group["submission_time"])]
            date = tasks.format_creation_date(_to_ms(max(a.submitted for a in given)))
            pair = self.consolidate(given, creation_date=date)[oid]
            confidence = pair[meta_key]["internal-color-map"]["0"]["confidence"]
            rows.append({"object_id": oid, "label": list(self._votes[oid][2]), "confidence": float(confidence),
                         "n_workers": group["worker_id"].nunique(), "pair": pair})
        return pd.DataFrame(rows, columns=["object_id", "label", "confidence", "n_workers", "pair"])

    def mask_uri(self, object_id: str, creation_date: str) -> str:
        output = self.config.options.get("output_uri")
        if not output:
            raise JobError('a segmentation job needs options={"output_uri": "<S3OutputPath>/<job name>"} '
                           "to name its mask PNGs.")
        return consolidated_mask_uri(output, object_id, creation_date)

    def of_object(self, value: MaskValue, object_id: str) -> MaskValue:
        """The mask named after its object: ``label_pair`` writes ``<object_id>_<date>.png``."""
        return value if value.uri is not None or value.object_id == object_id else replace(value, object_id=object_id)

    def files_of(self, pair: Mapping) -> tuple[dict, dict[str, MaskFile]]:
        """The JSON pair (``<attr>`` the URI) and the files to write first: ``{uri: MaskFile}``."""
        json_pair, files = {}, {}
        for key, v in pair.items():
            if isinstance(v, MaskFile):
                files[v.uri] = v
                v = v.uri
            json_pair[key] = v
        return json_pair, files

    def existing(self, line: Mapping) -> PriorMask | None:
        """This job's mask in the line (a re-run), else ``prior_attribute``'s: URI and colour map."""
        return read_mask_pair(line, self.config.label_attribute) or (
            read_mask_pair(line, self.prior_attribute) if self.prior_attribute else None)

    # ------------------------------------------------------------- pre-labels

    def pre_label(self, raw: Any) -> MaskValue | PriorMask:
        """A model's mask: class indices (a 2-D array of this job's indices, those ``read_masks``
        gives: 0 background, then the class names sorted), PNG bytes or a PNG's URI in this job's
        colours, or crowd-semantic-segmentation's ``initialValue`` ``{"src": uri, "labelMappings":
        {name: {"color": "#rrggbb"}}}`` (its own colours). A URI is read when the card is made."""
        if isinstance(raw, str):
            return PriorMask(raw, {k: {"class-name": e["class-name"], "hex-color": e["hex-color"]}
                                   for k, e in self.color_map.items()})
        if isinstance(raw, Mapping) and isinstance(raw.get("src"), str):
            mappings = raw.get("labelMappings") or {}
            unknown = sorted(set(mappings) - set(self.categories))
            if unknown or not all(isinstance(m, Mapping) and isinstance(m.get("color"), str) for m in mappings.values()):
                raise JobError(f"initialValue.labelMappings {dict(mappings)!r}: give {{category: {{\"color\": "
                               f"\"#rrggbb\"}}}} for categories of this job {self.categories}.")
            cmap = {"0": {"class-name": masks.BACKGROUND, "hex-color": masks.BACKGROUND_COLOR}}
            cmap.update({str(self.index[c]): {"class-name": c, "hex-color": m["color"].lower()}
                         for c, m in mappings.items()})
            return PriorMask(raw["src"], cmap)
        if isinstance(raw, (np.ndarray, bytes, bytearray, memoryview)):
            try:
                return MaskValue(self.check_answer(raw).labels)
            except ValueError as e:  # JobError is one too
                raise JobError(f"mask pre-label: {e}") from None
        raise JobError("pre-labels for masks are a class-index array, PNG bytes, a PNG's URI or "
                       f'{{"src": uri, "labelMappings": ...}}, not {type(raw).__name__}.')

    def started(self, value: MaskValue, start: MaskValue | None) -> MaskValue:
        """``initial_value_modified``: as the answer says, else whether it differs from the start
        (a mask; the job reads a start named by URI first). An adjustment with no start: adjusted."""
        if value.initial_value_modified is not None or start is None:
            return value
        same = start.labels.shape == value.labels.shape and np.array_equal(start.labels, value.labels)
        return replace(value, initial_value_modified=not same)

    # ------------------------------------------------------------- the card

    def card_meta(self, line: Mapping, value: MaskValue | None, *,
                  start: MaskValue | PriorMask | None = None) -> dict:
        """Categories in the job's order with colour and class index; the mask to start from is
        sent as binary by the widget (``png_of`` of the answer or of a pre-label, or the file of a
        pre-label or prior, named here); ``initial_value_modified`` when it is not this worker's."""
        meta = {"categories": [{"name": c, "color": self.colors[c], "value": self.index[c]}
                               for c in self.categories]}
        begin = value if value is not None else start if start is not None else self.existing(line)
        if isinstance(begin, PriorMask):
            meta["prior"] = {"uri": begin.uri, "color_map": begin.color_map}
        if value is not None:
            if self.modified(value) is not None:
                meta["initial_value_modified"] = self.modified(value)
        elif begin is not None or self.adjustment:
            meta["initial_value_modified"] = False
        return meta

    # ------------------------------------------------------------- helpers

    def _from_element(self, body: Mapping) -> MaskValue:
        mappings = body.get("labelMappings") or {}
        unknown = sorted(set(mappings) - set(self.categories))
        if unknown:
            raise JobError(f"mask uses labels {unknown} that are not categories of this job {self.categories}.")
        try:
            data = body["labeledImage"]["pngImageData"]
            key = _memo_key(data, mappings)
            memo = self._decoded.get(key)
            if memo is None:
                png = base64.b64decode(data, validate=True)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise JobError("crowd-semantic-segmentation answer needs labeledImage.pngImageData (base64 PNG).") \
                from None
        if memo is not None:  # a record this job just wrote, read back: the same pixels
            labels, kept = memo
        else:
            # the worker's own colours name its classes; map them onto the job's indices
            worker_map = {"0": {"class-name": masks.BACKGROUND, "hex-color": masks.BACKGROUND_COLOR}}
            worker_map.update({str(self.index[c]): {"class-name": c, "hex-color": m["color"]}
                               for c, m in mappings.items()})
            try:
                labels = masks.decode_mask(Image.open(io.BytesIO(png)), worker_map)
            except OSError:
                raise JobError("labeledImage.pngImageData is not a PNG image.") from None
            kept = None
        size = body.get("inputImageProperties") or {}
        if size and (size.get("height"), size.get("width")) != labels.shape:
            raise JobError(f"mask is {labels.shape[1]} x {labels.shape[0]} but inputImageProperties says "
                           f"{size.get('width')} x {size.get('height')}; masks are at the image's resolution.")
        if memo is None:
            self._remember(key, labels, None)
        modified = body.get("initialValueModified")
        return MaskValue(labels, bool(modified) if modified is not None else None, png=kept)

    def _remember(self, key: tuple, labels: np.ndarray, png: bytes | None) -> None:
        """A few records' pixels by their PNG and colours: a record journaled is read straight
        back (JobState.take), and an answer's record again for its token and the manifest; a
        12 MP mask is then encoded once an answer and never decoded in that path."""
        if labels.flags.writeable:
            labels = labels.copy()  # the caller's array may change; the record's pixels may not
            labels.flags.writeable = False
        self._decoded[key] = (labels, png)
        while len(self._decoded) > _DECODED_KEPT:
            self._decoded.pop(next(iter(self._decoded)))


def _memo_key(data: str, mappings: Mapping) -> tuple:
    """A record's PNG (base64) and the colours naming its classes: together they fix its pixels."""
    return (data, tuple(sorted((str(c), str(m["color"]).lower()) for c, m in mappings.items())))


@register
class SemanticSegmentationAdjustment(SemanticSegmentation):
    """Correct the masks of ``prior_attribute``: same type, plus ``adjustment-status``."""

    name = "semantic-segmentation-adjustment"
    adjustment = True

    def __init__(self, config: TaskConfig):
        super().__init__(config)
        if not config.options.get("pre_labeled"):
            require_prior(self, "masks")


@register
class SemanticSegmentationVerification(LabelVerification):
    """Rate the masks of ``prior_attribute`` with the job's categories, e.g. good / bad
    (``groundtruth/label-verification``; the attribute must not end in ``-ref``)."""

    name = "semantic-segmentation-verification"
    tool = "masks"

    reviewed = "masks"

    def __init__(self, config: TaskConfig):
        super().__init__(config)
        if config.label_attribute.endswith("-ref"):
            raise JobError(f"label attribute {config.label_attribute!r}: a segmentation verification job's "
                           "attribute must not end in '-ref' (Ground Truth's rule); choose another name.")
        tasks.check_attribute_name(config.label_attribute)

    def card_meta(self, line: Mapping, value: Mapping | None, *, start: Any = None) -> dict:
        """The rating categories and the mask under review (read only), its URI and colour map."""
        prior = read_mask_pair(line, self.prior_attribute)
        meta = {"categories": list(self.categories), "read_only": True}
        if prior is not None:
            meta["prior"] = {"uri": prior.uri, "color_map": prior.color_map}
        if value is not None:
            meta["answer"] = dict(value)
        return meta


def _to_ms(when):
    """A time as worker-response files keep it (milliseconds): every kernel then names an object's
    consolidated PNG alike, whether an answer is its own (journaled to the microsecond) or read."""
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def _with_confidence(color_map: Mapping[str, Mapping], confidence: float | int) -> dict:
    return {k: {**v, "confidence": confidence} for k, v in color_map.items()}

