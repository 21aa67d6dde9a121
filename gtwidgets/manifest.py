"""Ground Truth manifests (JSON Lines) <-> pandas DataFrames, losslessly.

Layout: one row per line (index = 0-based line = ``datasetObjectId``); one column per
top-level key; each label attribute's ``<attr>-metadata`` object is flattened one level
into ``<attr>-metadata.<key>`` columns. Integer columns are nullable ``Int64``; a key a
line lacks is a missing value and is not written back; a JSON ``null`` is ``None`` in an
object column. Reading tries pyarrow's JSON reader and falls back to orjson line by line
whenever Arrow's result could differ from the file (type conflicts, nulls, ``3`` vs ``3.0``).
"""
from __future__ import annotations

import gc
import itertools
import os
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Literal

import numpy as np
import orjson
import pandas as pd

from . import storage, tasks
from .errors import ManifestError
from .validation import CANONICAL_DATE_RE, Problem, check_label, check_object, check_size

__all__ = ["read_manifest", "frame_from_bytes", "frame_from_objects", "to_manifest", "write_manifest",
           "object_from_row", "objects", "parse_lines", "label_attributes", "ERROR_COLUMN", "RAW_COLUMN"]

ERROR_COLUMN = "_error"
RAW_COLUMN = "_raw"
ReadErrors = Literal["raise", "collect"]
WriteErrors = Literal["raise", "skip", "keep"]

_META = tasks.METADATA_SUFFIX
_BOM = b"\xef\xbb\xbf"
_LISTED = 10
_CHUNK = 50_000
_DUMPS_OPTS = orjson.OPT_SERIALIZE_NUMPY
_LS = None  # pyarrow.large_string(), set on first use so importing stays cheap


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()  # a key the line does not have (distinct from JSON null = None)


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
    name = str(source)
    if engine != "python" and not storage.is_s3(source) and os.path.isfile(source):
        # a local file goes to Arrow straight from disk: no copy of its bytes in memory
        frame = _arrow_frame(_LocalFile(os.fspath(source)), validate=validate)
        if frame is not None:
            return _finish_fast(frame, name, errors)
    return frame_from_bytes(storage.read_bytes(source), name=name, errors=errors,
                            validate=validate, engine=engine)


def frame_from_bytes(data: bytes, *, name: str = "<manifest>", errors: ReadErrors = "raise",
                     validate: bool = True, engine: str = "auto") -> pd.DataFrame:
    """:func:`read_manifest` for bytes already in memory; ``name`` is used in messages."""
    if errors not in ("raise", "collect"):
        raise ValueError(f'errors={errors!r}: use "raise" or "collect".')
    body = data[len(_BOM):] if data.startswith(_BOM) else data
    if engine != "python" and body and not body.isspace():
        frame = _arrow_frame(body, validate=validate)
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


def _finish_fast(frame: pd.DataFrame, name: str, errors: ReadErrors) -> pd.DataFrame:
    if errors not in ("raise", "collect"):
        raise ValueError(f'errors={errors!r}: use "raise" or "collect".')
    if errors == "collect":
        frame[ERROR_COLUMN] = pd.Series(pd.NA, index=frame.index, dtype=object)
        frame[RAW_COLUMN] = pd.Series(pd.NA, index=frame.index, dtype=object)
    frame.attrs["gtwidgets"] = {"source": name}
    return frame


