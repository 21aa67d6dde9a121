"""An append-only, fsynced JSON Lines log: an answer is on disk before the UI moves on.

The job replays it on start, so a kernel restart (or a crash between the journal
write and the upload) resumes exactly where it stopped.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Iterator

import orjson

from .errors import StorageError


class Journal:
    """One file per (job, worker). Records are dicts; ``seq`` numbers them in order."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _drop_torn_tail(self.path)
            self._file = open(self.path, "ab")
        except OSError as e:
            raise StorageError(f"{self.path}: cannot open the labeling journal ({e.strerror}); "
                               "pass journal_dir= a folder you can write to.") from None
        self._seq = 0

    def records(self) -> Iterator[dict]:
        """Every complete record; a torn last line (a crash mid-write) is ignored."""
        if not self.path.exists():
            return
        with open(self.path, "rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    break  # torn write: the answer never reached the disk whole
                try:
                    rec = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                self._seq = max(self._seq, int(rec.get("seq", 0)))
                yield rec

    def append(self, *records: dict) -> list[int]:
        """Write records durably (flush + fsync) and return their sequence numbers."""
        with self._lock:
            seqs = []
            chunks = []
            for rec in records:
                if "seq" not in rec:
                    self._seq += 1
                    rec = {"seq": self._seq, **rec}
                seqs.append(rec["seq"])
                chunks.append(orjson.dumps(rec) + b"\n")
            self._file.write(b"".join(chunks))
            self._file.flush()
            os.fsync(self._file.fileno())
            return seqs

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()


def _drop_torn_tail(path: Path) -> None:
    """Cut a half-written last line, so the next append starts on a line of its own."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return
        size = f.seek(0, os.SEEK_END)
        step = 64 * 1024
        pos = size
        while pos > 0:
            start = max(0, pos - step)
            f.seek(start)
            block = f.read(pos - start)
            nl = block.rfind(b"\n")
            if nl >= 0:
                f.truncate(start + nl + 1)
                return
            pos = start
        f.truncate(0)
