"""The fast read path: a manifest through pyarrow's JSON reader, kept only when it is exact.

Arrow parses JSON Lines many times faster than Python, but it merges ``3`` and ``3.0``,
cannot tell a JSON ``null`` from an absent key, skips blank lines and does not check UTF-8.
:func:`arrow_frame` therefore returns None (use the exact path) whenever its answer could
differ from the file's, and checks the rules whose break is an error on whole columns, never row by row.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import tasks
from ._arrow_scan import contains, read_table
from ._line_by_line import BOM, STR
from .rules import CANONICAL_DATE_RE

_META = tasks.METADATA_SUFFIX


def arrow_frame(data, *, validate: bool, ranges: int | None = None) -> pd.DataFrame | None:
    """The frame via pyarrow, or None when Arrow's answer could differ from the file's.

    ``data`` is the manifest's bytes or a :class:`LocalFile`; ``ranges`` as in :func:`read_table`.
    """
    import pyarrow as pa

    table, facts = read_table(data, ranges=ranges)
    if table is None or facts.first.startswith(BOM[:1]) or not facts.first.strip():
        return None  # BOM and blank starts are reported by the exact path
    if validate and facts.long_lines:
        return None  # size limits are checked exactly, line by line
    if _has_type(table.schema, pa.types.is_timestamp):  # Arrow turned date strings into timestamps
        schema = pa.schema([f.with_type(_retype(f.type)) for f in table.schema])
        del table
        table, facts = read_table(data, schema=schema, ranges=ranges)
        if table is None:
            return None
    if table.num_rows != facts.lines or table.num_columns == 0:
        return None  # blank lines (Arrow skips them) or empty objects
    if not facts.valid_utf8:
        return None
    if any(_has_nulls(col) for col in table.columns) and contains(data, b"null"):
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
    columns: dict[str, pa.ChunkedArray] = {}
    where: dict[str, tuple[str, str | None]] = {}  # column -> (key, sub-key) in the line
    for key, col in zip(keys, table.columns):
        if key in flat:
            for i, f in enumerate(col.type):
                columns[f"{key}.{f.name}"] = pa.chunked_array(
                    [c.field(i) if c.null_count == 0 else _struct_child(c, i) for c in col.chunks], f.type)
                where[f"{key}.{f.name}"] = (key, f.name)
        else:
            columns[key] = col
            where[key] = (key, None)
    del table
    for name, col in columns.items():
        if not _doubles_exact(name, col):
            return None
    if validate and not _sources_valid(columns, keys):
        return None
    del col
    reordered = {name: where[name] for name, col in columns.items() if _has_type(col.type, _is_index_keyed_map)}
    out: dict[str, object] = {}
    for name in list(columns):  # popped, so each Arrow column is freed once pandas has its copy
        col = columns.pop(name)
        out[name] = None if name in reordered else _arrow_to_pandas(name, col)
    if reordered:
        values = _values_in_line_order(data, reordered, facts.lines)
        if values is None:
            return None
        out.update(values)
    frame = pd.DataFrame(out, index=pd.RangeIndex(facts.lines), copy=False)  # the columns are new already
    return frame


def _arrow_to_pandas(name: str, col):
    import pyarrow as pa

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
            if _canonical_dates(col):
                try:
                    return col.cast(pa.timestamp("ns")).to_pandas()
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    pass
        return col.to_pandas(types_mapper={t: STR}.get)  # pandas 2 would make objects with None
    values = col.to_pylist()
    if _has_nested_nulls(col):
        values = [_drop_none(v) for v in values]
    return pd.Series(np.fromiter((pd.NA if v is None else v for v in values) if col.null_count else values,
                                 dtype=object, count=len(values)), dtype=object)


_DATE_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25]
_DATE_MARKS = {4: "-", 7: "-", 10: "T", 13: ":", 16: ":", 19: "."}


def _canonical_dates(col) -> bool:
    """Whether every date string is ``YYYY-MM-DDTHH:MM:SS.ffffff`` (then Arrow's cast is lossless).

    Complete columns of 26-byte values are checked as one byte matrix, ten times faster than
    a regular expression; other chunks take the expression.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    for chunk in col.chunks:
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1]
        if chunk.null_count or not len(chunk) or not np.all(np.diff(offsets) == 26):
            if pc.any(pc.invert(pc.match_substring_regex(chunk, f"^{CANONICAL_DATE_RE.pattern}$"))).as_py():
                return False
            continue
        text = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]].reshape(-1, 26)
        if not (np.all(text[:, _DATE_DIGITS] - 48 < 10)  # uint8: bytes below "0" wrap round to >= 10
                and all(np.all(text[:, i] == ord(mark)) for i, mark in _DATE_MARKS.items())):
            return False
    return True


def _struct_child(chunk, i):
    """A struct's child with the struct's own nulls applied."""
    import pyarrow.compute as pc

    return pc.struct_field(chunk, [i])


def _has_empty_struct_rows(col) -> bool:
    """Whether some line has ``{}`` here (kept as an object rather than flattened to nothing)."""
    import pyarrow.compute as pc

    for chunk in col.chunks:
        if any(chunk.field(i).null_count == 0 for i in range(chunk.type.num_fields)):
            continue  # a field every line has: no line is {}
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


def _values_in_line_order(data, columns: dict[str, tuple[str, str | None]], lines: int) -> dict[str, pd.Series] | None:
    """Columns holding class-index maps, from the lines themselves: Arrow keeps one key order for
    all lines, but each line of a class-map or internal-color-map has its own keys in its own order."""
    import orjson

    if not isinstance(data, bytes):
        with open(data, "rb") as f:
            data = f.read()
    values: dict[str, list] = {name: [] for name in columns}
    for raw in data.splitlines():  # no blank lines here: Arrow's row count matched the line count
        obj = orjson.loads(raw)
        for name, (key, sub) in columns.items():
            v = obj.get(key, pd.NA)
            values[name].append(v if sub is None or v is pd.NA else v.get(sub, pd.NA))
    if any(len(v) != lines for v in values.values()):
        return None
    return {name: pd.Series(np.fromiter(v, dtype=object, count=lines), dtype=object) for name, v in values.items()}


def _is_index_keyed_map(t) -> bool:
    """A struct whose keys are class indices (class-map, confidence-map, internal-color-map): each
    line has its own keys in its own order, which Arrow's one field order would rewrite."""
    import pyarrow as pa

    return pa.types.is_struct(t) and t.num_fields > 1 and all(f.name.isdigit() for f in t)


def _retype(t):
    import pyarrow as pa

    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return pa.string()
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_retype(f.type)) for f in t])
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_retype(t.value_type)))
    return t


def _has_nulls(col) -> bool:
    return col.null_count > 0 or _has_nested_nulls(col)


def _sources_valid(columns: dict, keys: list[str]) -> bool:
    """The rules that make a line an error, checked on whole columns; False sends the file to the
    exact path to name the lines. (Label-pair rules are warnings, which reading does not report.)"""
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
        return not pc.any(pc.equal(pc.is_valid(ref), pc.is_valid(src))).as_py()
    return not (ref if ref is not None else src).null_count
