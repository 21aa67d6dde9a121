"""Which input a job's answers belong to: each line's source, hashed, in the journal and the store.

Answers are kept by line number (Ground Truth's ``datasetObjectId``), so an edited input
manifest would move them onto other objects. Each answer and skip record carries its line's
source hash (``src``), and ``<job>/gtwidgets/input.json`` records every line's: a changed line
refuses the job, lines added at the end are fine.
"""
from __future__ import annotations

import hashlib

import orjson
import pandas as pd

from . import storage
from .errors import ConflictError, JobError, NotFoundError, PermanentStorageError, StorageError
from .output_layout import input_record_uri

__all__ = ["InputIdentity", "MOVED_FIX"]

MOVED_FIX = ("Answers are kept by line number (Ground Truth's datasetObjectId), so they would land on "
             "other objects. Open the job with the input it was started with, or give the edited "
             "manifest a job of its own (another name or output).")


class InputIdentity:
    """The sources of a job's input lines, checked against journal records and the output store."""

    def __init__(self, frame: pd.DataFrame, source_key: str, job_dir: str, output: str):
        self.sources = frame[source_key]
        self.source_key = source_key
        self.output = output
        self.uri = input_record_uri(job_dir)
        self._hashes: list[str] | None = None

    def source_hash(self, object_id: str) -> str:
        return self.hashes()[int(object_id)]

    def hashes(self) -> list[str]:
        if self._hashes is None:
            self._hashes = [_short_hash(v) for v in self.sources.astype(str)]
        return self._hashes

    def check_record(self, rec: dict, journal: str) -> None:
        """An answer belongs to the data object it was given to, never to whatever is at its line now."""
        src = rec.get("src")
        oid = rec["id"]
        if src is None or src == self.source_hash(oid):
            return
        hashes = self.hashes()
        moved = f" (that object is line {hashes.index(src) + 1} now)" if src in hashes else ""
        raise JobError(
            f"{journal}: the {rec['op']} for object {oid} was given to another data object than "
            f"line {int(oid) + 1} of the input now holds ({str(self.sources.iloc[int(oid)])!r}){moved}: the input "
            f"manifest changed since. {MOVED_FIX}")

    def check_store(self) -> bool:
        """Check at open that the output can be written and was made from this input.

        Offline, labeling goes on and the uploader says so. Returns whether the record is
        still to be written (after the journal agreed, see ``record``).
        """
        try:
            try:
                theirs = orjson.loads(storage.read_bytes(self.uri))
            except PermanentStorageError:
                raise
            except NotFoundError:
                return True
            old, new = str(theirs.get("sources", "")), "".join(self.hashes())
            if new.startswith(old) and len(new) > len(old):
                self.record(replace=True)
        except PermanentStorageError as e:
            raise type(e)(f"cannot use output {self.output!r}: {e}") from None
        except (StorageError, orjson.JSONDecodeError):
            return False  # offline (or a damaged record of it): the journal's own check still holds
        if new.startswith(old) or old.startswith(new):
            return False  # lines added or removed at the end: no answer moves
        raise JobError(f"{self.uri}: this job's output was made from another input manifest: "
                       f"{_first_change(old, new, self.sources)}. {MOVED_FIX}")

    def record(self, *, replace: bool = False) -> None:
        mine = {"source-key": self.source_key, "lines": len(self.sources), "sources": "".join(self.hashes())}
        try:
            storage.write_bytes(self.uri, orjson.dumps(mine), if_none_match=not replace,
                                content_type="application/json")
        except ConflictError:
            self.check_store()  # another worker opened it first: it must be the same input
        except PermanentStorageError as e:
            raise type(e)(f"cannot use output {self.output!r}: {e}") from None
        except StorageError:
            pass  # offline: recorded by a later opening


def _short_hash(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()[:8]


def _first_change(old: str, new: str, sources: pd.Series) -> str:
    """Where two inputs' hashed sources (8 characters a line) part, in a user's words."""
    old_lines = [old[i:i + 8] for i in range(0, len(old), 8)]
    new_lines = [new[i:i + 8] for i in range(0, len(new), 8)]
    i = next((i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b), min(len(old_lines), len(new_lines)))
    sizes = f" (it had {len(old_lines)} lines, the input has {len(new_lines)})" if len(old_lines) != len(new_lines) else ""
    if i >= len(new_lines):
        return f"lines {i + 1}.. are gone{sizes}"
    where = (f"which was line {old_lines.index(new_lines[i]) + 1} then" if new_lines[i] in old_lines
             else "which it did not have")
    return f"line {i + 1} now holds {str(sources.iloc[i])!r}, {where}{sizes}"
