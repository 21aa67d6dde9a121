"""The column-wise writer: manifest lines assembled column by column in Arrow, no dict per row.

Most big manifests are flat and complete; joining per-column JSON fragments with Arrow's string
kernels is several times faster than building a dict and calling ``dumps`` for every row. It
only takes columns whose text it can produce byte-identical to orjson; anything else returns
None and the row path writes the chunk.
"""
from __future__ import annotations

import numpy as np
import orjson
import pandas as pd

from .. import tasks

_META = tasks.METADATA_SUFFIX
_LS = None  # pyarrow.large_string(), set on first use so importing stays cheap


def template_parts(sub: pd.DataFrame, plan, singles: set[str]) -> list | None:
    """Lines as literal pieces and per-column JSON fragments, when every value is simple and present.

    None means: use the dict path for this chunk.
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
            parts += frag
        else:
            parts.append("{")
            for m_, (sub_key, col) in enumerate(spec):
                frag = _fragment(sub[col], col)
                if frag is None:
                    return None
                parts += [("," if m_ else "") + orjson.dumps(sub_key).decode() + ":", *frag]
            parts.append("}")
    parts.append("}")
    merged: list = []
    for p in parts:  # adjacent literals become one
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    return merged


def template_lines(parts: list, n: int, *, newline: bool):
    """The chunk's lines as one Arrow string array, ``parts`` joined row by row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    args = [pa.scalar(p, _LS) if isinstance(p, str) else p for p in parts]
    if newline:
        args.append(pa.scalar("\n", _LS))
    out = pc.binary_join_element_wise(*args, pa.scalar("", _LS))
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _fragment(s: pd.Series, name: str, *, integral: bool = False) -> list | None:
    """The JSON text of a column: Arrow string arrays and the literals around them (a string's
    quotes), or None if this column needs the dict path."""
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
        return _string_fragment(arr, name)
    if dtype == object and pd.api.types.infer_dtype(s, skipna=False) == "string":
        # text a user assigned on pandas 2 (object dtype there); hasnans above ruled out None
        return _string_fragment(pa.array(s.to_numpy(), type=_LS), name)
    if isinstance(dtype, pd.Int64Dtype) or (dtype.kind in "iu" and not isinstance(dtype, pd.ArrowDtype)):
        return [pc.cast(pa.array(s.to_numpy(dtype="int64")), _LS)]
    if isinstance(dtype, pd.BooleanDtype) or dtype.kind == "b":
        return [pc.if_else(pa.array(s.to_numpy(dtype=bool)), pa.scalar("true", _LS), pa.scalar("false", _LS))]
    if dtype.kind == "M" and not isinstance(dtype, (pd.DatetimeTZDtype, pd.ArrowDtype)):
        ts = pa.array(s.to_numpy().astype("datetime64[us]"))
        return ['"', pc.replace_substring(pc.cast(ts, _LS), " ", "T", max_replacements=1), '"']
    if dtype.kind == "f" and not isinstance(dtype, pd.ArrowDtype):
        return _float_fragment(s.to_numpy(dtype="float64"), name, integral=integral)
    return None


def _string_fragment(arr, name: str) -> list | None:
    """Quoted, escaped text; the bytes are scanned first so clean columns (nearly all) skip the
    replace passes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    control = escapes = cased = False
    for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        data = _value_bytes(chunk)
        control = control or bool(np.any(data < 0x20))
        escapes = escapes or bool(np.any(data == 0x22)) or bool(np.any(data == 0x5C))
        cased = cased or bool(np.any(data - 0x41 < 26)) or bool(np.any(data >= 0x80))  # A-Z, non-ASCII
    if control:
        return None  # control characters: orjson's escapes are the reference
    if cased and name.endswith(_META + ".job-name"):  # the ARN's resource part: always lower case
        arr = pc.if_else(pc.starts_with(arr, "labeling-job/"), pc.utf8_lower(arr), arr)
    if escapes:
        arr = pc.replace_substring(pc.replace_substring(arr, "\\", "\\\\"), '"', '\\"')
    return ['"', arr, '"']


def _value_bytes(chunk) -> np.ndarray:
    """The UTF-8 bytes of all values of a string array, as one numpy view (no copy)."""
    import pyarrow as pa

    if not len(chunk) or chunk.buffers()[2] is None:
        return np.empty(0, dtype=np.uint8)
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(chunk.buffers()[1], dtype=width)
    start, end = int(offsets[chunk.offset]), int(offsets[chunk.offset + len(chunk)])
    return np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[start:end]


def _float_fragment(arr: np.ndarray, name: str, *, integral: bool) -> list | None:
    """Floats as Python's ``repr`` writes them; None where Arrow's text would differ."""
    import pyarrow as pa
    import pyarrow.compute as pc

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
    return [text]


def joined(chunk) -> bytes | memoryview:
    """The text of encoded lines: a list of bytes is joined; an Arrow array is viewed, not copied."""
    if isinstance(chunk, list):
        return b"\n".join(chunk) + b"\n"
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[chunk.offset:chunk.offset + len(chunk) + 1]
    return memoryview(chunk.buffers()[2])[int(offsets[0]):int(offsets[-1])]

