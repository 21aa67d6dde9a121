"""Masks as Ground Truth stores them: colour PNG + internal-color-map <-> class-index arrays."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gtwidgets.datasets import FASHION_CATEGORIES, make_fashion, make_fashion_masks
from gtwidgets.masks import (CATEGORY10, class_indices, color_map, decode_mask, encode_mask, mean_iou,
                             palette, read_mask, read_masks)
from gtwidgets import storage
from shared_fixtures import FIXTURES, needs_shared


@needs_shared
def test_color_map_reproduces_the_real_pcb_job():
    """The real job: IC #2ca02c at "1", resistor1 #1f77b4 at "2", resistor2 #ff7f0e at "3".
    Indices follow the sorted names; colours follow the labels' listed order, which must have
    been resistor1, resistor2, IC (category10 in that order)."""
    line = json.loads((FIXTURES / "manifests" / "semantic-segmentation__l4v-pcb__output.manifest").read_text())
    real = line["S10-label3-ref-metadata"]["internal-color-map"]
    assert color_map(["resistor1", "resistor2", "IC"]) == real


def test_documented_examples_fit_listing_order_colours_and_sorted_indices():
    # developer guide, crowd-semantic-segmentation initial-value: Dog, Bird, Cat, Cow listed in that order
    cmap = color_map(["Dog", "Bird", "Cat", "Cow"])
    assert {e["class-name"]: e["hex-color"] for e in cmap.values()} == {
        "BACKGROUND": "#ffffff", "Dog": "#1f77b4", "Bird": "#ff7f0e", "Cat": "#2ca02c", "Cow": "#d62728"}
    # developer guide, 3D point cloud segmentation output: Car "1", Pedestrian "2", Tree "3"
    assert [cmap["class-name"] for _, cmap in sorted(color_map(["Pedestrian", "Tree", "Car"]).items())] == [
        "BACKGROUND", "Car", "Pedestrian", "Tree"]
    assert class_indices(["b", "a"]) == {"a": 1, "b": 2}


def test_palette_stays_distinct_and_never_white_past_ten_labels():
    colors = palette(255)
    assert colors[:10] == list(CATEGORY10)
    assert len(set(colors)) == 255 and "#ffffff" not in colors


def test_encode_then_decode_round_trips_and_writes_rgb_in_the_map_colours():
    cmap = color_map(["cat", "dog"])
    labels = np.zeros((30, 40), np.uint8)
    labels[5:15, 5:20] = 1
    labels[20:, 25:] = 2
    png = encode_mask(labels, cmap)
    image = Image.open(io.BytesIO(png))
    assert image.mode == "RGB" and image.size == (40, 30)
    assert image.getpixel((0, 0)) == (255, 255, 255) and image.getpixel((6, 6)) == (31, 119, 180)
    assert (decode_mask(png, cmap) == labels).all()


def test_decode_reads_transparent_as_background_and_odd_colours_as_the_nearest():
    cmap = color_map(["cat", "dog"])
    rgba = np.zeros((4, 4, 4), np.uint8)           # transparent: the tool's empty canvas
    rgba[0, 0] = (31, 119, 180, 255)               # cat exactly
    rgba[1, 1] = (250, 130, 20, 255)               # near dog's #ff7f0e
    rgba[2, 2] = (0, 0, 0, 0)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    out = decode_mask(buf.getvalue(), cmap)
    assert out[0, 0] == 1 and out[1, 1] == 2 and out[2, 2] == 0 and out.sum() == 3


@pytest.mark.parametrize("transparency", ["index", "alpha table"])
def test_palette_pngs_decode_by_the_same_rules(transparency):
    """The widget answers with palette PNGs (palette index = class value, 0 transparent); read
    entry by entry, they give what the same pixels give as RGBA."""
    cmap = color_map(["cat", "dog"])
    indices = np.array([[0, 1, 2, 3], [3, 2, 1, 0], [4, 4, 0, 1]], np.uint8)
    palette = [255, 255, 255, 31, 119, 180, 255, 127, 14, 250, 130, 20, 9, 9, 9]  # 3: near dog; 4: odd, opaque
    image = Image.fromarray(indices, "P")
    image.putpalette(palette)
    buf = io.BytesIO()
    image.save(buf, "PNG", transparency=0 if transparency == "index" else bytes([0, 255, 255, 255, 255]))
    assert Image.open(io.BytesIO(buf.getvalue())).mode == "P"
    out = decode_mask(buf.getvalue(), cmap)
    assert out.tolist() == [[0, 1, 2, 2], [2, 2, 1, 0], [1, 1, 0, 1]]  # 9,9,9 is nearest cat (#1f77b4)
    assert (out == decode_mask(Image.open(io.BytesIO(buf.getvalue())).convert("RGBA"), cmap)).all()


def test_encode_refuses_indices_the_map_lacks():
    with pytest.raises(ValueError, match=r"\[5\]"):
        encode_mask(np.full((2, 2), 5, np.uint8), color_map(["a"]))


def test_mean_iou_leaves_out_the_background_and_counts_false_classes():
    truth = np.zeros((10, 10), np.uint8)
    truth[:5] = 1
    pred = truth.copy()
    assert mean_iou(pred, truth) == 1.0
    pred[9, 9] = 2                                   # a class the truth lacks: IoU 0 for it
    assert mean_iou(pred, truth) == pytest.approx(0.5)
    assert mean_iou(truth, truth, background=True) == 1.0


def test_fashion_masks_are_the_fashion_images_with_their_true_masks(tmp_path):
    frame = make_fashion_masks(tmp_path / "m", progress=False)
    plain = make_fashion(tmp_path / "p", progress=False)
    assert [storage.read_bytes(u) for u in frame["source-ref"]] == [storage.read_bytes(u) for u in plain["source-ref"]]
    cmap = frame.attrs["color_map"]
    index = class_indices(FASHION_CATEGORIES)
    for row in frame.itertuples():
        mask = read_mask(row._3, cmap)
        assert mask.shape == (256, 256)
        # one item per image: its class, on a background covering most of the picture
        assert set(np.unique(mask).tolist()) == {0, index[row._2]}
        assert 0.05 < (mask > 0).mean() < 0.5
    again = make_fashion_masks(tmp_path / "again", progress=False)
    assert [storage.read_bytes(u) for u in again["true-mask"]] == [storage.read_bytes(u) for u in frame["true-mask"]]
    assert pd.read_csv(frame.attrs["labels"]).columns.tolist() == ["source-ref", "true-class", "true-mask"]


def test_read_masks_gives_one_array_per_manifest_row(tmp_path):
    cmap = color_map(["cat", "dog"])
    labels = np.zeros((8, 8), np.uint8)
    labels[2:4, 2:6] = 2
    uri = str(tmp_path / "0_2024-01-01T00:00:00.000000.png")
    storage.write_bytes(uri, encode_mask(labels, cmap))
    frame = pd.DataFrame({"source-ref": ["a.jpg", "b.jpg"], "pets-ref": [uri, None],
                          "pets-ref-metadata": [{"internal-color-map": cmap}, None]})
    out = read_masks(frame, "pets-ref")
    assert (out.iloc[0] == labels).all() and out.iloc[1] is None
    with pytest.raises(KeyError, match="pets-ref"):
        read_masks(frame, "other-ref")
