"""Review of a segmentation job, kernel side: the card carries each worker's mask, the consolidated
one and where they disagree as layers (PNG buffers), with each worker's IoU; a decision names a mask
and the output manifest holds its pixels."""
from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest
from PIL import Image

from gtwidgets import storage
from gtwidgets.consolidate_masks import vote_masks
from gtwidgets.job import LabelingJob
from gtwidgets.manifests import read_manifest
from gtwidgets.masks import color_map, decode_mask, mean_iou, read_masks
from gtwidgets.review import CONSOLIDATED_COLOR, WORKER_COLORS, ReviewWidget
from gtwidgets.review_masks import DISAGREEMENT_COLOR
from test_widget import Browser, wait_for_traits  # tests/ is on sys.path

CATS = ["cat", "dog"]      # cat 1, dog 2
CMAP = color_map(CATS)


def painted(shift=0, dog=True):
    labels = np.zeros((30, 40), np.uint8)
    labels[3:10, 4 + shift:16 + shift] = 1
    if dog:
        labels[15:25, 20:34] = 2
    return labels


# object 0: ann and bob agree, cyd's cat is off and they forgot the dog; object 1: all agree
MASKS = {"ann": [painted(), painted()], "bob": [painted(), painted()], "cyd": [painted(shift=6, dog=False), painted()]}


def _job(tmp_path, worker):
    paths = []
    for i in range(2):
        p = tmp_path / f"img{i}.png"
        if not p.exists():
            Image.new("RGB", (40, 30), (30 * i, 90, 60)).save(p)
        paths.append(str(p))
    return LabelingJob("pets", input=pd.DataFrame({"source-ref": paths}), categories=CATS,
                       output=str(tmp_path / "out"), worker_id=worker, workers_per_object=3,
                       task="semantic-segmentation", label_attribute="pets-ref",
                       journal_dir=tmp_path / "journal" / worker, manifest_interval=0)


@pytest.fixture
def reviewed(tmp_path):
    for worker, masks in MASKS.items():
        job = _job(tmp_path, worker)
        for i, m in enumerate(masks):
            job.submit(i, m)
        assert job.flush(30)
        job.close()
    job = _job(tmp_path, "teacher")
    yield job
    job.close()


def test_a_card_shows_every_mask_and_where_the_workers_disagree(reviewed):
    w = ReviewWidget(reviewed, reviewer="teacher")
    assert w.queue == ["0"]   # object 1: every worker painted the same
    browser = Browser(w)
    [(card, buffers)] = browser.ask({"type": "cards", "positions": [0]}, replies=1)
    assert card["tool"] == "masks" and len(buffers) == 1 + 5   # the image, then the layers
    meta = card["tool_meta"]
    assert meta["read_only"] and meta["image_size"] == {"width": 40, "height": 30}
    assert meta["legend"] == [{"name": "cat", "color": "#1f77b4"}, {"name": "dog", "color": "#ff7f0e"}]
    layers = meta["layers"]
    assert [x["name"] for x in layers] == ["consolidated", "ann", "bob", "cyd", "disagreement"]
    assert [x.get("pick") for x in layers] == [{"pick": "consolidated"}, {"pick": "worker", "worker": "ann"},
                                              {"pick": "worker", "worker": "bob"},
                                              {"pick": "worker", "worker": "cyd"}, None]
    assert [x["color"] for x in layers] == [CONSOLIDATED_COLOR, *WORKER_COLORS[:3], DISAGREEMENT_COLOR]
    shown = {x["name"]: bytes(buffers[x["buffer"]]) for x in layers}
    given = [m[0] for m in MASKS.values()]
    voted = vote_masks(given).labels
    assert np.array_equal(decode_mask(shown["consolidated"], CMAP), voted)
    for worker, masks in MASKS.items():
        assert np.array_equal(decode_mask(shown[worker], CMAP), masks[0])
    marks = {"0": {"class-name": "BACKGROUND", "hex-color": "#ffffff"},
             "1": {"class-name": "disagreement", "hex-color": DISAGREEMENT_COLOR}}
    assert np.array_equal(decode_mask(shown["disagreement"], marks),
                          ((given[0] != given[1]) | (given[0] != given[2])).astype(np.uint8))
    review = card["review"]
    assert review["value"] == {"pick": "consolidated"} and review["consolidated"] == CATS
    assert [(a["worker"], a["answer"], a["color"]) for a in review["answers"]] == [
        ("ann", CATS, WORKER_COLORS[0]), ("bob", CATS, WORKER_COLORS[1]), ("cyd", ["cat"], WORKER_COLORS[2])]
    ious = {a["worker"]: a["iou"] for a in review["answers"]}
    assert ious["cyd"] == pytest.approx(mean_iou(given[2], voted), abs=1e-4) and ious["cyd"] < ious["ann"]
    assert 0 < review["confidence"] < 1
    w.close()


