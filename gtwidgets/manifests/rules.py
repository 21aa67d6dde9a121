"""The rules of a Ground Truth manifest: what ``validate_manifest`` and ``gtwidgets validate`` report.

Each rule returns a :class:`Problem` that prints as ``file:line: what is wrong; what to do``.
Errors are what Ground Truth refuses (a line that is not a JSON object, no or two sources, a
``$`` key, size limits); ``read_manifest`` raises on them. Rules on label pairs are warnings:
Ground Truth checks only the LabelAttributeName of a new job and copies earlier pairs through
unchanged, so a chained file may carry hand-made pairs it never checked, and reading must accept
every file Ground Truth writes. ``gtwidgets validate --strict`` fails on warnings too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Literal

import orjson

from .. import tasks

__all__ = ["Problem", "check_object", "check_label", "check_size", "label_pairs"]

Severity = Literal["error", "warning"]

CANONICAL_DATE_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")
_SINGLE_OR_VERIFY = tasks.SINGLE_LABEL_TYPES | {tasks.LABEL_VERIFICATION}


@dataclass(frozen=True)
class Problem:
    """One broken rule. ``line`` is 1-based (None for the whole file)."""

    file: str
    line: int | None
    message: str
    fix: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        text = f"{where}: {self.message}; {self.fix}"
        return text if self.severity == "error" else f"{text} (warning)"



def check_object(obj: dict, *, file: str, line: int) -> list[Problem]:
    """The rules of one parsed line: source keys, names, sizes of values, label pairs."""
    out: list[Problem] = []

    def add(message: str, fix: str, severity: Severity = "error") -> None:
        out.append(Problem(file, line, message, fix, severity))

    has_ref, has_source = "source-ref" in obj, "source" in obj
    if has_ref and has_source:
        add('line has both "source" and "source-ref"', "keep one: source-ref for a file, source for text")
    elif not has_ref and not has_source:
        add('line has neither "source" nor "source-ref"',
            'add "source-ref": "s3://bucket/file.jpg" for a file or "source": "..." for text')
    for key in ("source-ref", "source"):
        if key in obj and not isinstance(obj[key], str):
            add(f'"{key}" is {_kind(obj[key])}, not a string',
                "write the S3 URI as a string" if key == "source-ref" else "write the data as one string")
    for key in obj:
        if key.startswith("$"):
            add(f"key {key!r} starts with '$'", "rename it; Ground Truth reserves names that start with '$'")
    for attr, meta in label_pairs(obj):  # all warnings: see the module docstring
        if not isinstance(meta, dict):
            add(f'"{attr}-metadata" is {_kind(meta)}, not an object',
                'make it an object such as {"type": "groundtruth/...", ...}, or rename the pair', "warning")
            continue
        task_type = meta.get("type")
        problem = tasks.attribute_name_problem(
            attr, task_type=task_type if isinstance(task_type, str) else None)
        if problem:
            add(problem, "Ground Truth copies such a pair through, but would refuse the name for a new "
                         "job's LabelAttributeName: rename the pair before labelling it again", "warning")
        for message, fix in check_label(attr, obj.get(attr), meta):
            add(message, fix, "warning")
    for key in obj:
        if key.endswith(tasks.METADATA_SUFFIX) and key[: -len(tasks.METADATA_SUFFIX)] not in obj \
                and key != tasks.METADATA_SUFFIX and isinstance(obj[key], dict) and "type" in obj[key]:
            add(f'"{key}" has no label "{key[: -len(tasks.METADATA_SUFFIX)]}" beside it',
                "add the label or remove its metadata", "warning")
    return out


def check_size(raw: bytes, obj: dict | None, *, file: str, line: int) -> list[Problem]:
    """Ground Truth's size limits: 100,000 characters a line, 20,000 a value."""
    out = []
    if len(raw) > tasks.MAX_LINE_CHARS:
        chars = len(raw.decode("utf-8", "replace"))
        if chars > tasks.MAX_LINE_CHARS:
            out.append(Problem(file, line, f"line is {chars:,} characters long, over Ground Truth's "
                               f"limit of {tasks.MAX_LINE_CHARS:,}",
                               "move big data to S3 and point to it with source-ref"))
    if obj is not None and len(raw) > tasks.MAX_ATTRIBUTE_CHARS:
        for key, value in obj.items():
            n = len(value) if isinstance(value, str) else len(orjson.dumps(value).decode())
            if n > tasks.MAX_ATTRIBUTE_CHARS:
                out.append(Problem(file, line, f'value of "{key[:60]}" is {n:,} characters long, over '
                                   f"Ground Truth's limit of {tasks.MAX_ATTRIBUTE_CHARS:,} for one attribute",
                                   "shorten it or store it in S3 and keep only its URI"))
    return out


