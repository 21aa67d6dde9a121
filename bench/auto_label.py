"""Automated data labeling: human labels needed for a 95%-accurate job, against labeling everything.

Generated traffic-sign images (gtwidgets.datasets.make_traffic_signs) are labeled by a simulated
human (the answer key). Every method runs in the same process on the same cached features:

- labeling everything by hand (the baseline: every object costs one human label);
- our engine, Ground Truth's loop (random first batch, least confident next, threshold on
  held-out human labels for 95% accuracy);
- the same engine sending random objects to people instead of the least confident;
- modAL's uncertainty sampling (``pip install modAL-python``) with the same model and batch size:
  people label until the model's predictions for the rest make the job 95% accurate. modAL has no
  threshold of its own, so its stop peeks at the answer key (a real job could not): an optimistic peer.

    python bench/auto_label.py                     # 2,000 and 10,000 images
    python bench/auto_label.py --sizes 2000        # one size
    python bench/auto_label.py --data /tmp/signs   # keep the images and features there

Round times are with features cached (the first feature pass is timed separately).
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gtwidgets.autolabel import AutoLabeler, default_model, image_features, simulate
from gtwidgets.datasets import TRAFFIC_SIGN_CATEGORIES, make_traffic_signs


def dataset(root: Path, n: int) -> pd.DataFrame:
    """The answer key of ``n`` generated images under ``root/signs-<n>``, generated once."""
    folder = root / f"signs-{n}"
    labels = folder / "labels.csv"
    if labels.exists():
        return pd.read_csv(labels)
    start = time.perf_counter()
    frame = make_traffic_signs(folder, per_class=n // len(TRAFFIC_SIGN_CATEGORIES), progress=False)
    print(f"  generated {len(frame):,} images in {time.perf_counter() - start:.0f} s")
    return frame


def modal_uncertainty(x: np.ndarray, truth: np.ndarray, batch: int, target: float, seed: int):
    """modAL's uncertainty sampling until human labels + predictions of the rest reach ``target`` (vs truth).

    modAL 0.4.2's ``ActiveLearner.teach`` passes ``force_all_finite`` to scikit-learn, which
    scikit-learn 1.8 removed, so the learner is refitted here and only modAL's query strategy is used.
    """
    from modAL.uncertainty import uncertainty_sampling
    rng = np.random.default_rng(seed)
    labeled = np.zeros(len(truth), bool)
    labeled[rng.choice(len(truth), batch, replace=False)] = True
    seconds = []
    while True:
        start = time.perf_counter()
        model = default_model().fit(x[labeled], truth[labeled])
        seconds.append(time.perf_counter() - start)
        rest = np.flatnonzero(~labeled)
        if rest.size == 0:
            return int(labeled.sum()), 1.0, seconds
        accuracy = (labeled.sum() + (model.predict(x[rest]) == truth[rest]).sum()) / len(truth)
        if accuracy >= target:
            return int(labeled.sum()), float(accuracy), seconds
        picked = uncertainty_sampling(model, x[rest], n_instances=min(batch, rest.size))
        picked = picked[0] if isinstance(picked, tuple) else picked
        labeled[rest[np.asarray(picked)]] = True


def run(root: Path, n: int, args) -> list[dict]:
    print(f"\n{n:,} images")
    frame = dataset(root, n)
    sources = list(frame["source-ref"])
    start = time.perf_counter()
    x = image_features(sources, cache=root / "features")
    first_pass = time.perf_counter() - start
    start = time.perf_counter()
    x = image_features(sources, cache=root / "features")
    cached = time.perf_counter() - start
    print(f"  features {x.shape[1]} dims: first call {first_pass:.1f} s (computes what the cache lacks), "
          f"second call {cached:.1f} s (all cached: load + projection)")
    ids = [str(i) for i in range(n)]
    key = dict(zip(ids, frame["true-class"]))
    truth = frame["true-class"].to_numpy()
    rows = [{"method": "label everything", "human": n, "machine": 0, "accuracy": 1.0, "rounds": 0,
             "round s (median)": float("nan"), "round s (max)": float("nan")}]
    for name, sampling in (("ours: least confident (Ground Truth)", "least-confident"), ("ours: random", "random")):
        engine = AutoLabeler(ids, TRAFFIC_SIGN_CATEGORIES, x, batch_size=args.batch_size, sampling=sampling,
                             seed=args.seed)
        sim = simulate(engine, key)
        secs = sim.rounds["seconds"]
        rows.append({"method": name, "human": len(sim.human), "machine": len(sim.machine),
                     "accuracy": sim.accuracy, "machine accuracy": sim.machine_accuracy,
                     "rounds": len(sim.rounds), "round s (median)": secs.median(), "round s (max)": secs.max()})
        if sampling == "least-confident":
            shown = sim.rounds[["round", "HumanLabeled", "MachineLabeled", "threshold", "support",
                                "validation accuracy", "interval low", "interval high", "true accuracy of new",
                                "seconds"]]
            print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
            print(f"  stop: {sim.stop}")
    if not args.no_peer:
        try:
            import modAL  # noqa: F401
        except ImportError:
            print("  modAL not installed (pip install modAL-python): its row is skipped")
        else:
            batch = AutoLabeler(ids, TRAFFIC_SIGN_CATEGORIES, x, batch_size=args.batch_size).batch_size
            human, acc, secs = modal_uncertainty(x, truth, batch, 0.95, args.seed)
            rows.append({"method": "modAL uncertainty sampling (oracle stop)", "human": human, "machine": n - human,
                         "accuracy": acc, "rounds": len(secs),
                         "round s (median)": statistics.median(secs) if secs else float("nan"),
                         "round s (max)": max(secs) if secs else float("nan")})
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000], help="dataset sizes (default 2000 10000)")
    ap.add_argument("--data", type=Path, default=None,
                    help="folder for images and cached features (default: a new temporary folder)")
    ap.add_argument("--batch-size", type=int, default=None,
                    help="objects to people per round (default: 5%% of the dataset, 100 to 1,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-peer", action="store_true", help="skip modAL")
    args = ap.parse_args(argv)
    root = args.data or Path(tempfile.mkdtemp(prefix="gtwidgets-bench-autolabel-"))
    print(f"data and feature cache in {root}; {os.cpu_count()} cores")
    for n in args.sizes:
        rows = pd.DataFrame(run(root, n, args)).set_index("method")
        print()
        print(rows.to_string(float_format=lambda v: f"{v:.3f}"))
        everything = rows.loc["label everything", "human"]
        ours = rows.loc["ours: least confident (Ground Truth)"]
        print(f"\n  human labels, ours / label everything: {ours['human'] / everything:.2f} "
              f"({1 - ours['human'] / everything:.0%} fewer); final accuracy {ours['accuracy']:.3f}")
        for other in rows.index[2:]:
            print(f"  human labels, ours / {other}: {ours['human'] / rows.loc[other, 'human']:.2f}")


if __name__ == "__main__":
    main()
