"""Ground Truth's automated data labeling loop as a pure engine (ground-truth-format.md section 6.3).

The job owns every label; the engine owns none. Each round it is handed the human labels the
job has (already in the job's journal) and the ids the machine labelled in earlier rounds, and
it answers with decisions: which objects the machine labels now (class and confidence), which
objects go to humans next, and whether the job is done. A round that fails or never finishes
changes nothing: the job applies a round only when it has its result.

    engine = AutoLabeler(ids, categories, image_features(sources, cache=folder))
    batch = engine.first_batch()                      # random: humans label these
    ...
    engine.start_round(job_human_labels, job_machine_ids)   # trains in a thread
    result = engine.latest                            # the newest finished round, or None
"""
from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from ..errors import AutoLabelError
from ..tasks import IMAGE_CLASSIFICATION, SINGLE_LABEL_TYPES, check_categories, classification_label
from ._sklearn import one_blas_thread, require_sklearn
from .threshold import ACCURACY_TARGET, Threshold, choose_threshold

__all__ = ["AutoLabeler", "Round", "default_model", "label_counters", "MIN_OBJECTS"]

MIN_OBJECTS = 1000   # the console's "auto-labeling kicks in from 1,000 objects" (the API says 1,250)
STOP_ALL_LABELED = "all objects labeled"
STOP_MAX_HUMAN = "MaxHumanLabeledObjectCount reached"
STOP_MAX_PERCENTAGE = "MaxPercentageOfInputDatasetLabeled reached"


@dataclass(frozen=True)
class Round:
    """What one training round decided, on the labels the job had when the round started.

    ``machine_labels`` maps object id -> (class name, confidence) for the objects the machine
    labels in this round (those at or above ``threshold.value``); ``to_humans`` lists the
    objects to send to people next, least confident first. ``stop`` says why the job is done
    once these labels are applied, or is ``None``. ``threshold`` carries the validation accuracy
    of machine labels with its interval: the only accuracy the engine claims.
    """

    number: int
    human_labeled: int
    machine_labeled_before: int
    trained_on: int
    threshold: Threshold
    machine_labels: dict[str, tuple[str, float]]
    to_humans: list[str]
    stop: str | None
    seconds: float
    confidence: dict[str, float] = field(repr=False, default_factory=dict)

    def label_pairs(self, attribute: str, categories: Sequence[str], *, job_name: str | None = None,
                    task_type: str = IMAGE_CLASSIFICATION,
                    creation_date: str | datetime | None = None) -> dict[str, dict]:
        """Object id -> the machine label pair as Ground Truth writes it (``"human-annotated": "no"``)."""
        if task_type not in SINGLE_LABEL_TYPES:
            raise AutoLabelError(f"task_type={task_type!r}: Ground Truth auto-labels single-label image or text "
                                 "classification only.")
        return {oid: classification_label(attribute, categories, label, job_name=job_name, confidence=conf,
                                          human_annotated=False, creation_date=creation_date, task_type=task_type)
                for oid, (label, conf) in self.machine_labels.items()}

    def without(self, labeled: Iterable[str]) -> Round:
        """This round minus objects labeled since it started (by people while it trained)."""
        gone = set(labeled)
        return replace(self, machine_labels={k: v for k, v in self.machine_labels.items() if k not in gone},
                       to_humans=[k for k in self.to_humans if k not in gone])

    def counters(self, total: int) -> dict[str, int]:
        """Ground Truth's ``LabelCounters`` once this round's machine labels are applied."""
        machine = self.machine_labeled_before + len(self.machine_labels)
        return label_counters(total, self.human_labeled, machine)


def label_counters(total: int, human: int, machine: int, failed: int = 0) -> dict[str, int]:
    """``LabelCounters`` as ``DescribeLabelingJob`` reports them."""
    return {"TotalLabeled": human + machine, "HumanLabeled": human, "MachineLabeled": machine,
            "FailedNonRetryableError": failed, "Unlabeled": total - human - machine - failed}


def default_model(*, sparse: bool = False):
    """Standardised features into a multinomial logistic regression: fast, calibrated enough, offline.

    ``sparse=True`` (TF-IDF rows, already normalised) skips the scaling, which would densify them.
    """
    require_sklearn()
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    if sparse:
        return LogisticRegression(C=10.0, max_iter=200)
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=200))


