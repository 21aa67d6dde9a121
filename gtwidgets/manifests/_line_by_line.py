"""The exact path: manifest lines parsed one by one with orjson, and frames turned back into rows.

Slower than the Arrow paths but never guesses: it is the reference the fast paths must agree
with, the fallback for any file Arrow could misread, and the source of per-line problems.
"""
from __future__ import annotations

import gc
import itertools
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import orjson
import pandas as pd

from .. import tasks
from .rules import CANONICAL_DATE_RE, Problem, check_object, check_size

_META = tasks.METADATA_SUFFIX
BOM = b"\xef\xbb\xbf"
DUMPS_OPTS = orjson.OPT_SERIALIZE_NUMPY


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()  # a key the line does not have (distinct from JSON null = None)


def _string_dtype() -> pd.StringDtype:
    """pandas 3's ``str`` dtype, whose missing value is NaN, on pandas 2.2 too.

    pandas 2's default for text, object with None, would read a key a line lacks as a JSON null.
    """
    try:
        return pd.StringDtype("pyarrow", na_value=np.nan)  # pandas >= 2.3: the same as "str" in 3.x
    except TypeError:
        return pd.StringDtype("pyarrow_numpy")  # pandas 2.2's name for it


STR = _string_dtype()


# ============================================================================ reading

@dataclass
class Parsed:
    """Lines parsed one by one: ``objects`` ({} for a failed line), raw text of failed lines, problems."""

    objects: list[dict] = field(default_factory=list)
    raw: dict[int, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def parse_lines(data: bytes, *, name: str = "<manifest>", validate: bool = True) -> Parsed:
    """Parse every line with orjson, noting each problem with its line; never raises on content."""
    out = Parsed()
    if data.startswith(BOM):
        data = data[len(BOM):]
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
    with gc_paused():
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
        return pd.Series(plain, dtype=STR)
    if kinds == {int}:
        try:
            return pd.Series(pd.array(plain, dtype="Int64"))
        except (OverflowError, TypeError, ValueError):
            pass
    elif kinds == {bool}:
        return pd.Series(pd.array(plain, dtype="boolean"))
    elif kinds == {float} or (kinds == {int, float} and name.endswith(_META + ".confidence")):
        return pd.Series([np.nan if v is None else float(v) for v in plain], dtype="float64")
    # a Series, not an array: pandas 3 would infer ``str`` for strings and None, losing the nulls
    return pd.Series(np.fromiter((pd.NA if v is MISSING else v for v in values) if missing else values,
                                 dtype=object, count=len(values)), dtype=object)


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


# ============================================================================ writing

def build_rows(sub: pd.DataFrame, plan, singles: set[str]) -> list[dict]:
    """The objects to write for the rows of ``sub``, keys in ``plan`` order; absent keys left out.

    ``singles`` are single-label attributes, whose float labels are written as integers.
    """
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


def json_default(v):
    """orjson's fallback: a Timestamp as Ground Truth's date text, pandas' missing values as null."""
    if isinstance(v, pd.Timestamp):
        return tasks.format_creation_date(v.to_pydatetime())
    if v is pd.NA or v is pd.NaT:
        return None
    raise TypeError(f"cannot write {type(v).__name__} values to a manifest; convert them to str, int, float, list or dict")


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
        return _lower_job_names(values, name), not any_missing
    else:
        values = _lower_job_names(s.tolist(), name)  # text: the str dtype (STR), NaN where absent
    if any_missing:
        for i in np.flatnonzero(mask).tolist():
            values[i] = MISSING
    return values, not any_missing


def _lower_job_names(values: list, name: str) -> list:
    """The ARN's resource part is always lower case: ``labeling-job/<name>``."""
    if not name.endswith(_META + ".job-name"):
        return values
    return [v.lower() if isinstance(v, str) and v.startswith("labeling-job/") else v for v in values]


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


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ============================================================================ both ways

@contextmanager
def gc_paused():
    """Creating millions of small dicts triggers the cyclic GC over and over; none of them are cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
