"""Bounding-box jobs from Python, end to end: answers, worker-response files, the output manifest
(section 2.3 of docs' Ground Truth format), several workers, adjustment, verification, the card."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pandas as pd
import pytest
from PIL import Image

from gtwidgets import LabelingJob, storage
from gtwidgets.modes import LabelMode
from gtwidgets.errors import JobError
from gtwidgets.output_layout import parse_answers

CATS = ["Car", "Van", "Bicycle"]
SIZE = {"width": 640, "height": 480, "depth": 3}
T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)
DATE = "2024-05-01T10:00:00.000000"


def card_meta(job, object_id):
    """The card meta the widget's label mode sends for an object (tool, tool_meta, label, answer)."""
    mode = LabelMode()
    mode.open(job)
    return mode.card_meta(str(object_id))


def car(left, top=50, width=100, height=80, label="Car"):
    return {"label": label, "left": left, "top": top, "width": width, "height": height}


@pytest.fixture
def images(tmp_path):
    """Two local JPEGs: a 640 x 480 one, and one stored 480 x 640 shown rotated (EXIF 6) as 640 x 480."""
    a = tmp_path / "a.jpg"
    Image.new("RGB", (640, 480), "gray").save(a)
    b = tmp_path / "b.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (480, 640), "white").save(b, exif=exif)
    return pd.DataFrame({"source-ref": [str(a), str(b)]})


def box_job(tmp_path, frame, output, **kw):
    kw.setdefault("worker_id", "w1")
    kw.setdefault("task", "bounding-box")
    return LabelingJob("vehicle-boxes", input=frame, categories=CATS, output=output,
                       journal_dir=tmp_path / "journal" / kw["worker_id"], **kw)


def manifest(job) -> list[dict]:
    return [orjson.loads(line) for line in storage.read_bytes(job.output_manifest_uri).splitlines()]


@pytest.mark.parametrize("where", ["local", "s3"])
def test_one_worker_writes_ground_truths_files(where, images, tmp_path, request):
    output = str(tmp_path / "out") if where == "local" else request.getfixturevalue("s3") + "/jobs"
    job = box_job(tmp_path, images, output)
    job.submit(0, {"image_size": SIZE, "boxes": [car(237, 165, 164, 157), car(10, 20, 30, 40, "Bicycle")]},
               submitted=T0, time_spent=4.5)
    job.submit(1, {"image_size": SIZE, "boxes": []}, submitted=T0)  # no objects is an answer
    assert job.flush(timeout=30)

    assert manifest(job) == [
        {"source-ref": images.at[0, "source-ref"],
         "vehicle-boxes": {"image_size": [SIZE], "annotations": [
             {"class_id": 0, "top": 165, "left": 237, "height": 157, "width": 164},
             {"class_id": 2, "top": 20, "left": 10, "height": 40, "width": 30}]},
         "vehicle-boxes-metadata": {"objects": [{"confidence": 0}, {"confidence": 0}],
                                    "class-map": {"0": "Car", "2": "Bicycle"},
                                    "type": "groundtruth/object-detection", "human-annotated": "yes",
                                    "creation-date": DATE, "job-name": "labeling-job/vehicle-boxes"}},
        {"source-ref": images.at[1, "source-ref"],
         "vehicle-boxes": {"image_size": [SIZE], "annotations": []},
         "vehicle-boxes-metadata": {"objects": [], "class-map": {}, "type": "groundtruth/object-detection",
                                    "human-annotated": "yes", "creation-date": DATE,
                                    "job-name": "labeling-job/vehicle-boxes"}},
    ]
    files = storage.list_files(f"{output}/vehicle-boxes/annotations/worker-response/iteration-1/0/")
    (answer,) = parse_answers(storage.read_bytes(files[0]))
    assert answer["answerContent"] == {"crowd-bounding-box": {
        "boundingBoxes": [{"label": "Car", "left": 237, "top": 165, "width": 164, "height": 157},
                          {"label": "Bicycle", "left": 10, "top": 20, "width": 30, "height": 40}],
        "inputImageProperties": {"height": 480, "width": 640}}}
    assert answer["workerId"] == "w1" and answer["timeSpentInSeconds"] == 4.5
    assert job.progress()["per_class"] == {"Car": 1, "Van": 0, "Bicycle": 1}
    assert job.answer(1) == {"image_size": SIZE, "boxes": []}
    job.close()


