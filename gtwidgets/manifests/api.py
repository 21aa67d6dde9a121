"""Ground Truth manifests (JSON Lines) <-> pandas DataFrames, losslessly.

Layout: one row per line (index = 0-based line = ``datasetObjectId``); one column per
top-level key; each label attribute's ``<attr>-metadata`` object is flattened one level
into ``<attr>-metadata.<key>`` columns. Integer columns are nullable ``Int64``; a key a
line lacks is a missing value and is not written back; a JSON ``null`` is ``None`` in an
object column. Text columns have pandas 3's ``str`` dtype (``string[pyarrow_numpy]`` on pandas 2.2). Reading tries pyarrow's JSON reader and falls back to orjson line by line
whenever Arrow's result could differ from the file (type conflicts, nulls, ``3`` vs ``3.0``).

This module is the public API (above the rules and the engines; nothing below imports it);
the paths behind it live in private modules: ``_arrow_scan``
(bytes -> Arrow table, in parallel ranges), ``_arrow_read`` (table -> frame, only when exact),
``_line_by_line`` (the exact orjson path, both ways) and ``_column_write`` (lines built
column by column in Arrow).
"""
from __future__ import annotations

import itertools
import os
from typing import Iterator, Literal

import numpy as np
import orjson
import pandas as pd

from .. import storage, tasks
from ._arrow_read import arrow_frame
from ._arrow_scan import LocalFile
from ._column_write import joined, template_lines, template_parts
from ._line_by_line import MISSING, Parsed  # noqa: F401  (re-exported: part of the reading API)
from ._line_by_line import BOM, DUMPS_OPTS, build_rows, frame_from_objects, gc_paused, json_default, parse_lines
from ..errors import ManifestError
from .rules import Problem

__all__ = ["read_manifest", "frame_from_bytes", "frame_from_objects", "to_manifest", "write_manifest", "validate_manifest",
           "object_from_row", "objects", "parse_lines", "label_attributes", "ERROR_COLUMN", "RAW_COLUMN"]

ERROR_COLUMN = "_error"
RAW_COLUMN = "_raw"
ReadErrors = Literal["raise", "collect"]
WriteErrors = Literal["raise", "skip", "keep"]

_META = tasks.METADATA_SUFFIX
_LISTED = 10
_CHUNK = 50_000


# ============================================================================ reading

def read_manifest(source: str | os.PathLike, *, errors: ReadErrors = "raise", validate: bool = True,
                  engine: Literal["auto", "pyarrow", "python"] = "auto") -> pd.DataFrame:
    """Read a manifest file or ``s3://`` URI into a DataFrame (layout in the module doc).

    ``errors="raise"`` raises one ManifestError listing the first problems with their
    lines; ``"collect"`` keeps bad lines as rows with ``_error`` (the message) and
    ``_raw`` (the line's text, when it could not be parsed). ``validate=False`` skips
    Ground Truth's rules and only requires JSON objects. ``engine="python"`` skips the
    pyarrow attempt (the result is the same, only slower).
    """
    _check_read_errors(errors)
    name = str(source)
    if engine != "python" and not storage.is_s3(source) and os.path.isfile(source):
        # a local file goes to Arrow straight from disk: no copy of its bytes in memory
        frame = arrow_frame(LocalFile(os.fspath(source)), validate=validate)
        if frame is not None:
            return _finish_fast(frame, name, errors)
    return frame_from_bytes(storage.read_bytes(source), name=name, errors=errors,
                            validate=validate, engine=engine)


