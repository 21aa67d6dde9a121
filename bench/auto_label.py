"""Automated data labeling: human labels needed for a 95%-accurate job, against labeling everything.

Generated traffic-sign images (gtwidgets.datasets.make_traffic_signs) are labeled by a simulated
human (the answer key). Every method runs in the same process on the same cached features
(``image_features``: the default, nothing downloaded) with the same model (``default_model``):

- labeling everything by hand (the baseline: every object costs one human label);
- our engine, Ground Truth's loop (random first batch, least confident next, held-out objects
  drawn at random, threshold where the lower end of the 95% interval of the held-out accuracy
  reaches 95%);
- the same engine sending random objects to people instead of the least confident;
- the same engine with Ground Truth's literal rule (the measured held-out accuracy reaches 95%,
  however few objects measured it): it claims more than it delivers on small held-out sets;
- modAL's uncertainty sampling (``pip install modAL-python``) with the same model and batch size:
  people label until the model's predictions for the rest make the job 95% accurate. modAL has no
  threshold of its own, so its stop peeks at the answer key (a real job could not): an optimistic peer.

For our engine the table shows the machine labels' accuracy against the truth next to what the
engine claimed (measured on held-out human labels only, with its 95% interval): the claim must
hold. ``--seeds 5`` repeats our loop with other held-out sets and random orders and counts the
rounds whose machine labels fell below the target or below the claimed interval.

    python bench/auto_label.py                     # 2,000 and 10,000 images
    python bench/auto_label.py --sizes 2000        # one size
    python bench/auto_label.py --data /tmp/signs   # keep the images and features there

Round times are with features cached (the first feature pass is timed separately, wall and CPU).
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

from gtwidgets.autolabel import (ACCURACY_TARGET, IMAGE_DESCRIPTOR_VERSION, AutoLabeler, FeatureCache,
                                 default_model, image_features, simulate)
from gtwidgets.autolabel._sklearn import one_blas_thread
from gtwidgets.datasets import TRAFFIC_SIGN_CATEGORIES, make_traffic_signs

OURS = "ours: least confident (Ground Truth)"
EVERYTHING = "label everything"
POINT_RULE = "ours with Ground Truth's point rule"


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


def features(root: Path, sources: list[str]) -> np.ndarray:
    """The default image features, timed: the first call computes what the cache lacks, the second loads."""
    cached = len(FeatureCache(IMAGE_DESCRIPTOR_VERSION, root / "features"))
    wall, cpu = time.perf_counter(), time.process_time()
    x = image_features(sources, cache=root / "features")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    again = time.perf_counter()
    x = image_features(sources, cache=root / "features")
    again = time.perf_counter() - again
    if cached >= len(sources):
        first = f"all {len(sources):,} descriptors were cached by an earlier run"
    else:
        first = (f"first call {wall:.1f} s wall, {cpu:.1f} s CPU "
                 f"({1000 * cpu / len(sources):.1f} ms CPU an image, 2 threads)")
    print(f"  features: {x.shape[1]} dims; {first}; all cached: {again:.1f} s (load + projection)")
    return x


def ours(ids, x, key, *, sampling: str = "least-confident", rule: str = "lower-bound", batch_size, seed: int):
    engine = AutoLabeler(ids, TRAFFIC_SIGN_CATEGORIES, x, batch_size=batch_size, sampling=sampling,
                         threshold_rule=rule, seed=seed)
    return simulate(engine, key)


def claimed(rounds: pd.DataFrame) -> tuple[float, float]:
    """The accuracy the engine claimed for its machine labels: the 95% interval of each labeling
    round, weighted by how many objects that round labeled."""
    made = rounds[rounds["new machine labels"] > 0]
    if made.empty:
        return float("nan"), float("nan")
    w = made["new machine labels"] / made["new machine labels"].sum()
    return float((w * made["interval low"]).sum()), float((w * made["interval high"]).sum())


def modal_uncertainty(x: np.ndarray, truth: np.ndarray, batch: int, target: float, seed: int):
    """modAL's uncertainty sampling until human labels + predictions of the rest reach ``target`` (vs truth).

    modAL 0.4.2's ``ActiveLearner.teach`` passes ``force_all_finite`` to scikit-learn, which
    scikit-learn 1.8 removed, so the learner is refitted here and only modAL's query strategy is used.
    Fitted on one BLAS thread, as our rounds are, so the round times compare.
    """
    from modAL.uncertainty import uncertainty_sampling
    rng = np.random.default_rng(seed)
    labeled = np.zeros(len(truth), bool)
    labeled[rng.choice(len(truth), batch, replace=False)] = True
    seconds = []
    while True:
        start = time.perf_counter()
        with one_blas_thread():
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
    x = features(root, list(frame["source-ref"]))
    ids = [str(i) for i in range(n)]
    key = dict(zip(ids, frame["true-class"]))
    truth = frame["true-class"].to_numpy()
    rows = [{"images": n, "method": EVERYTHING, "human": n, "machine": 0, "accuracy": 1.0}]
    methods = ((OURS, "least-confident", "lower-bound"), ("ours: random", "random", "lower-bound"),
               (POINT_RULE, "least-confident", "estimate"))
    for name, sampling, rule in methods:
        sim = ours(ids, x, key, sampling=sampling, rule=rule, batch_size=args.batch_size, seed=args.seed)
        secs = sim.rounds["seconds"]
        low, high = claimed(sim.rounds)
        rows.append({"images": n, "method": name, "human": len(sim.human), "machine": len(sim.machine),
                     "accuracy": sim.accuracy, "machine accuracy": sim.machine_accuracy,
                     "claimed low": low, "claimed high": high, "rounds": len(sim.rounds),
                     "round s (median)": secs.median(), "round s (max)": secs.max()})
        if name == OURS:
            shown = sim.rounds[["round", "HumanLabeled", "MachineLabeled", "threshold", "validation", "support",
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
            human, acc, secs = modal_uncertainty(x, truth, batch, ACCURACY_TARGET, args.seed)
            rows.append({"images": n, "method": "modAL uncertainty (oracle stop)", "human": human,
                         "machine": n - human, "accuracy": acc, "rounds": len(secs),
                         "round s (median)": statistics.median(secs), "round s (max)": max(secs)})
    if args.seeds > 1:
        repeat(ids, x, key, args)
    return rows


def repeat(ids, x, key, args) -> None:
    """Our loop with ``args.seeds`` held-out sets and orders: does the claim hold every time?"""
    for name, rule in ((OURS, "lower-bound"), (POINT_RULE, "estimate")):
        sims = [ours(ids, x, key, rule=rule, batch_size=args.batch_size, seed=args.seed + k)
                for k in range(args.seeds)]
        made = pd.concat([s.rounds[s.rounds["new machine labels"] > 0] for s in sims])
        below_target = int((made["true accuracy of new"] < ACCURACY_TARGET).sum())
        below_claim = int((made["true accuracy of new"] < made["interval low"]).sum())
        human = [len(s.human) for s in sims]
        print(f"  {name}, {args.seeds} seeds: human labels {min(human):,} to {max(human):,} "
              f"(mean {statistics.mean(human):,.0f}); final accuracy {min(s.accuracy for s in sims):.3f} at worst; "
              f"{len(made)} labeling rounds, {below_target} whose machine labels were under "
              f"{ACCURACY_TARGET:.0%} true accuracy, {below_claim} under the lower end of the interval")


def report(rows: pd.DataFrame) -> None:
    rows = rows.copy()
    everything = rows["images"]
    rows["fewer"] = 1 - rows["human"] / everything
    table = rows.assign(**{
        "fewer human labels": rows["fewer"].map(lambda v: f"{v:.0%}"),
        "claimed (95%)": [f"[{lo:.3f}, {hi:.3f}]" if np.isfinite(lo) else "" for lo, hi in
                          zip(rows.get("claimed low", np.nan), rows.get("claimed high", np.nan))],
    })[["images", "method", "human", "fewer human labels", "machine", "accuracy", "machine accuracy",
        "claimed (95%)", "rounds", "round s (median)", "round s (max)"]]
    table = table.rename(columns={"accuracy": "final accuracy", "machine accuracy": "machine acc. (truth)"})
    table["rounds"] = table["rounds"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
    print("\nfinal accuracy and machine accuracy are against the truth; claimed = the engine's 95% interval "
          "from held-out human labels")
    print(table.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.3f}"))
    print()
    for n, group in rows.groupby("images"):
        mine = group[group["method"] == OURS].iloc[0]
        line = (f"  {n:,} images: ours {mine['human']:,.0f} human labels vs {n:,} ({mine['fewer']:.0%} fewer), "
                f"final accuracy {mine['accuracy']:.3f}, machine labels {mine['machine accuracy']:.3f} true "
                f"(claimed [{mine['claimed low']:.3f}, {mine['claimed high']:.3f}]), "
                f"{mine['round s (median)']:.2f} s a round (max {mine['round s (max)']:.2f})")
        for _, other in group[~group["method"].isin([OURS, EVERYTHING])].iterrows():
            line += f"; human labels ours / {other['method']}: {mine['human'] / other['human']:.2f}"
        print(line)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000], help="dataset sizes (default 2000 10000)")
    ap.add_argument("--data", type=Path, default=None,
                    help="folder for images and cached features (default: a new temporary folder)")
    ap.add_argument("--batch-size", type=int, default=None,
                    help="objects to people per round (default: 5%% of the dataset, 100 to 1,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=1, help="also repeat our loop with this many seeds (default 1: no)")
    ap.add_argument("--no-peer", action="store_true", help="skip modAL")
    args = ap.parse_args(argv)
    root = args.data or Path(tempfile.mkdtemp(prefix="gtwidgets-bench-autolabel-"))
    print(f"data and feature cache in {root}; {os.cpu_count()} cores")
    rows = []
    for n in args.sizes:
        rows += run(root, n, args)
    report(pd.DataFrame(rows))


if __name__ == "__main__":
    main()
