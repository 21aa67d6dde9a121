"""Box consolidation: hand-made cases, the reference implementation, and simulated workers with known boxes."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from gtwidgets.consolidate_boxes import consolidate_boxes, consolidate_boxes_naive, detection_scores, iou

_spec = importlib.util.spec_from_file_location("bench_boxes", Path(__file__).parents[1] / "bench" / "consolidate_boxes.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_three_workers_agree_on_one_box_and_one_drew_a_false_box():
    boxes = [[10, 10, 100, 50], [12, 10, 100, 50], [8, 10, 100, 50], [300, 300, 20, 20]]
    r = consolidate_boxes([0, 0, 0, 0], [0, 1, 2, 2], [0, 0, 0, 0], boxes, [3], weights="equal")
    assert r.boxes.tolist() == [[10.0, 10.0, 100.0, 50.0]]
    assert r.support.tolist() == [3]
    assert 0.95 < r.confidence[0] <= 1.0


def test_a_worker_who_drew_nothing_counts_against_a_box():
    # 2 of 4 workers drew it: kept (half); 1 of 4 would not be.
    r = consolidate_boxes([0, 0, 0], [0, 1, 2], [0, 0, 1], [[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 5, 5]], [4])
    assert r.class_id.tolist() == [0]
    assert r.confidence.tolist() == [0.5]


def test_different_classes_never_merge_and_one_worker_gets_confidence_zero():
    r = consolidate_boxes([0, 0, 1], [0, 1, 0], [0, 1, 2], [[0, 0, 10, 10], [0, 0, 10, 10], [5, 5, 5, 5]], [2, 1])
    assert sorted(r.class_id[r.image == 0].tolist()) == [0, 1]
    assert r.confidence[r.image == 1].tolist() == [0.0]


def test_no_boxes_at_all():
    r = consolidate_boxes([], [], [], np.zeros((0, 4)), [3, 3])
    assert len(r.image) == 0


def test_bad_input_says_what_to_fix():
    with pytest.raises(ValueError, match="positive width"):
        consolidate_boxes([0], [0], [0], [[0, 0, 0, 5]], [1])
    with pytest.raises(ValueError, match="differ in length"):
        consolidate_boxes([0, 0], [0], [0], [[0, 0, 1, 1]], [1])


def test_iou():
    assert iou([[0, 0, 10, 10]], [[5, 0, 10, 10], [20, 20, 1, 1]]).tolist() == [[50 / 150, 0.0]]


@pytest.mark.parametrize("workers", [2, 3, 5])
def test_vectorised_equals_the_plain_python_reference(workers):
    _, (img, wrk, cls, box) = bench.simulate(40, workers, seed=workers)
    n_workers = np.full(40, workers)
    fast = consolidate_boxes(img, wrk, cls, box, n_workers)
    slow = consolidate_boxes_naive(img, wrk, cls, box, n_workers)
    assert fast.image.tolist() == slow.image.tolist()
    assert fast.class_id.tolist() == slow.class_id.tolist()
    np.testing.assert_allclose(fast.boxes, slow.boxes)
    assert fast.confidence.tolist() == slow.confidence.tolist()
    assert fast.support.tolist() == slow.support.tolist()


def test_consolidated_boxes_are_closer_to_the_truth_than_the_best_worker():
    (ti, tc, tb), (img, wrk, cls, box) = bench.simulate(2000, 5, seed=1)
    r = consolidate_boxes(img, wrk, cls, box, np.full(2000, 5))
    ours = detection_scores(r.image, r.class_id, r.boxes, ti, tc, tb)
    workers = [detection_scores(img[wrk == w], cls[wrk == w], box[wrk == w], ti, tc, tb) for w in range(5)]
    assert ours["f1"] > max(w["f1"] for w in workers)
    assert ours["mean_iou"] > max(w["mean_iou"] for w in workers)


def test_plain_mean_is_ground_truths_average_but_loses_to_a_much_better_worker():
    """Why weights are learned by default: with workers this uneven, equal weights fall behind worker 0."""
    (ti, tc, tb), (img, wrk, cls, box) = bench.simulate(2000, 5, seed=1)
    r = consolidate_boxes(img, wrk, cls, box, np.full(2000, 5), weights="equal")
    best = detection_scores(img[wrk == 0], cls[wrk == 0], box[wrk == 0], ti, tc, tb)
    assert detection_scores(r.image, r.class_id, r.boxes, ti, tc, tb)["mean_iou"] < best["mean_iou"]
