"""Pre-labels as the start of a card, at job level: a model's predictions (``pre_labels=``) and the
pre-annotation Lambda's ``taskInput.initialValue``, for boxes and for masks. The card starts from
them (placed in original-image pixels), and an answer to such a card carries Ground Truth's
``initialValueModified`` in its worker response, as an adjustment's does."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import orjson
import pandas as pd
import pytest
from PIL import Image

from gtwidgets import LabelingJob, storage
from gtwidgets.errors import JobError
from gtwidgets.masks import color_map, encode_mask
from gtwidgets.modes import LabelMode
from gtwidgets.output_layout import parse_answers

CATS = ["Car", "Van", "Bicycle"]
SIZE = {"width": 640, "height": 480, "depth": 3}
T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)
MASK_CATS = ["Solder bridge", "Scratch"]  # mask indices: Scratch 1, Solder bridge 2 (sorted names)


def card_meta(job, object_id):
    mode = LabelMode()
    mode.open(job)
    return mode.card_meta(str(object_id))


def response(job, object_id):
    """The answerContent of this worker's response file for an object."""
    files = storage.list_files(f"{job.job_dir}/annotations/worker-response/iteration-1/{object_id}/")
    (answer,) = parse_answers(storage.read_bytes(files[-1]))
    return answer["answerContent"]


@pytest.fixture
def images(tmp_path):
    """Three 640 x 480 JPEGs, the third stored 480 x 640 with EXIF orientation 6 (shown 640 x 480)."""
    paths = []
    for i in range(3):
        p = tmp_path / f"img{i}.jpg"
        if i == 2:
            exif = Image.Exif()
            exif[0x0112] = 6
            Image.new("RGB", (480, 640), "white").save(p, exif=exif)
        else:
            Image.new("RGB", (640, 480), "gray").save(p)
        paths.append(str(p))
    return pd.DataFrame({"source-ref": paths}, index=["a", "b", "c"])  # an index a Series matches


def box_job(tmp_path, frame, **kw):
    kw.setdefault("task", "bounding-box")
    return LabelingJob("vehicle-boxes", input=frame, categories=CATS, output=str(tmp_path / "out"),
                       worker_id="w1", journal_dir=tmp_path / "journal", **kw)


def box(label, left, top, width, height):
    return {"label": label, "left": left, "top": top, "width": width, "height": height}


def test_a_detector_s_boxes_start_the_card_in_original_pixels(images, tmp_path):
    predictions = pd.Series({
        "a": {"xyxy": np.array([[10.4, 20, 110, 100], [300, 200, 700, 500]]), "labels": np.array([0, 2]),
              "scores": np.array([0.9, 0.4])},                                    # pixels, class ids
        "c": {"xyxyn": [[0.5, 0.5, 0.75, 1.0]], "labels": ["Van"]},               # normalised, names
    })  # "b": no prediction, a blank card
    job = box_job(tmp_path, images, pre_labels=predictions)
    meta = card_meta(job, 0)["tool_meta"]
    # rounded to whole pixels, the second box clipped to the 640 x 480 image
    assert meta["boxes"] == [box("Car", 10, 20, 100, 80), box("Bicycle", 300, 200, 340, 280)]
    assert meta["image_size"] == SIZE and meta["initial_value_modified"] is False
    blank = card_meta(job, 1)["tool_meta"]
    assert blank["boxes"] == [] and "initial_value_modified" not in blank
    # normalised to the image as displayed: 640 x 480 after the EXIF rotation
    assert card_meta(job, 2)["tool_meta"]["boxes"] == [box("Van", 320, 240, 160, 240)]

    job.submit(0, {"image_size": SIZE, "boxes": meta["boxes"]}, submitted=T0)   # unchanged: compared
    job.submit(1, {"image_size": SIZE, "boxes": [box("Car", 1, 2, 30, 40)]}, submitted=T0)
    job.submit(2, {"image_size": SIZE, "boxes": [box("Van", 300, 240, 180, 240)]}, submitted=T0)
    assert job.flush(timeout=30)
    assert response(job, 0)["crowd-bounding-box"]["initialValueModified"] is False
    assert "initialValueModified" not in response(job, 1)["crowd-bounding-box"]  # it started blank
    assert response(job, 2)["crowd-bounding-box"]["initialValueModified"] is True
    line = [orjson.loads(x) for x in storage.read_bytes(job.output_manifest_uri).splitlines()][0]
    assert line["vehicle-boxes"]["annotations"] == [
        {"class_id": 0, "top": 20, "left": 10, "height": 80, "width": 100},
        {"class_id": 2, "top": 200, "left": 300, "height": 280, "width": 340}]
    assert "adjustment-status" not in line["vehicle-boxes-metadata"]  # not an adjustment job
    job.close()


