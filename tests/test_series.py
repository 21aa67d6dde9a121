"""Sensor series: CSV reading with clear errors, peak-keeping downsampling, range windows."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from gtwidgets import storage
from gtwidgets.series import SeriesError, downsample_indices, read_series


def test_header_detected_and_time_first():
    s = read_series(b"timestamp_ms,current,voltage\n0,1.5,20\n1,2.5,21\n")
    assert list(s.values) == ["current", "voltage"]
    assert s.time.tolist() == [0, 1] and s.values["voltage"].tolist() == [20, 21]


def test_headerless_csv_gets_names():
    s = read_series(b"0,1,2\n1,3,4\n")
    assert list(s.values) == ["value1", "value2"]


def test_from_s3_and_from_a_frame(s3):
    storage.write_bytes(f"{s3}/w.csv", b"t,current\n0,1\n5,2\n")
    assert read_series(f"{s3}/w.csv").values["current"].tolist() == [1, 2]
    frame = pd.DataFrame({"t": [0, 1], "v": [3.0, 4.0]})
    assert read_series(frame).values["v"].tolist() == [3, 4]


@pytest.mark.parametrize("data, kwargs, message", [
    (b"", {}, "the sensor file is empty"),
    (b"   \n", {}, "the sensor file is empty"),
    (b"t,current\n0,1\n1,abc\n", {}, "column 'current' row 2 holds 'abc', not a number"),
    (b"t,current\n0,1\n", {"columns": ["current", "voltage"]}, "missing column(s) ['voltage']"),
    (b"t\n0\n1\n", {}, "needs a time column and at least one value column"),
    (b"t,a\n0,1\n1,2,3\n", {}, "not a readable CSV"),
])
def test_bad_csvs_say_what_is_wrong(tmp_path, data, kwargs, message):
    path = tmp_path / "sensor.csv"
    path.write_bytes(data)
    with pytest.raises(SeriesError) as info:
        read_series(str(path), **kwargs)
    assert str(path) in str(info.value) and message in str(info.value)


def test_downsampling_keeps_the_peak():
    t = np.arange(1_000_000, dtype=float)
    y = np.sin(t / 5000)
    y[777_777] = 50.0  # a one-sample current spike
    idx = downsample_indices(t, y, 2000)
    assert len(idx) <= 2000
    assert 777_777 in idx
    assert np.all(np.diff(idx) > 0)


def test_ten_million_rows_are_handled_and_windows_give_full_detail(tmp_path):
    n = 10_000_000
    t = np.arange(n, dtype=np.int64)
    table = pa.table({"timestamp_ms": t, "current": (t % 1000).astype(np.float32)})
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    path = tmp_path / "big.csv"
    path.write_bytes(buf.getvalue())
    s = read_series(str(path))
    assert len(s) == n
    whole = s.window(points=2000)["current"]
    assert len(whole[0]) <= 2000
    detail = s.window(start=5_000_000, end=5_000_099, points=2000)["current"]
    assert detail[0][0] <= 5_000_000 and detail[0][-1] >= 5_000_099
    assert len(detail[0]) == 102  # every sample in the range, one beyond each edge