def test_bad_answers_are_refused_before_anything_is_written(images, tmp_path):
    job = box_job(tmp_path, images, str(tmp_path / "out"))
    with pytest.raises(JobError, match="not one of the categories"):
        job.submit(0, {"image_size": SIZE, "boxes": [car(1, label="Bus")]})
    with pytest.raises(JobError, match="image_size"):
        job.submit(0, {"boxes": []})
    assert job.progress()["labeled"] == 0
    job.close()


def test_several_workers_are_consolidated_by_box_matching(images, tmp_path):
    output = str(tmp_path / "out")
    jobs = [box_job(tmp_path, images, output, worker_id=w, workers_per_object=3) for w in ("w1", "w2", "w3")]
    for n, job in enumerate(jobs):
        boxes = [car(100 + 2 * n)] + ([car(400, label="Van")] if n == 1 else [])  # one lone Van
        job.submit(0, {"image_size": SIZE, "boxes": boxes}, submitted=T0)
        assert job.flush(timeout=30)
    last = jobs[-1]
    last.refresh()
    table = last.consolidated()
    assert list(table["object_id"]) == ["0"] and table.at[0, "n_workers"] == 3
    assert last.flush(timeout=30)
    line = manifest(last)[0]
    assert line["vehicle-boxes"] == table.at[0, "pair"]["vehicle-boxes"]
    (box,) = line["vehicle-boxes"]["annotations"]  # the Van only one worker drew is dropped
    assert box["class_id"] == 0 and 100 <= box["left"] <= 104 and (box["width"], box["height"]) == (100, 80)
    meta = line["vehicle-boxes-metadata"]
    assert meta["class-map"] == {"0": "Car"} and len(meta["objects"]) == 1 and 0 < meta["objects"][0]["confidence"] <= 1
    assert len(last.all_answers()) == 3
    for job in jobs:
        job.close()


def prior_frame(images):
    """The first image already has boxes under ``vehicle-boxes`` (a chained job's input)."""
    frame = images.copy()
    frame["vehicle-boxes"] = [{"image_size": [SIZE], "annotations": [
        {"class_id": 0, "left": 10, "top": 10, "width": 50, "height": 40}]}, None]
    frame["vehicle-boxes-metadata"] = [{"class-map": {"0": "Car"}, "type": "groundtruth/object-detection"}, None]
    return frame


def test_adjustment_starts_from_the_prior_boxes_and_says_whether_they_changed(images, tmp_path):
    job = LabelingJob("vehicle-boxes-adjust", input=prior_frame(images), categories=CATS,
                      output=str(tmp_path / "out"), worker_id="w1", journal_dir=tmp_path / "j",
                      task="bounding-box-adjustment", options={"prior_attribute": "vehicle-boxes"})
    meta = card_meta(job, 0)
    assert meta["tool"] == "boxes" and meta["tool_meta"]["boxes"] == [car(10, 10, 50, 40)]
    assert meta["label"] == ["Car"] and meta["answer"] is None
    job.submit(0, {"image_size": SIZE, "boxes": [car(10, 10, 60, 40)], "initial_value_modified": True}, submitted=T0)
    job.submit(1, {"image_size": SIZE, "boxes": []}, submitted=T0)
    assert job.flush(timeout=30)
    lines = manifest(job)
    assert lines[0]["vehicle-boxes"] == prior_frame(images).at[0, "vehicle-boxes"]  # the prior pair stays
    assert lines[0]["vehicle-boxes-adjust"]["annotations"] == [
        {"class_id": 0, "top": 10, "left": 10, "height": 40, "width": 60}]
    assert lines[0]["vehicle-boxes-adjust-metadata"]["adjustment-status"] == "adjusted"
    assert lines[1]["vehicle-boxes-adjust-metadata"]["adjustment-status"] == "unadjusted"
    job.close()


def test_adjustment_needs_the_prior_attribute(images, tmp_path):
    with pytest.raises(JobError, match="prior_attribute"):
        LabelingJob("adjust", input=images, categories=CATS, output=str(tmp_path / "out"), worker_id="w1",
                    journal_dir=tmp_path / "j", task="bounding-box-adjustment")