@dataclass
class Parsed:
    """Lines parsed one by one: ``objects`` ({} for a failed line), raw text of failed lines, problems."""

    objects: list[dict] = field(default_factory=list)
    raw: dict[int, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def parse_lines(data: bytes, *, name: str = "<manifest>", validate: bool = True) -> Parsed:
    """Parse every line with orjson, noting each problem with its line; never raises on content."""
    out = Parsed()
    if data.startswith(_BOM):
        data = data[len(_BOM):]
        out.problems.append(Problem(name, 1, "file starts with a UTF-8 byte-order mark (BOM)",
                                    "save it as UTF-8 without BOM; gtwidgets ignores the mark", "warning"))
    if not data.strip():
        out.problems.append(Problem(name, None, "file is empty" if not data else "file has only blank lines",
                                    'write one JSON object per line, e.g. {"source-ref": "s3://bucket/a.jpg"}'))
        return out
    lines = data.split(b"\n")
    final_newline = lines[-1] == b""
    if final_newline:
        lines.pop()
    last = len(lines) - 1
    loads, objects, problems = orjson.loads, out.objects, out.problems
    with _gc_paused():
        for i, raw in enumerate(lines):
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            try:
                obj = loads(raw)
            except orjson.JSONDecodeError as e:
                problems.append(_parse_problem(raw, e, name, i + 1, truncated=i == last and not final_newline))
                objects.append({})
                out.raw[i] = raw.decode("utf-8", "backslashreplace")
                continue
            if type(obj) is not dict:
                problems.append(Problem(name, i + 1, f"line is {_kind(obj)}, not a JSON object",
                                        'write one object per line, e.g. {"source-ref": "s3://bucket/a.jpg"}'))
                objects.append({})
                out.raw[i] = raw.decode("utf-8", "backslashreplace")
                continue
            objects.append(obj)
            if validate:
                problems.extend(check_object(obj, file=name, line=i + 1))
                if len(raw) > tasks.MAX_ATTRIBUTE_CHARS:
                    problems.extend(check_size(raw, obj, file=name, line=i + 1))
    return out


def frame_from_objects(objs: list[dict]) -> pd.DataFrame:
    """The manifest DataFrame of already-parsed lines (same layout as :func:`read_manifest`)."""
    n = len(objs)
    keys = list(dict.fromkeys(itertools.chain.from_iterable(objs)))
    keyset = set(keys)
    flat: dict[str, list[str]] = {}  # metadata key -> its sub-keys, for label attributes
    for key in keys:
        attr = key[: -len(_META)] if key.endswith(_META) else None
        if not attr or attr not in keyset or tasks.attribute_name_problem(attr):
            continue
        metas = [o.get(key) for o in objs]
        if not all(m is None or (type(m) is dict and m) for m in metas) or any(
                key in o and o[key] is None for o in objs):
            continue
        sub = list(dict.fromkeys(itertools.chain.from_iterable(m for m in metas if m)))
        if any(f"{key}.{s}" in keyset for s in sub):
            continue
        flat[key] = sub
    columns: dict[str, pd.Series | np.ndarray] = {}
    for key in keys:
        if key in flat:
            metas = [o.get(key) for o in objs]
            for s in flat[key]:
                values = [m.get(s, MISSING) if m is not None else MISSING for m in metas]
                columns[f"{key}.{s}"] = _series(values, f"{key}.{s}")
        else:
            columns[key] = _series([o.get(key, MISSING) for o in objs], key)
    return pd.DataFrame(columns, index=pd.RangeIndex(n))


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
    parts = [_joined(chunk) for chunk in _encoded_chunks(df, errors, newline=True) if len(chunk)]
    storage.write_bytes(dest, b"".join(parts), if_none_match=if_none_match, content_type="application/jsonlines")
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
            yield _template_lines(*rows, newline=newline)
            continue
        with _gc_paused():
            yield [r if isinstance(r, bytes) else dumps(r, option=_DUMPS_OPTS, default=_json_default)
                   for r in rows]


def _joined(chunk) -> bytes | memoryview:
    if isinstance(chunk, list):
        return b"\n".join(chunk) + b"\n"
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[chunk.offset:chunk.offset + len(chunk) + 1]
    return memoryview(chunk.buffers()[2])[int(offsets[0]):int(offsets[-1])]


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
            parts = _template_parts(sub, plan, singles)
            if parts is not None:
                yield parts, len(sub)
                continue
        with _gc_paused():
            rows = _build_rows(sub, plan, singles)
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


def _template_parts(sub: pd.DataFrame, plan, singles: set[str]) -> list | None:
    """Lines as literal pieces and per-column JSON fragments, when every value is simple and present.

    Most big manifests are flat and complete; building their lines column by column in Arrow is
    several times faster than a dict and a ``dumps`` per row. None means: use the dict path.
    """
    global _LS
    import pyarrow as pa

    if not len(sub) or not plan:
        return None
    _LS = pa.large_string()
    parts: list = ["{"]
    for n, (key, spec) in enumerate(plan):
        parts.append(("," if n else "") + orjson.dumps(key).decode() + ":")
        if isinstance(spec, str):
            frag = _fragment(sub[spec], spec, integral=key in singles)
            if frag is None:
                return None
            parts.append(frag)
        else:
            parts.append("{")
            for m_, (sub_key, col) in enumerate(spec):
                frag = _fragment(sub[col], col)
                if frag is None:
                    return None
                parts += [("," if m_ else "") + orjson.dumps(sub_key).decode() + ":", frag]
            parts.append("}")
    parts.append("}")
    merged: list = []
    for p in parts:  # adjacent literals become one
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    return merged


def _template_lines(parts: list, n: int, *, newline: bool):
    import pyarrow as pa
    import pyarrow.compute as pc

    args = [pa.scalar(p, _LS) if isinstance(p, str) else p for p in parts]
    if newline:
        args.append(pa.scalar("\n", _LS))
    out = pc.binary_join_element_wise(*args, pa.scalar("", _LS))
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _fragment(s: pd.Series, name: str, *, integral: bool = False):
    """The JSON text of each value as an Arrow string array, or None if this column needs the dict path."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(s) or s.hasnans:
        return None
    dtype = s.dtype
    if isinstance(dtype, pd.StringDtype):
        try:
            arr = pa.array(s.array).cast(_LS)  # zero-copy for pandas' Arrow-backed strings
        except (TypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
            arr = pa.array(s.to_numpy(dtype=object), type=_LS)
        if pc.any(pc.match_substring_regex(arr, "[\\x00-\\x1f]")).as_py():
            return None  # control characters: orjson's escapes are the reference
        if name.endswith(_META + ".job-name"):
            arr = pc.if_else(pc.starts_with(arr, "labeling-job/"), pc.utf8_lower(arr), arr)
        text = pc.replace_substring(pc.replace_substring(arr, "\\", "\\\\"), '"', '\\"')
        return pc.binary_join_element_wise(pa.scalar('"', _LS), text, pa.scalar('"', _LS), pa.scalar("", _LS))
    if isinstance(dtype, pd.Int64Dtype) or (dtype.kind in "iu" and not isinstance(dtype, pd.ArrowDtype)):
        return pc.cast(pa.array(s.to_numpy(dtype="int64")), _LS)
    if isinstance(dtype, pd.BooleanDtype) or dtype.kind == "b":
        return pc.if_else(pa.array(s.to_numpy(dtype=bool)), pa.scalar("true", _LS), pa.scalar("false", _LS))
    if dtype.kind == "M" and not isinstance(dtype, (pd.DatetimeTZDtype, pd.ArrowDtype)):
        ts = pa.array(s.to_numpy().astype("datetime64[us]"))
        text = pc.replace_substring(pc.cast(ts, _LS), " ", "T", max_replacements=1)
        return pc.binary_join_element_wise(pa.scalar('"', _LS), text, pa.scalar('"', _LS), pa.scalar("", _LS))
    if dtype.kind == "f" and not isinstance(dtype, pd.ArrowDtype):
        arr = s.to_numpy(dtype="float64")
        confidence = name.endswith(_META + ".confidence")
        if confidence and not np.all(np.round(arr, 2) == arr):
            return None
        whole = arr == np.floor(arr)
        big = np.abs(arr)
        if np.any(np.signbit(arr) & (arr == 0)):
            return None
        if not np.all(whole | ((big >= 1e-4) & (big < 1e15))) or not np.all(big < 2 ** 53):
            return None  # Arrow and Python disagree on exponent notation out there
        text = pc.cast(pa.array(arr), _LS)
        if whole.any():
            as_int = pc.cast(pa.array(arr.astype(np.int64)), _LS)
            if not (confidence or integral):  # Python writes 3.0, not 3
                as_int = pc.binary_join_element_wise(as_int, pa.scalar(".0", _LS), pa.scalar("", _LS))
            text = pc.if_else(pa.array(whole), as_int, text)
        return text
    return None


def _build_rows(sub: pd.DataFrame, plan, singles: set[str]) -> list[dict]:
    top_keys, top_lists, complete = [], [], True
    for key, spec in plan:
        if isinstance(spec, str):
            values, full = _values(sub[spec], spec, integral=key in singles)
        else:
            sub_keys = [k for k, _ in spec]
            cols = [_values(sub[c], c) for _, c in spec]
            lists = [v for v, _ in cols]
            if all(f for _, f in cols):
                values, full = [dict(zip(sub_keys, r)) for r in zip(*lists)], True
            else:
                values = [{k: v for k, v in zip(sub_keys, r) if v is not MISSING} or MISSING
                          for r in zip(*lists)]
                full = False
        top_keys.append(key)
        top_lists.append(values)
        complete = complete and full
    if not top_keys:
        return [{} for _ in range(len(sub))]
    if complete:
        return [dict(zip(top_keys, r)) for r in zip(*top_lists)]
    return [{k: v for k, v in zip(top_keys, r) if v is not MISSING} for r in zip(*top_lists)]


def _values(s: pd.Series, name: str, *, integral: bool = False) -> tuple[list, bool]:
    """A column as JSON-ready Python values (MISSING where absent), and whether none is absent."""
    mask = s.isna().to_numpy()
    any_missing = bool(mask.any())
    dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        dtype = s.dtype
    if dtype.kind == "M":
        values = np.datetime_as_string(s.to_numpy().astype("datetime64[us]"), unit="us").tolist()
    elif dtype.kind == "f" and not isinstance(dtype, pd.ArrowDtype):
        arr = s.to_numpy(dtype="float64", na_value=np.nan)
        if name.endswith(_META + ".confidence"):
            values = _confidences(arr, mask)
        elif integral:
            values = [int(v) if v == int(v) else v for v in arr.tolist()] if not any_missing else \
                [v if m else (int(v) if v == int(v) else v) for v, m in zip(arr.tolist(), mask)]
        else:
            values = arr.tolist()
    elif isinstance(dtype, (pd.Int64Dtype, pd.Int32Dtype, pd.Int16Dtype, pd.Int8Dtype, pd.UInt8Dtype,
                            pd.UInt16Dtype, pd.UInt32Dtype, pd.UInt64Dtype, pd.BooleanDtype)):
        values = s.to_numpy(dtype=object, na_value=None).tolist()
    elif dtype == object:
        values = s.tolist()
        if any_missing:  # None is JSON null; pd.NA / NaN / NaT mean "no such key"
            for i in np.flatnonzero(mask).tolist():
                if values[i] is not None:
                    values[i] = MISSING
            any_missing = any(v is MISSING for v in values)
        if name.endswith(_META + ".confidence-map"):
            values = [{k: tasks.round_confidence(c) if _is_number(c) else c for k, c in v.items()}
                      if isinstance(v, dict) else v for v in values]
        return values, not any_missing
    else:
        values = s.tolist()
        if name.endswith(_META + ".job-name"):  # the ARN's resource part: always lower case
            values = [v.lower() if isinstance(v, str) and v.startswith("labeling-job/") else v for v in values]
    if any_missing:
        for i in np.flatnonzero(mask).tolist():
            values[i] = MISSING
    return values, not any_missing


def _confidences(arr: np.ndarray, mask: np.ndarray) -> list:
    """Round to 2 decimals; integral values become integers (Ground Truth writes ``0``, not ``0.0``)."""
    values = arr.tolist()
    with np.errstate(invalid="ignore"):
        exact = bool(np.all((np.round(arr, 2) == arr) | mask))
    if not exact:
        return [v if m else tasks.round_confidence(v) for v, m in zip(values, mask)]
    with np.errstate(invalid="ignore"):
        whole = np.flatnonzero((arr == np.floor(arr)) & ~mask).tolist()
    for i in whole:
        values[i] = int(values[i])
    return values


# ============================================================================ arrow fast path

class _LocalFile(str):
    """A local path the fast path reads in chunks (bytes stay out of memory)."""


def _chunks(data, size: int = 1 << 24) -> Iterator:
    if isinstance(data, _LocalFile):
        with open(data, "rb") as f:
            buf = bytearray(size)
            while n := f.readinto(buf):
                yield memoryview(buf)[:n]
    else:
        view = memoryview(data)
        for start in range(0, len(view), size):
            yield view[start:start + size]


def _contains(data, needle: bytes) -> bool:
    if not isinstance(data, _LocalFile):
        return needle in data
    tail = b""
    for chunk in _chunks(data):
        block = tail + bytes(chunk)
        if needle in block:
            return True
        tail = block[-len(needle) + 1:]
    return False


def _arrow_frame(data, *, validate: bool) -> pd.DataFrame | None:
    """The frame via pyarrow, or None when Arrow's answer could differ from the file's.

    ``data`` is the manifest's bytes or a :class:`_LocalFile`.
    """
    import pyarrow as pa
    import pyarrow.json as pj

    size = os.path.getsize(data) if isinstance(data, _LocalFile) else len(data)
    read_opts = pj.ReadOptions(block_size=1 << 22)
    src = (lambda: str(data)) if isinstance(data, _LocalFile) else (lambda: pa.BufferReader(data))
    with ThreadPoolExecutor(1) as pool:  # numpy and Arrow both release the GIL: scan while Arrow parses
        stats = pool.submit(_line_stats, data, longest=validate and size > tasks.MAX_ATTRIBUTE_CHARS)
        try:
            table = pj.read_json(src(), read_options=read_opts)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, OverflowError):
            table = None
        n_lines, longest, first = stats.result()
    if table is None or longest > tasks.MAX_ATTRIBUTE_CHARS or first.startswith(_BOM[:1]) or not first.strip():
        return None  # size limits are checked exactly, line by line; BOM and blank starts too
    try:
        if _has_type(table.schema, pa.types.is_timestamp):  # Arrow turned date strings into timestamps
            schema = pa.schema([f.with_type(_retype(f.type)) for f in table.schema])
            table = pj.read_json(src(), read_options=read_opts,
                                 parse_options=pj.ParseOptions(explicit_schema=schema))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, OverflowError):
        return None
    if table.num_rows != n_lines or table.num_columns == 0:
        return None  # blank lines (Arrow skips them) or empty objects
    if any(_has_nulls(col) for col in table.columns) and _contains(data, b"null"):
        return None  # explicit nulls: Arrow cannot tell them from absent keys
    keys = table.column_names
    if len(set(keys)) != len(keys):
        return None
    keyset = set(keys)
    flat = []
    for key, col in zip(keys, table.columns):
        attr = key[: -len(_META)] if key.endswith(_META) else None
        if (attr and attr in keyset and not tasks.attribute_name_problem(attr)
                and pa.types.is_struct(col.type) and col.type.num_fields
                and not _has_empty_struct_rows(col)
                and not any(f"{key}.{f.name}" in keyset for f in col.type)):
            flat.append(key)
    if validate and any(k.endswith(_META) and k[: -len(_META)] in keyset and k not in flat for k in keys):
        return None  # a label pair that cannot be flattened breaks a rule: let the exact path say which
    try:
        for col in table.columns:
            if _has_type(col.type, lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)):
                col.validate(full=True)  # Arrow does not check UTF-8 while parsing
    except pa.ArrowInvalid:
        return None
    columns: dict[str, pa.ChunkedArray] = {}
    for key, col in zip(keys, table.columns):
        if key in flat:
            for i, f in enumerate(col.type):
                columns[f"{key}.{f.name}"] = pa.chunked_array(
                    [c.field(i) if c.null_count == 0 else _struct_child(c, i) for c in col.chunks], f.type)
        else:
            columns[key] = col
    del table
    for name, col in columns.items():
        if not _doubles_exact(name, col):
            return None
    if validate and not _columns_valid(columns, keys, flat):
        return None
    out: dict[str, object] = {}
    for name, col in columns.items():
        out[name] = _arrow_to_pandas(name, col)
    frame = pd.DataFrame(out, index=pd.RangeIndex(n_lines))
    if validate and not _labels_valid(frame, flat):
        return None
    return frame


def _arrow_to_pandas(name: str, col):
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_integer(t):
        return col.to_pandas(types_mapper={t: pd.Int64Dtype()}.get) if t == pa.int64() else \
            col.cast(pa.int64()).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    if pa.types.is_boolean(t):
        return col.to_pandas(types_mapper={t: pd.BooleanDtype()}.get)
    if pa.types.is_floating(t):
        return col.to_pandas()
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        if name.endswith(_META + ".creation-date"):
            ok = pc.all(pc.match_substring_regex(col, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")).as_py()
            if ok is not False:
                try:
                    return col.cast(pa.timestamp("ns")).to_pandas()
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    pass
        return col.to_pandas()
    values = col.to_pylist()
    if _has_nested_nulls(col):
        values = [_drop_none(v) for v in values]
    return np.fromiter((pd.NA if v is None else v for v in values) if col.null_count else values,
                       dtype=object, count=len(values))


def _struct_child(chunk, i):
    """A struct's child with the struct's own nulls applied."""
    import pyarrow.compute as pc

    return pc.struct_field(chunk, [i])


def _has_empty_struct_rows(col) -> bool:
    """Whether some line has ``{}`` here (kept as an object rather than flattened to nothing)."""
    import pyarrow.compute as pc

    for chunk in col.chunks:
        valid = pc.is_valid(chunk)
        none = None
        for i in range(chunk.type.num_fields):
            child_null = pc.is_null(chunk.field(i))
            none = child_null if none is None else pc.and_(none, child_null)
        if pc.any(pc.and_(valid, none)).as_py():
            return True
    return False


def _doubles_exact(name: str, col) -> bool:
    """False when a float column holds integral values whose source may have been ``3`` or ``3.0``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for path, leaf in _leaves(col, name):
        if not pa.types.is_floating(leaf.type):
            continue
        last = path.rsplit(".", 2)
        if path.endswith(".confidence") or path.endswith("confidence") or (len(last) > 1 and last[-2] == "confidence-map"):
            continue
        if len(leaf) and pc.any(pc.equal(leaf, pc.floor(leaf))).as_py():
            return False
    return True


def _leaves(col, path: str):
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_struct(t):
        for i, f in enumerate(t):
            child = pa.chunked_array([c.field(i) for c in col.chunks], f.type)
            yield from _leaves(child, f"{path}.{f.name}")
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        yield from _leaves(pc.list_flatten(col), path + "[]")
    else:
        yield path, col


def _has_nested_nulls(col) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_struct(t):
        return any(c.field(i).null_count > c.null_count or _has_nested_nulls(pa.chunked_array([c.field(i)]))
                   for c in col.chunks for i in range(t.num_fields))
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        flat = pc.list_flatten(col)
        return flat.null_count > 0 or _has_nested_nulls(flat)
    return False


def _drop_none(v):
    """Arrow fills keys a line lacks with None; with no JSON null in the file, None means absent."""
    if type(v) is dict:
        return {k: _drop_none(x) for k, x in v.items() if x is not None}
    if type(v) is list:
        return [_drop_none(x) for x in v]
    return v


def _has_type(schema_or_type, pred) -> bool:
    import pyarrow as pa

    types = [f.type for f in schema_or_type] if isinstance(schema_or_type, pa.Schema) else [schema_or_type]
    for t in types:
        if pred(t):
            return True
        if pa.types.is_struct(t) and _has_type(pa.schema(list(t)), pred):
            return True
        if (pa.types.is_list(t) or pa.types.is_large_list(t)) and _has_type(t.value_type, pred):
            return True
    return False


def _retype(t):
    import pyarrow as pa

    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return pa.string()
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_retype(f.type)) for f in t])
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_retype(t.value_type)))
    return t


