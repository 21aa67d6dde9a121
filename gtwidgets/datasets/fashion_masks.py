"""The fashion sample with its true masks, for segmentation jobs; and simulated workers' masks.

The images are exactly :func:`make_fashion`'s (same seed, same bytes). Each true mask is the
drawn item's coverage at the image's size (more than half covered -> the item's class), so it
is known to the pixel without anyone labeling it.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from ..masks import class_indices, color_map, encode_mask
from ._common import build, check_seed, encode_jpeg, item_rng, numbered, resolve_dest
from .fashion import _PER_CLASS, FASHION_CATEGORIES, draw_fashion_scene

__all__ = ["make_fashion_masks", "fashion_mask", "noisy_masks"]


def make_fashion_masks(dest: str | os.PathLike | None = None, *, seed: int = 0,
                       size: tuple[int, int] = (256, 256), progress: bool = True,
                       write_manifest: bool = True) -> pd.DataFrame:
    """Write the 20 fashion images and their true masks; return the input manifest frame.

    Files: ``001.jpg`` ... ``020.jpg`` (as :func:`make_fashion`), ``masks/001.png`` ... (colour
    PNGs in Ground Truth's form for a job listing ``FASHION_CATEGORIES``: read them with
    :func:`gtwidgets.masks.read_mask` and ``frame.attrs["color_map"]``), and with
    ``write_manifest`` ``dataset.manifest`` and ``labels.csv``. The frame has ``source-ref``
    and the hidden answers ``true-class`` and ``true-mask`` (the mask's URI).
    """
    seed = check_seed(seed)
    dest = resolve_dest(dest, "fashion")
    classes = [c for c in FASHION_CATEGORIES for _ in range(_PER_CLASS)]
    cmap = color_map(FASHION_CATEGORIES)

    def item(i: int, uri):
        name = numbered(len(classes), i, ".jpg")
        image, labels = fashion_mask(classes[i], item_rng(seed, "fashion", i), size)
        mask_name = "masks/" + numbered(len(classes), i, ".png")
        files = [(name, encode_jpeg(image, quality=90), "image/jpeg"),
                 (mask_name, encode_mask(labels, cmap), "image/png")]
        return files, {"source-ref": uri(name), "true-class": classes[i], "true-mask": uri(mask_name)}

    frame = build(dest, len(classes), item, key="source-ref", desc="fashion masks", progress=progress,
                  write_manifest=write_manifest, answers=("true-class", "true-mask"))
    frame.attrs["color_map"] = cmap
    return frame


def fashion_mask(category: str, rng: np.random.Generator,
                 size: tuple[int, int] = (256, 256)) -> tuple[Image.Image, np.ndarray]:
    """One fashion image and its true class-index mask (indices of :func:`color_map`)."""
    image, coverage = draw_fashion_scene(category, rng, size)
    index = class_indices(FASHION_CATEGORIES)[category]
    return image, np.where(np.asarray(coverage) > 127, index, 0).astype(np.uint8)


def noisy_masks(truth: np.ndarray, workers: int, *, seed: int = 0, jitter: int = 3, blobs: int = 3,
                missing: int = 1) -> list[np.ndarray]:
    """``workers`` imperfect copies of ``truth``, as crowd workers draw them.

    Each worker's boundaries wander by up to ``jitter`` pixels (a smooth random displacement, so
    an edge drifts in and out along its length) and are ragged (half the edge pixels take the
    neighbour's class); each worker also paints ``blobs`` stray discs of a random class and misses
    ``missing`` square parts (painted background). Deterministic for a ``seed``.
    """
    rng = np.random.default_rng([seed, 4])
    present = np.flatnonzero(np.bincount(truth.ravel(), minlength=2)).tolist()
    h, w = truth.shape
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    out = []
    for _ in range(workers):
        dy, dx = (_smooth_field(rng, jitter, (w, h)) for _ in range(2))
        m = truth[np.clip(rows + dy, 0, h - 1), np.clip(cols + dx, 0, w - 1)]
        left = np.roll(m, 1, 1)
        edge = (m != np.roll(m, 1, 0)) | (m != left)
        flip = edge & (rng.random(m.shape, np.float32) < 0.5)
        m[flip] = left[flip]
        img = Image.fromarray(m)
        draw = ImageDraw.Draw(img)
        for _ in range(blobs):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.01, 0.05) * min(w, h)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=int(present[rng.integers(len(present))]))
        for _ in range(missing):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.03, 0.08) * min(w, h)
            draw.rectangle([x - r, y - r, x + r, y + r], fill=0)
        out.append(np.asarray(img).copy())
    return out


def _smooth_field(rng: np.random.Generator, amount: int, size: tuple[int, int]) -> np.ndarray:
    """Integer offsets in -amount..amount that vary smoothly across the image (6 x 6 control points)."""
    coarse = rng.uniform(-amount - 0.49, amount + 0.49, (6, 6)).astype(np.float32)
    fine = Image.fromarray(coarse, "F").resize(size, Image.BILINEAR)
    return np.rint(np.asarray(fine)).astype(np.int32)
