"""gtwidgets.datasets: offline sample data, byte-stable per seed, written locally or to S3."""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gtwidgets import storage
from gtwidgets.datasets import (CSV_HEADER, FASHION_CATEGORIES, TRAFFIC_SIGN_CATEGORIES,
                                WELDING_CATEGORIES, draw_fashion_item, draw_traffic_sign, draw_weld,
                                make_fashion, make_traffic_signs, make_welding, weld_signals)
from gtwidgets.datasets._common import item_rng


def read_manifest_lines(path: str) -> list[dict]:
    return [json.loads(line) for line in storage.read_text(path).splitlines()]


def files_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, minus the index files that name the folder."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in ("dataset.manifest", "labels.csv") and p.parent.name != "dataset"}


@pytest.fixture(scope="module")
def fashion(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    dest = tmp_path_factory.mktemp("fashion")
    return dest, make_fashion(dest, progress=False)


@pytest.fixture(scope="module")
def welding(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    dest = tmp_path_factory.mktemp("welding")
    return dest, make_welding(dest, n=6, progress=False)


# ---------------------------------------------------------------------------- fashion

def test_fashion_has_the_course_shape(fashion):
    dest, frame = fashion
    assert list(frame.columns) == ["source-ref", "true-class"]
    assert [Path(p).name for p in frame["source-ref"]] == [f"{k:03d}.jpg" for k in range(1, 21)]
    assert list(frame["true-class"]) == [c for c in ["Bag", "Eyewear", "Flipflop", "Watch"] for _ in range(5)]
    assert FASHION_CATEGORIES == ["Bag", "Eyewear", "Flipflop", "Watch"]
    for ref in frame["source-ref"]:
        with Image.open(ref) as im:
            assert (im.format, im.size, im.mode) == ("JPEG", (256, 256), "RGB")
            assert "exif" not in im.info


def test_manifest_is_compact_json_lines_without_the_answer(fashion):
    dest, frame = fashion
    text = (dest / "dataset.manifest").read_text()
    assert text.endswith("\n") and ": " not in text and ", " not in text
    lines = read_manifest_lines(str(dest / "dataset.manifest"))
    assert lines == [{"source-ref": ref} for ref in frame["source-ref"]]
    answers = pd.read_csv(dest / "labels.csv")
    pd.testing.assert_frame_equal(answers, frame)
    assert frame.attrs["manifest"] == str(dest / "dataset.manifest")


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, fashion):
    first, _ = fashion  # seed 0
    make_fashion(tmp_path / "again", seed=0, progress=False)
    make_fashion(tmp_path / "other", seed=1, progress=False)
    same, other = files_bytes(first), files_bytes(tmp_path / "other")
    assert same == files_bytes(tmp_path / "again")
    assert same.keys() == other.keys() and len(same) == 20
    assert all(same[name] != other[name] for name in same)


def test_welding_is_byte_stable_too(tmp_path):
    runs = {name: make_welding(tmp_path / name, n=2, seed=seed, progress=False)
            for name, seed in (("a", 5), ("b", 5), ("c", 6))}
    a, b, c = (files_bytes(tmp_path / name) for name in "abc")
    assert a == b and len(a) == 4
    assert all(a[name] != c[name] for name in a)
    assert list(runs["a"]["true-class"]) == list(runs["c"]["true-class"])


def test_classes_are_told_apart_by_a_nearest_centroid_on_thumbnails():
    """A crude check that the drawings carry their class: centroids from seed 0 classify seed 1."""
    def features(category: str, seed: int, index: int) -> np.ndarray:
        im = draw_fashion_item(category, item_rng(seed, "fashion", index), (256, 256))
        grey = np.asarray(im.convert("L").resize((24, 24), Image.BILINEAR), float)
        edges = np.abs(np.diff(grey, axis=0))[:, :-1] + np.abs(np.diff(grey, axis=1))[:-1, :]
        return edges.ravel() / (np.linalg.norm(edges) + 1e-9)

    centroids = {c: np.mean([features(c, 0, k) for k in range(5)], axis=0) for c in FASHION_CATEGORIES}
    tests = [(c, features(c, 1, k)) for c in FASHION_CATEGORIES for k in range(5)]
    right = sum(max(centroids, key=lambda name: float(f @ centroids[name])) == c for c, f in tests)
    assert right >= 16, f"only {right}/20 thumbnails were nearest their own class"


# ---------------------------------------------------------------------------- traffic signs

def test_traffic_signs_counts_sizes_and_shuffled_order(tmp_path):
    frame = make_traffic_signs(tmp_path, per_class=2, seed=1, progress=False)
    assert len(TRAFFIC_SIGN_CATEGORIES) >= 8
    assert Counter(frame["true-class"]) == {c: 2 for c in TRAFFIC_SIGN_CATEGORIES}
    assert [Path(p).name for p in frame["source-ref"]] == [f"{k:03d}.jpg" for k in range(1, 21)]
    blocks = [c for c in TRAFFIC_SIGN_CATEGORIES for _ in range(2)]
    assert list(frame["true-class"]) != blocks  # file names give no hint of the class
    for ref in frame["source-ref"]:
        with Image.open(ref) as im:
            assert (im.format, im.size) == ("JPEG", (224, 224))
    again = make_traffic_signs(tmp_path / "again", per_class=2, seed=1, progress=False)
    assert list(again["true-class"]) == list(frame["true-class"])
    assert all(Path(a).read_bytes() == Path(b).read_bytes()
               for a, b in zip(frame["source-ref"], again["source-ref"]))


def test_traffic_signs_know_where_the_sign_is(tmp_path):
    """``true-boxes``: one box a scene, around the sign's strong red pixels (signs with red), the same every run."""
    frame = make_traffic_signs(tmp_path, per_class=1, seed=0, progress=False)
    assert list(frame.columns) == ["source-ref", "true-class", "true-boxes"]
    reds = 0
    for ref, category, boxes in zip(frame["source-ref"], frame["true-class"], frame["true-boxes"]):
        (box,) = boxes
        assert box["label"] == category
        left, top, width, height = box["left"], box["top"], box["width"], box["height"]
        assert 20 <= width <= 224 and 20 <= height <= 224 and left + width <= 224 and top + height <= 224
        if category in ("Pedestrian Crossing", "Roundabout", "Priority Road"):
            continue  # no red in them
        im = np.asarray(Image.open(ref).convert("RGB"), int)
        red = (im[..., 0] > 110) & (im[..., 1] < 80) & (im[..., 2] < 90)
        inside = red[top:top + height, left:left + width]
        assert inside.sum() >= 0.95 * red.sum(), (category, box)   # the sign's red is in its box
        assert inside.mean() >= 0.1, (category, box)                # and the box is not much bigger
        reds += 1
    assert reds == 7
    again = make_traffic_signs(tmp_path / "again", per_class=1, seed=0, progress=False)
    assert again["true-boxes"].tolist() == frame["true-boxes"].tolist()
    key = pd.read_csv(tmp_path / "labels.csv")
    assert [json.loads(v) for v in key["true-boxes"]] == frame["true-boxes"].tolist()


def test_sign_colours_match_the_sign():
    """Red signs are mostly red, blue ones mostly blue: checked on the clean sign region."""
    def share(category: str, colour: str) -> float:
        im = np.asarray(draw_traffic_sign(category, item_rng(0, "traffic-signs", 0)), int)
        r, g, b = im[..., 0], im[..., 1], im[..., 2]
        mask = (r > g + 60) & (r > b + 60) if colour == "red" else (b > r + 50) & (b > g + 20)
        return float(mask.mean())

    assert share("Stop", "red") > share("Roundabout", "red")
    assert share("Roundabout", "blue") > share("Stop", "blue")
    assert share("Pedestrian Crossing", "blue") > share("Speed Limit 50", "blue")


# ---------------------------------------------------------------------------- welding

def test_welding_layout_points_at_files_that_exist(welding):
    dest, frame = welding
    assert list(frame.columns) == ["source", "true-class"]
    assert list(frame["true-class"]) == [c for c in WELDING_CATEGORIES if c != "Not sure"]
    assert read_manifest_lines(str(dest / "dataset.manifest")) == [{"source": s} for s in frame["source"]]
    for k, source in enumerate(frame["source"], start=1):
        assert source == str(dest / "dataset" / f"dataset-{k}.json")
        record = json.loads(Path(source).read_text())
        assert record == {"sensor_data": {"s3Path": str(dest / "sensor_data" / f"weld-{k}.csv")},
                          "image": {"s3Path": str(dest / "images" / f"weld-{k}.png")}}
        with Image.open(record["image"]["s3Path"]) as im:
            assert (im.format, im.size) == ("PNG", (640, 360))
        csv = Path(record["sensor_data"]["s3Path"]).read_text()
        assert csv.splitlines()[0] == CSV_HEADER


def test_default_is_five_welds_starting_with_a_good_one(tmp_path):
    frame = make_welding(tmp_path, progress=False)
    assert list(frame["true-class"]) == WELDING_CATEGORIES[:5]


def _signals(dest: Path) -> dict[str, list[pd.DataFrame]]:
    by_class: dict[str, list[pd.DataFrame]] = {}
    for source, category in zip(*[pd.read_csv(dest / "labels.csv")[c] for c in ("source", "true-class")]):
        csv = json.loads(Path(source).read_text())["sensor_data"]["s3Path"]
        by_class.setdefault(category, []).append(pd.read_csv(csv))
    return by_class


def test_sensor_csvs_are_1khz_recordings(welding):
    for frames in _signals(welding[0]).values():
        for f in frames:
            assert list(f.columns) == CSV_HEADER.split(",")
            assert 2000 <= len(f) <= 5000
            clock = f[CSV_HEADER.split(",")[0]].to_numpy()  # the time column, 1 kHz from 0
            assert (clock == np.arange(len(f))).all()


def test_sensor_shapes_differ_per_class_as_documented(welding):
    signals = _signals(welding[0])

    def stat(category: str, fn) -> list[float]:
        return [fn(f) for f in signals[category]]

    def others(category: str, fn) -> list[float]:
        return [fn(f) for c, frames in signals.items() if c != category for f in frames]

    peak = lambda f: f["current"].max()
    assert min(stat("Burn Through", peak)) > max(others("Burn Through", peak)) + 50
    low_v = lambda f: f["voltage"].iloc[100:].min()
    assert max(stat("Burn Through", low_v)) < min(others("Burn Through", low_v))
    jitter = lambda f: f["current"].diff().std()
    assert min(stat("Contamination", jitter)) > 2 * max(others("Contamination", jitter))
    level = lambda f: f["current"].median()
    assert max(stat("Lack of Fusion", level)) < min(others("Lack of Fusion", level)) - 20
    volts = lambda f: f["voltage"].median()
    assert min(stat("Lack of Shielding Gas", volts)) > max(others("Lack of Shielding Gas", volts)) + 2
    speed = lambda f: np.polyfit(f["timestamp_ms"] / 1000, f["electrode_position"], 1)[0]
    assert min(stat("High Travel Speed", speed)) > 2 * max(others("High Travel Speed", speed))
    assert max(stat("High Travel Speed", len)) < min(others("High Travel Speed", len))


def test_burn_through_hole_sits_where_the_current_spiked():
    rng = item_rng(0, "welding", 99)
    signals = weld_signals("Burn Through", rng)
    spike_at = signals["current"].idxmax() / len(signals)
    assert signals.attrs["events"] == [pytest.approx(spike_at, abs=0.02)]
    grey = np.asarray(draw_weld("Burn Through", rng, events=signals.attrs["events"]).convert("L"), float)
    darkest_column = int(np.argmin(grey[150:210].mean(axis=0)))
    assert (0.04 + 0.78 * spike_at) * 640 - 10 < darkest_column < (0.1 + 0.9 * spike_at) * 640 + 10


# ---------------------------------------------------------------------------- S3, options, errors

def test_upload_to_s3_matches_the_local_bytes(s3, tmp_path, fashion):
    frame = make_fashion(f"{s3}/course/", progress=False)
    assert frame["source-ref"][0] == f"{s3}/course/001.jpg"
    keys = storage.list_files(f"{s3}/course")
    assert len(keys) == 22 and f"{s3}/course/dataset.manifest" in keys
    assert read_manifest_lines(f"{s3}/course/dataset.manifest") == [{"source-ref": r} for r in frame["source-ref"]]
    local_dest, local = fashion
    for remote, path in zip(frame["source-ref"], local["source-ref"]):
        assert storage.read_bytes(remote) == Path(path).read_bytes()


def test_welding_on_s3_uses_s3_paths(s3):
    frame = make_welding(f"{s3}/weld", n=2, progress=False)
    for source in frame["source"]:
        record = json.loads(storage.read_bytes(source))
        for part in ("sensor_data", "image"):
            assert record[part]["s3Path"].startswith(f"{s3}/weld/")
            assert storage.exists(record[part]["s3Path"])


def test_without_manifest_and_into_a_temporary_folder(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # the plain-text counter instead of tqdm
    frame = make_welding(n=1, write_manifest=False, progress=True)
    dest = Path(frame.attrs["dest"])
    assert dest.is_dir() and str(dest) in frame["source"][0]
    assert not (dest / "dataset.manifest").exists() and not (dest / "labels.csv").exists()
    assert "welding: 1/1" in capsys.readouterr().err


@pytest.mark.parametrize("call, message", [
    (lambda: draw_fashion_item("Hat", item_rng(0, "fashion", 0)), "not a fashion category"),
    (lambda: draw_traffic_sign("Yield!", item_rng(0, "traffic-signs", 0)), "not a traffic-sign category"),
    (lambda: weld_signals("Not sure", item_rng(0, "welding", 0)), "not a weld class"),
    (lambda: make_fashion(seed=-1, progress=False), "seed=-1"),
    (lambda: make_traffic_signs(per_class=0, progress=False), "per_class=0"),
])
def test_mistakes_are_explained(call, message):
    with pytest.raises(ValueError, match=message):
        call()
