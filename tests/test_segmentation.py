"""The segmentation task types on the seam: answers, label pairs (section 2.6), consolidation."""
from __future__ import annotations

import base64
import io
import json
from datetime import datetime

import numpy as np
import pytest
from PIL import Image

from gtwidgets.errors import JobError
from gtwidgets.masks import color_map, decode_mask, encode_mask
from gtwidgets.tasktypes import TaskConfig, WorkerAnswer, task_type_for
from gtwidgets.tasktypes.segmentation import MaskFile, MaskValue, load_prior
from shared_fixtures import OWN

CATS = ["Solder bridge", "Scratch"]
DATE = "2024-05-01T10:00:00.000000"
OUT = "s3://bucket/jobs/pcb-defects"


def seg(task="semantic-segmentation", attr="pcb-defects-ref", **options):
    options.setdefault("output_uri", OUT)
    return task_type_for(task, TaskConfig(job_name="pcb-defects", label_attribute=attr,
                                          categories=tuple(CATS), options=options))


def _labels():
    labels = np.zeros((20, 30), np.uint8)
    labels[2:8, 3:12] = 1    # Scratch (sorted first)
    labels[10:18, 15:28] = 2  # Solder bridge
    return labels


def test_label_pair_is_section_2_6_and_the_job_writes_the_png():
    tt = seg()
    pair = tt.label_pair(MaskValue(_labels(), object_id="0"), creation_date=DATE)
    json_pair, files = tt.files_of(pair)
    uri = f"{OUT}/annotations/consolidated-annotation/output/0_{DATE}.png"
    assert json_pair["pcb-defects-ref"] == uri and list(files) == [uri]
    meta = json_pair["pcb-defects-ref-metadata"]
    assert meta == {"internal-color-map": {
        "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": 0},
        "1": {"class-name": "Scratch", "hex-color": "#ff7f0e", "confidence": 0},
        "2": {"class-name": "Solder bridge", "hex-color": "#1f77b4", "confidence": 0}},
        "type": "groundtruth/semantic-segmentation", "human-annotated": "yes", "creation-date": DATE,
        "job-name": "labeling-job/pcb-defects"}
    json.dumps(json_pair)
    assert (decode_mask(files[uri].data, meta["internal-color-map"]) == _labels()).all()


def test_attribute_rules_of_section_6_4():
    with pytest.raises(JobError, match="-ref"):
        seg(attr="pcb-defects")
    with pytest.raises(JobError, match="-ref"):
        seg("semantic-segmentation-adjustment", attr="pcb-adjusted", prior_attribute="pcb-defects-ref")
    with pytest.raises(JobError, match="must not end in '-ref'"):
        task_type_for("semantic-segmentation-verification", TaskConfig(
            "verify", "verify-ref", ("good", "bad"), options={"prior_attribute": "pcb-defects-ref"}))
    with pytest.raises(JobError, match="prior_attribute"):
        seg("semantic-segmentation-adjustment", attr="pcb-adjusted-ref")


def test_worker_response_round_trips_in_the_workers_own_colours():
    tt = seg()
    value = tt.check_answer(_labels())
    content = tt.to_content(value)
    body = content["crowd-semantic-segmentation"]
    assert body["inputImageProperties"] == {"height": 20, "width": 30}
    assert body["labelMappings"] == {"Solder bridge": {"color": "#1f77b4"}, "Scratch": {"color": "#ff7f0e"}}
    assert (tt.from_content(content).labels == _labels()).all()
    assert (tt.from_json(json.loads(json.dumps(tt.to_json(value)))).labels == _labels()).all()
    # a worker whose tool used other colours, on a transparent canvas, under the template's name
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[_labels() == 1] = (10, 200, 10, 255)
    rgba[_labels() == 2] = (200, 10, 10, 255)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    answer = {"annotatedResult": {"inputImageProperties": {"height": 20, "width": 30},
                                  "labelMappings": {"Scratch": {"color": "#0ac80a"}, "Solder bridge": {"color": "#c80a0a"}},
                                  "labeledImage": {"pngImageData": base64.b64encode(buf.getvalue()).decode()}}}
    assert (tt.from_content(answer).labels == _labels()).all()
    assert tt.classes_of(value) == CATS


def test_answers_that_do_not_fit_say_why():
    tt = seg()
    with pytest.raises(ValueError, match="crowd-semantic-segmentation"):
        tt.from_content({"crowd-bounding-box": {}})
    with pytest.raises(JobError, match="class index 3"):
        tt.check_answer(np.full((2, 2), 3, np.uint8))
    body = tt.to_content(tt.check_answer(_labels()))["crowd-semantic-segmentation"]
    with pytest.raises(ValueError, match="Dent"):
        tt.from_content({"crowd-semantic-segmentation": {**body, "labelMappings": {"Dent": {"color": "#123456"}}}})
    with pytest.raises(ValueError, match="resolution"):
        tt.from_content({"crowd-semantic-segmentation": {**body, "inputImageProperties": {"height": 40, "width": 60}}})


