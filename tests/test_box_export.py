"""Box manifests to COCO and YOLO and back."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from gtwidgets.box_export import from_coco, read_yolo, to_coco, write_yolo
from gtwidgets.errors import ManifestError
from gtwidgets.manifests import objects, read_manifest
from shared_fixtures import FIXTURES, OWN, needs_shared

OURS = OWN / "manifests" / "bounding-box__gtw__output.manifest"
ATTR = "vehicle-boxes"
DATE = "2022-09-09T17:25:32.047919"


def labels(df, attr=ATTR):
    """The label pair of each line, without creation-date (a conversion stamps its own)."""
    out = []
    for line in objects(df):
        meta = {k: v for k, v in line[attr + "-metadata"].items() if k != "creation-date"}
        out.append((line["source-ref"], line[attr], meta))
    return out


def test_coco_round_trip_keeps_every_box_class_and_confidence(tmp_path):
    df = read_manifest(OURS)
    coco = to_coco(df, ATTR, image_root="s3://gtw-demo-bucket/")
    assert coco["images"][0] == {"id": 1, "file_name": "street/0001.jpg", "width": 640, "height": 480}
    assert coco["annotations"][0]["bbox"] == [237.0, 165.2, 164.60000000000002, 157.5]
    assert coco["annotations"][0]["category_id"] == 1 and coco["annotations"][0]["score"] == 0.86
    assert {c["name"] for c in coco["categories"]} >= {"Car", "Truck", "Bicycle"}
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(coco))
    back = from_coco(path, ATTR, job_name="vehicle-boxes", image_root="s3://gtw-demo-bucket/")
    assert labels(back) == labels(df)


def test_yolo_round_trip_to_a_millionth_of_the_image(tmp_path):
    df = read_manifest(OURS)
    written = write_yolo(df, ATTR, tmp_path)
    assert (tmp_path / "0001.txt").read_text().splitlines()[0] == "0 0.498906 0.508229 0.257188 0.328125"
    assert (tmp_path / "0002.txt").read_text() == ""            # no objects: an empty file
    assert written[-1].read_text().splitlines()[0] == "Car"
    images = pd.DataFrame({"source-ref": df["source-ref"], "width": 640, "height": 480})
    back = read_yolo(tmp_path, ATTR, images, job_name="vehicle-boxes")
    for (src, label, meta), (src0, label0, meta0) in zip(labels(back), labels(df)):
        assert src == src0 and meta["class-map"] == meta0["class-map"]
        for a, b in zip(label["annotations"], label0["annotations"]):
            assert a["class_id"] == b["class_id"]
            assert all(abs(a[k] - b[k]) <= 640 * 1e-6 for k in ("left", "top", "width", "height"))


def test_yolo_refuses_two_images_with_one_file_name(tmp_path):
    df = read_manifest(OURS)
    df.loc[1, "source-ref"] = "s3://other/0001.jpg"
    with pytest.raises(ManifestError, match="would both write 0001.txt"):
        write_yolo(df, ATTR, tmp_path)


@needs_shared
def test_a_real_ground_truth_box_file_round_trips_through_coco():
    df = read_manifest(FIXTURES / "manifests" / "bounding-box__cat-labels__output.manifest")
    back = from_coco(to_coco(df, "cat-ground-truth"), "cat-ground-truth")
    ours = [(s, {**lab, "image_size": [{**lab["image_size"][0], "depth": 3}]}, m) for s, lab, m in labels(back, "cat-ground-truth")]
    real = labels(df, "cat-ground-truth")
    assert [(s, lab) for s, lab, _ in ours] == [(s, lab) for s, lab, _ in real]
    assert [m["class-map"] for *_, m in ours] == [m["class-map"] for *_, m in real]
