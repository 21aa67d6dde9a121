"""A manifest's bytes into one Arrow table, with the facts about its text that Arrow hides.

Arrow's whole-file JSON reader keeps every parsed block until the end, which costs about
three times the table in memory. A streaming reader holds one block at a time and keeps
about two cores busy; with more cores, the file is cut at line ends into ranges streamed
side by side. The same pass counts lines (Arrow skips blank lines silently) and notes lines
over Ground Truth's size limit, so the file is read only once; :func:`contains` looks for a
literal ``null`` only when a column has missing values (Arrow cannot tell it from an absent
key). A file whose schema changes after the first block (a key or type that appears later)
is read again whole by the multi-threaded reader, which infers the schema from every block.
"""
from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .. import tasks

_BLOCK = 1 << 20  # streaming blocks: small blocks keep peak memory low at no cost in speed
_WHOLE_BLOCK = 1 << 22  # the whole-file fallback also takes lines up to 4 MB
_MIN_RANGE = 1 << 24  # no range smaller than this: threads would cost more than they save
_ARROW_ERRORS: tuple = ()  # set on first use, so importing stays cheap


class LocalFile(str):
    """A local path the fast path reads in blocks (its bytes never sit in memory whole)."""


@dataclass
class TextFacts:
    """What the raw text says that the table cannot: lines, long lines, first bytes, valid UTF-8."""

    lines: int = 0
    long_lines: bool = False  # some line is longer than ``line_limit`` bytes
    first: bytes = b""
    valid_utf8: bool = True
    streamed: int = 0  # ranges streamed in parallel; 0 when the whole-file reader had to be used


