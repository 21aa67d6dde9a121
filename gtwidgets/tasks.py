"""Ground Truth's task types, and how an answer becomes ``<attr>`` plus ``<attr>-metadata``.

Pure data rules from ``ground-truth-format.md``; no I/O, nothing of ours imported.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

from .errors import JobError

IMAGE_CLASSIFICATION = "groundtruth/image-classification"
IMAGE_CLASSIFICATION_MULTILABEL = "groundtruth/image-classification-multilabel"
OBJECT_DETECTION = "groundtruth/object-detection"
SEMANTIC_SEGMENTATION = "groundtruth/semantic-segmentation"
LABEL_VERIFICATION = "groundtruth/label-verification"
TEXT_CLASSIFICATION = "groundtruth/text-classification"
TEXT_CLASSIFICATION_MULTILABEL = "groundtruth/text-classification-multilabel"
TEXT_SPAN = "groundtruth/text-span"
CUSTOM = "groundtruth/custom"
VIDEO_OBJECT_DETECTION = "groundtruth/video-object-detection"
VIDEO_OBJECT_TRACKING = "groundtruth/video-object-tracking"

KNOWN_TYPES = frozenset({
    IMAGE_CLASSIFICATION, IMAGE_CLASSIFICATION_MULTILABEL, OBJECT_DETECTION,
    SEMANTIC_SEGMENTATION, LABEL_VERIFICATION, TEXT_CLASSIFICATION,
    TEXT_CLASSIFICATION_MULTILABEL, TEXT_SPAN, CUSTOM, VIDEO_OBJECT_DETECTION,
    VIDEO_OBJECT_TRACKING, "groundtruth/video-classification",
    "groundtruth/point-cloud-object-detection", "groundtruth/point-cloud-object-tracking",
    "groundtruth/point-cloud-single-frame-semantic-segmentation",
})
SINGLE_LABEL_TYPES = frozenset({IMAGE_CLASSIFICATION, TEXT_CLASSIFICATION})
MULTI_LABEL_TYPES = frozenset({IMAGE_CLASSIFICATION_MULTILABEL, TEXT_CLASSIFICATION_MULTILABEL})
REF_TYPES = frozenset({SEMANTIC_SEGMENTATION, VIDEO_OBJECT_DETECTION, VIDEO_OBJECT_TRACKING})

SOURCE_KEYS = ("source-ref", "source")
METADATA_SUFFIX = "-metadata"
LABEL_CATEGORY_VERSION = "2018-11-28"
MAX_LINE_CHARS = 100_000
MAX_ATTRIBUTE_CHARS = 20_000
MAX_CATEGORY_CHARS = 256

_ATTRIBUTE_RE = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}")
_JOB_NAME_RE = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
CREATION_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"

# Built-in crowd element names, i.e. the key under answerContent.
CLASSIFIER_ELEMENT = "crowd-image-classifier"
MULTI_CLASSIFIER_ELEMENT = "crowd-image-classifier-multi-select"


def attribute_name_problem(name: str, *, task_type: str | None = None) -> str | None:
    """Why ``name`` cannot be a label attribute name (None when it can)."""
    if not isinstance(name, str) or not _ATTRIBUTE_RE.fullmatch(name):
        return (f"label attribute name {name!r} must be 1-127 letters, digits and single hyphens, "
                "starting and ending with a letter or digit")
    if name in SOURCE_KEYS:
        return f"label attribute name {name!r} is reserved for the data source"
    if name.endswith(METADATA_SUFFIX):
        return f"label attribute name {name!r} may not end in '-metadata'"
    if task_type is not None:
        if task_type in REF_TYPES and not name.endswith("-ref"):
            return f"label attribute name {name!r} must end in '-ref' for {task_type}"
        if task_type not in REF_TYPES and task_type != CUSTOM and name.endswith("-ref"):
            return f"label attribute name {name!r} may end in '-ref' only for segmentation and video jobs"
    return None


def check_attribute_name(name: str, *, task_type: str | None = None) -> str:
    problem = attribute_name_problem(name, task_type=task_type)
    if problem:
        raise JobError(problem + "; choose another name.")
    return name


def check_job_name(name: str) -> str:
    if not isinstance(name, str) or not _JOB_NAME_RE.fullmatch(name):
        raise JobError(f"job name {name!r} must be 1-63 letters, digits and single hyphens, "
                       "starting and ending with a letter or digit (Ground Truth's rule); choose another name.")
    return name


def job_name_value(job_name: str) -> str:
    """``job-name`` as Ground Truth writes it: ``labeling-job/<lower-case name>``."""
    return "labeling-job/" + job_name.lower()


def format_creation_date(when: datetime | None = None) -> str:
    """UTC, no zone, 6 fractional digits: ``2023-03-08T19:30:08.880289``."""
    when = when or datetime.now(timezone.utc)
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    return when.strftime(CREATION_DATE_FORMAT)


def round_confidence(value: float) -> float | int:
    """2 decimals; an integral value is written as an integer, as Ground Truth does since 2022."""
    value = round(float(value), 2)
    return int(value) if value == int(value) else value


def read_label_categories(data: Mapping | Sequence[str]) -> list[str]:
    """Category names from a list or a Ground Truth label-category document."""
    if isinstance(data, Mapping):
        labels = data.get("labels")
        if not isinstance(labels, list):
            raise JobError('a label-category file needs "labels": [{"label": "..."}, ...]; add it.')
        names = [entry["label"] if isinstance(entry, Mapping) else entry for entry in labels]
    else:
        names = list(data)
    return check_categories(names)


def label_category_document(categories: Iterable[str]) -> dict:
    return {"document-version": LABEL_CATEGORY_VERSION, "labels": [{"label": c} for c in categories]}


def check_categories(names: Sequence[str]) -> list[str]:
    names = list(names)
    if not names:
        raise JobError("a job needs at least one category; pass categories=[...].")
    seen = set()
    for n in names:
        if not isinstance(n, str) or not n.strip():
            raise JobError(f"category {n!r} must be a non-empty string.")
        if len(n) > MAX_CATEGORY_CHARS:
            raise JobError(f"category {n[:40]!r}... is longer than {MAX_CATEGORY_CHARS} characters; shorten it.")
        if n in seen:
            raise JobError(f"category {n!r} appears twice; category names must be unique.")
        seen.add(n)
    return names


def classification_label(attribute: str, categories: Sequence[str], answer: str, *,
                         job_name: str | None = None, confidence: float = 0,
                         human_annotated: bool = True, creation_date: str | datetime | None = None,
                         task_type: str = IMAGE_CLASSIFICATION) -> dict:
    """The ``{attr: index, attr-metadata: {...}}`` pair of a single-label answer."""
    try:
        index = list(categories).index(answer)
    except ValueError:
        raise JobError(f"answer {answer!r} is not one of the categories {list(categories)!r}.") from None
    return {
        attribute: index,
        attribute + METADATA_SUFFIX: {
            "class-name": answer,
            "job-name": job_name_value(job_name or attribute),
            "confidence": round_confidence(confidence),
            "type": task_type,
            "human-annotated": "yes" if human_annotated else "no",
            "creation-date": _date(creation_date),
        },
    }


def multilabel_label(attribute: str, categories: Sequence[str], answers: Sequence[str], *,
                     job_name: str | None = None, confidences: Mapping[str, float] | None = None,
                     human_annotated: bool = True, creation_date: str | datetime | None = None,
                     task_type: str = IMAGE_CLASSIFICATION_MULTILABEL) -> dict:
    """The pair of a multi-label answer: indices in answer order, class-map and confidence-map."""
    cats = list(categories)
    indices = []
    for a in answers:
        if a not in cats:
            raise JobError(f"answer {a!r} is not one of the categories {cats!r}.")
        i = cats.index(a)
        if i not in indices:
            indices.append(i)
    confidences = confidences or {}
    return {
        attribute: indices,
        attribute + METADATA_SUFFIX: {
            "job-name": job_name_value(job_name or attribute),
            "class-map": {str(i): cats[i] for i in indices},
            "confidence-map": {str(i): round_confidence(confidences.get(cats[i], 0)) for i in indices},
            "type": task_type,
            "human-annotated": "yes" if human_annotated else "no",
            "creation-date": _date(creation_date),
        },
    }


def answer_from_content(content: Any) -> str | tuple[str, ...] | None:
    """The class name(s) in an ``answerContent``: any single element holding ``label``/``labels``."""
    if not isinstance(content, Mapping):
        return None
    for value in content.values():
        if isinstance(value, Mapping):
            if isinstance(value.get("label"), str):
                return value["label"]
            labels = value.get("labels")
            if isinstance(labels, list) and all(isinstance(x, str) for x in labels):
                return tuple(labels)
    return None


def answer_content(answer: str | Sequence[str], *, element: str | None = None) -> dict:
    """The ``answerContent`` a built-in classifier submits for ``answer`` (a name or a list of names)."""
    if isinstance(answer, str):
        return {element or CLASSIFIER_ELEMENT: {"label": answer}}
    return {element or MULTI_CLASSIFIER_ELEMENT: {"labels": list(answer)}}


def classification_problem(content: Any, categories: Sequence[str], multi_label: bool | None) -> str | None:
    """Why a classifier's ``answerContent`` does not fit a job with ``categories`` (None: it does)."""
    answer = answer_from_content(content)
    names = (answer,) if isinstance(answer, str) else answer
    if not names or (multi_label is False and not isinstance(answer, str)):
        kind = "a list of labels" if multi_label else "one label"
        return f"holds no answer this job can use (it expects {kind} from a classifier)"
    unknown = [n for n in names if n not in categories]
    if unknown:
        return f"answers {unknown[0]!r}, which is not one of the categories {list(categories)!r}"
    return None


def custom_metadata(job_name: str, *, human_annotated: bool = True,
                    creation_date: str | datetime | None = None) -> dict:
    """``<attr>-metadata`` that Ground Truth adds to a custom task's consolidated label."""
    return {
        "type": CUSTOM,
        "job-name": job_name_value(job_name),
        "human-annotated": "yes" if human_annotated else "no",
        "creation-date": _date(creation_date),
    }


def _date(value: str | datetime | None) -> str:
    return value if isinstance(value, str) else format_creation_date(value)
