"""Box consolidation speed and accuracy: vectorised vs the plain-Python reference, and vs each worker.

Simulated workers with known boxes: each draws every true object with a jitter of a few per
cent of its size (workers differ: from 3% to 11%), misses some (5% to 25%), adds false boxes
(0.2 to 1 an image, random place and class). Both implementations run in the same process;
the reference is timed on a slice (it is slow) and its time per image is compared.

    python bench/consolidate_boxes.py              # 10,000 images x 5 workers x about 5 boxes
    python bench/consolidate_boxes.py --n 50000 --workers 3
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from gtwidgets.consolidate_boxes import consolidate_boxes, consolidate_boxes_naive, detection_scores


def simulate(n: int, workers: int = 5, *, classes: int = 3, seed: int = 0, size: int = 640):
    """Truth ``(image, class, boxes)`` and answers ``(image, worker, class, boxes)``, ltwh pixels."""
    rng = np.random.default_rng(seed)
    per_image = rng.integers(3, 8, n)                     # 3-7 objects, about 5
    ti = np.repeat(np.arange(n), per_image)
    m = len(ti)
    tc = rng.integers(0, classes, m)
    wh = rng.uniform(30, 150, (m, 2))
    tb = np.c_[rng.uniform(0, size - wh), wh]
    jitter = np.linspace(0.03, 0.11, workers)
    miss = np.linspace(0.05, 0.25, workers)
    false = np.linspace(0.2, 1.0, workers)
    parts = []
    for w in range(workers):
        seen = rng.random(m) >= miss[w]
        scale = np.tile(wh[seen], 2)
        b = tb[seen] + rng.normal(0, jitter[w], (seen.sum(), 4)) * scale
        b[:, 2:] = np.maximum(b[:, 2:], 2)
        fi = np.repeat(np.arange(n), rng.poisson(false[w], n))
        fwh = rng.uniform(30, 150, (len(fi), 2))
        fb = np.c_[rng.uniform(0, size - fwh), fwh]
        parts.append((np.r_[ti[seen], fi], np.full(seen.sum() + len(fi), w),
                      np.r_[tc[seen], rng.integers(0, classes, len(fi))], np.r_[b, fb]))
    img, wrk, cls, box = (np.concatenate(p) for p in zip(*parts))
    return (ti, tc, tb), (img, wrk, cls, box)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="images (default 10,000)")
    ap.add_argument("--workers", type=int, default=5)
    ap.add_argument("--naive", type=int, default=200, help="images the plain-Python reference runs on")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    (ti, tc, tb), (img, wrk, cls, box) = simulate(args.n, args.workers, seed=args.seed)
    n_workers = np.full(args.n, args.workers)
    print(f"{args.n:,} images x {args.workers} workers: {len(ti):,} true boxes, {len(img):,} drawn")

    start = time.perf_counter()
    result = consolidate_boxes(img, wrk, cls, box, n_workers)
    fast = time.perf_counter() - start
    start = time.perf_counter()
    equal = consolidate_boxes(img, wrk, cls, box, n_workers, weights="equal")
    fast_equal = time.perf_counter() - start
    part = img < args.naive
    start = time.perf_counter()
    consolidate_boxes_naive(img[part], wrk[part], cls[part], box[part], n_workers[:args.naive])
    naive = time.perf_counter() - start
    per_fast, per_naive = fast / args.n, naive / args.naive

    print(f"\n{'':40s} {'seconds':>8s} {'ms/1k images':>13s}")
    print(f"{'vectorised, learned weights':40s} {fast:8.2f} {per_fast * 1e6:13.1f}")
    print(f"{'vectorised, equal weights':40s} {fast_equal:8.2f} {fast_equal / args.n * 1e6:13.1f}")
    print(f"{f'plain-Python reference ({args.naive} images)':40s} {naive:8.2f} {per_naive * 1e6:13.1f}")
    print(f"vectorised is {per_naive / per_fast:.0f}x faster per image than the reference")

    print(f"\n{'boxes vs truth':40s} {'F1@0.5':>8s} {'mean IoU':>9s} {'precision':>10s} {'recall':>8s}")
    rows = {"consolidated, learned weights": result, "consolidated, equal weights (plain mean)": equal}
    for name, r in rows.items():
        s = detection_scores(r.image, r.class_id, r.boxes, ti, tc, tb)
        print(f"{name:40s} {s['f1']:8.4f} {s['mean_iou']:9.4f} {s['precision']:10.4f} {s['recall']:8.4f}")
    for w in range(args.workers):
        mine = wrk == w
        s = detection_scores(img[mine], cls[mine], box[mine], ti, tc, tb)
        print(f"{f'worker {w}':40s} {s['f1']:8.4f} {s['mean_iou']:9.4f} {s['precision']:10.4f} {s['recall']:8.4f}")


if __name__ == "__main__":
    main()