def frame_from_bytes(data: bytes, *, name: str = "<manifest>", errors: ReadErrors = "raise",
                     validate: bool = True, engine: str = "auto") -> pd.DataFrame:
    """:func:`read_manifest` for bytes already in memory; ``name`` is used in messages."""
    _check_read_errors(errors)
    body = data[len(BOM):] if data.startswith(BOM) else data
    if engine != "python" and body and not body.isspace():
        frame = arrow_frame(body, validate=validate)
        if frame is not None:
            return _finish_fast(frame, name, errors)
    parsed = parse_lines(data, name=name, validate=validate)
    bad = [p for p in parsed.problems if p.severity == "error"]
    if bad and errors == "raise":
        raise _manifest_error(name, bad)
    frame = frame_from_objects(parsed.objects)
    if errors == "collect":
        messages: dict[int, list[str]] = {}
        for p in bad:
            messages.setdefault((p.line or 1) - 1, []).append(str(p))
        err = np.full(len(frame), pd.NA, dtype=object)
        raw = np.full(len(frame), pd.NA, dtype=object)
        for row, texts in messages.items():
            if row < len(frame):
                err[row] = "\n".join(texts)
        for row, text in parsed.raw.items():
            raw[row] = text
        frame[ERROR_COLUMN] = err
        frame[RAW_COLUMN] = raw
    frame.attrs["gtwidgets"] = {"source": name}
    return frame


def _check_read_errors(errors: str) -> None:
    if errors not in ("raise", "collect"):
        raise ValueError(f'errors={errors!r}: use "raise" or "collect".')


def _finish_fast(frame: pd.DataFrame, name: str, errors: ReadErrors) -> pd.DataFrame:
    if errors == "collect":
        frame[ERROR_COLUMN] = pd.Series(pd.NA, index=frame.index, dtype=object)
        frame[RAW_COLUMN] = pd.Series(pd.NA, index=frame.index, dtype=object)
    frame.attrs["gtwidgets"] = {"source": name}
    return frame


def label_attributes(df: pd.DataFrame) -> dict[str, str | None]:
    """``{attr: task type}`` for each flattened label attribute, in column order."""
    cols = list(df.columns)
    colset = set(cols)
    out: dict[str, str | None] = {}
    for c in cols:
        i = c.find(_META + ".")
        if i <= 0:
            continue
        attr = c[:i]
        if attr in out or attr + _META in colset:
            continue
        type_col = f"{attr}{_META}.type"
        task_type = None
        if type_col in colset:
            counts = df[type_col].dropna().value_counts()
            task_type = str(counts.index[0]) if len(counts) else None
        out[attr] = task_type
    return out


# ============================================================================ writing

def to_manifest(df: pd.DataFrame, *, errors: WriteErrors = "raise") -> list[str]:
    """The manifest lines of ``df`` (no newlines), in row order, as Ground Truth writes them.

    Rows read with ``errors="collect"`` that failed: ``errors="raise"`` refuses to write,
    ``"skip"`` leaves them out, ``"keep"`` writes them back (raw text for unparsed lines).
    """
    out: list[str] = []
    for chunk in _encoded_chunks(df, errors):
        out.extend(chunk.to_pylist() if not isinstance(chunk, list) else [b.decode() for b in chunk])
    return out


def write_manifest(df: pd.DataFrame, dest: str | os.PathLike, *, errors: WriteErrors = "raise",
                   if_none_match: bool = False) -> str:
    """Write ``df`` as a manifest (UTF-8, one compact object a line, final newline); returns ``dest``.

    ``if_none_match=True`` refuses (ConflictError) to replace an existing file or object.
    """
    parts = (joined(chunk) for chunk in _encoded_chunks(df, errors, newline=True) if len(chunk))
    first = next(parts, None)  # rows that cannot be written raise here, before anything is created
    storage.write_stream(dest, itertools.chain([first] if first is not None else [], parts),
                         if_none_match=if_none_match, content_type="application/jsonlines")
    return str(dest)


def objects(df: pd.DataFrame, *, errors: WriteErrors = "raise") -> list[dict]:
    """The JSON objects that :func:`write_manifest` would write, one per row."""
    out: list[dict] = []
    for rows in _row_chunks(df, errors, template=False):
        out.extend(r for r in rows if not isinstance(r, bytes))
    return out


def object_from_row(df: pd.DataFrame, i) -> dict:
    """The JSON object of the row with index label ``i`` (the line's datasetObjectId)."""
    rows = objects(df.loc[[i]], errors="keep")
    if not rows:
        raise ManifestError(f"row {i} failed to parse and has no object; see its {ERROR_COLUMN!r} column.")
    return rows[0]


