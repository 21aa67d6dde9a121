"""What the mask tool should paint, computed from the shapes' geometry (tests of js/src/tools/masks.js)."""
from __future__ import annotations

import numpy as np


def capsule(shape: tuple[int, int], a, b, r: float) -> np.ndarray:
    """Pixels whose centre lies within r of segment ab (image pixels): what a brush stroke paints."""
    ys, xs = np.mgrid[: shape[0], : shape[1]] + 0.5
    (ax, ay), (bx, by) = a, b
    t = np.clip(((xs - ax) * (bx - ax) + (ys - ay) * (by - ay)) / max((bx - ax) ** 2 + (by - ay) ** 2, 1e-12), 0, 1)
    d = np.hypot(xs - (ax + t * (bx - ax)), ys - (ay + t * (by - ay)))
    assert not (np.abs(d - r) < 1e-6).any(), "a pixel centre on the brush's edge: pick other numbers"
    return d <= r


def on_grid(shape: tuple[int, int], grid: np.ndarray) -> np.ndarray:
    """``grid`` (a coarser image of cells: the image shown, superpixels) at each original pixel:
    column x lies in cell floor((2x + 1) * gw / (2 * width)), and so for rows."""
    h, w = shape
    gh, gw = grid.shape
    ys, xs = np.mgrid[:h, :w]
    return grid[(2 * ys + 1) * gh // (2 * h), (2 * xs + 1) * gw // (2 * w)]