def _line_stats(data, *, longest: bool) -> tuple[int, int, bytes]:
    """Number of lines, the longest line in bytes (when asked), and the first bytes, in one pass."""
    count, best, prev, pos, first, last = 0, 0, -1, 0, b"", b"\n"
    for chunk in _chunks(data):
        if not first:
            first = bytes(chunk[:4])
        arr = np.frombuffer(chunk, dtype=np.uint8)
        if longest:
            nl = np.flatnonzero(arr == 10)
            if len(nl):
                nl += pos
                best = max(best, int(nl[0]) - prev - 1, int(np.max(np.diff(nl))) - 1 if len(nl) > 1 else 0)
                prev = int(nl[-1])
            count += len(nl)
        else:
            count += int(np.count_nonzero(arr == 10))
        pos += len(arr)
        last = bytes(chunk[-1:])
    if longest:
        best = max(best, pos - prev - 1)
    return count + (last != b"\n"), best, first


def _has_nulls(col) -> bool:
    return col.null_count > 0 or _has_nested_nulls(col)


def _columns_valid(columns: dict, keys: list[str], flat: list[str]) -> bool:
    """Ground Truth's rules, checked on whole columns; False sends the file to the exact path."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if any(k.startswith("$") for k in keys):
        return False
    ref, src = columns.get("source-ref"), columns.get("source")
    for col in (ref, src):
        if col is not None and not pa.types.is_string(col.type):
            return False
    if ref is None and src is None:
        return False
    if ref is not None and src is not None:
        if pc.any(pc.equal(pc.is_valid(ref), pc.is_valid(src))).as_py():
            return False
    elif (ref if ref is not None else src).null_count:
        return False
    for meta in flat:
        attr = meta[: -len(_META)]
        t = columns.get(f"{meta}.type")
        if t is None or not pa.types.is_string(t.type):
            return False
        kinds = [k for k in pc.unique(t).to_pylist() if k is not None]
        if len(kinds) != 1 or kinds[0] not in tasks.KNOWN_TYPES or tasks.attribute_name_problem(attr, task_type=kinds[0]):
            return False
        if not pc.all(pc.equal(pc.is_valid(columns[attr]), pc.is_valid(t))).as_py():
            return False
        human = columns.get(f"{meta}.human-annotated")
        if human is not None and (not pa.types.is_string(human.type) or not set(
                pc.unique(human).to_pylist()) <= {"yes", "no", None}):
            return False
        conf = columns.get(f"{meta}.confidence")
        if conf is not None:
            if not (pa.types.is_integer(conf.type) or pa.types.is_floating(conf.type)):
                return False
            lo, hi = pc.min_max(conf).values()
            if (lo.as_py() is not None and lo.as_py() < 0) or (hi.as_py() is not None and hi.as_py() > 1):
                return False
        job = columns.get(f"{meta}.job-name")
        if job is not None and not pa.types.is_string(job.type):
            return False
        if kinds[0] in tasks.SINGLE_LABEL_TYPES:
            name = columns.get(f"{meta}.class-name")
            label = columns[attr]
            if name is None or not pa.types.is_string(name.type) or name.null_count != t.null_count:
                return False
            if not pa.types.is_integer(label.type) or (pc.min(label).as_py() or 0) < 0:
                return False
    return True


def _labels_valid(frame: pd.DataFrame, flat: list[str]) -> bool:
    """Per-row label/metadata agreement for the task types that columns cannot check."""
    for meta in flat:
        attr = meta[: -len(_META)]
        kinds = frame[f"{meta}.type"].dropna().unique()
        if len(kinds) == 1 and kinds[0] in tasks.SINGLE_LABEL_TYPES:
            continue  # fully checked on columns
        sub = frame[[c for c in frame.columns if c == attr or c.startswith(meta + ".")]]
        for obj in objects(sub):
            if meta in obj and any(sev == "error" for _, _, sev in check_label(attr, obj.get(attr), obj[meta])):
                return False
    return True


# ============================================================================ helpers

def _series(values: list, name: str):
    """One column from Python values (MISSING where a line lacks the key), with a lossless dtype."""
    kinds = set(map(type, values))
    missing = _Missing in kinds
    kinds.discard(_Missing)
    plain = [None if v is MISSING else v for v in values] if missing else values
    if kinds == {str}:
        if name.endswith(_META + ".creation-date"):
            strs = [v for v in plain if v is not None]
            if all(map(CANONICAL_DATE_RE.fullmatch, strs)):
                try:
                    return pd.Series(pd.to_datetime(plain, format="%Y-%m-%dT%H:%M:%S.%f")).astype("datetime64[ns]")
                except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
                    pass
        return pd.Series(plain, dtype="str")
    if kinds == {int}:
        try:
            return pd.Series(pd.array(plain, dtype="Int64"))
        except (OverflowError, TypeError, ValueError):
            pass
    elif kinds == {bool}:
        return pd.Series(pd.array(plain, dtype="boolean"))
    elif kinds == {float} or (kinds == {int, float} and name.endswith(_META + ".confidence")):
        return pd.Series([np.nan if v is None else float(v) for v in plain], dtype="float64")
    return np.fromiter((pd.NA if v is MISSING else v for v in values) if missing else values,
                       dtype=object, count=len(values))


def _manifest_error(name: str, problems: list[Problem]) -> ManifestError:
    shown = "\n".join(str(p) for p in problems[:_LISTED])
    more = len(problems) - _LISTED
    tail = (f"\n... and {more} more; run `gtwidgets validate {name}` to list them all, "
            "or read with errors='collect' to keep bad lines as rows.") if more > 0 else ""
    return ManifestError(shown + tail, problems=[str(p) for p in problems])


def _parse_problem(raw: bytes, e: orjson.JSONDecodeError, name: str, line: int, *, truncated: bool) -> Problem:
    if not raw.strip():
        return Problem(name, line, "line is blank",
                       "delete it; Ground Truth expects one JSON object on every line")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as u:
        return Problem(name, line, f"line is not valid UTF-8 (byte 0x{raw[u.start]:02x} at byte {u.start + 1})",
                       "save the file as UTF-8")
    if truncated:
        return Problem(name, line, f"the file ends inside this line's JSON ({e.msg}); the file looks truncated",
                       "copy or upload the whole file again")
    return Problem(name, line, f"line is not valid JSON ({e.msg} at column {e.colno})",
                   "fix the JSON on this line")


def _kind(v: object) -> str:
    return {list: "a JSON array", str: "a JSON string", int: "a number", float: "a number",
            bool: "a boolean", type(None): "null"}.get(type(v), type(v).__name__)


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _json_default(v):
    if isinstance(v, pd.Timestamp):
        return tasks.format_creation_date(v.to_pydatetime())
    if v is pd.NA or v is pd.NaT:
        return None
    raise TypeError(f"cannot write {type(v).__name__} values to a manifest; convert them to str, int, float, list or dict")


@contextmanager
def _gc_paused():
    """Creating millions of small dicts triggers the cyclic GC over and over; none of them are cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


from . import accessor as _accessor  # noqa: E402,F401  registers DataFrame.gt
