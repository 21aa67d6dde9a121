"""Known data for automated-labeling job tests, importable by the test module and by the killed subprocess.

``known(n)``: the model is ``KnownModel``, whose confidence in each object is the object's first
feature and whose prediction is its second, so which objects a threshold keeps and which of them
are right is known before anything runs: right when the confidence is at least 0.6, wrong below.
"""
from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

CATS = ["cat", "dog", "bird"]


def known(n: int = 1200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, dict[str, str]]:
    """The input frame (no image is ever read: the features are given), the features and the answer key."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    confidence = rng.uniform(0.4, 1.0, n)
    predicted = np.where(confidence >= 0.6, truth, (truth + 1) % 3)
    frame = pd.DataFrame({"source-ref": [f"s3://pets/{i}.jpg" for i in range(n)]})
    return frame, np.c_[confidence, predicted], {str(i): CATS[t] for i, t in enumerate(truth)}


class KnownModel(ClassifierMixin, BaseEstimator):
    """Predicts column 1 with the confidence in column 0; learns nothing (a scikit-learn estimator all the same)."""

    def fit(self, x, y):
        self.classes_ = np.arange(len(CATS))
        return self

    def predict_proba(self, x):
        x = np.asarray(x)
        proba = np.repeat(((1 - x[:, :1]) / (len(CATS) - 1)), len(CATS), axis=1)
        proba[np.arange(len(x)), x[:, 1].astype(int)] = x[:, 0]
        return proba


class HangingModel(KnownModel):
    """``KnownModel`` that, once the file ``arm`` exists, says so (``arm``.training) and trains for ten minutes."""

    def __init__(self, arm: str = ""):
        self.arm = arm

    def fit(self, x, y):
        if self.arm and os.path.exists(self.arm):
            with open(self.arm + ".training", "w"):
                pass
            time.sleep(600)
        return super().fit(x, y)


class RefusingModel(KnownModel):
    """Fails the test's process if anything trains it."""

    def fit(self, x, y):
        raise AssertionError("a round trained: re-opening the job must not train")
