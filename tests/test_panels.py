"""Card panels over taskInput, and the built-in welding workflow."""
from __future__ import annotations

import numpy as np
import orjson
import pytest

from gtwidgets import storage
from gtwidgets.datasets import make_welding
from gtwidgets.panels import Facts, Image, Series, Text, auto_panels, render_panels, resolve, series_window
from gtwidgets.welding import WELDING_CATEGORIES, welding_job, welding_prelabel


def test_resolve_dotted_paths():
    ti = {"image": {"s3Path": "s3://b/x.png"}, "a.b": 1, "list": [{"x": 2}]}
    assert resolve(ti, "image.s3Path") == "s3://b/x.png"
    assert resolve(ti, "a.b") == 1 and resolve(ti, "list.0.x") == 2
    with pytest.raises(KeyError):
        resolve(ti, "image.nope")


def test_auto_layout_from_the_shape_of_task_input():
    ti = {"photo": "s3://b/weld.PNG", "sensor": {"s3Path": "s3://b/s.csv"}, "note": "x" * 100,
          "station": 4, "operator": "kim"}
    assert auto_panels(ti) == [Image("photo"), Series("sensor.s3Path"), Text("note"), Facts(["station", "operator"])]


@pytest.fixture(scope="module")
def welds(tmp_path_factory):
    return make_welding(str(tmp_path_factory.mktemp("welds")), n=6, progress=False)


def test_welding_prelabel_follows_the_lambda_contract(welds):
    event = {"version": "2018-10-06", "labelingJobArn": "arn:aws:sagemaker:us-east-1:1:labeling-job/w",
             "dataObject": {"source": welds["source"][0]}}
    out = welding_prelabel(event, None)
    assert out["isHumanAnnotationRequired"] is True
    ti = out["taskInput"]
    assert storage.exists(ti["image"]) and storage.exists(ti["sensor_data"])


def test_welding_card_has_image_and_three_signals_under_200_kb(welds, tmp_path):
    job = welding_job(input=welds.drop(columns=["true-class"]), output=str(tmp_path / "out"),
                      worker_id="w", journal_dir=tmp_path / "j")
    assert job.categories == WELDING_CATEGORIES and len(job.queue) == 6
    metas, buffers = render_panels(job.task_inputs["0"], job.panels)
    assert [m["kind"] for m in metas] == ["image", "series"]
    assert [c["name"] for c in metas[1]["columns"]] == ["current", "electrode_position", "voltage"]
    assert sum(map(len, buffers)) < 200_000
    times = np.frombuffer(buffers[1], dtype="<f8")
    assert np.all(np.diff(times) >= 0)
    job.close()


def test_burn_through_shows_its_current_spike(welds):
    i = int(np.flatnonzero(welds["true-class"] == "Burn Through")[0])
    good = int(np.flatnonzero(welds["true-class"] == "Good Weld")[0])
    peaks = {}
    for k in (i, good):
        ti = welding_prelabel({"dataObject": {"source": welds["source"][k]}})["taskInput"]
        meta, bufs = series_window(ti, Series("sensor_data", values=["current"]))
        peaks[k] = np.frombuffer(bufs[1], dtype="<f4").max()
    assert peaks[i] > peaks[good]


def test_a_broken_panel_becomes_an_error_panel_and_the_rest_still_shows(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_bytes(b"t,current\n0,1\n1,oops\n")
    ti = {"image": str(tmp_path / "missing.png"), "sensor": str(csv), "station": 3}
    metas, buffers = render_panels(ti, [Image("image"), Series("sensor"), Facts(), Text("nothere")])
    assert [m["kind"] for m in metas] == ["error", "error", "facts", "error"]
    assert "no such file" in metas[0]["message"]
    assert "row 2 holds 'oops'" in metas[1]["message"]
    assert ["station", "3"] in metas[2]["items"]
    assert "no field 'nothere'" in metas[3]["message"]


def test_welding_job_labels_and_consolidates(welds, tmp_path):
    from gtwidgets.lambdas import default_consolidation

    job = welding_job(input=welds.drop(columns=["true-class"]), output=str(tmp_path / "out"), worker_id="w",
                      journal_dir=tmp_path / "j", consolidation=default_consolidation)
    for oid, truth in zip(job.queue, welds["true-class"]):
        job.submit(oid, truth)
    assert job.flush(timeout=30)
    lines = [orjson.loads(x) for x in storage.read_bytes(job.output_manifest_uri).splitlines()]
    assert [x["welding"]["crowd-classifier"]["label"] for x in lines] == list(welds["true-class"])
    assert all(x["welding-metadata"]["type"] == "groundtruth/custom" for x in lines)
    job.close()


def test_a_series_axis_names_its_unit(welds):
    ti = welding_prelabel({"dataObject": {"source": welds["source"][0]}})["taskInput"]
    panel = Series("sensor_data", values=["current", "voltage"], units={"current": "A"})
    meta, _ = series_window(ti, panel)
    assert [c["name"] for c in meta["columns"]] == ["current (A)", "voltage"]
