"""A manifest line's JSON beside its DataFrame row, for teaching how one becomes the other.

``show_line(df, 0)`` displays as HTML in a notebook and as plain text elsewhere. Every
value is data, never markup: a manifest may hold ``<script>`` in a class name or a text.
"""
from __future__ import annotations

import html
import numbers
from typing import Hashable

import orjson
import pandas as pd

from .manifests import ERROR_COLUMN, RAW_COLUMN, object_from_row
from .tasks import format_creation_date

__all__ = ["ManifestLine", "show_line"]

_INDENT = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def show_line(df: pd.DataFrame, i: Hashable = 0) -> ManifestLine:
    """The manifest line of row ``i`` (its index label, the 0-based line number) beside the row."""
    return ManifestLine(df, i)


class ManifestLine:
    """One line of a manifest frame: ``.json`` (the object ``write_manifest`` writes) and ``.row``.

    ``.row`` keeps only the columns this line has a value in (a key the line lacks is
    missing in the frame, and is not written back).
    """

    def __init__(self, df: pd.DataFrame, i: Hashable = 0):
        if i not in df.index:
            raise KeyError(f"row {i!r} is not in this frame; its index runs {_span(df.index)}.")
        self.index = i
        self.row = _present(df.loc[i])
        self.error = _text(self.row.get(ERROR_COLUMN))
        raw = _text(self.row.get(RAW_COLUMN))
        self.row = self.row.drop([ERROR_COLUMN, RAW_COLUMN], errors="ignore")
        if raw is not None:  # the line did not parse: its text is all there is
            self.json, self.object = raw, None
        else:
            self.object = object_from_row(df.drop(columns=[ERROR_COLUMN, RAW_COLUMN], errors="ignore"), i)
            self.json = orjson.dumps(self.object, option=_INDENT, default=str).decode()

    @property
    def line(self) -> str:
        """The compact JSON line as a manifest file holds it (the raw text for a line that failed)."""
        if self.object is None:
            return self.json
        return orjson.dumps(self.object, option=orjson.OPT_SERIALIZE_NUMPY, default=str).decode()

    def __repr__(self) -> str:
        width = max((len(str(k)) for k in self.row.index), default=0)
        rows = "\n".join(f"  {str(k):<{width}}  {_cell(v)}" for k, v in self.row.items())
        head = "as JSON:" if self.object is not None else "could not be read; its text:"
        parts = [f"line {_line_no(self.index)} (row {self.index!r}) {head}", self.json, "",
                 "as a DataFrame row:", rows or "  (no values)"]
        if self.error:
            parts += ["", f"error: {self.error}"]
        return "\n".join(parts)

    def _repr_pretty_(self, p, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = "".join(
            f"<tr><th style='text-align:left;padding-right:1em;white-space:nowrap'>{esc(str(k))}</th>"
            f"<td style='text-align:left'><code>{esc(_cell(v))}</code></td></tr>" for k, v in self.row.items())
        error = (f"<div style='color:var(--jp-error-color1,#c62828)'>{esc(self.error)}</div>"
                 if self.error else "")
        box = "flex:1 1 22em;min-width:0;overflow-x:auto"
        return (
            "<div class='gtwidgets-line'>"
            f"<div style='font-weight:bold;margin-bottom:.3em'>line {_line_no(self.index)} "
            f"(row {esc(repr(self.index))})</div>{error}"
            "<div style='display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start'>"
            f"<div style='{box}'><div><em>{'JSON line' if self.object is not None else 'line text (not JSON)'}</em></div>"
            f"<pre style='margin:0;white-space:pre-wrap;word-break:break-all'>{esc(self.json)}</pre></div>"
            f"<div style='{box}'><div><em>DataFrame row</em></div>"
            f"<table style='border-collapse:collapse'>{rows}</table></div>"
            "</div></div>")


def _present(row: pd.Series) -> pd.Series:
    """The row without the columns this line has no value in (list/dict values are kept)."""
    keep = [not _missing(v) for v in row.to_numpy(dtype=object)]
    return row[keep].copy()


def _missing(v: object) -> bool:
    if isinstance(v, (list, tuple, dict)) or hasattr(v, "__len__") and not isinstance(v, str):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _cell(v: object) -> str:
    if isinstance(v, pd.Timestamp):  # as the file holds it: 6 fractional digits, even .000000
        return format_creation_date(v.to_pydatetime())
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple, dict)):
        return orjson.dumps(v, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS, default=str).decode()
    if hasattr(v, "tolist"):  # numpy and Arrow scalars / arrays
        return _cell(v.tolist())
    return str(v)


def _text(v: object) -> str | None:
    return None if v is None or _missing(v) else str(v)


def _line_no(i: Hashable) -> str:
    return str(int(i) + 1) if isinstance(i, numbers.Integral) else "?"


def _span(index: pd.Index) -> str:
    return f"{index[0]!r} to {index[-1]!r}" if len(index) else "nowhere (the frame is empty)"