def _encoded_chunks(df: pd.DataFrame, errors: WriteErrors, *, newline: bool = False) -> Iterator:
    """Encoded lines a chunk at a time: an Arrow string array (template path) or a list of bytes."""
    dumps = orjson.dumps
    for rows in _row_chunks(df, errors):
        if not isinstance(rows, list):
            yield template_lines(*rows, newline=newline)
            continue
        with gc_paused():
            yield [r if isinstance(r, bytes) else dumps(r, option=DUMPS_OPTS, default=json_default)
                   for r in rows]


def _row_chunks(df: pd.DataFrame, errors: WriteErrors, *, template: bool = True) -> Iterator:
    """Rows as dicts (or raw bytes for kept unparsed lines), a chunk at a time to keep memory flat."""
    if errors not in ("raise", "skip", "keep"):
        raise ValueError(f'errors={errors!r}: use "raise", "skip" or "keep".')
    failed = None
    if ERROR_COLUMN in df.columns:
        failed = df[ERROR_COLUMN].notna().to_numpy()
        if failed.any() and errors == "raise":
            first = df[ERROR_COLUMN][failed].head(_LISTED).tolist()
            raise ManifestError(
                f"{int(failed.sum())} rows failed to read, e.g.:\n" + "\n".join(map(str, first))
                + "\nfix them, or pass errors='skip' (leave them out) or errors='keep' (write them as they were).",
                problems=[str(x) for x in df[ERROR_COLUMN][failed]])
        if not failed.any():
            failed = None
    plan = _plan(df)
    singles = {a for a, t in label_attributes(df).items() if t in tasks.SINGLE_LABEL_TYPES}
    raw_col = df[RAW_COLUMN] if RAW_COLUMN in df.columns else None
    for start in range(0, len(df), _CHUNK):
        sub = df.iloc[start:start + _CHUNK]
        if template and (failed is None or not failed[start:start + _CHUNK].any()):
            parts = template_parts(sub, plan, singles)
            if parts is not None:
                yield parts, len(sub)
                continue
        with gc_paused():
            rows = build_rows(sub, plan, singles)
        if failed is not None:
            fsub = failed[start:start + _CHUNK]
            if errors == "skip":
                rows = [r for r, f in zip(rows, fsub) if not f]
            else:
                raws = raw_col.iloc[start:start + _CHUNK].tolist() if raw_col is not None else [None] * len(rows)
                rows = [raw.encode() if f and isinstance(raw, str) else r for r, f, raw in zip(rows, fsub, raws)]
        yield rows


def _plan(df: pd.DataFrame) -> list[tuple[str, str | list[tuple[str, str]]]]:
    """Top-level keys in column order: ``(key, column)`` or ``(meta key, [(sub-key, column), ...])``."""
    cols = [c for c in df.columns if c not in (ERROR_COLUMN, RAW_COLUMN)]
    colset = set(cols)
    plan: list = []
    groups: dict[str, list] = {}
    for c in cols:
        if not isinstance(c, str):
            raise ManifestError(f"column {c!r} is not a string; manifest keys are strings: rename it.")
        i = c.find(_META + ".")
        base = c[: i + len(_META)] if i > 0 else None
        if base and base not in colset:
            if base not in groups:
                groups[base] = []
                plan.append((base, groups[base]))
            groups[base].append((c[len(base) + 1:], c))
        else:
            plan.append((c, c))
    return plan


def _manifest_error(name: str, problems: list[Problem]) -> ManifestError:
    shown = "\n".join(str(p) for p in problems[:_LISTED])
    more = len(problems) - _LISTED
    tail = (f"\n... and {more} more; run `gtwidgets validate {name}` to list them all, "
            "or read with errors='collect' to keep bad lines as rows.") if more > 0 else ""
    return ManifestError(shown + tail, problems=[str(p) for p in problems])

def validate_manifest(source: str | os.PathLike, *, warnings: bool = True) -> list[Problem]:
    """Every problem of a manifest file or ``s3://`` URI, in line order.

    Reads the whole file with the exact (line by line) parser, so it reports every line,
    not only the first. ``warnings=False`` keeps only errors.
    """
    name = str(source)
    parsed = parse_lines(storage.read_bytes(source), name=name, validate=True)
    return [p for p in parsed.problems if warnings or p.severity == "error"]
