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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import orjson

from . import storage
from .errors import NotFoundError, StorageError

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

    def __init__(self, job_dir: str, iteration: int = 1):
        self.prefix = storage.join(job_dir, "annotations", "adjudication", f"iteration-{iteration}")
        self._cache: dict[str, dict | None] = {}  # file -> decision (files are never rewritten)

    def uri(self, object_id: str, key: str) -> str:
        return storage.join(self.prefix, str(object_id), key)

    def write(self, object_id: str, decision: dict) -> str:
        key = decision_key(decision)
        body = orjson.dumps({k: decision[k] for k in ("reviewer", "labels", "time")})
        storage.write_bytes(self.uri(object_id, key), body, content_type="application/json")
        return key

    def delete(self, object_id: str, key: str) -> None:
        storage.delete(self.uri(object_id, key))

    def scan(self) -> dict[str, dict[str, dict]]:
        """object id -> {file name -> decision} for every decision file in the store."""
        try:
            uris = storage.list_files(self.prefix + "/", suffixes=(".json",))
        except NotFoundError:
            return {}
        new = [u for u in uris if u not in self._cache]
        fresh: dict[str, dict | None] = {}
        if new:
            with ThreadPoolExecutor(8) as pool:
                for uri, decision, final in pool.map(self._read, new):
                    fresh[uri] = decision
                    if final:  # a read that failed for now is tried again next time
                        self._cache[uri] = decision
        found: dict[str, dict[str, dict]] = {}
        for uri in uris:
            decision = self._cache.get(uri, fresh.get(uri))
            if decision:
                parts = uri.split("/") if storage.is_s3(uri) else Path(uri).parts
                found.setdefault(parts[-2], {})[parts[-1]] = decision
        return found

    @staticmethod
    def _read(uri: str) -> tuple[str, dict | None, bool]:
        """(file, decision or None, whether that answer is final)."""
        try:
            doc = orjson.loads(storage.read_bytes(uri))
        except NotFoundError:
            return uri, None, False  # withdrawn since the listing
        except StorageError:
            return uri, None, False
        except orjson.JSONDecodeError:
            return uri, None, True
        ok = (isinstance(doc, dict) and isinstance(doc.get("reviewer"), str) and isinstance(doc.get("time"), str)
              and isinstance(doc.get("labels"), list) and doc["labels"])
        return uri, doc if ok else None, True
