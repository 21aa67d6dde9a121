"""Automated data labeling (gtwidgets.autolabel) with a simulated human: the answer key labels.

Most tests use synthetic features (clusters in a few dimensions) so they are small and exact;
one uses real generated traffic-sign images for the image features and their cache.
"""
from __future__ import annotations

import math
import subprocess
import sys
import threading

import numpy as np
import pytest

from gtwidgets.autolabel import (IMAGE_DESCRIPTOR_VERSION, AutoLabeler, FeatureCache, choose_threshold, image_features,
                                 label_counters, simulate, text_features, wilson_interval)
from gtwidgets.errors import AutoLabelError, MissingExtraError
from gtwidgets.tasks import classification_label

CATEGORIES = ["cat", "dog", "bird"]


def clusters(n=600, spread=0.7, seed=0):
    """Ids, features and an answer key: three classes as Gaussian clusters that overlap a little."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    centres = np.array([[0, 0], [3, 0], [0, 3]], float)
    x = centres[truth] + rng.normal(0, spread, (n, 2))
    ids = [f"obj-{i}" for i in range(n)]
    return ids, x, {o: CATEGORIES[t] for o, t in zip(ids, truth)}


def engine(n=600, **kw):
    ids, x, key = clusters(n)
    kw = {"min_objects": 0, "batch_size": 60, **kw}
    return AutoLabeler(ids, CATEGORIES, x, **kw), key


# ---------------------------------------------------------------------------- the threshold rule

def test_threshold_is_the_lowest_one_whose_accuracy_reaches_the_target():
    # 60 sure and right, then 20 that are right one time in two, then 20 wrong.
    conf = np.r_[np.linspace(0.99, 0.90, 60), np.linspace(0.89, 0.70, 20), np.linspace(0.69, 0.40, 20)]
    correct = np.r_[np.ones(60, bool), np.arange(20) % 2 == 0, np.zeros(20, bool)]
    t = choose_threshold(conf, correct, target=0.95, min_support=10)
    # The middle ones go right, wrong, right...: keeping 65 gives 63/65 = 0.969, 67 gives
    # 64/67 = 0.955, 69 gives 65/69 = 0.942 < 0.95: the threshold is the 67th confidence.
    assert t.support == 67 and t.correct == 64
    assert t.value == conf[66]
    assert t.accuracy == pytest.approx(64 / 67)
    assert t.interval == pytest.approx(wilson_interval(64, 67))
    assert t.interval[0] < t.accuracy < t.interval[1]


def test_threshold_matches_brute_force_on_random_scores():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(1, 200))
        conf = rng.choice(np.round(rng.uniform(0, 1, 40), 2), n)   # many ties
        correct = rng.uniform(size=n) < conf ** 0.3
        t = choose_threshold(conf, correct, target=0.9, min_support=5)
        best = None
        for c in sorted(set(conf)):
            keep = conf >= c
            if keep.sum() >= 5 and correct[keep].mean() >= 0.9:
                best = c
                break
        assert (t.value if t.labels_anything else None) == best


def test_equal_confidences_are_kept_or_dropped_together():
    conf = np.array([0.9, 0.8, 0.8, 0.8, 0.8])
    correct = np.array([True, True, True, False, False])
    t = choose_threshold(conf, correct, target=0.95, min_support=1)
    assert t.value == 0.9 and t.support == 1   # 0.8 would keep all four 0.8s: 3/5 right


def test_no_threshold_without_enough_support_or_accuracy():
    assert not choose_threshold(np.full(10, 0.99), np.ones(10, bool), min_support=30).labels_anything
    assert not choose_threshold(np.linspace(1, 0, 100), np.zeros(100, bool)).labels_anything
    assert not choose_threshold([], []).labels_anything


def test_lower_bound_rule_is_stricter_than_ground_truths():
    conf = np.linspace(1, 0, 400)
    correct = (conf > 0.5) | (np.random.default_rng(0).uniform(size=400) < 0.5)
    estimate = choose_threshold(conf, correct, rule="estimate")
    strict = choose_threshold(conf, correct, rule="lower-bound")
    assert strict.labels_anything and strict.value > estimate.value
    assert strict.interval[0] >= 0.95 > estimate.interval[0]


def test_wilson_interval_known_values():
    assert wilson_interval(95, 100) == pytest.approx((0.8883, 0.9785), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(np.array([10, 10]), np.array([10, 1000]))
    assert low[0] == pytest.approx(0.7225, abs=1e-4) and high[1] < 0.02


# ---------------------------------------------------------------------------- the loop

def test_first_batch_is_random_then_least_confident_go_to_humans():
    eng, key = engine()
    first = eng.first_batch()
    assert len(first) == 60 and len(set(first)) == 60
    assert first != eng.object_ids[:60]                    # random, not manifest order
    human = {o: key[o] for o in first}
    result = eng.run_round(human)
    assert eng.latest is result
    scored = result.confidence
    assert len(result.to_humans) == 60
    assert set(result.to_humans).isdisjoint(human) and set(result.to_humans).isdisjoint(result.machine_labels)
    # The batch tops the held-out share up to 20% of human labels with held-out objects; the rest
    # are the least confident of the others.
    held = [o for o in result.to_humans if eng.is_validation(o)]
    others = [o for o in result.to_humans if not eng.is_validation(o)]
    assert sum(map(eng.is_validation, human)) + len(held) == math.ceil(0.2 * 120)
    rest = [c for o, c in scored.items()
            if o not in result.machine_labels and o not in result.to_humans and not eng.is_validation(o)]
    assert max(scored[o] for o in others) <= min(rest)
    assert eng.next_for_humans(human, result.machine_labels) == result.to_humans


def test_held_out_objects_are_a_random_sample_not_the_hard_ones():
    # People get least-confident objects to train on, but the held-out ones that measure the
    # machine are drawn at random: their confidence looks like that of all objects, not the lowest.
    eng, key = engine(n=1200, batch_size=100)
    human = {o: key[o] for o in eng.first_batch()}
    r = eng.run_round(human)
    held = [r.confidence[o] for o in r.to_humans if eng.is_validation(o)]
    others = [r.confidence[o] for o in r.to_humans if not eng.is_validation(o)]
    everyone = list(r.confidence.values())
    assert len(held) >= 10 and others
    assert np.median(held) > max(others)
    assert abs(np.median(held) - np.median(everyone)) < abs(np.median(held) - np.median(others))


def test_machine_labels_reach_the_target_on_held_out_human_labels():
    eng, key = engine(n=1200, batch_size=100)
    sim = simulate(eng, key)
    assert sim.stop == "all objects labeled"
    assert len(sim.human) + len(sim.machine) == 1200
    assert 0 < len(sim.machine) and len(sim.human) < 1200
    last = sim.rounds[sim.rounds["new machine labels"] > 0]
    assert (last["validation accuracy"] >= 0.95).all()
    assert sim.machine_accuracy >= 0.9                     # the truth agrees, within the interval's reach
    # Held-out objects are never trained on: the validation set is a stable part of human labels.
    held = [o for o in sim.human if eng.is_validation(o)]
    assert 0.1 < len(held) / len(sim.human) < 0.3
    assert sim.rounds["TotalLabeled"].is_monotonic_increasing


def test_held_out_objects_an_applied_round_would_have_labeled_stop_counting():
    # Once a round's machine labels are applied, the objects left are the harder ones; held-out
    # objects that round would have labeled no longer stand for them.
    eng, key = engine(n=900, batch_size=100)
    human = {o: key[o] for o in eng.first_batch()}
    r = eng.run_round(human)
    while not r.machine_labels:
        human.update((o, key[o]) for o in r.to_humans)
        r = eng.run_round(human)
    held_out = sum(map(eng.is_validation, human))
    assert r.threshold.validation_size == held_out and r.threshold.support > 0
    # The same labels, the same model: the round not applied measures on every held-out object...
    assert eng.run_round(human).threshold.validation_size == held_out
    # ...applied, on those it would not have labeled (support = those at or above its threshold).
    after = eng.run_round(human, r.machine_labels)
    assert after.threshold.validation_size == held_out - r.threshold.support
    assert set(after.machine_labels).isdisjoint(r.machine_labels)


def test_machine_labels_another_session_made_spend_every_held_out_object():
    # A job resumed in a new session hands a new engine machine labels it did not make: it cannot
    # tell which held-out objects they spent, so it takes them all as spent and draws fresh ones.
    eng, key = engine(n=900, batch_size=100)
    human = {o: key[o] for o in eng.first_batch()}
    held = sum(map(eng.is_validation, human))
    assert eng.run_round(human).threshold.validation_size == held > 0
    others = [o for o in eng.object_ids if o not in human and not eng.is_validation(o)]
    machine = {o: (key[o], 0.99) for o in others[:100]}     # made by an earlier session's engine
    first = eng.run_round(human, machine)
    assert first.threshold.validation_size == 0 and not first.machine_labels
    fresh = [o for o in first.to_humans if eng.is_validation(o)]
    assert len(fresh) == math.ceil(0.2 * (len(human) + 100))
    assert eng.next_for_humans(human, machine) == first.to_humans
    human.update((o, key[o]) for o in first.to_humans)
    assert eng.run_round(human, machine).threshold.validation_size == len(fresh)


def test_the_claim_holds_on_images_with_the_default_features(tmp_path):
    # 600 generated traffic signs, the default features and model: machine labels are made, and
    # their accuracy against the truth reaches the lower end of what the engine claimed.
    from gtwidgets.datasets import TRAFFIC_SIGN_CATEGORIES, make_traffic_signs
    frame = make_traffic_signs(tmp_path / "signs", per_class=60, progress=False)
    x = image_features(list(frame["source-ref"]), cache=tmp_path / "cache")
    ids = [str(i) for i in range(len(frame))]
    key = dict(zip(ids, frame["true-class"]))
    sim = simulate(AutoLabeler(ids, TRAFFIC_SIGN_CATEGORIES, x, min_objects=0, batch_size=60,
                               validation_fraction=0.25), key)
    made = sim.rounds[sim.rounds["new machine labels"] > 0]
    assert len(sim.machine) > 0 and len(sim.human) < 600
    assert (made["true accuracy of new"] >= made["interval low"]).all()
    assert sim.accuracy >= 0.95


def test_one_blas_thread_is_restored_whatever_order_threads_leave_in():
    from threadpoolctl import threadpool_info, threadpool_limits

    from gtwidgets.autolabel._sklearn import one_blas_thread

    def blas_threads():
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    with threadpool_limits(limits=2, user_api="blas"):   # two threads to start from, on any machine
        before = blas_threads()
        first, second = one_blas_thread(), one_blas_thread()
        first.__enter__()
        second.__enter__()
        assert blas_threads() == {1}
        first.__exit__(None, None, None)         # the first to enter leaves first: still limited
        assert blas_threads() == {1}
        second.__exit__(None, None, None)
        assert blas_threads() == before == {2}


def test_machine_and_human_lines_in_ground_truths_shape():
    human_pair = classification_label("animals", CATEGORIES, "dog", job_name="Animals")
    eng, key = engine(n=900, batch_size=100)
    human = {o: key[o] for o in eng.first_batch()}
    r = eng.run_round(human)
    while not r.machine_labels and r.to_humans:
        human.update((o, key[o]) for o in r.to_humans)
        r = eng.run_round(human)
    assert r.machine_labels
    pairs = r.label_pairs("animals", CATEGORIES, job_name="Animals", creation_date="2024-05-01T10:00:00.000000")
    assert set(pairs) == set(r.machine_labels)
    oid, pair = next(iter(pairs.items()))
    label, conf = r.machine_labels[oid]
    meta = pair["animals-metadata"]
    assert set(pair) == set(human_pair) and set(meta) == set(human_pair["animals-metadata"])
    assert pair["animals"] == CATEGORIES.index(label) and meta["class-name"] == label
    assert meta["human-annotated"] == "no" and human_pair["animals-metadata"]["human-annotated"] == "yes"
    assert meta["confidence"] == round(conf, 2) and meta["confidence"] >= round(r.threshold.value, 2)
    assert meta["job-name"] == "labeling-job/animals" and meta["type"] == "groundtruth/image-classification"
    assert meta["creation-date"] == "2024-05-01T10:00:00.000000"
    text = r.label_pairs("animals", CATEGORIES, task_type="groundtruth/text-classification")
    assert next(iter(text.values()))["animals-metadata"]["type"] == "groundtruth/text-classification"
    with pytest.raises(AutoLabelError, match="single-label"):
        r.label_pairs("animals", CATEGORIES, task_type="groundtruth/object-detection")


def test_counters_as_ground_truth_reports_them():
    assert label_counters(100, 30, 50) == {"TotalLabeled": 80, "HumanLabeled": 30, "MachineLabeled": 50,
                                          "FailedNonRetryableError": 0, "Unlabeled": 20}
    eng, key = engine()
    human = {o: key[o] for o in eng.first_batch()}
    r = eng.run_round(human)
    assert r.counters(600)["HumanLabeled"] == 60
    assert r.counters(600)["MachineLabeled"] == len(r.machine_labels)


# ---------------------------------------------------------------------------- stopping conditions

def test_stops_at_max_human_labeled():
    eng, key = engine(n=900, batch_size=100, max_human_labeled=250, target=0.999, min_support=1000)
    sim = simulate(eng, key)                 # an unreachable target: only people label
    assert len(sim.human) == 250 and not sim.machine
    assert sim.stop == "MaxHumanLabeledObjectCount reached"


def test_stops_at_max_percentage_labeled():
    eng, key = engine(n=900, batch_size=100, max_percentage_labeled=50)
    sim = simulate(eng, key)
    assert len(sim.human) + len(sim.machine) == 450
    assert sim.stop == "MaxPercentageOfInputDatasetLabeled reached"


def test_refuses_small_jobs_and_unknown_labels():
    ids, x, key = clusters(200)
    with pytest.raises(AutoLabelError, match="at least 1,000 objects"):
        AutoLabeler(ids, CATEGORIES, x)
    eng = AutoLabeler(ids, CATEGORIES, x, min_objects=0)
    with pytest.raises(AutoLabelError, match="'fish', which is not one of the categories"):
        eng.run_round({ids[0]: "fish"})
    with pytest.raises(AutoLabelError, match="not one of this job's objects"):
        eng.run_round({"nope": "cat"})
    with pytest.raises(AutoLabelError, match="one row per object"):
        AutoLabeler(ids, CATEGORIES, x[:10], min_objects=0)
    with pytest.raises(AutoLabelError, match="least-confident"):
        AutoLabeler(ids, CATEGORIES, x, min_objects=0, sampling="most-fun")


def test_random_sampling_baseline_sends_random_objects_to_people():
    eng, key = engine(sampling="random")
    human = {o: key[o] for o in eng.first_batch()}
    r = eng.run_round(human)
    assert r.to_humans == eng.next_for_humans(human, r.machine_labels)
    least = sorted((c, o) for o, c in r.confidence.items() if o not in r.machine_labels)[:60]
    assert set(r.to_humans) != {o for _, o in least}


# ---------------------------------------------------------------------------- background rounds, crash safety

class Flaky:
    """A scikit-learn-style classifier that fails, or hangs until ``Flaky.gate`` is set, when told to."""

    gate = threading.Event()   # a class attribute: clone() deep-copies parameters, and an Event cannot be

    def __init__(self, mode="ok"):
        self.mode = mode

    def get_params(self, deep=True):
        return {"mode": self.mode}

    def set_params(self, **params):
        self.__dict__.update(params)
        return self

    def fit(self, x, y):
        if self.mode == "raise":
            raise RuntimeError("the model broke")
        if self.mode == "hang":
            self.gate.wait(30)
        from sklearn.linear_model import LogisticRegression
        self.inner = LogisticRegression().fit(x, y)
        self.classes_ = self.inner.classes_
        return self

    def predict_proba(self, x):
        return self.inner.predict_proba(x)


def test_a_round_trains_in_the_background():
    eng, key = engine()
    human = {o: key[o] for o in eng.first_batch()}
    future = eng.start_round(human)
    human.update((o, key[o]) for o in eng.next_for_humans(human))   # labeling goes on meanwhile
    result = future.result(timeout=60)
    assert result.human_labeled == 60 and eng.latest is result and not eng.training
    fresh = result.without(human)
    assert set(fresh.to_humans).isdisjoint(human) and set(fresh.machine_labels).isdisjoint(human)


def test_a_failing_round_loses_no_label_and_the_next_round_works():
    eng, key = engine(n=900, batch_size=100)
    human = {o: key[o] for o in eng.first_batch()}
    machine: dict = {}
    while not machine:   # a round with machine labels, applied by "the job"
        r = eng.run_round(human, machine)
        assert r.to_humans or r.machine_labels
        machine.update(r.machine_labels)
        human.update((o, key[o]) for o in r.to_humans)
    before_human, before_machine, before_latest = dict(human), dict(machine), eng.latest

    eng.model = Flaky("raise")
    future = eng.start_round(human, machine)
    with pytest.raises(RuntimeError, match="the model broke"):
        future.result(timeout=60)
    assert isinstance(eng.error, RuntimeError)
    assert eng.latest is before_latest
    assert human == before_human and machine == before_machine

    eng.model = Flaky("ok")
    after = eng.start_round(human, machine).result(timeout=60)
    assert after.number > before_latest.number and eng.latest is after
    assert set(after.machine_labels).isdisjoint(machine) and set(after.machine_labels).isdisjoint(human)


def test_an_abandoned_round_is_dropped_when_it_finishes_late():
    eng, key = engine()
    human = {o: key[o] for o in eng.first_batch()}
    first = eng.run_round(human)
    Flaky.gate.clear()
    eng.model = Flaky("hang")
    stuck = eng.start_round(human)               # never answers: the job moves on without it
    assert eng.training and eng.latest is first
    human.update((o, key[o]) for o in first.to_humans)
    eng.model = Flaky("ok")
    newer = eng.run_round(human)
    assert eng.latest is newer
    Flaky.gate.set()
    late = stuck.result(timeout=60)
    assert late.number < newer.number and eng.latest is newer
    assert len(human) == 120


# ---------------------------------------------------------------------------- features and models

def test_any_scikit_learn_classifier_plugs_in():
    from sklearn.neighbors import KNeighborsClassifier
    eng, key = engine(n=900, batch_size=100, model=KNeighborsClassifier(15))
    sim = simulate(eng, key)
    assert sim.stop == "all objects labeled" and sim.machine


def test_text_features_drive_the_same_engine():
    rng = np.random.default_rng(0)
    words = {"cat": ["meow", "purr", "whiskers"], "dog": ["bark", "fetch", "leash"], "bird": ["tweet", "wing", "nest"]}
    filler = ["the", "a", "today", "garden", "saw", "very", "small", "loud"]
    truth = rng.choice(CATEGORIES, 600)
    texts = [" ".join(rng.choice(words[t] + filler, 6)) for t in truth]
    x = text_features(texts)
    assert x.shape[0] == 600
    ids = [f"t{i}" for i in range(600)]
    sim = simulate(AutoLabeler(ids, CATEGORIES, x, min_objects=0, batch_size=60), dict(zip(ids, truth)))
    assert sim.machine and sim.accuracy >= 0.95


def test_image_features_are_cached_on_disk_by_source(tmp_path):
    from gtwidgets.datasets import make_traffic_signs
    frame = make_traffic_signs(tmp_path / "signs", per_class=3, progress=False)
    sources = list(frame["source-ref"])
    reads = []

    def read(uri):
        reads.append(uri)
        with open(uri, "rb") as f:
            return f.read()

    raw = image_features(sources, cache=tmp_path / "cache", dims=None, read=read)
    assert raw.shape[0] == 30 and len(reads) == 30 and np.isfinite(raw).all()
    again = image_features(sources[::-1], cache=FeatureCache(IMAGE_DESCRIPTOR_VERSION, tmp_path / "cache"), dims=None,
                           read=read)
    assert len(reads) == 30                                  # all from the cache file
    np.testing.assert_array_equal(again, raw[::-1])
    assert image_features(sources, cache=tmp_path / "cache", dims=8, read=read).shape == (30, 8)


def test_the_package_imports_without_scikit_learn_and_says_what_to_install():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "import gtwidgets, gtwidgets.autolabel as al, numpy as np\n"
            "try:\n    al.AutoLabeler(['a'], ['x'], np.zeros((1, 1)), min_objects=0)\n"
            "except ImportError as e:\n    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "MissingExtraError" in out and "pip install gtwidgets[auto]" in out
    assert issubclass(MissingExtraError, ImportError)


def test_the_disk_cache_keeps_keys_that_end_in_a_zero_byte(tmp_path):
    # SHA-1 keys of "s37" and "s354" end in b"\x00"; numpy's byte strings would drop it on load
    sources = ["s37", "s354", "a", "b"]
    computed = []

    def compute(missing):
        computed.append(list(missing))
        return np.ones((len(missing), 2))

    FeatureCache("t", tmp_path).get(sources, compute)
    FeatureCache("t", tmp_path).get(sources, compute)
    assert computed == [sources]