def test_what_the_tool_says_about_its_start_is_kept_and_shown_again(images, tmp_path):
    starts = [[box("Car", 10, 10, 50, 40)], None, None]  # Ground Truth's box list, one entry a line
    job = box_job(tmp_path, images, pre_labels=starts)
    # the tool moved a box and moved it back: it says modified, and the answer keeps that
    job.submit(0, {"image_size": SIZE, "boxes": starts[0], "initial_value_modified": True})
    meta = card_meta(job, 0)["tool_meta"]
    assert meta["boxes"] == starts[0] and meta["initial_value_modified"] is True  # going back: still changed
    assert job.answer(0)["initial_value_modified"] is True
    job.close()


def test_a_bad_prediction_is_refused_naming_its_row(images, tmp_path):
    bad = pd.Series({"b": {"xyxy": [[10, 10, 5, 50]], "labels": [0]}})
    with pytest.raises(JobError, match=r"pre_labels\['b'\] \(input line 2, .*img1.jpg\): box 0 .* not x1 < x2"):
        box_job(tmp_path, images, pre_labels=bad)
    with pytest.raises(JobError, match=r"pre_labels\['a'\].*class index 7"):
        box_job(tmp_path, images, pre_labels=pd.Series({"a": {"boxes": [[0, 0, 9, 9]], "labels": [7]}}))
    with pytest.raises(JobError, match=r"pre_labels\['c'\].*within 0..1"):
        box_job(tmp_path, images, pre_labels=pd.Series({"c": {"xyxyn": [[0, 0, 20, 9]], "labels": [0]}}))
    with pytest.raises(JobError, match="rows \\['z'\\] that the input does not have"):
        box_job(tmp_path, images, pre_labels=pd.Series({"z": []}))
    with pytest.raises(JobError, match="2 entries but the input has 3 lines"):
        box_job(tmp_path, images, pre_labels=[[], []])
    with pytest.raises(JobError, match="takes no pre-labels"):
        LabelingJob("cls", input=images, categories=CATS, output=str(tmp_path / "o"), worker_id="w1",
                    journal_dir=tmp_path / "j2", pre_labels=["Car", None, None])


def test_an_adjustment_job_may_start_from_pre_labels_alone(images, tmp_path):
    job = box_job(tmp_path, images, task="bounding-box-adjustment",
                  pre_labels=[{"boxes": [[0, 0, 64, 48]], "labels": ["Van"]}, None, None])
    assert card_meta(job, 0)["tool_meta"]["boxes"] == [box("Van", 0, 0, 64, 48)]
    job.submit(0, {"image_size": SIZE, "boxes": [box("Van", 0, 0, 64, 48)]}, submitted=T0)
    job.submit(1, {"image_size": SIZE, "boxes": []}, submitted=T0)
    assert job.flush(timeout=30)
    lines = [orjson.loads(x) for x in storage.read_bytes(job.output_manifest_uri).splitlines()]
    assert [x["vehicle-boxes-metadata"]["adjustment-status"] for x in lines[:2]] == ["unadjusted", "unadjusted"]
    job.close()


def detector_lambda(event):
    """A pre-annotation Lambda: a detector's boxes for the first image, as crowd-bounding-box's initial-value."""
    source = event["dataObject"]["source-ref"]
    start = [box("Bicycle", 5, 6, 70, 80)] if source.endswith("img0.jpg") else \
        [box("Bus", 1, 1, 9, 9)] if source.endswith("img2.jpg") else []
    return {"taskInput": {"taskObject": source, "initialValue": start}, "isHumanAnnotationRequired": True}


def test_the_pre_annotation_lambda_s_initial_value_starts_an_image_card(images, tmp_path):
    from gtwidgets import LabelingWidget

    job = box_job(tmp_path, images, prelabel=detector_lambda)
    w = LabelingWidget(job)
    sent = []
    w.send = lambda msg, buffers=None: sent.append(msg)
    for pos in range(3):
        w._send_card(pos, str(pos))
    first, blank, bad = sent
    assert first["kind"] == "image" and first["tool"] == "boxes"  # the tool's image card, not panels
    assert first["tool_meta"]["boxes"] == [box("Bicycle", 5, 6, 70, 80)]
    assert first["tool_meta"]["initial_value_modified"] is False
    assert blank["kind"] == "image" and blank["tool_meta"]["boxes"] == []  # an empty start: no objects yet
    assert bad["kind"] == "error" and "'Bus' is not one of the categories" in bad["error"]
    w.handle({"type": "submit", "id": "0", "answer": {"image_size": SIZE, "boxes": [box("Bicycle", 5, 6, 70, 80)],
                                                      "initial_value_modified": False}})
    assert job.flush(timeout=30)
    assert response(job, 0)["crowd-bounding-box"]["initialValueModified"] is False
    w.close()
    job.close()