def label_pairs(obj: dict) -> Iterable[tuple[str, object]]:
    """``(attr, metadata)`` for each key whose ``<key>-metadata`` is also on the line."""
    for key in obj:
        if key not in tasks.SOURCE_KEYS and not key.endswith(tasks.METADATA_SUFFIX) \
                and key + tasks.METADATA_SUFFIX in obj:
            yield key, obj[key + tasks.METADATA_SUFFIX]


def check_label(attr: str, label: object, meta: dict) -> list[tuple[str, str]]:
    """Whether ``<attr>-metadata`` agrees with ``<attr>`` as Ground Truth writes it: ``(message, fix)`` pairs."""
    out: list[tuple[str, str]] = []
    m = f'"{attr}-metadata"'
    task_type = meta.get("type")
    if task_type is None:
        out.append((f'{m} has no "type"', 'add "type": "groundtruth/<task>"'))
    elif not isinstance(task_type, str):
        out.append((f'{m} "type" is {_kind(task_type)}', 'write it as a string such as "groundtruth/custom"'))
    elif task_type not in tasks.KNOWN_TYPES:
        out.append((f'{m} has an unknown type {task_type[:80]!r}',
                    "use one of Ground Truth's types, e.g. groundtruth/image-classification"))
    human = meta.get("human-annotated")
    if human is not None and human not in ("yes", "no"):
        out.append((f'{m} "human-annotated" is {_short(human)}', 'write "yes" or "no"'))
    date = meta.get("creation-date")
    if date is not None and not (isinstance(date, str) and CANONICAL_DATE_RE.fullmatch(date)):
        out.append((f'{m} "creation-date" {_short(date)} is not in Ground Truth\'s form',
                    "write UTC as YYYY-MM-DDTHH:MM:SS.ffffff"))
    job = meta.get("job-name")
    if job is not None and not isinstance(job, str):
        out.append((f'{m} "job-name" is {_kind(job)}', 'write "labeling-job/<job name in lower case>"'))
    if "confidence" in meta and not _is_confidence(meta["confidence"]):
        out.append((f'{m} "confidence" is {_short(meta["confidence"])}', "write a number from 0 to 1"))
    if label is None:
        out.append((f'"{attr}" is missing or null while {m} is present', "add the label or remove its metadata"))
        return out
    if task_type in _SINGLE_OR_VERIFY:
        _check_single(attr, label, meta, task_type, out)
    elif task_type in tasks.MULTI_LABEL_TYPES:
        _check_multi(attr, label, meta, out)
    elif task_type == tasks.OBJECT_DETECTION:
        _check_boxes(attr, label, meta, out)
    elif task_type == tasks.SEMANTIC_SEGMENTATION:
        if not isinstance(label, str):
            out.append((f'"{attr}" is {_kind(label)}', "a segmentation label is the S3 URI of its mask PNG"))
        if not isinstance(meta.get("internal-color-map"), dict):
            out.append((f'{m} has no "internal-color-map" object',
                        'add {"0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", ...}}'))
    elif task_type == tasks.TEXT_SPAN:
        _check_spans(attr, label, meta, out)
    return out


# ---------------------------------------------------------------------------- task checks