def test_pre_labels_from_a_model_array_or_png():
    tt = seg()
    assert (tt.check_answer(encode_mask(_labels(), tt.color_map)).labels == _labels()).all()


def test_three_workers_consolidate_to_one_mask_with_one_confidence():
    tt = seg()
    truth = _labels()
    noisy = truth.copy()
    noisy[0:2, 0:2] = 2
    answers = [WorkerAnswer("7", w, tt.check_answer(m), datetime(2024, 5, 1))
               for w, m in (("a", truth), ("b", truth), ("c", noisy))]
    pairs = tt.consolidate(answers, creation_date=DATE)
    json_pair, files = tt.files_of(pairs["7"])
    cmap = json_pair["pcb-defects-ref-metadata"]["internal-color-map"]
    assert (decode_mask(next(iter(files.values())).data, cmap) == truth).all()
    confidences = {e["confidence"] for e in cmap.values()}
    assert len(confidences) == 1 and 0.9 < confidences.pop() < 1


def test_adjustment_starts_from_the_prior_mask_and_writes_its_status(tmp_path):
    fixture = (OWN / "manifests" / "semantic-segmentation-adjustment__gtw__output.manifest").read_text()
    line = json.loads(fixture.splitlines()[0])
    adj = seg("semantic-segmentation-adjustment", attr="pcb-defects-adjusted-ref", prior_attribute="pcb-defects-ref")
    prior = adj.existing({k: v for k, v in line.items() if not k.startswith("pcb-defects-adjusted")})
    assert prior.uri == line["pcb-defects-ref"] and prior.color_map["2"]["class-name"] == "Solder bridge"
    assert adj.card_meta(line, None)["categories"][0] == {"name": "Solder bridge", "color": "#1f77b4", "value": 2}
    # the prior's own colour map, read from its file and renumbered to this job
    local = tmp_path / "prior.png"
    local.write_bytes(encode_mask(_labels()[:, ::-1] % 3, prior.color_map))
    labels = load_prior(type(prior)(str(local), prior.color_map), CATS)
    value = adj.check_answer({"labeledImage": {"pngImageData": base64.b64encode(
        encode_mask(labels, adj.color_map)).decode()}, "labelMappings": {c: {"color": adj.colors[c]} for c in CATS},
        "initialValueModified": False})
    pair = adj.label_pair(MaskValue(value.labels, value.initial_value_modified, object_id="0"), creation_date=DATE)
    assert pair["pcb-defects-adjusted-ref-metadata"]["adjustment-status"] == "unadjusted"
    assert adj.to_content(value)["crowd-semantic-segmentation"]["initialValueModified"] is False


def test_verification_rates_masks_like_ground_truths_label_verification():
    tt = task_type_for("semantic-segmentation-verification", TaskConfig(
        "verify-pcb-defects", "verify-pcb-defects", ("good", "bad"), options={"prior_attribute": "pcb-defects-ref"}))
    answers = [WorkerAnswer("0", w, tt.check_answer(a), datetime(2024, 5, 1))
               for w, a in (("a", "bad"), ("b", {"label": "bad", "comment": "bridge missed"}), ("c", "good"))]
    pair = tt.consolidate(answers, creation_date=DATE)["0"]
    assert pair["verify-pcb-defects"] == "1"
    meta = pair["verify-pcb-defects-metadata"]
    assert meta["type"] == "groundtruth/label-verification" and meta["worker-feedback"] == [{"comment": "bridge missed"}]
    line = json.loads((OWN / "manifests" / "label-verification__gtw-segmentation__output.manifest").read_text().splitlines()[0])
    assert tt.card_meta(line, None)["prior"]["uri"] == line["pcb-defects-ref"]
    assert tt.existing(line) == {"label": "bad", "comment": "bridge missed"}  # the rating and its first comment, as for boxes


def test_label_pair_needs_a_name_for_the_png():
    with pytest.raises(JobError, match="object_id or uri"):
        seg().label_pair(MaskValue(_labels()), creation_date=DATE)
    pair = seg().label_pair(MaskValue(_labels(), uri="s3://b/x.png"), creation_date=DATE)
    assert isinstance(pair["pcb-defects-ref"], MaskFile) and pair["pcb-defects-ref"].uri == "s3://b/x.png"
