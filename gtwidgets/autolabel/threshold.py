"""The confidence threshold of automated labeling, and the honest accuracy that goes with it.

Ground Truth picks, on human-labelled objects the model never trained on (the validation set),
the confidence threshold above which machine labels agree with humans at least 95% of the time
(ground-truth-format.md section 6.3). This module is that rule, pure numpy, plus the interval
that says how sure the measured accuracy is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Threshold", "choose_threshold", "wilson_interval"]

ACCURACY_TARGET = 0.95


@dataclass(frozen=True)
class Threshold:
    """The chosen threshold and what the validation set says about labels above it.

    ``value`` is ``inf`` when no threshold meets the target: nothing is machine-labelled.
    ``accuracy`` is the share of validation objects at or above the threshold whose predicted
    class matches the human label (``correct`` of ``support``); ``interval`` is its Wilson score
    interval. The threshold was chosen on these same objects, so the point estimate leans
    optimistic: the interval, not the point, is the claim.
    """

    value: float
    accuracy: float
    support: int
    correct: int
    interval: tuple[float, float]
    validation_size: int
    target: float
    rule: str

    @property
    def labels_anything(self) -> bool:
        return math.isfinite(self.value)


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, *, target: float = ACCURACY_TARGET,
                     min_support: int = 30, rule: str = "estimate", z: float = 1.96) -> Threshold:
    """The lowest confidence threshold whose validation accuracy reaches ``target``.

    ``confidence[i]`` is the model's confidence in its prediction for validation object ``i`` and
    ``correct[i]`` whether that prediction matches the human label. A threshold ``t`` keeps every
    object with ``confidence >= t``; objects with equal confidence are kept or dropped together.
    Among thresholds that keep at least ``min_support`` objects, the lowest one (the most machine
    labels) whose accuracy meets the target wins.

    ``rule="estimate"`` is Ground Truth's: the measured accuracy must reach the target.
    ``rule="lower-bound"`` is stricter: the lower end of the Wilson interval must reach it.
    """
    if rule not in ("estimate", "lower-bound"):
        raise ValueError(f'rule={rule!r}: use "estimate" (Ground Truth\'s) or "lower-bound".')
    if not 0 < target <= 1:
        raise ValueError(f"target={target!r}: give an accuracy between 0 and 1, e.g. 0.95.")
    confidence = np.asarray(confidence, float).ravel()
    correct = np.asarray(correct, bool).ravel()
    if confidence.shape != correct.shape:
        raise ValueError(f"confidence has {confidence.size} values but correct has {correct.size}; "
                         "give one of each per validation object.")
    n = confidence.size
    none = Threshold(math.inf, math.nan, 0, 0, (0.0, 1.0), n, target, rule)
    if n == 0:
        return none
    order = np.argsort(-confidence, kind="stable")
    conf, hits = confidence[order], np.cumsum(correct[order])
    # Only the last position of each run of equal confidences is a real cut.
    cuts = np.flatnonzero(np.r_[conf[1:] != conf[:-1], True])
    support = cuts + 1
    right = hits[cuts]
    if rule == "estimate":
        ok = right >= target * support - 1e-12
    else:
        ok = wilson_interval(right, support, z=z)[0] >= target
    ok &= support >= min_support
    if not ok.any():
        return none
    best = np.flatnonzero(ok)[-1]
    k, m = int(right[best]), int(support[best])
    return Threshold(float(conf[cuts[best]]), k / m, m, k, _pair(wilson_interval(k, m, z=z)), n, target, rule)


def wilson_interval(correct, total, *, z: float = 1.96):
    """Wilson score interval of a proportion ``correct / total`` (95% for ``z=1.96``).

    Works on scalars or numpy arrays; ``total == 0`` gives ``(0, 1)``: nothing is known.
    """
    k = np.asarray(correct, float)
    n = np.asarray(total, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n > 0, k / np.where(n > 0, n, 1), 0.5)
        denom = 1 + z * z / np.where(n > 0, n, 1)
        centre = (p + z * z / (2 * np.where(n > 0, n, 1))) / denom
        half = z * np.sqrt(p * (1 - p) / np.where(n > 0, n, 1) + z * z / (4 * np.where(n > 0, n, 1) ** 2)) / denom
    low = np.where(n > 0, np.clip(centre - half, 0, 1), 0.0)
    high = np.where(n > 0, np.clip(centre + half, 0, 1), 1.0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def _pair(bounds) -> tuple[float, float]:
    return float(bounds[0]), float(bounds[1])
