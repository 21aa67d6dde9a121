"""Consolidation speed, memory and accuracy: majority vote, our EM, and crowd-kit's Dawid-Skene.

Simulated workers with known confusion matrices answer objects with known truth; every method
runs on the same answers in the same process, and the ratios are printed against crowd-kit.

    python bench/consolidate.py              # 100,000 objects x 5 workers x 10 classes
    python bench/consolidate.py --quick      # 10,000 objects
    python bench/consolidate.py --n 30000 --workers 7 --classes 4

crowd-kit (``pip install crowd-kit``) is a bench-only dependency; without it that row is skipped.
"""
from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import numpy as np
import pandas as pd

from gtwidgets.consolidate import consolidate, dawid_skene, majority_vote


def simulate(n: int, workers: int, classes: int, *, seed: int = 0):
    """Truth, answers (objects x workers) and each worker's true confusion matrix."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, classes, n)
    # A spread of workers, from good to poor; each one's mistakes favour a few classes.
    accuracy = np.linspace(0.85, 0.3, workers)
    confusion = np.empty((workers, classes, classes))
    for j in range(workers):
        for t in range(classes):
            off = rng.dirichlet(np.full(classes - 1, 0.5)) * (1 - accuracy[j])
            confusion[j, t] = np.insert(off, t, accuracy[j])
    labels = np.empty((n, workers), np.int64)
    u = rng.random((n, workers))
    for j in range(workers):
        cum = np.cumsum(confusion[j][truth], axis=1)
        labels[:, j] = np.minimum((u[:, j, None] > cum).sum(1), classes - 1)
    return truth, labels, confusion


def measure(fn):
    """Wall time of one plain run, then peak traced memory of a second run (tracing slows Python code)."""
    gc.collect()
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    if not MEMORY:
        return out, seconds, float("nan")
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, seconds, peak / 2**20


MEMORY = True


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="objects (default 100,000)")
    ap.add_argument("--quick", action="store_true", help="10,000 objects")
    ap.add_argument("--workers", type=int, default=5)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-memory", action="store_true", help="skip the second, memory-traced run of each method")
    args = ap.parse_args(argv)
    global MEMORY
    MEMORY = not args.no_memory
    n = 10_000 if args.quick else args.n
    truth, labels, _ = simulate(n, args.workers, args.classes, seed=args.seed)
    k = args.classes
    print(f"{n:,} objects x {args.workers} workers x {k} classes; worker accuracies "
          f"{', '.join(f'{a:.2f}' for a in np.linspace(0.85, 0.3, args.workers))}")

    rows = {}
    res, s, mb = measure(lambda: majority_vote(labels, k))
    rows["majority vote"] = (s, mb, (res.labels == truth).mean())
    res, s, mb = measure(lambda: dawid_skene(labels, k))
    rows[f"EM, published stop ({res.epochs.max()} epochs)"] = (s, mb, (res.labels == truth).mean())
    ours_key = next(iter(list(rows)[1:]))
    res, s, mb = measure(lambda: dawid_skene(labels, k, stop="converged", max_epochs=100))
    rows[f"EM, to convergence ({res.epochs.max()} epochs)"] = (s, mb, (res.labels == truth).mean())
    res, s, mb = measure(lambda: dawid_skene(labels, k, stop="converged", smoothing=1e-4, max_epochs=100))
    full_key = f"EM, smoothing=1e-4, converged ({res.epochs.max()} ep.)"
    rows[full_key] = (s, mb, (res.labels == truth).mean())
    batches = np.arange(n) // 50   # Ground Truth-like batches of 50 objects, a fresh EM each
    res, s, mb = measure(lambda: dawid_skene(labels, k, batches=batches))
    rows["EM, batches of 50"] = (s, mb, (res.labels == truth).mean())

    obj, wrk = np.nonzero(labels >= 0)
    tidy = pd.DataFrame({"object_id": obj.astype(str), "worker_id": wrk.astype(str),
                         "answer": np.array([f"c{i}" for i in range(k)], dtype=object)[labels[obj, wrk]]})
    cats = [f"c{i}" for i in range(k)]
    res, s, mb = measure(lambda: consolidate(tidy, cats, label_attribute="bench", batches="none"))
    truth_names = pd.Series(np.array(cats, dtype=object)[truth], index=np.arange(n).astype(str))
    rows["consolidate() table API, incl. label pairs"] = (
        s, mb, (res.set_index("object_id")["label"] == truth_names.reindex(res["object_id"]).to_numpy()).mean())

    crowd_key = None
    try:
        from crowdkit.aggregation import DawidSkene
    except ImportError:
        print("crowd-kit not installed (pip install crowd-kit): its row is skipped")
    else:
        ck_frame = pd.DataFrame({"task": obj, "worker": wrk, "label": labels[obj, wrk]})
        out, s, mb = measure(lambda: DawidSkene(n_iter=100).fit_predict(ck_frame))
        crowd_key = "crowd-kit DawidSkene (n_iter=100)"
        rows[crowd_key] = (s, mb, (out.sort_index().to_numpy() == truth).mean())

    print(f"\n{'method':48s} {'seconds':>8s} {'peak MiB':>9s} {'accuracy':>9s}")
    for name, (s, mb, acc) in rows.items():
        print(f"{name:48s} {s:8.2f} {mb:9.0f} {acc:9.4f}")
    if crowd_key:
        cs, cmb, cacc = rows[crowd_key]
        print()
        for key in (ours_key, full_key):
            os_, omb, oacc = rows[key]
            print(f"{key} vs crowd-kit: {cs / os_:.1f}x faster, peak memory {omb / cmb:.2f}x crowd-kit's, "
                  f"accuracy {oacc - cacc:+.4f} ({round((oacc - cacc) * n):+d} objects right)")
    mv = rows["majority vote"][2]
    print(f"our EM vs majority vote: accuracy {rows[ours_key][2] - mv:+.4f}")


if __name__ == "__main__":
    main()