# ---------------------------------------------------------------------------- masks

def predicted(shift=0):
    labels = np.zeros((24, 32), np.uint8)
    labels[2:8, 3 + shift:12 + shift] = 1    # Scratch
    labels[10:18, 15:28] = 2                 # Solder bridge
    return labels


def mask_job(tmp_path, frame, **kw):
    return LabelingJob("pcb-defects", input=frame, categories=MASK_CATS, output=str(tmp_path / "out"),
                       task="semantic-segmentation", label_attribute="pcb-defects-ref", worker_id="w1",
                       journal_dir=tmp_path / "journal", **kw)


def test_a_model_s_mask_starts_the_card_and_an_unchanged_answer_says_so(boards, tmp_path):
    from gtwidgets import LabelingWidget

    frame = boards.assign(predictions=[predicted(), None])  # a column of the input, named
    job = mask_job(tmp_path, frame, pre_labels="predictions")
    meta = card_meta(job, 0)
    assert meta["tool_meta"]["initial_value_modified"] is False
    assert meta["buffers"] == [encode_mask(predicted(), color_map(MASK_CATS))]  # the start, in the job's colours
    assert "buffers" not in card_meta(job, 1) and "initial_value_modified" not in card_meta(job, 1)["tool_meta"]

    w = LabelingWidget(job)
    # the tool sends the PNG as the batch's buffer and says it did not change the start
    w.handle({"type": "batch", "messages": [{"type": "submit", "id": "0", "answer": {"initial_value_modified": False},
                                             "answer_buffer": 0, "spent": 1.0}]},
             [encode_mask(predicted(), color_map(MASK_CATS))])
    job.submit(1, predicted(shift=4), submitted=T0)  # a blank card: nothing to say
    assert job.flush(timeout=30)
    assert response(job, 0)["crowd-semantic-segmentation"]["initialValueModified"] is False
    assert "initialValueModified" not in response(job, 1)["crowd-semantic-segmentation"]
    w.close()
    job.close()


def test_the_lambda_s_mask_uri_starts_the_card_and_a_python_answer_is_compared(boards, tmp_path):
    own_colors = {"Scratch": "#123456", "Solder bridge": "#abcdef"}  # the model's own colours
    png = tmp_path / "model-mask.png"
    png.write_bytes(encode_mask(predicted(), {
        "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff"},
        "1": {"class-name": "Scratch", "hex-color": own_colors["Scratch"]},
        "2": {"class-name": "Solder bridge", "hex-color": own_colors["Solder bridge"]}}))

    def pre(event):
        start = {"src": str(png), "labelMappings": {c: {"color": own_colors[c]} for c in MASK_CATS}}
        return {"taskInput": {"initialValue": start}}

    job = mask_job(tmp_path, boards, prelabel=pre)
    meta = card_meta(job, 0)
    assert meta["tool_meta"]["prior"]["uri"] == str(png) and meta["buffers"] == [png.read_bytes()]
    assert meta["tool_meta"]["mask"]["colors"] == {"#123456": 1, "#abcdef": 2, "#ffffff": 0}
    job.submit(0, predicted(), submitted=T0)          # the start, unchanged: read back and compared
    job.submit(1, predicted(shift=3), submitted=T0)   # changed
    assert job.flush(timeout=30)
    assert response(job, 0)["crowd-semantic-segmentation"]["initialValueModified"] is False
    assert response(job, 1)["crowd-semantic-segmentation"]["initialValueModified"] is True
    job.close()


def test_a_bad_mask_prediction_is_refused_naming_its_row(boards, tmp_path):
    with pytest.raises(JobError, match=r"pre_labels\[1\] \(input line 2.*class index"):
        mask_job(tmp_path, boards, pre_labels=[None, np.full((24, 32), 9, np.uint8)])
    with pytest.raises(JobError, match=r"pre_labels\[0\].*2-D array"):
        mask_job(tmp_path, boards, pre_labels=[np.zeros(5), None])
