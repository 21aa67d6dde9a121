"""Sensor time series for cards: read CSVs (local or S3) or frames, downsample keeping peaks.

A card never ships a million points to the browser: each signal is reduced to a few
thousand with MinMax-LTTB (tsdownsample, the Rust engine behind plotly-resampler), which
keeps spikes and dips; zooming asks the kernel for the visible range at full detail.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import storage
from .errors import GtError

__all__ = ["SeriesError", "SensorSeries", "read_series", "downsample_indices", "DEFAULT_POINTS"]

DEFAULT_POINTS = 2000


class SeriesError(GtError, ValueError):
    """A sensor file that cannot be drawn; the message says which file and what to fix."""


@dataclass
class SensorSeries:
    """A time column in milliseconds and named value columns, as float arrays."""
    name: str
    time: np.ndarray
    values: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.time)

    def window(self, columns: list[str] | None = None, *, start: float | None = None,
               end: float | None = None, points: int = DEFAULT_POINTS) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each column's (time, value) in ``[start, end]``, downsampled to about ``points``."""
        lo = 0 if start is None else int(np.searchsorted(self.time, start, side="left"))
        hi = len(self.time) if end is None else int(np.searchsorted(self.time, end, side="right"))
        lo, hi = max(0, lo - 1), min(len(self.time), hi + 1)  # one point beyond each edge keeps lines whole
        t = self.time[lo:hi]
        out = {}
        for col in columns or list(self.values):
            if col not in self.values:
                raise SeriesError(f"{self.name}: no column {col!r}; it has {list(self.values)}.")
            y = self.values[col][lo:hi]
            idx = downsample_indices(t, y, points)
            out[col] = (t[idx], y[idx])
        return out


def read_series(source, *, time_column: str | int = 0, columns: list[str] | None = None,
                header: bool | None = None) -> SensorSeries:
    """A CSV path / ``s3://`` URI / bytes / DataFrame as a SensorSeries.

    The first column (or ``time_column``) is the time in ms. ``header=None`` detects a header
    row. Raises SeriesError naming the file for an empty file, a missing column, text in a
    numeric column or a time column that goes backwards.
    """
    if isinstance(source, pd.DataFrame):
        return _from_frame(source, "<DataFrame>", time_column, columns)
    name = str(source) if not isinstance(source, (bytes, bytearray)) else "<bytes>"
    data = bytes(source) if isinstance(source, (bytes, bytearray)) else storage.read_bytes(source)
    if not data.strip():
        raise SeriesError(f"{name}: the sensor file is empty; expected CSV rows 'time_ms,value,...'.")
    if header is None:
        header = _has_header(data)
    frame = _read_csv(data, name, header)
    return _from_frame(frame, name, time_column, columns)


def downsample_indices(t: np.ndarray, y: np.ndarray, points: int = DEFAULT_POINTS) -> np.ndarray:
    """Indices of about ``points`` samples that keep the shape, peaks included."""
    n = len(y)
    points = max(int(points), 4)  # MinMax-LTTB needs a few points to pick from
    if n <= points:
        return np.arange(n)
    finite = np.isfinite(y)
    if not finite.all():
        keep = np.flatnonzero(finite)
        return keep[downsample_indices(t[keep], y[keep], points)]
    try:
        from tsdownsample import MinMaxLTTBDownsampler

        return np.asarray(MinMaxLTTBDownsampler().downsample(
            np.ascontiguousarray(t, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64),
            n_out=points), dtype=np.int64)
    except ImportError:  # min/max per bucket: also keeps every peak
        return _minmax_buckets(y, points)


def _minmax_buckets(y: np.ndarray, points: int) -> np.ndarray:
    buckets = max(1, points // 2)
    edges = np.linspace(0, len(y), buckets + 1, dtype=np.int64)
    out = [0]
    for a, b in zip(edges[:-1], edges[1:]):
        if b > a:
            seg = y[a:b]
            out += sorted((a + int(np.argmin(seg)), a + int(np.argmax(seg))))
    out.append(len(y) - 1)
    return np.unique(np.asarray(out, dtype=np.int64))


def _has_header(data: bytes) -> bool:
    first = data.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].strip()
    for cell in first.split(b","):
        try:
            float(cell)
        except ValueError:
            return True
    return False


def _read_csv(data: bytes, name: str, header: bool) -> pd.DataFrame:
    import pyarrow as pa
    from pyarrow import csv as pacsv

    read = pacsv.ReadOptions(autogenerate_column_names=not header)
    try:
        table = pacsv.read_csv(io.BytesIO(data), read_options=read)
    except pa.ArrowInvalid as e:
        raise SeriesError(f"{name}: not a readable CSV ({str(e).splitlines()[0]}); "
                          "expected rows 'time_ms,value,...' with the same number of fields.") from None
    frame = table.to_pandas()
    if not header:
        frame.columns = ["time"] + [f"value{i}" for i in range(1, frame.shape[1])]
    return frame


def _from_frame(frame: pd.DataFrame, name: str, time_column, columns) -> SensorSeries:
    if frame.shape[1] < 2 or len(frame) == 0:
        raise SeriesError(f"{name}: needs a time column and at least one value column with rows; "
                          f"found {frame.shape[1]} column(s) and {len(frame)} row(s).")
    tcol = frame.columns[time_column] if isinstance(time_column, int) else time_column
    if tcol not in frame.columns:
        raise SeriesError(f"{name}: no time column {tcol!r}; it has {list(frame.columns)}.")
    wanted = columns or [c for c in frame.columns if c != tcol]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise SeriesError(f"{name}: missing column(s) {missing}; it has {list(frame.columns)}.")
    time = _numeric(frame[tcol], name, tcol)
    if len(time) > 1 and np.any(np.diff(time) < 0):
        order = np.argsort(time, kind="stable")
        time = time[order]
        frame = frame.iloc[order]
    values = {str(c): _numeric(frame[c], name, c) for c in wanted}
    return SensorSeries(name, time, values)


def _numeric(col: pd.Series, name: str, label) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    converted = pd.to_numeric(col, errors="coerce")
    bad = converted.isna() & col.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise SeriesError(f"{name}: column {label!r} row {row + 1} holds {col.iloc[row]!r}, not a number; "
                          "fix the value or leave the column out with columns=[...].")
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


def _is_path(value) -> bool:
    return isinstance(value, (str, os.PathLike))