class AutoLabeler:
    """The automated-labeling loop over one job's objects; holds features and rounds, never labels.

    ``features`` has one row per object id, in order (a numpy array or a scipy sparse matrix):
    ``image_features``, ``text_features``, ``embedding_features`` or your own. ``model`` is any
    scikit-learn classifier with ``predict_proba`` (cloned for every round); the default is
    ``default_model()``.

    Ground Truth's settings, with its defaults: ``batch_size`` objects go to humans per round
    (``MaxConcurrentTaskCount``; default 5% of the dataset, between 100 and 1,000);
    ``validation_fraction`` of human labels are held out (20% below 5,000 objects, 10% above);
    machine labels must reach ``target`` accuracy (0.95) on them; ``max_human_labeled`` and
    ``max_percentage_labeled`` are the ``StoppingConditions``.

    The held-out objects are a random sample (a fixed share of the objects, drawn by ``seed``;
    each batch for people tops them up with random ones, the rest of the batch being the least
    confident), so they stand for the objects the machine labels. One that an applied round
    would have machine-labelled, had it not been held out, no longer counts: its like is no
    longer among the objects left, which are harder. ``min_support`` held-out objects must lie
    above a threshold before it is trusted. ``threshold_rule="lower-bound"`` (default) needs
    the lower end of the 95% interval of the held-out accuracy to reach the target;
    ``"estimate"`` is Ground Truth's literal rule (the measured accuracy), which on small
    held-out sets machine-labels too much (bench/auto_label.py, 2,000 images: 40 held-out
    objects measured 95.0% and the machine labels were 90.6% right).

    Fewer than ``min_objects`` objects raise ``AutoLabelError``. ``sampling="random"`` sends
    random objects to people instead of the least confident ones (a baseline for benchmarks).
    """

    def __init__(self, object_ids: Sequence[str], categories: Sequence[str], features, *, model=None,
                 batch_size: int | None = None, validation_fraction: float | None = None,
                 target: float = ACCURACY_TARGET, threshold_rule: str = "lower-bound", min_support: int = 30,
                 max_human_labeled: int | None = None, max_percentage_labeled: float = 100,
                 min_objects: int = MIN_OBJECTS, sampling: str = "least-confident", seed: int = 0):
        require_sklearn()
        if sampling not in ("least-confident", "random"):
            raise AutoLabelError(f'sampling={sampling!r}: use "least-confident" (Ground Truth\'s) or "random".')
        self.sampling = sampling
        self.object_ids = [str(o) for o in object_ids]
        self.categories = check_categories(categories)
        n = len(self.object_ids)
        if len(set(self.object_ids)) != n:
            raise AutoLabelError("object ids repeat; give each object one id (its position or source).")
        if n < min_objects:
            raise AutoLabelError(f"automated labeling needs at least {min_objects:,} objects (Ground Truth: 1,000 to "
                                 f"1,250) and this job has {n:,}; label them all by hand, or pass min_objects=.")
        if features.shape[0] != n:
            raise AutoLabelError(f"features has {features.shape[0]:,} rows for {n:,} objects; give one row per "
                                 "object id, in the same order.")
        if not 0 < max_percentage_labeled <= 100:
            raise AutoLabelError(f"max_percentage_labeled={max_percentage_labeled!r}: give a percentage in (0, 100].")
        self.features = features
        self.model = model if model is not None else default_model(sparse=hasattr(features, "tocsr"))
        self.batch_size = int(batch_size or min(1000, max(100, n // 20)))
        self.validation_fraction = validation_fraction if validation_fraction is not None else (0.2 if n < 5000 else 0.1)
        self.target, self.threshold_rule, self.min_support = target, threshold_rule, min_support
        self.max_human_labeled = max_human_labeled
        self.max_percentage_labeled = max_percentage_labeled
        self.seed = seed
        self._index = {o: i for i, o in enumerate(self.object_ids)}
        self._validation = np.array([_unit(seed, o) < self.validation_fraction for o in self.object_ids])
        self._lock = threading.Lock()
        self._latest: Round | None = None
        # round number -> (its machine-labelled ids, the held-out ids it would have labelled)
        self._history: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
        self._started = 0
        self._published = 0
        self._running = 0
        self.error: BaseException | None = None

    # ------------------------------------------------------------------ decisions

    @property
    def latest(self) -> Round | None:
        """The newest round that finished; ``None`` before the first."""
        return self._latest

    @property
    def training(self) -> bool:
        return self._running > 0

    def is_validation(self, object_id: str) -> bool:
        """Whether a human label of this object is held out to measure the machine (never trained on)."""
        return bool(self._validation[self._lookup(object_id)])

    def first_batch(self, labeled: Collection[str] = ()) -> list[str]:
        """A random batch for humans, before any model exists (Ground Truth's first step)."""
        return self._random(set(labeled), min(self.batch_size, self._cap(len(labeled), 0)))

    def next_for_humans(self, human_labeled: Collection[str], machine_labeled: Collection[str] = (),
                        n: int | None = None) -> list[str]:
        """The next objects for people: least confident under the latest round, random before one.

        Never waits for training: with no finished round (or objects it did not score) it falls
        back to random ones.
        """
        human = set(human_labeled)
        done = human | set(machine_labeled)
        n = min(n or self.batch_size, self._cap(len(human), len(set(machine_labeled))))
        latest = self._latest
        spent = self._spent(human, machine_labeled)
        held = sum(bool(self._validation[self._lookup(o)]) for o in human - spent)
        return self._pick(len(human), held, done, n, None if latest is None else latest.confidence)

    def stop_reason(self, human: int, machine: int) -> str | None:
        """Why the job is done with these many labels, or ``None``."""
        total = len(self.object_ids)
        if human + machine >= total:
            return STOP_ALL_LABELED
        if self.max_human_labeled is not None and human >= self.max_human_labeled:
            return STOP_MAX_HUMAN
        if (human + machine) * 100 >= self.max_percentage_labeled * total:
            return STOP_MAX_PERCENTAGE
        return None

    # ------------------------------------------------------------------ rounds

    def run_round(self, human_labels: Mapping[str, str], machine_labeled: Collection[str] = ()) -> Round:
        """Train on the human labels, measure on the held-out ones, label what clears the threshold.

        Runs in the caller's thread and publishes the round as ``latest``. Raises what the model
        raises; ``latest`` is then unchanged.
        """
        with self._lock:
            self._started += 1
            number = self._started
        return self._run(number, dict(human_labels), frozenset(machine_labeled))

    def start_round(self, human_labels: Mapping[str, str], machine_labeled: Collection[str] = ()) -> Future:
        """``run_round`` in a worker thread; returns at once with a Future of the Round.

        The labels are copied first, so labeling goes on while it trains. If the round fails, the
        Future holds the error (also in ``error``) and ``latest`` keeps the previous round. A round
        that is abandoned and finishes after a newer one is dropped.
        """
        snapshot, machine = dict(human_labels), frozenset(machine_labeled)
        with self._lock:
            self._started += 1
            number = self._started
            self._running += 1
        future: Future = Future()
        future.set_running_or_notify_cancel()

        def work() -> None:
            try:
                future.set_result(self._run(number, snapshot, machine))
            except BaseException as exc:  # noqa: BLE001 - the Future carries it to the caller
                self.error = exc
                future.set_exception(exc)
            finally:
                with self._lock:
                    self._running -= 1

        threading.Thread(target=work, name=f"gtwidgets-autolabel-round-{number}", daemon=True).start()
        return future

    # ------------------------------------------------------------------ internals

    def _run(self, number: int, human_labels: dict[str, str], machine_labeled: frozenset[str]) -> Round:
        with one_blas_thread():
            return self._round(number, human_labels, machine_labeled)

    def _round(self, number: int, human_labels: dict[str, str], machine_labeled: frozenset[str]) -> Round:
        start = time.perf_counter()
        human_idx = np.array([self._lookup(o) for o in human_labels], np.int64)
        y = np.array([self._class(lbl, oid) for oid, lbl in human_labels.items()], np.int64)
        held = self._validation[human_idx] if human_idx.size else np.zeros(0, bool)
        spent = self._spent(human_labels, machine_labeled)
        live = np.array([self.object_ids[i] not in spent for i in human_idx], bool)
        train_idx, train_y = human_idx[~held], y[~held]
        val_idx, val_y = human_idx[held & live], y[held & live]
        labeled = np.zeros(len(self.object_ids), bool)
        labeled[human_idx] = True
        labeled[[self._lookup(o) for o in machine_labeled]] = True
        open_idx = np.flatnonzero(~labeled)

        threshold = choose_threshold(np.zeros(0), np.zeros(0, bool), target=self.target)
        would: frozenset[str] = frozenset()
        machine: dict[str, tuple[str, float]] = {}
        confidence: dict[str, float] = {}
        if np.unique(train_y).size >= 2:
            from sklearn.base import clone
            model = clone(self.model).fit(self.features[train_idx], train_y)
            classes = np.asarray(model.classes_)
            if val_idx.size:
                val_pred, val_conf = _predict(model, classes, self.features[val_idx])
                threshold = choose_threshold(val_conf, val_pred == val_y, target=self.target,
                                             min_support=self.min_support, rule=self.threshold_rule)
                would = frozenset(self.object_ids[i] for i in val_idx[val_conf >= threshold.value])
            if open_idx.size:
                pred, conf = _predict(model, classes, self.features[open_idx])
                confidence = {self.object_ids[i]: float(c) for i, c in zip(open_idx, conf)}
                above = np.flatnonzero(conf >= threshold.value)
                room = self._room(len(human_labels), len(machine_labeled))
                above = above[np.argsort(-conf[above], kind="stable")][:room]
                machine = {self.object_ids[open_idx[k]]: (self.categories[pred[k]], float(conf[k])) for k in above}
        human_n, machine_n = len(human_labels), len(machine_labeled) + len(machine)
        stop = self.stop_reason(human_n, machine_n)
        to_humans: list[str] = []
        if stop is None:
            n = min(self.batch_size, self._cap(human_n, machine_n))
            done = set(human_labels) | set(machine_labeled) | set(machine)
            to_humans = self._pick(human_n, int(val_idx.size), done, n, confidence)
        result = Round(number, human_n, len(machine_labeled), int(train_idx.size), threshold, machine, to_humans,
                       stop, time.perf_counter() - start, confidence)
        with self._lock:
            if machine:
                self._history[number] = (frozenset(machine), would)
            if number > self._published:
                self._published = number
                self._latest = result
        return result

    def _pick(self, human: int, held: int, done: set[str], n: int,
              confidence: Mapping[str, float] | None) -> list[str]:
        """``n`` objects for people: random held-out ones to keep their share, the least confident others after.

        ``held`` of the ``human`` labels are held out and still count (not spent): the share is
        kept with those, so a round that spends held-out objects is followed by fresh ones.
        Random ones only before a model exists (``confidence`` is None) or with ``sampling="random"``.
        """
        if n <= 0:
            return []
        if confidence is None or self.sampling == "random":
            return self._random(done, n)
        want = min(n, max(0, math.ceil(self.validation_fraction * (human + n)) - held))
        picked = self._random(done, want, held_out=True)
        scored = sorted((c, oid) for oid, c in confidence.items()
                        if oid not in done and not self._validation[self._index[oid]])
        picked += [oid for _, oid in scored[:n - len(picked)]]
        if len(picked) < n:
            picked += self._random(done | set(picked), n - len(picked))
        return picked

    def _spent(self, human: Collection[str], machine_labeled: Collection[str]) -> set[str]:
        """Held-out ids that an applied round would have machine-labelled: they no longer measure what is left.

        Machine labels that no round of this engine made (a job resumed in a new session) are
        taken at their worst: every held-out object labeled by then is spent, and fresh ones
        are drawn for the rounds to come.
        """
        with self._lock:
            made = set().union(*(labels for labels, _ in self._history.values()))
            orphans = frozenset(machine_labeled) - made
            if orphans:
                held = frozenset(o for o in human if self._validation[self._lookup(o)])
                self._history[-len(self._history) - 1] = (orphans, held)
            rounds = list(self._history.values())
        spent: set[str] = set()
        for labels, would in rounds:
            if not labels.isdisjoint(machine_labeled):
                spent |= would
        return spent

    def _cap(self, human: int, machine: int) -> int:
        """How many more objects people may label under the stopping conditions."""
        cap = self._room(human, machine)
        if self.max_human_labeled is not None:
            cap = min(cap, self.max_human_labeled - human)
        return max(cap, 0)

    def _room(self, human: int, machine: int) -> int:
        limit = math.floor(self.max_percentage_labeled * len(self.object_ids) / 100)
        return max(limit - human - machine, 0)

    def _random(self, exclude: set[str], n: int, *, held_out: bool = False) -> list[str]:
        """``n`` objects not in ``exclude`` (only held-out ones with ``held_out``), in an order fixed by the seed."""
        if n <= 0:
            return []
        order = np.random.default_rng([self.seed, 0xA070]).permutation(len(self.object_ids))
        if held_out:
            order = order[self._validation[order]]
        out = []
        for i in order:
            oid = self.object_ids[i]
            if oid not in exclude:
                out.append(oid)
                if len(out) == n:
                    break
        return out

    def _lookup(self, object_id: str) -> int:
        try:
            return self._index[str(object_id)]
        except KeyError:
            raise AutoLabelError(f"object id {object_id!r} is not one of this job's objects.") from None

    def _class(self, label: str, object_id: str) -> int:
        try:
            return self.categories.index(label)
        except ValueError:
            raise AutoLabelError(f"object {object_id!r} has label {label!r}, which is not one of the categories "
                                 f"{self.categories!r}.") from None


def _predict(model, classes: np.ndarray, rows) -> tuple[np.ndarray, np.ndarray]:
    """Predicted category index and its probability (the model's confidence) for each row."""
    proba = np.asarray(model.predict_proba(rows))
    best = proba.argmax(1)
    return classes[best].astype(np.int64), proba[np.arange(len(best)), best]


def _unit(seed: int, object_id: str) -> float:
    """A number in [0, 1) fixed by the seed and the object id: membership of the validation set."""
    digest = hashlib.blake2b(f"{seed}\x00{object_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64
