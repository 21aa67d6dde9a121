"""Panel cards on the kernel side: the welding job over moto S3, zoom ranges, and broken sensor files."""
from __future__ import annotations

import threading

import numpy as np
import orjson
import pandas as pd
import pytest

from gtwidgets import storage
from gtwidgets.datasets import make_welding
from gtwidgets.job import LabelingJob
from gtwidgets.panels import Facts, Image, Series
from gtwidgets.welding import WELDING_PANELS, welding_job
from protocol_check import protocol_problems  # tests/ is on sys.path
from gtwidgets.widget import LabelingWidget


class Browser:
    """Stands in for the front end: records what the widget sends, waits for replies."""

    def __init__(self, widget: LabelingWidget):
        self.widget = widget
        self.messages: list[tuple[dict, list]] = []
        self._cond = threading.Condition()
        self.undeclared: list[str] = []  # replies that gtwidgets/protocol.py does not declare
        widget.send = self._record  # no comm here; catch what it would carry

    def _record(self, content, buffers=None):
        with self._cond:
            self.messages.append((content, list(buffers or [])))
            self.undeclared += protocol_problems(content)
            self._cond.notify_all()

    def ask(self, content: dict, replies: int = 1) -> list[tuple[dict, list]]:
        start = len(self.messages)
        self.widget.handle(content)
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.messages) >= start + replies, timeout=30)
            assert not self.undeclared
            return self.messages[start:]


@pytest.fixture
def welds_s3(s3):
    return make_welding(storage.join(s3, "welding"), n=3, progress=False)


@pytest.fixture
def welding_widget(welds_s3, s3, tmp_path):
    job = welding_job(input=welds_s3.drop(columns=["true-class"]), output=storage.join(s3, "out"),
                      worker_id="w", journal_dir=tmp_path / "j")
    widget = LabelingWidget(job)
    yield widget, Browser(widget), welds_s3
    widget.close()
    job.close()


def _csv(uri: str) -> pd.DataFrame:
    import io

    return pd.read_csv(io.BytesIO(storage.read_bytes(uri)))


def test_welding_card_carries_image_and_three_signals_as_buffers(welding_widget):
    widget, browser, welds = welding_widget
    (msg, buffers), = browser.ask({"type": "cards", "positions": [1]})
    assert msg["type"] == "card" and msg["kind"] == "panels" and msg["pos"] == 1 and msg["id"] == "1"
    assert msg["name"] == "dataset-2.json" and msg["source"] == welds["source"][1]
    image, series = msg["panels"]
    assert image["kind"] == "image" and image["mime"] == "image/jpeg"
    assert buffers[image["buffers"][0]][:3] == b"\xff\xd8\xff"  # the weld PNG, sent as a JPEG
    assert series["kind"] == "series" and series["panel"] == 1
    assert [c["name"] for c in series["columns"]] == ["current", "electrode_position", "voltage"]
    assert len(buffers) == 1 + 2 * 3 and msg["bytes"] == sum(map(len, buffers)) < 200_000
    raw = _csv(widget.job.task_inputs["1"]["sensor_data"])
    for i, col in enumerate(series["columns"]):
        t = np.frombuffer(buffers[series["buffers"][2 * i]], dtype="<f8")
        y = np.frombuffer(buffers[series["buffers"][2 * i + 1]], dtype="<f4")
        assert len(t) == len(y) == col["points"] < len(raw)  # downsampled ...
        lo, hi = raw[col["name"]].min(), raw[col["name"]].max()
        # ... with the peaks kept (MinMax-LTTB keeps the shape; an extreme may move by a sample)
        assert abs(y.max() - hi) <= 0.02 * (hi - lo) and abs(y.min() - lo) <= 0.02 * (hi - lo), col