def read_table(data, *, schema=None, ranges: int | None = None, line_limit: int = tasks.MAX_ATTRIBUTE_CHARS):
    """``(table, facts)`` for a :class:`LocalFile` or bytes; ``(None, facts)`` when Arrow refuses.

    ``schema`` forces column types (used to keep date strings as strings); ``ranges`` sets how
    many ranges are streamed at once (default: one per two cores, none under 16 MB);
    lines longer than ``line_limit`` bytes set ``facts.long_lines``.
    """
    import pyarrow as pa
    import pyarrow.json as pj

    global _ARROW_ERRORS
    _ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, OverflowError)
    size = os.path.getsize(data) if isinstance(data, LocalFile) else len(data)
    parse = pj.ParseOptions(explicit_schema=schema) if schema is not None else None
    if hasattr(pj, "open_json"):  # pyarrow >= 20
        # one streaming reader keeps about two cores busy (it parses a block while converting the last)
        n = ranges or min(max(1, (os.cpu_count() or 1) // 2), max(1, size // _MIN_RANGE))
        cuts = _ranges(data, size, n)
        with ThreadPoolExecutor(len(cuts)) as pool:
            parts = list(pool.map(lambda r: _stream_range(data, *r, parse, line_limit), cuts))
        tables = [t for t, _ in parts]
        if all(t is not None and t.schema.equals(tables[0].schema) for t in tables):
            facts = _merge([s for _, s in parts], data)
            facts.streamed = len(parts)
            return (pa.concat_tables(tables) if len(tables) > 1 else tables[0]), facts
        del tables, parts
    scan = _RangeReader(data, 0, size, line_limit)
    try:
        table = pj.read_json(pa.PythonFile(scan, mode="r"), parse_options=parse,
                             read_options=pj.ReadOptions(block_size=_WHOLE_BLOCK))
    except _ARROW_ERRORS:
        return None, TextFacts()
    finally:
        scan.close()
    facts = _merge([scan], data)
    facts.valid_utf8 = _valid(table)
    return table, facts


def contains(data, needle: bytes) -> bool:
    """Whether the text of a :class:`LocalFile` or bytes contains ``needle``."""
    if not isinstance(data, LocalFile):
        return needle in data
    tail = b""
    with open(data, "rb") as f:
        while block := f.read(1 << 24):
            if needle in tail + block[:len(needle) - 1] or needle in block:
                return True
            tail = block[1 - len(needle):]
    return False


def _stream_range(data, start: int, end: int, parse, line_limit: int):
    """One range through a streaming reader: ``(table or None, its reader with counts)``."""
    import pyarrow as pa
    import pyarrow.json as pj

    scan = _RangeReader(data, start, end, line_limit)
    try:
        reader = pj.open_json(pa.PythonFile(scan, mode="r"), parse_options=parse,
                              read_options=pj.ReadOptions(block_size=_BLOCK))
        table = reader.read_all()
    except _ARROW_ERRORS:
        scan.close()
        return None, scan
    scan.close()
    scan.valid_utf8 = _valid(table)  # in this thread, so the checks of the ranges run in parallel
    return table, scan


def _valid(table) -> bool:
    """Arrow does not check UTF-8 while parsing; a full validation does."""
    try:
        table.validate(full=True)
    except _ARROW_ERRORS:
        return False
    return True


def _ranges(data, size: int, n: int) -> list[tuple[int, int]]:
    """``n`` byte ranges that each start at a line's beginning."""
    cuts = [0]
    for k in range(1, n):
        cut = _next_line(data, size * k // n, size)
        if cut > cuts[-1]:
            cuts.append(cut)
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a] or [(0, size)]


def _next_line(data, pos: int, size: int) -> int:
    if not isinstance(data, LocalFile):
        found = data.find(b"\n", pos)
        return size if found < 0 else found + 1
    with open(data, "rb") as f:
        f.seek(pos)
        while block := f.read(1 << 16):
            found = block.find(b"\n")
            if found >= 0:
                return pos + found + 1
            pos += len(block)
    return size


class _RangeReader(io.RawIOBase):
    """Bytes ``[start, end)`` of a file or buffer for Arrow, counting lines on the way."""

    def __init__(self, data, start: int, end: int, line_limit: int):
        super().__init__()
        self._file = open(data, "rb", buffering=0) if isinstance(data, LocalFile) else None
        self._view = None if self._file else memoryview(data)
        if self._file:
            self._file.seek(start)
        self._pos, self._end = start, end
        self.newlines, self.long_lines, self.valid_utf8 = 0, False, True
        self._limit = line_limit
        self._open_line = 0  # bytes since the last newline (ranges start at a line's beginning)
        self._is_newline = np.empty(0, dtype=bool)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = self._end - self._pos if size is None or size < 0 else min(size, self._end - self._pos)
        if n <= 0:
            return b""
        block = self._file.read(n) if self._file else bytes(self._view[self._pos:self._pos + n])
        self._count(block)
        self._pos += len(block)
        return block

    def readinto(self, buffer) -> int:
        block = self.read(len(buffer))
        buffer[:len(block)] = block
        return len(block)

    def close(self) -> None:
        if self._file:
            self._file.close()
        super().close()

    def _count(self, block: bytes) -> None:
        if len(self._is_newline) < len(block):  # reused: a fresh 1 MB array a block costs page faults
            self._is_newline = np.empty(len(block), dtype=bool)
        is_newline = np.equal(np.frombuffer(block, dtype=np.uint8), 10, out=self._is_newline[:len(block)])
        self.newlines += int(np.count_nonzero(is_newline))
        first, last = block.find(b"\n"), block.rfind(b"\n")
        if first < 0:
            self._open_line += len(block)
            self.long_lines = self.long_lines or self._open_line > self._limit
            return
        if self._open_line + first > self._limit:
            self.long_lines = True
        start, limit = first + 1, self._limit
        while not self.long_lines and start + limit < last:
            # the last newline in the next limit+1 bytes: no line that starts before it is too long
            end = block.rfind(b"\n", start, start + limit + 1)
            self.long_lines = end < 0
            start = end + 1
        self._open_line = len(block) - last - 1
        self.long_lines = self.long_lines or self._open_line > self._limit

    def unterminated(self) -> int:
        """Length of a last line without a newline (0 if the range ends with one)."""
        return self._open_line


def _merge(scans: list[_RangeReader], data) -> TextFacts:
    if isinstance(data, LocalFile):
        with open(data, "rb") as f:
            first = f.read(4)
    else:
        first = bytes(data[:4])
    last = scans[-1].unterminated() if scans else 0
    return TextFacts(lines=sum(s.newlines for s in scans) + (last > 0),
                     long_lines=any(s.long_lines for s in scans),
                     first=first,
                     valid_utf8=all(s.valid_utf8 for s in scans))
