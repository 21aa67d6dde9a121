"""An append-only, fsynced JSON Lines log: an answer is on disk before the UI moves on.

The job replays it on start, so a kernel restart (or a crash between the journal
write and the upload) resumes exactly where it stopped. Several jobs may share one
file (a second notebook of the same worker): appends hold an exclusive ``flock`` and
number records from the file itself, so sequence numbers are unique across them, and
``tail()`` hands each one the records the others wrote. Every record carries a CRC-32
of its bytes; a damaged line is skipped with a warning that names the file and line.
"""
from __future__ import annotations

import os
import threading
import warnings
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import orjson

from .errors import StorageError

try:
    import fcntl
except ImportError:  # Windows: one process per journal is what we can promise there
    fcntl = None


class JournalWarning(UserWarning):
    """A journal line could not be trusted and was skipped."""


class Journal:
    """One file per (job, worker). Records are dicts; ``seq`` numbers them in order."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._depth = 0           # nesting of locked(): the flock is taken once
        self._offset = 0          # bytes of the file this object has read or written
        self._line = 0            # lines of the file read so far (for warnings)
        self._earlier: list[dict] = []  # others' records found just before our own append
        self._seq = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise StorageError(f"{self.path}: cannot open the labeling journal ({e.strerror}); "
                               "pass journal_dir= a folder you can write to.") from None
        with self.locked():
            _drop_torn_tail(self._fd)

    @contextmanager
    def locked(self):
        """Hold the journal against other processes (re-entrant): read the tail and append as one step."""
        with self._lock:
            if self._depth == 0 and fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
                if self._depth == 0 and fcntl is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    def records(self) -> Iterator[dict]:
        """Every sound record from the start; a torn last line (a crash mid-write) is ignored."""
        with self.locked():
            self._offset = self._line = 0
            self._earlier = []
            found = self._read_new()
        yield from found

    def tail(self) -> list[dict]:
        """Records other jobs sharing this file appended since this one last read or wrote."""
        with self._lock:
            if self._fd < 0:
                return []  # closed while the uploader finished its last pass
        with self.locked():
            found, self._earlier = self._earlier, []
            return found + self._read_new()

    def append(self, *records: dict) -> list[int]:
        """Write records durably (fsync) and return their sequence numbers.

        Raises StorageError naming the journal when the disk refuses (full, read-only);
        then nothing of the records stays in the file.
        """
        with self.locked():
            self._earlier.extend(self._read_new())  # numbers come after everything in the file
            seqs, chunks = [], []
            seq = self._seq
            for rec in records:
                if "seq" not in rec:
                    seq += 1
                    rec = {"seq": seq, **rec}
                seqs.append(rec["seq"])
                chunks.append(_encode(rec))
            data = b"".join(chunks)
            size = os.fstat(self._fd).st_size
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view):]
                os.fsync(self._fd)
            except OSError as e:
                try:
                    os.ftruncate(self._fd, size)  # a half-written answer must not come back on replay
                except OSError:
                    pass
                raise StorageError(
                    f"{self.path}: cannot write the labeling journal ({e.strerror}); free space in "
                    f"{self.path.parent} or pass journal_dir= another folder. The last action was not recorded."
                ) from None
            self._seq = max([self._seq, *seqs])
            self._offset = size + len(data)
            self._line += len(chunks)
            return seqs

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def _read_new(self) -> list[dict]:
        """Complete lines after ``_offset``, checked; advances past them."""
        os.lseek(self._fd, self._offset, os.SEEK_SET)
        chunks = []
        while block := os.read(self._fd, 1 << 20):
            chunks.append(block)
        data = b"".join(chunks)
        end = data.rfind(b"\n") + 1  # a line still being written by a crashed process stays unread
        out = []
        for raw in data[:end].splitlines():
            self._line += 1
            rec = self._check(raw)
            if rec is not None:
                self._seq = max(self._seq, rec["seq"] if isinstance(rec.get("seq"), int) else 0)
                out.append(rec)
        self._offset += end
        return out

    def _check(self, raw: bytes) -> dict | None:
        try:
            rec = orjson.loads(raw)
            if not isinstance(rec, dict):
                raise ValueError("not a record")
        except ValueError as e:
            return self._damaged(f"not JSON ({e})")
        crc = rec.pop("crc", None)
        if crc is not None and crc != _crc(rec):
            return self._damaged("checksum does not match")
        return rec

    def _damaged(self, why: str) -> None:
        warnings.warn(f"{self.path}:{self._line}: damaged journal record skipped ({why}); what it said is "
                      "taken from the output store instead.", JournalWarning, stacklevel=4)
        return None


def _crc(rec: dict) -> int:
    return zlib.crc32(orjson.dumps(rec, option=orjson.OPT_SORT_KEYS))


def _encode(rec: dict) -> bytes:
    return orjson.dumps({**rec, "crc": _crc(rec)}) + b"\n"


def _drop_torn_tail(fd: int) -> None:
    """Cut a half-written last line, so the next append starts on a line of its own."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    step = 64 * 1024
    pos = size
    while pos > 0:
        start = max(0, pos - step)
        nl = os.pread(fd, pos - start, start).rfind(b"\n")
        if nl >= 0:
            os.ftruncate(fd, start + nl + 1)
            return
        pos = start
    os.ftruncate(fd, 0)
