"""Mask consolidation speed and accuracy: vote_masks against a naive whole-image smoothed vote.

Large images (12 megapixels by default) with several classes; three simulated workers each
(gtwidgets.datasets.noisy_masks: wandering and ragged boundaries, blobs, missing parts).
Simulating workers at this size is slow, so a few distinct worker sets are made and the timed
runs cycle through them; every run consolidates from scratch.

    python bench/mask_consolidate.py                 # 100 images of 4000 x 3000 x 3 workers
    python bench/mask_consolidate.py --quick         # 10 images
    python bench/mask_consolidate.py --images 30 --width 2000 --height 1500 --classes 6
"""
from __future__ import annotations

import argparse
import gc
import os
import time

import numpy as np
from PIL import Image, ImageDraw

from gtwidgets.consolidate_masks import vote_masks
from gtwidgets.datasets import noisy_masks
from gtwidgets.masks import mean_iou


def truth_mask(width: int, height: int, classes: int, seed: int) -> np.ndarray:
    """Two ellipses or rectangles per class on a background, drawn at full size."""
    rng = np.random.default_rng(seed)
    img = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(img)
    for c in range(1, classes + 1):
        for _ in range(2):
            x, y = rng.uniform(0, width * 0.8), rng.uniform(0, height * 0.8)
            a, b = rng.uniform(0.05, 0.2) * width, rng.uniform(0.05, 0.2) * height
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x, y, x + a, y + b], fill=c)
    return np.asarray(img).copy()


def naive_vote(masks: list[np.ndarray], classes: int, radius: int = 2) -> np.ndarray:
    """The same rule written plainly: one-hot votes for every class over the whole image, an
    integral-image box sum per class, argmax, unanimous pixels kept. No tiles, no skipping."""
    stack = np.stack(masks)
    h, w = stack.shape[1:]
    side = 2 * radius + 1
    scores = np.empty((classes + 1, h, w), np.int32)
    for c in range(classes + 1):
        votes = (stack == c).sum(0, dtype=np.int32)
        integral = np.pad(votes, ((radius + 1, radius), (radius + 1, radius))).cumsum(0).cumsum(1)
        scores[c] = (integral[side:, side:] - integral[:-side, side:] - integral[side:, :-side]
                     + integral[:-side, :-side])
    out = scores.argmax(0).astype(np.uint8)
    unanimous = (stack == stack[0]).all(0)
    out[unanimous] = stack[0][unanimous]
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="10 images")
    ap.add_argument("--width", type=int, default=4000)
    ap.add_argument("--height", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--classes", type=int, default=4, help="besides the background")
    ap.add_argument("--distinct", type=int, default=3, help="distinct simulated worker sets to cycle")
    ap.add_argument("--naive", type=int, default=2, help="images the naive baseline runs on")
    args = ap.parse_args(argv)
    images = 10 if args.quick else args.images
    mp = args.width * args.height / 1e6

    t0 = time.perf_counter()
    sets = []
    for s in range(args.distinct):
        truth = truth_mask(args.width, args.height, args.classes, s)
        sets.append((truth, noisy_masks(truth, args.workers, seed=s)))
    print(f"{images} images of {args.width} x {args.height} ({mp:.0f} MP) x {args.workers} workers, "
          f"{args.classes} classes + background (simulated in {time.perf_counter() - t0:.0f} s)")

    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    results = [vote_masks(sets[i % len(sets)][1]) for i in range(images)]
    ours, ours_cpu = time.perf_counter() - start, time.process_time() - cpu

    start = time.perf_counter()
    naive = [naive_vote(sets[i % len(sets)][1], args.classes) for i in range(args.naive)]
    naive_each = (time.perf_counter() - start) / max(1, args.naive)

    same = all((n == r.labels).all() for n, r in zip(naive, results))
    iou_vote = np.mean([mean_iou(r.labels, sets[i % len(sets)][0]) for i, r in enumerate(results[:len(sets)])])
    iou_best = np.mean([max(mean_iou(m, t) for m in ms) for t, ms in sets])
    print(f"\n{'method':36s} {'s / image':>10s} {'total s':>9s} {'CPU s':>7s}")
    print(f"{'vote_masks (tiled, disputes only)':36s} {ours / images:10.3f} {ours:9.1f} {ours_cpu:7.1f}")
    print(f"{'naive whole-image vote':36s} {naive_each:10.3f} {naive_each * images:9.1f}  (extrapolated)")
    print(f"\nvote_masks is {naive_each * images / ours:.1f}x faster than the naive vote; same labels: {same}")
    print(f"mean IoU (no background): best single worker {iou_best:.4f}, consolidated {iou_vote:.4f}; "
          f"confidence {np.mean([r.confidence for r in results]):.2f}")


if __name__ == "__main__":
    main()