def test_verification_rates_the_prior_boxes(images, tmp_path):
    output = str(tmp_path / "out")
    kw = dict(input=prior_frame(images), categories=["good", "bad"], output=output,
              task="bounding-box-verification", options={"prior_attribute": "vehicle-boxes"}, workers_per_object=2)
    one = LabelingJob("verify-boxes", worker_id="w1", journal_dir=tmp_path / "j1", **kw)
    two = LabelingJob("verify-boxes", worker_id="w2", journal_dir=tmp_path / "j2", **kw)
    meta = card_meta(one, 0)["tool_meta"]
    assert meta == {"categories": ["good", "bad"], "boxes": [car(10, 10, 50, 40)], "read_only": True,
                    "image_size": SIZE}
    one.submit(0, {"label": "bad", "comment": "box too small"}, submitted=T0)
    two.submit(0, "bad", submitted=T0)
    assert one.flush(timeout=30) and two.flush(timeout=30)
    two.refresh()
    assert two.flush(timeout=30)
    line = manifest(two)[0]
    assert line["verify-boxes"] == "1"
    m = line["verify-boxes-metadata"]
    assert (m["class-name"], m["type"], m["worker-feedback"]) == (
        "bad", "groundtruth/label-verification", [{"comment": "box too small"}])
    one.close()
    two.close()


def test_the_card_carries_the_tool_and_the_original_image_size(images, tmp_path):
    job = box_job(tmp_path, images, str(tmp_path / "out"))
    # The second image is stored 480 x 640 with EXIF orientation 6: shown, and answered, as 640 x 480.
    assert card_meta(job, 1) == {"tool": "boxes", "tool_meta": {"categories": CATS, "boxes": [], "image_size": SIZE},
                                "label": None, "answer": None}
    job.submit(1, {"image_size": SIZE, "boxes": [car(5), car(9, label="Van"), car(7)]})
    meta = card_meta(job, 1)
    assert meta["answer"] == ["Car", "Van"] and meta["tool_meta"]["boxes"][1] == car(9, label="Van")
    job.close()


def test_the_widget_sends_the_tool_with_each_card(images, tmp_path):
    from gtwidgets import LabelingWidget

    job = box_job(tmp_path, images, str(tmp_path / "out"))
    job.submit(0, {"image_size": SIZE, "boxes": [car(5)]})
    w = LabelingWidget(job)
    sent = []
    w.send = lambda msg, buffers=None: sent.append(msg)
    w._send_card(0, "0")
    (card,) = sent
    assert card["kind"] == "image" and card["tool"] == "boxes" and card["answer"] == ["Car"]
    assert card["tool_meta"]["boxes"] == [car(5)] and card["tool_meta"]["image_size"] == SIZE
    from protocol_check import check_reply

    check_reply(card)
    w.handle({"type": "submit", "id": "1", "answer": {"image_size": SIZE, "boxes": [car(1)]}, "spent": 2.0})
    assert job.answer(1)["boxes"] == [car(1)]
    w.close()
    job.close()


def test_an_s3_image_is_read_once_for_its_card_and_its_original_size(images, tmp_path, s3):
    """The card's bytes and the box tool's original size (EXIF applied) come from one GET."""
    from gtwidgets import LabelingWidget

    uris = []
    for i, path in enumerate(images["source-ref"]):
        uris.append(f"{s3}/images/{i}.jpg")
        storage.write_bytes(uris[-1], open(path, "rb").read())
    job = box_job(tmp_path, pd.DataFrame({"source-ref": uris}), str(tmp_path / "out"))
    w = LabelingWidget(job)
    sent, gets = [], []
    w.send = lambda msg, buffers=None: sent.append(msg)
    client = storage.s3_client()
    count = lambda params, **kw: gets.append(params["Key"])  # noqa: E731
    client.meta.events.register("before-parameter-build.s3.GetObject", count)
    try:
        w._send_card(1, "1")  # stored 480 x 640, EXIF orientation 6
    finally:
        client.meta.events.unregister("before-parameter-build.s3.GetObject", count)
    assert gets == ["images/1.jpg"]
    assert sent[0]["kind"] == "image" and sent[0]["tool_meta"]["image_size"] == SIZE
    w.close()
    job.close()