def test_zoom_returns_the_visible_range_at_full_detail(welding_widget):
    widget, browser, _ = welding_widget
    browser.ask({"type": "cards", "positions": [0]})
    (reply, buffers), = browser.ask({"type": "batch", "position": 0, "messages": [
        {"type": "series_range", "id": "0", "pos": 0, "panel": 1, "start": 1500.5, "end": 1000, "seq": 7}]})
    assert reply["type"] == "series_window" and (reply["id"], reply["pos"], reply["panel"], reply["seq"]) == ("0", 0, 1, 7)
    raw = _csv(widget.job.task_inputs["0"]["sensor_data"])
    inside = raw[(raw["timestamp_ms"] >= 1000) & (raw["timestamp_ms"] <= 1500.5)]
    t = np.frombuffer(buffers[reply["buffers"][0]], dtype="<f8")
    volts = np.frombuffer(buffers[reply["buffers"][5]], dtype="<f4")
    # every sample in range (plus one beyond each edge, so the line reaches the axis)
    assert t[0] < 1000 and t[-1] > 1500.5 and len(t) == len(inside) + 2
    assert np.array_equal(volts[1:-1], inside["voltage"].to_numpy(np.float32))
    (reset, buffers), = browser.ask({"type": "series_range", "id": "0", "pos": 0, "panel": 1,
                                     "start": None, "end": None, "seq": 8})
    assert reset["columns"][0]["points"] < len(raw)  # everything again: the overview


def test_a_zoom_on_a_panel_that_is_not_a_series_is_an_error_message(welding_widget):
    _, browser, _ = welding_widget
    (reply, _), = browser.ask({"type": "series_range", "id": "0", "pos": 0, "panel": 0, "start": 0, "end": 10})
    assert reply["type"] == "error" and "not a Series" in reply["message"]


def test_plotly_comes_from_the_package_when_the_first_plot_asks(welding_widget):
    from gtwidgets.widget import _STATIC

    widget, browser, _ = welding_widget
    (reply, buffers), = browser.ask({"type": "asset", "name": "plotly"})
    assert reply == {"type": "asset", "name": "plotly"}
    assert buffers == [(_STATIC / "plotly.js").read_bytes()] and b"newPlot" in buffers[0]
    assert b"newPlot" not in (_STATIC / "widget.js").read_bytes()  # image and text jobs never load it
    (reply, buffers), = browser.ask({"type": "asset", "name": "../../etc/passwd"})
    assert "no asset named" in reply["error"] and buffers == []


def _write_weld(root: str, i: int, csv: bytes | None, *, dataset: bytes | None = None) -> str:
    """A dataset JSON (and its CSV) for one weld; image from a real weld of make_welding."""
    sensor = storage.join(root, f"sensor-{i}.csv")
    if csv is not None:
        storage.write_bytes(sensor, csv)
    ds = storage.join(root, f"dataset-{i}.json")
    storage.write_bytes(ds, dataset if dataset is not None else orjson.dumps(
        {"image": {"s3Path": storage.join(root, "weld.png")}, "sensor_data": {"s3Path": sensor}}))
    return ds


BAD_CSVS = {
    "empty": (b"", "the sensor file is empty"),
    "text in a number column": (b"timestamp_ms,current,electrode_position,voltage\n0,1,2,3\n1,high,2,3\n",
                                "column 'current' row 2 holds 'high'"),
    "a missing column": (b"timestamp_ms,current,voltage\n0,1,3\n1,2,3\n", "missing column(s) ['electrode_position']"),
    "ragged rows": (b"timestamp_ms,current,electrode_position,voltage\n0,1,2,3\n1,2\n", "not a readable CSV"),
    "header only": (b"timestamp_ms,current,electrode_position,voltage\n", "needs a time column"),
    "no file": (None, "no such object"),
}