def _check_single(attr, label, meta, task_type, out) -> None:
    if task_type == tasks.LABEL_VERIFICATION:
        ok = isinstance(label, str) or (isinstance(label, int) and not isinstance(label, bool))
    else:
        ok = isinstance(label, int) and not isinstance(label, bool) and label >= 0
        if isinstance(label, str) and label.isdigit():
            out.append((f'"{attr}" is the string {label!r}', "write the class index as an integer"))
            ok = True
    if not ok:
        out.append((f'"{attr}" is {_short(label)}, not a class index',
                    "write the index of the class in the label list, e.g. 0"))
    if not isinstance(meta.get("class-name"), str):
        out.append((f'"{attr}-metadata" has no "class-name" string', 'add "class-name": "<the class>"'))


def _check_multi(attr, label, meta, out) -> None:
    if not (isinstance(label, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in label)):
        out.append((f'"{attr}" is {_short(label)}, not a list of class indices',
                    "write the chosen class indices, e.g. [1, 0]"))
        return
    class_map = meta.get("class-map")
    if not isinstance(class_map, dict):
        out.append((f'"{attr}-metadata" has no "class-map" object', 'add "class-map": {"<index>": "<class>"}'))
    else:
        missing = [i for i in label if str(i) not in class_map]
        if missing:
            out.append((f'"{attr}-metadata" "class-map" lacks the chosen indices {missing[:10]}',
                        "add their class names to class-map"))
    cmap = meta.get("confidence-map")
    if cmap is not None and not (isinstance(cmap, dict) and all(_is_confidence(v) for v in cmap.values())):
        out.append((f'"{attr}-metadata" "confidence-map" is not an object of numbers from 0 to 1',
                    'write {"<index>": 0.95, ...}'))


def _check_boxes(attr, label, meta, out) -> None:
    boxes = label.get("annotations") if isinstance(label, dict) else None
    if not isinstance(boxes, list) or not isinstance(label.get("image_size"), list):
        out.append((f'"{attr}" is not a bounding-box label',
                    'write {"image_size": [{"width": W, "height": H, "depth": 3}], "annotations": [...]}'))
        return
    for n, box in enumerate(boxes):
        if not (isinstance(box, dict) and isinstance(box.get("class_id"), int)
                and all(_is_number(box.get(k)) for k in ("left", "top", "width", "height"))):
            out.append((f'"{attr}" box {n} is {_short(box)}',
                        'give each box integer "class_id" and numbers "left", "top", "width", "height"'))
            return
    objects = meta.get("objects")
    if not isinstance(objects, list) or len(objects) != len(boxes):
        out.append((f'"{attr}-metadata" "objects" has {len(objects) if isinstance(objects, list) else "no"} '
                    f"entries for {len(boxes)} boxes", 'write one {"confidence": c} per box, in box order'))
    class_map = meta.get("class-map")
    if isinstance(class_map, dict):
        missing = sorted({b["class_id"] for b in boxes} - {int(k) for k in class_map if k.isdigit()})
        if missing:
            out.append((f'"{attr}-metadata" "class-map" lacks class ids {missing[:10]}',
                        "add their class names to class-map"))


def _check_spans(attr, label, meta, out) -> None:
    ann = label.get("annotations") if isinstance(label, dict) else None
    entities = ann.get("entities") if isinstance(ann, dict) else None
    if not isinstance(entities, list):
        out.append((f'"{attr}" is not a named-entity label',
                    'write {"annotations": {"entities": [...], "labels": [...]}}'))
        return
    confidences = meta.get("entities")
    if isinstance(confidences, list) and len(confidences) != len(entities):
        out.append((f'"{attr}-metadata" "entities" has {len(confidences)} entries for {len(entities)} entities',
                    'write one {"confidence": c} per entity, in order'))


# ---------------------------------------------------------------------------- helpers

def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_confidence(v: object) -> bool:
    return _is_number(v) and 0 <= v <= 1


def _kind(v: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


def _short(v: object) -> str:
    text = orjson.dumps(v, default=str).decode()
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------- CLI
