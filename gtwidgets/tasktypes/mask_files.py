"""A mask label pair's files: the PNG it names (made on demand, written once) and a prior one it reads.

:class:`MaskFile` is ``<attr>`` of a segmentation label pair until the job writes the PNG (see
:mod:`gtwidgets.tasktypes.segmentation` for when it is made); :class:`PriorMask` is the ``-ref``
URI and ``internal-color-map`` of a mask already in an input line (adjustment, verification).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Mapping, Sequence

import numpy as np

from .. import masks, tasks
from .base import WorkerAnswer

__all__ = ["MaskFile", "PriorMask", "consolidated_mask_uri", "load_prior", "read_mask_pair", "answers_key"]


@dataclass(frozen=True, eq=False)
class MaskFile:
    """``<attr>`` of a label pair before the job writes the PNG: its URI, and the mask (``labels``)
    and PNG (``data``) made on first use. ``key``: what it is made from (see
    :mod:`gtwidgets.tasktypes.segmentation`)."""

    uri: str
    key: str
    make: Callable[[], np.ndarray] = field(repr=False)
    color_map: Mapping[str, Mapping] = field(repr=False)
    unique_name: bool = True  # the URI alone names the bytes (one answer's time)
    encoded: bytes | None = field(default=None, repr=False)  # the PNG, when the answer has it made already

    @cached_property
    def labels(self) -> np.ndarray:
        return self.make()

    @cached_property
    def data(self) -> bytes:
        """The PNG in the job's colours, as Ground Truth writes it."""
        return self.encoded if self.encoded is not None else masks.encode_mask(self.labels, self.color_map)

    @property
    def png(self) -> bytes:
        return self.data


@dataclass(frozen=True)
class PriorMask:
    """A mask a line already names (a prior job's ``-ref``): read it with :func:`load_prior`."""

    uri: str
    color_map: dict


def consolidated_mask_uri(output_uri: str, object_id: str, creation_date: str) -> str:
    """``<output>/annotations/consolidated-annotation/output/<id>_<date>.png``, Ground Truth's name."""
    return f"{output_uri.rstrip('/')}/annotations/consolidated-annotation/output/{object_id}_{creation_date}.png"


def load_prior(prior: PriorMask, categories: Sequence[str]) -> np.ndarray:
    """The prior mask's class indices, renumbered to a job listing ``categories`` (I/O: reads the PNG)."""
    labels = masks.read_mask(prior.uri, prior.color_map)
    return _renumber(labels, prior.color_map, categories)


def read_mask_pair(line: Mapping, attribute: str) -> PriorMask | None:
    """The ``-ref`` URI and ``internal-color-map`` of ``attribute`` in a line, or None."""
    uri = line.get(attribute)
    meta = line.get(attribute + tasks.METADATA_SUFFIX)
    if not isinstance(uri, str) or not uri or not isinstance(meta, Mapping):
        return None
    cmap = meta.get("internal-color-map")
    if not isinstance(cmap, Mapping) or not all(isinstance(e, Mapping) and "hex-color" in e for e in cmap.values()):
        return None  # jobs from before hex-color cannot be adjusted (Ground Truth says so too)
    return PriorMask(uri, {str(k): dict(v) for k, v in cmap.items()})


def _renumber(labels: np.ndarray, color_map: Mapping[str, Mapping], categories: Sequence[str]) -> np.ndarray:
    """Indices of one colour map -> a job's indices, by class name; other classes become background."""
    index = masks.class_indices(categories)
    lut = np.zeros(256, np.uint8)
    for key, entry in color_map.items():
        lut[int(key)] = index.get(entry.get("class-name"), 0)
    return lut[labels]


def answers_key(uri: str, radius: int, group: Sequence[WorkerAnswer]) -> str:
    """What a consolidated mask is made from: its name, the vote, and every answer's worker and time."""
    given = sorted(f"{a.worker_id}@{a.submitted.isoformat(timespec='milliseconds')}" for a in group)
    return uri + "#" + hashlib.sha1("\n".join([str(radius), *given]).encode()).hexdigest()