def test_bad_sensor_files_and_datasets_each_give_a_clear_card_error(s3, tmp_path):
    good = make_welding(storage.join(s3, "good"), n=1, progress=False)
    root = storage.join(s3, "bad")
    storage.write_bytes(storage.join(root, "weld.png"),
                        storage.read_bytes(orjson.loads(storage.read_bytes(good["source"][0]))["image"]["s3Path"]))
    sources = [_write_weld(root, i, csv) for i, (csv, _) in enumerate(BAD_CSVS.values())]
    sources.append(_write_weld(root, 99, None, dataset=b"{not json"))
    unsorted = b"timestamp_ms,current,electrode_position,voltage\n2,5,1,1\n0,1,1,1\n1,9,1,1\n"
    sources.append(_write_weld(root, 100, unsorted))  # handled: sorted by time, drawn
    job = welding_job(input=pd.DataFrame({"source": sources}), output=storage.join(s3, "out"),
                      worker_id="w", journal_dir=tmp_path / "j")
    widget = LabelingWidget(job)
    browser = Browser(widget)
    try:
        replies = browser.ask({"type": "cards", "positions": list(range(len(sources)))}, replies=len(sources))
        by_pos = {m["pos"]: (m, b) for m, b in replies}
        for pos, (name, (_, expected)) in enumerate(BAD_CSVS.items()):
            msg, buffers = by_pos[pos]
            assert msg["kind"] == "panels", name
            image, series = msg["panels"]
            assert image["kind"] == "image", name  # the image still shows
            assert series["kind"] == "error" and expected in series["message"], (name, series)
            assert f"sensor-{pos}.csv" in series["message"], series  # names the file
        broken, _ = by_pos[len(BAD_CSVS)]
        assert broken["kind"] == "error" and "not a JSON dataset file" in broken["error"]
        assert sources[len(BAD_CSVS)] in broken["error"]
        fixed, buffers = by_pos[len(BAD_CSVS) + 1]
        assert fixed["panels"][1]["kind"] == "series"
        assert np.frombuffer(buffers[fixed["panels"][1]["buffers"][0]], "<f8").tolist() == [0, 1, 2]
        assert np.frombuffer(buffers[fixed["panels"][1]["buffers"][1]], "<f4").tolist() == [1, 9, 5]
        # a broken card is still a card: it can be answered or skipped
        browser.ask({"type": "skip", "id": broken["id"]}, replies=0)
        assert job.progress()["skipped"] == 1
    finally:
        widget.close()
        job.close()


def test_panels_without_prelabel_read_the_manifest_line(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("t,a,b\n" + "".join(f"{i},{i % 7},{-i}\n" for i in range(5000)))
    frame = pd.DataFrame({"source": ["item one"], "sensor": [str(csv)], "station": [4]})
    job = LabelingJob("plain", input=frame, categories=["ok", "bad"], output=str(tmp_path / "out"),
                      worker_id="w", journal_dir=tmp_path / "j",
                      panels=[Series("sensor", overlay=True, points=500), Facts(["station"])])
    widget = LabelingWidget(job)
    try:
        (msg, buffers), = Browser(widget).ask({"type": "cards", "positions": [0]})
        series, facts = msg["panels"]
        assert series["overlay"] is True and [c["name"] for c in series["columns"]] == ["a", "b"]
        assert 0 < series["columns"][0]["points"] <= 500 and series["total_points"] == 5000
        assert facts == {"kind": "facts", "title": "", "items": [["station", "4"]]}
    finally:
        widget.close()
        job.close()


def test_plain_image_jobs_keep_their_image_cards(tmp_path):
    from PIL import Image as PILImage

    path = tmp_path / "a.png"
    PILImage.new("RGB", (8, 8), "red").save(path)
    job = LabelingJob("imgs", input=pd.DataFrame({"source-ref": [str(path)]}), categories=["a", "b"],
                      output=str(tmp_path / "out"), worker_id="w", journal_dir=tmp_path / "j")
    widget = LabelingWidget(job)
    try:
        (msg, _), = Browser(widget).ask({"type": "cards", "positions": [0]})
        assert msg["kind"] == "image"
    finally:
        widget.close()
        job.close()


def test_welding_panels_are_the_default_layout():
    assert [type(p) for p in WELDING_PANELS] == [Image, Series]
