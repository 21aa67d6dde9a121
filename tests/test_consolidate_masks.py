"""Several workers' masks -> one: simulated workers on the fashion images with true masks."""
from __future__ import annotations

import numpy as np
import pytest

from gtwidgets.consolidate_masks import vote_masks
from gtwidgets.datasets import make_fashion_masks, noisy_masks
from gtwidgets.masks import mean_iou, read_mask


@pytest.fixture(scope="module")
def truths(tmp_path_factory):
    frame = make_fashion_masks(tmp_path_factory.mktemp("fm"), progress=False)
    return [read_mask(u, frame.attrs["color_map"]) for u in frame["true-mask"]]


def test_consolidated_mask_beats_the_best_single_worker_on_every_image(truths):
    for i, truth in enumerate(truths):
        workers = noisy_masks(truth, 3, seed=i)
        best = max(mean_iou(w, truth) for w in workers)
        vote = vote_masks(workers)
        assert mean_iou(vote.labels, truth) > best, f"image {i}"
        assert 0.5 < vote.confidence < 1


def test_smoothing_does_better_than_the_plain_per_pixel_majority(truths):
    smoothed, plain = [], []
    for i, truth in enumerate(truths):
        workers = noisy_masks(truth, 3, seed=i)
        smoothed.append(mean_iou(vote_masks(workers).labels, truth))
        plain.append(mean_iou(vote_masks(workers, radius=0).labels, truth))
    assert np.mean(smoothed) > np.mean(plain)


def test_what_every_worker_drew_stays_however_thin():
    mask = np.zeros((50, 60), np.uint8)
    mask[10, 5:55] = 1          # a 1-pixel line all three drew
    other = mask.copy()
    other[30:40, 30:40] = 2     # one worker's blob: outvoted
    vote = vote_masks([mask, mask, other])
    assert (vote.labels == mask).all()


def test_identical_masks_give_confidence_one_and_a_single_worker_zero():
    mask = np.zeros((300, 300), np.uint8)
    mask[100:200, 50:250] = 3
    assert vote_masks([mask, mask, mask]).confidence == 1.0
    single = vote_masks([mask])
    assert single.confidence == 0.0 and (single.labels == mask).all()


def test_tiles_do_not_change_the_result(truths):
    workers = noisy_masks(truths[3], 3, seed=3)
    a, b = vote_masks(workers, tile=16), vote_masks(workers, tile=1000)
    assert (a.labels == b.labels).all() and a.confidence == pytest.approx(b.confidence)


def test_masks_must_match_in_size():
    with pytest.raises(ValueError, match="same size"):
        vote_masks([np.zeros((2, 2), np.uint8), np.zeros((3, 2), np.uint8)])
