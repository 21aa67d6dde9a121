"""Reviewers' decisions (adjudications), shared through the output store.

Ground Truth has no review step for classification, so decisions live in this project's own
folder beside the worker responses: ``annotations/adjudication/iteration-1/<datasetObjectId>/
<time>_<reviewer hash>.json``, one immutable file a decision (``{"reviewer", "labels", "time"}``);
a changed decision is a new file, a withdrawn one a deleted file. Every job over the same
output reads them, so a decision wins in whoever writes the output manifest next, not only in
the reviewer's own kernel. Core module: no widget imports.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import orjson

from . import storage
from .answer_index import AnswerIndex
from .responses import scan_object_files

__all__ = ["DecisionStore", "DecisionWork", "decision_key", "latest"]


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
    """The decision that stands among several for one object: the most recent (ties: by reviewer)."""
    decisions = [d for d in decisions if d]
    return max(decisions, key=lambda d: (d["time"], d["reviewer"])) if decisions else None


class DecisionStore:
    """Reads and writes the decision files of one job folder (local or ``s3://``)."""

    def __init__(self, job_dir: str, iteration: int = 1, *, writer: str | None = None):
        """``writer`` (who writes here) keeps an index beside the files; None reads the files alone."""
        self.prefix = storage.join(job_dir, "annotations", "adjudication", f"iteration-{iteration}")
        self._cache: dict[str, dict | None] = {}  # file -> decision (files are never rewritten)
        self._index = AnswerIndex(
            self.prefix, storage.join(job_dir, "annotations", "adjudication-index", f"iteration-{iteration}"),
            writer=writer, parse=_parse_decision) if writer is not None else None

    def uri(self, object_id: str, key: str) -> str:
        return storage.join(self.prefix, str(object_id), key)

    def write(self, object_id: str, decision: dict) -> str:
        key = decision_key(decision)
        body = orjson.dumps({k: decision[k] for k in ("reviewer", "labels", "time")})
        storage.write_bytes(self.uri(object_id, key), body, content_type="application/json")
        if self._index is not None:
            self._index.wrote(object_id, key, body)
        return key

    def delete(self, object_id: str, key: str) -> None:
        storage.delete(self.uri(object_id, key))
        if self._index is not None:
            self._index.deleted(object_id, key)

    def scan(self) -> dict[str, dict[str, dict]]:
        """object id -> {file name -> decision} for every decision file in the store."""
        if self._index is not None:
            return self._index.scan()
        return scan_object_files(self.prefix, cache=self._cache, parse=_parse_decision)

    def commit(self) -> None:
        """Index the decisions written and deleted since the last commit (one segment)."""
        if self._index is not None:
            self._index.commit()


def _parse_decision(body: bytes) -> dict:
    doc = orjson.loads(body)
    if not (isinstance(doc, dict) and isinstance(doc.get("reviewer"), str) and isinstance(doc.get("time"), str)
            and isinstance(doc.get("labels"), list) and doc["labels"]):
        raise ValueError("not a decision document")
    return doc
