"""Box task types on the seam: answers, answerContent, label pairs, consolidation, prior boxes."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from gtwidgets.errors import JobError
from gtwidgets.manifests import objects, read_manifest
from gtwidgets.tasktypes import TaskConfig, WorkerAnswer, task_type_for
from shared_fixtures import FIXTURES, OWN, needs_shared

CATS = ("Car", "Truck", "Van", "Bicycle")
DATE = "2024-05-01T10:00:00.000000"
T = datetime(2024, 5, 1, tzinfo=timezone.utc)
SIZE = {"width": 640, "height": 480, "depth": 3}


def boxes(attr="vehicle-boxes", **options):
    return task_type_for("bounding-box", TaskConfig("Vehicle-Boxes", attr, CATS, options=options))


def test_an_answer_becomes_exactly_ground_truths_pair():
    t = boxes()
    v = t.check_answer({"image_size": SIZE, "boxes": [{"label": "Car", "left": 237, "top": 165, "width": 164, "height": 157},
                                                       {"class_id": 3, "left": 11, "top": 20, "width": 60, "height": 40}]})
    assert t.label_pair(v, creation_date=DATE) == {
        "vehicle-boxes": {"image_size": [SIZE], "annotations": [
            {"class_id": 0, "top": 165, "left": 237, "height": 157, "width": 164},
            {"class_id": 3, "top": 20, "left": 11, "height": 40, "width": 60}]},
        "vehicle-boxes-metadata": {"objects": [{"confidence": 0}, {"confidence": 0}],
                                   "class-map": {"0": "Car", "3": "Bicycle"}, "type": "groundtruth/object-detection",
                                   "human-annotated": "yes", "creation-date": DATE,
                                   "job-name": "labeling-job/vehicle-boxes"}}


def test_no_objects_is_an_answer():
    t = boxes()
    pair = t.label_pair(t.check_answer({"image_size": SIZE, "boxes": []}), creation_date=DATE)
    assert pair["vehicle-boxes"]["annotations"] == []
    assert pair["vehicle-boxes-metadata"]["objects"] == [] and pair["vehicle-boxes-metadata"]["class-map"] == {}


def test_bad_answers_say_what_to_fix():
    t = boxes()
    with pytest.raises(JobError, match="not one of the categories"):
        t.check_answer({"image_size": SIZE, "boxes": [{"label": "Bus", "left": 0, "top": 0, "width": 5, "height": 5}]})
    with pytest.raises(JobError, match="no area inside"):
        t.check_answer({"image_size": SIZE, "boxes": [{"label": "Car", "left": 700, "top": 0, "width": 5, "height": 5}]})
    with pytest.raises(JobError, match="finite"):
        t.check_answer({"image_size": SIZE, "boxes": [{"label": "Car", "left": float("nan"), "top": 0, "width": 5, "height": 5}]})
    with pytest.raises(JobError, match="image_size"):
        t.check_answer({"boxes": []})
    # Boxes that stick out are clipped to the image, as crowd-bounding-box keeps them inside.
    v = t.check_answer({"image_size": SIZE, "boxes": [{"label": "Car", "left": -5, "top": 470, "width": 20, "height": 20}]})
    assert v["boxes"][0] == {"label": "Car", "left": 0, "top": 470, "width": 15, "height": 10}


def test_categories_are_limited_to_fifty():
    with pytest.raises(JobError, match="at most 50"):
        task_type_for("bounding-box", TaskConfig("j", "j", tuple(f"c{i}" for i in range(51))))
    with pytest.raises(JobError, match="longer than 256"):
        task_type_for("bounding-box", TaskConfig("j", "j", ("x" * 257,)))


def test_answer_content_both_ways_and_ground_truths_own_element_name():
    t = boxes()
    v = t.check_answer({"image_size": SIZE, "boxes": [{"label": "Van", "left": 1, "top": 2, "width": 3, "height": 4}]})
    content = t.to_content(v)
    assert content == {"crowd-bounding-box": {"boundingBoxes": [{"label": "Van", "left": 1, "top": 2, "width": 3, "height": 4}],
                                              "inputImageProperties": {"height": 480, "width": 640}}}
    assert t.from_content(content) == v
    # The consolidation payload's form (section 4.2 of the format reference).
    payload = {"boundingBox": {"boundingBoxes": [{"height": 2052, "label": "Car", "left": 583, "top": 302, "width": 1375}],
                               "inputImageProperties": {"height": 2497, "width": 3745}}}
    assert t.from_content(payload)["boxes"] == [{"label": "Car", "left": 583, "top": 302, "width": 1375, "height": 2052}]
    with pytest.raises(ValueError, match="no bounding-box answer"):
        t.from_content({"crowd-image-classifier": {"label": "Car"}})


def _answers(t, per_object):
    return [WorkerAnswer(oid, f"w{w}", t.check_answer(v), T) for oid, vs in per_object.items() for w, v in enumerate(vs)]


def test_consolidation_averages_matched_boxes_and_drops_a_lone_false_box():
    t = boxes()
    car = lambda dx: {"label": "Car", "left": 100 + dx, "top": 100, "width": 50, "height": 40}
    per_object = {"0": [{"image_size": SIZE, "boxes": [car(0)]},
                        {"image_size": SIZE, "boxes": [car(2), {"label": "Van", "left": 400, "top": 10, "width": 30, "height": 30}]},
                        {"image_size": SIZE, "boxes": [car(4)]}],
                  "1": [{"image_size": SIZE, "boxes": []}] * 3}
    out = t.consolidate(_answers(t, per_object), creation_date=DATE, method="equal")
    assert out["0"]["vehicle-boxes"]["annotations"] == [{"class_id": 0, "top": 100, "left": 102, "height": 40, "width": 50}]
    assert out["0"]["vehicle-boxes-metadata"]["class-map"] == {"0": "Car"}
    assert 0.9 < out["0"]["vehicle-boxes-metadata"]["objects"][0]["confidence"] < 1
    assert out["1"]["vehicle-boxes"]["annotations"] == [] and out["1"]["vehicle-boxes-metadata"]["objects"] == []


def test_existing_reads_prior_boxes_from_our_fixture():
    line = objects(read_manifest(OWN / "manifests" / "bounding-box-adjustment__gtw__output.manifest"))[0]
    t = task_type_for("bounding-box-adjustment", TaskConfig("vehicle-boxes-2", "vehicle-boxes-2", CATS,
                                                             options={"prior_attribute": "vehicle-boxes"}))
    prior = t.existing(line)
    assert prior["image_size"] == SIZE and prior["initial_value_modified"] is False
    assert prior["boxes"][1] == {"label": "Bicycle", "left": 11.8, "top": 20.4, "width": 60.25, "height": 40.0}
    assert t.card_meta(line, None)["boxes"] == prior["boxes"]


@needs_shared
def test_existing_reads_a_real_ground_truth_box_file():
    path = FIXTURES / "manifests" / "bounding-box__cat-labels__output.manifest"
    lines = objects(read_manifest(path))
    t = task_type_for("bounding-box", TaskConfig("cat-ground-truth", "cat-ground-truth", ("Cat",)))
    assert t.existing(lines[0])["boxes"] == []
    v = t.existing(lines[1])
    assert v["boxes"] == [{"label": "Cat", "left": 237, "top": 165, "width": 164, "height": 157}]
    # Written back, the real pair comes out the same (but for the 2019 era's 0.09 single-worker confidence).
    pair = t.label_pair(v, creation_date=lines[1]["cat-ground-truth-metadata"]["creation-date"], confidence=0.09)
    assert pair["cat-ground-truth"] == lines[1]["cat-ground-truth"]
    assert pair["cat-ground-truth-metadata"] == lines[1]["cat-ground-truth-metadata"]


def test_adjustment_pair_says_whether_any_worker_changed_the_boxes():
    t = task_type_for("bounding-box-adjustment", TaskConfig("adj", "adj", CATS, options={"prior_attribute": "vehicle-boxes"}))
    same = {"image_size": SIZE, "boxes": [{"label": "Car", "left": 1, "top": 1, "width": 9, "height": 9}]}
    content = t.to_content(t.check_answer({**same, "initial_value_modified": True}))
    assert content["crowd-bounding-box"]["initialValueModified"] is True
    assert t.from_content(content)["initial_value_modified"] is True
    out = t.consolidate(_answers(t, {"a": [same, same], "b": [same, {**same, "initialValueModified": True}]}),
                        creation_date=DATE)
    assert out["a"]["adj-metadata"]["adjustment-status"] == "unadjusted"
    assert out["b"]["adj-metadata"]["adjustment-status"] == "adjusted"
    assert out["a"]["adj-metadata"]["type"] == "groundtruth/object-detection"
    with pytest.raises(JobError, match="prior_attribute"):
        task_type_for("bounding-box-adjustment", TaskConfig("adj", "adj", CATS))


def test_verification_is_consolidated_like_classification_with_worker_feedback():
    t = task_type_for("bounding-box-verification", TaskConfig("verify-vehicle-boxes", "verify-vehicle-boxes", ("good", "bad"),
                                                               options={"prior_attribute": "vehicle-boxes"}))
    assert t.gt_type == "groundtruth/label-verification"
    v = t.check_answer({"label": "bad", "comment": "the van is not boxed"})
    assert t.from_content(t.to_content(v)) == v
    assert t.to_content(v) == {"crowd-image-classifier": {"label": "bad", "workerComment": "the van is not boxed"}}
    answers = [WorkerAnswer("1", "w0", v, T), WorkerAnswer("1", "w1", t.check_answer("bad"), T),
               WorkerAnswer("1", "w2", t.check_answer({"label": "bad", "comment": "missing box"}), T),
               WorkerAnswer("0", "w0", t.check_answer("good"), T)]
    out = t.consolidate(answers, creation_date=DATE)
    meta = out["1"]["verify-vehicle-boxes-metadata"]
    assert out["1"]["verify-vehicle-boxes"] == "1" and meta["class-name"] == "bad"
    assert meta["worker-feedback"] == [{"comment": "the van is not boxed"}, {"comment": "missing box"}]
    assert 0 < meta["confidence"] <= 0.95
    assert out["0"]["verify-vehicle-boxes-metadata"]["confidence"] == 0            # one worker
    assert "worker-feedback" not in out["0"]["verify-vehicle-boxes-metadata"]
    # The boxes under review, from our fixture, go to the card read-only.
    line = objects(read_manifest(OWN / "manifests" / "label-verification__gtw-boxes__output.manifest"))[1]
    assert t.existing(line) == {"label": "bad", "comment": "the van is not boxed"}
    assert t.card_meta(line, None) == {"categories": ["good", "bad"], "boxes": [], "read_only": True, "image_size": SIZE}
