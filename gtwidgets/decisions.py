"""Reviewers' decisions (adjudications), shared through the output store.

Ground Truth has no review step for classification, so decisions live in this project's own
folder beside the worker responses: ``annotations/adjudication/iteration-1/<datasetObjectId>/
n<sequence>_<time>_<reviewer hash>.json``, one immutable file a decision (``{"reviewer", "labels",
"time"}``); a changed decision is a new file, a withdrawn one a deleted file. Every job over the
same output reads them, so a decision wins in whoever writes the output manifest next, not only
in the reviewer's own kernel.

The decision that stands is the one stored last, not the one with the latest ``time``: a
reviewer's clock may run hours ahead. The store gives the order: a writer lists the object's
decisions and numbers its own one past the highest, so a decision written after another has
been stored always sorts after it (S3 lists what was written, strongly consistent). Two
decisions written at the same moment may get one number; the time and reviewer then decide,
the same way in every kernel. Core module: no widget imports.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

import orjson

from . import storage
from .answer_index import AnswerIndex
from .output_layout import ITERATION, adjudication_dir, adjudication_index_dir
from .responses import scan_object_files

__all__ = ["DecisionStore", "DecisionWork", "decision_key", "latest", "store_order", "stored_as"]

_SEQUENCE_RE = re.compile(r"^n(\d+)_")


@dataclass(frozen=True)
class DecisionWork:
    """One object's decision file to bring up to date: write ``decision`` (None: withdrawn), drop ``old_key``."""

    object_id: str
    decision: dict | None
    old_key: str | None


def decision_key(decision: dict) -> str:
    """The file name of a decision: its time (sortable) and who made it (no two reviewers collide)."""
    stamp = re.sub(r"\D", "", decision["time"])[:20]  # to the microsecond: a changed decision is a new file
    return f"{stamp}_{hashlib.sha1(decision['reviewer'].encode()).hexdigest()[:8]}.json"


def latest(decisions) -> dict | None:
    """The decision that stands among several for one object: the one stored last.

    ``order`` (set by :meth:`DecisionStore.scan`) is the store's sequence; a decision without
    one is not stored yet, and will be stored after everything seen. Ties go to the later
    ``time``, then the reviewer, so every kernel picks the same.
    """
    decisions = [d for d in decisions if d]
    return max(decisions, key=lambda d: (d.get("order", math.inf), d["time"], d["reviewer"])) if decisions else None


def store_order(key: str | None) -> float:
    """The store's sequence number in a decision's file name (0: a file from before numbering; inf: none)."""
    if not key:
        return math.inf
    m = _SEQUENCE_RE.match(key)
    return int(m.group(1)) if m else 0


def stored_as(key: str | None, decision: dict) -> bool:
    """Whether the file ``key`` holds ``decision`` (whatever sequence number the store gave it)."""
    return bool(key) and _SEQUENCE_RE.sub("", key) == decision_key(decision)


class DecisionStore:
    """Reads and writes the decision files of one job folder (local or ``s3://``)."""

    def __init__(self, job_dir: str, iteration: int = ITERATION, *, writer: str | None = None):
        """``writer`` (who writes here) keeps an index beside the files; None reads the files alone."""
        self.prefix = adjudication_dir(job_dir, iteration)
        self._cache: dict[str, dict | None] = {}  # file -> decision (files are never rewritten)
        self._index = AnswerIndex(
            self.prefix, adjudication_index_dir(job_dir, iteration),
            writer=writer, parse=_parse_decision) if writer is not None else None

    def uri(self, object_id: str, key: str) -> str:
        return storage.join(self.prefix, str(object_id), key)

    def write(self, object_id: str, decision: dict) -> str:
        """Store a decision numbered past every decision the object has now; returns its file name."""
        try:
            present = storage.list_files(storage.join(self.prefix, str(object_id)) + "/", suffixes=(".json",))
        except storage.NotFoundError:
            present = []
        number = max((store_order(uri.rsplit("/", 1)[-1]) for uri in present), default=0) + 1
        key = f"n{number:08d}_{decision_key(decision)}"
        body = orjson.dumps({k: decision[k] for k in ("reviewer", "labels", "time")})
        try:
            storage.write_bytes(self.uri(object_id, key), body, if_none_match=True, content_type="application/json")
        except storage.ConflictError:
            pass  # the same decision under the same number: written before a crash or a retry
        if self._index is not None:
            self._index.wrote(object_id, key, body)
        return key

    def delete(self, object_id: str, key: str) -> None:
        storage.delete(self.uri(object_id, key))
        if self._index is not None:
            self._index.deleted(object_id, key)

    def scan(self) -> dict[str, dict[str, dict]]:
        """object id -> {file name -> decision, with its ``order`` in the store} for every decision file."""
        if self._index is not None:
            found = self._index.scan()
        else:
            found = scan_object_files(self.prefix, cache=self._cache, parse=_parse_decision)
        return {oid: {key: {**d, "order": store_order(key)} for key, d in files.items()}
                for oid, files in found.items()}

    def commit(self) -> None:
        """Index the decisions written and deleted since the last commit (one segment)."""
        if self._index is not None:
            self._index.commit()


def _parse_decision(body: bytes) -> dict:
    """A decision file: ``labels`` are category names, or a tool's value (a reviewer's boxes)."""
    doc = orjson.loads(body)
    if not (isinstance(doc, dict) and isinstance(doc.get("reviewer"), str) and isinstance(doc.get("time"), str)
            and isinstance(doc.get("labels"), (list, dict)) and doc["labels"]):
        raise ValueError("not a decision document")
    return doc