def test_a_decision_is_the_mask_shown(reviewed):
    w = ReviewWidget(reviewed, reviewer="teacher")
    browser = Browser(w)
    errors = browser.ask({"type": "submit", "id": "0", "answer": {"pick": "worker", "worker": "dan"}}, replies=1)
    assert errors[0][0]["type"] == "error" and "ann" in errors[0][0]["message"]  # says whose masks there are
    w.handle({"type": "batch", "position": 1, "messages": [
        {"type": "submit", "id": "0", "answer": {"pick": "worker", "worker": "cyd"}, "spent": 2.0}]})
    wait_for_traits(w, position=1)
    (decided,) = reviewed.adjudications["label"]
    assert np.array_equal(decided.labels, MASKS["cyd"][0])   # the pixels of the mask picked
    progress = w.strategy.progress()
    assert progress["labeled"] == 1 and progress["per_class"] == {"cat": 1, "dog": 0}
    assert reviewed.flush(30)
    lines = [orjson.loads(x) for x in storage.read_bytes(reviewed.output_manifest_uri).splitlines()]
    assert {e["confidence"] for e in lines[0]["pets-ref-metadata"]["internal-color-map"].values()} == {1}
    masks = read_masks(read_manifest(reviewed.output_manifest_uri), "pets-ref")
    assert np.array_equal(masks[0], MASKS["cyd"][0]) and np.array_equal(masks[1], painted())

    w.handle({"type": "submit", "id": "0", "answer": {"pick": "consolidated"}})   # Enter on the consolidated mask
    assert reviewed.flush(30)
    masks = read_masks(read_manifest(reviewed.output_manifest_uri), "pets-ref")
    assert np.array_equal(masks[0], vote_masks([m[0] for m in MASKS.values()]).labels)
    w.close()


def test_a_verification_review_shows_the_mask_under_review_and_the_keys_decide(tmp_path):
    from gtwidgets.masks import encode_mask

    mask = tmp_path / "prior.png"
    mask.write_bytes(encode_mask(painted(), CMAP))
    paths = []
    for i in range(2):
        p = tmp_path / f"img{i}.png"
        Image.new("RGB", (40, 30)).save(p)
        paths.append(str(p))
    frame = pd.DataFrame({"source-ref": paths, "pets-ref": [str(mask)] * 2,
                          "pets-ref-metadata": [{"internal-color-map": CMAP}] * 2})

    def job(worker):
        return LabelingJob("verify-pets", input=frame, categories=["good", "bad"], output=str(tmp_path / "out"),
                           worker_id=worker, workers_per_object=2, task="semantic-segmentation-verification",
                           options={"prior_attribute": "pets-ref"}, journal_dir=tmp_path / "journal" / worker)
    for worker, rating in (("ann", "good"), ("bob", {"label": "bad", "comment": "the tail"})):
        j = job(worker)
        j.submit(0, rating)
        j.submit(1, "good")
        assert j.flush(30)
        j.close()
    lead = job("teacher")
    w = ReviewWidget(lead, reviewer="teacher")
    assert w.queue == ["0"]
    [(card, buffers)] = Browser(w).ask({"type": "cards", "positions": [0]}, replies=1)
    review = card["review"]
    assert [a["answer"] for a in review["answers"]] == [["good"], ["bad"]] and "value" not in review
    assert review["consolidated"] in (["good"], ["bad"]) and 0 < review["confidence"] < 1
    meta = card["tool_meta"]
    assert card["tool"] == "masks" and meta["read_only"] and meta["layers"][0]["name"] == "pets-ref"
    assert bytes(buffers[meta["layers"][0]["buffer"]]) == mask.read_bytes()   # the mask under review, as is
    w.handle({"type": "submit", "id": "0", "answer": "bad"})                   # a category key decides
    assert lead.flush(30)
    line = orjson.loads(storage.read_bytes(lead.output_manifest_uri).splitlines()[0])
    assert line["verify-pets"] == "1" and line["verify-pets-metadata"]["confidence"] == 1
    w.close()
    lead.close()
