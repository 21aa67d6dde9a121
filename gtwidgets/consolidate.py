"""Consolidation: several workers' answers -> one label per object, in Ground Truth's output shape.

Methods: ``"dawid-skene"`` reproduces Ground Truth's published modified Dawid-Skene EM (its
stopping test, the 0.95 confidence ceiling, a fresh EM per batch of objects that completed
together); ``"majority"`` is plain voting; any callable with the consolidation Lambda contract
(``handler(event)`` or ``handler(event, context)``) runs as the service would run it.
"""
from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import orjson
import pandas as pd

from . import lambdas, output_layout, responses, storage, tasks
from .errors import JobError, ManifestError

__all__ = ["Consensus", "consolidate", "majority_vote", "dawid_skene", "infer_batches", "answered_names",
           "output_lines", "consolidate_output"]

CONFIDENCE_CEILING = 0.95   # no real multi-worker classification line exceeds it (ground-truth-format.md 6.2)
DEFAULT_RUN_WINDOW = pd.Timedelta(seconds=60)   # real runs were ~70 s apart (see infer_batches)
MAX_RUN = 50                                    # no real run held more (ground-truth-format.md 6.2)
_PRIOR_ACCURACY = 0.7
_MIN_RELATIVE_DIFF = 1e-8     # the published stopping test
_CONVERGED_TOL = 1e-6         # stop="converged": further epochs changed no label in bench/consolidate.py


@dataclass
class Consensus:
    """Per-object result of a consolidation on integer answers."""

    labels: np.ndarray            # class index per object (-1: nobody answered)
    confidence: np.ndarray        # rounded to 2 decimals; 0 for single-worker objects
    posteriors: np.ndarray        # (objects, classes): EM posteriors, or vote shares for majority
    n_workers: np.ndarray
    epochs: np.ndarray | None = None           # EM epochs run, per batch
    worker_confusion: np.ndarray | None = None  # (workers, true, answered), rows sum to 1


# ---------------------------------------------------------------------------- integer-array methods

def majority_vote(labels: np.ndarray, n_classes: int) -> Consensus:
    """Most frequent answer per object (``labels``: objects x workers, -1 for missing).

    Ties go to the class listed first in the categories, so the result never depends on
    answer order or a random seed. Confidence is the winner's share of the votes.
    """
    obj, _, lab = _long(labels)
    return _majority(obj, lab, labels.shape[0], n_classes)


def dawid_skene(labels: np.ndarray, n_classes: int, *, batches: np.ndarray | None = None,
                max_epochs: int = 20, stop: str = "published", smoothing: float = 1.0,
                ceiling: float | None = CONFIDENCE_CEILING) -> Consensus:
    """Ground Truth's modified Dawid-Skene EM on ``labels`` (objects x workers, -1 for missing).

    ``batches`` (one integer per object) runs a fresh EM per batch, as the service does.
    ``stop="published"`` applies AWS's published test ``(LL_t - LL_{t-1}) / LL_{t-1} < 1e-8``,
    which (the log-likelihood being negative) ends after 2 epochs; ``stop="converged"`` runs
    until the log-likelihood changes by less than 1e-6 of itself (or ``max_epochs``).
    ``smoothing`` scales the published pseudo-counts (1: each worker's matrix gets ``n`` answers'
    worth of its own accuracy and ``n/2`` of the crowd's, which keeps its errors symmetric);
    smaller values let the EM learn which classes a worker confuses, as classic Dawid-Skene does.
    ``stop="converged", smoothing=1e-4`` is as accurate as crowd-kit's Dawid-Skene on
    bench/consolidate.py's simulated workers, in half its time.
    Exact ties in the posterior go to the class listed first.
    """
    obj, wrk, lab = _long(labels)
    return _dawid_skene(obj, wrk, lab, labels.shape[0], labels.shape[1], n_classes,
                        batches=batches, max_epochs=max_epochs, stop=stop, smoothing=smoothing,
                        ceiling=ceiling)


def infer_batches(answers: pd.DataFrame, *, window: pd.Timedelta = DEFAULT_RUN_WINDOW,
                  max_run: int = MAX_RUN) -> pd.Series:
    """``object_id -> batch number``: the runs Ground Truth would have consolidated together.

    The service consolidates in runs as answers complete: every minute or two it takes the
    objects completed since its last run, at most 50 at a time (real outputs: runs about 70 s
    apart in their ``creation-date`` values; a 302-object job ran 1, 6, 2, 1, 1, 4, 14, then
    50 x 5 and 23 objects). So objects are ordered by when they completed (their
    worker-response file's time, ``response_time``, or else their last ``submission_time``),
    and a run closes when it holds ``max_run`` objects, when the next object completed more
    than ``window`` after the run's first one, or at a new ``iteration``. Objects without any
    time form one run of their own.

    Why a window from the run's first object rather than a pause between objects: on the
    shared fixtures' real run times (answers simulated, as their worker responses are not
    public) it put together the service's runs best; a pause rule joins runs whenever answers
    keep coming (tests/test_consolidate.py measures both).
    """
    frame = answers
    times = None
    if "response_time" in frame and frame["response_time"].notna().any():
        times = pd.to_datetime(frame["response_time"], utc=True)
    elif "submission_time" in frame and frame["submission_time"].notna().any():
        times = pd.to_datetime(frame["submission_time"], utc=True, format="ISO8601", errors="coerce")
    ids = frame["object_id"].astype(str)
    if times is None:
        return pd.Series(0, index=pd.Index(ids.unique(), name="object_id"))
    done = times.groupby(ids.to_numpy()).max()
    iteration = (frame["iteration"].groupby(ids.to_numpy()).max() if "iteration" in frame
                 else pd.Series(1, index=done.index))
    order = pd.DataFrame({"t": done, "it": iteration.reindex(done.index)}).sort_values(["it", "t"], kind="stable")
    known = order[order["t"].notna()]
    batch = pd.Series(-1, index=order.index, dtype=np.int64)
    run, first, size, it = -1, None, 0, None
    for oid, t, i in zip(known.index, known["t"], known["it"]):
        if first is None or i != it or size >= max_run or t - first > window:
            run, first, size, it = run + 1, t, 0, i
        batch[oid] = run
        size += 1
    batch[order["t"].isna()] = run + 1
    return batch.rename_axis("object_id")


# ---------------------------------------------------------------------------- the table API

def consolidate(answers: pd.DataFrame, categories: Sequence[str] | None, *,
                method: str | Callable = "dawid-skene", multi_label: bool | None = None,
                batches: str | pd.Series | Mapping = "auto", label_attribute: str | None = None,
                job_name: str | None = None, task_type: str | None = None,
                creation_date: str | None = None, errors: str = "raise",
                window: pd.Timedelta = DEFAULT_RUN_WINDOW, stop: str = "published", smoothing: float = 1.0,
                max_epochs: int = 20, data_objects: Mapping[str, Mapping] | None = None) -> pd.DataFrame:
    """One consolidated label per object from a tidy answers table (see :mod:`gtwidgets.responses`).

    Returns columns ``object_id``, ``label`` (class name, or list of names for multi-label),
    ``confidence`` (multi-label: the lowest of ``confidences``), ``n_workers``, ``batch`` and
    ``pair`` (the ``{attr: ..., attr-metadata: ...}`` dict for the output manifest line).

    ``batches``: ``"auto"`` uses the table's ``batch`` column (from consolidation-request files),
    else infers batches from answer times (:func:`infer_batches`), else one batch; ``"none"``
    consolidates everything at once; a Series/mapping gives ``object_id -> batch``.
    ``multi_label=None`` detects it from the answers. Bad answers (unknown category, empty
    worker id, no label) raise one ManifestError naming each file; ``errors="skip"`` warns,
    drops only those answers and lists them in ``result.attrs["problems"]``.
    ``stop``, ``smoothing`` and ``max_epochs`` tune the EM (see :func:`dawid_skene`); the
    defaults reproduce Ground Truth. ``data_objects`` (``object_id -> input line``) fills the
    payload's ``dataObject`` for a Lambda handler.
    """
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors={errors!r}; use 'raise' or 'skip'.")
    missing = {"object_id", "worker_id", "answer"} - set(answers.columns)
    if missing:
        raise JobError(f"answers table lacks columns {sorted(missing)}; read it with "
                       "gtwidgets.responses.read_worker_responses or build those columns.")
    attribute = tasks.check_attribute_name(label_attribute or job_name or "label")
    job_name = job_name or attribute
    if multi_label is None:
        column = answers["answer"]
        multi_label = column.dtype == object and any(
            isinstance(a, (list, tuple, np.ndarray)) for a in column.to_numpy(dtype=object))
    cats = tasks.check_categories(categories) if categories is not None else None
    if cats is None and not callable(method):
        raise JobError("consolidation needs the job's categories, in the job's order; pass categories=[...].")
    if cats is not None and len(cats) < 2 and not callable(method):
        raise JobError("classification needs at least 2 categories; add another.")

    frame, problems = _clean(answers, cats, multi_label=multi_label, check_answers=not callable(method))
    if problems:
        if errors == "raise":
            raise ManifestError(responses.summary(problems), problems)
        warnings.warn(responses.summary(problems), stacklevel=2)
    batch_of = _resolve_batches(frame, batches, window)
    date = creation_date or tasks.format_creation_date()

    if callable(method):
        out = _consolidate_with_lambda(frame, method, batch_of, attribute=attribute, job_name=job_name,
                                       categories=cats, data_objects=data_objects, date=date)
    elif method in ("dawid-skene", "majority"):
        em = {"stop": stop, "smoothing": smoothing, "max_epochs": max_epochs}
        out = _consolidate_builtin(frame, cats, method, batch_of, multi_label=multi_label, em=em,
                                   attribute=attribute, job_name=job_name, task_type=task_type, date=date)
    else:
        raise JobError(f"method={method!r}; use 'dawid-skene', 'majority' or a consolidation Lambda handler.")
    out.attrs.update(problems=problems, method=getattr(method, "__name__", method),
                     categories=cats, label_attribute=attribute, multi_label=multi_label)
    return out


def answered_names(answers: pd.DataFrame) -> list[str]:
    """The class names workers answered, sorted; answers that are not names are left out."""
    seen: set[str] = set()
    for a in answers["answer"] if "answer" in answers else ():
        seen.update(str(n) for n in (_names(a) or ()))
    return sorted(seen)


def consolidate_output(answers: pd.DataFrame, categories: Sequence[str] | None, *,
                       input_manifest: str | None = None, **options) -> tuple[pd.DataFrame, list[dict]]:
    """:func:`consolidate` (``options`` are its keywords), then :func:`output_lines`.

    Returns the per-object result (its ``attrs["problems"]`` lists answers skipped with
    ``errors="skip"``) and the output manifest's lines.
    """
    result = consolidate(answers, categories, **options)
    return result, output_lines(result, input_manifest)


def output_lines(result: pd.DataFrame, input_manifest: str | None = None) -> list[dict]:
    """Output-manifest lines from :func:`consolidate`'s result.

    With ``input_manifest`` (a file or ``s3://`` URI): its lines in its order, each with its
    object's label pair added (object ids are line positions, as in Ground Truth). Without:
    one ``{"datasetObjectId": ..., <pair>}`` line per consolidated object. Raises
    ManifestError naming the line when the input manifest has a line that is not JSON.
    """
    pairs = dict(zip(result["object_id"], result["pair"]))
    if input_manifest is None:
        return [{"datasetObjectId": oid, **pair} for oid, pair in pairs.items()]
    lines = []
    for n, raw in enumerate(storage.read_bytes(input_manifest).splitlines()):
        if not raw.strip():
            continue
        try:
            line = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise ManifestError(f"{input_manifest}:{n + 1}: not JSON ({e}); fix the line.") from None
        lines.append({**line, **pairs.get(str(len(lines)), {})})
    return lines


# ---------------------------------------------------------------------------- internals: EM and votes

def _long(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise JobError("labels must be a 2-D integer array: objects x workers, -1 where a worker did not answer.")
    obj, wrk = np.nonzero(labels >= 0)
    return obj, wrk, labels[obj, wrk].astype(np.int64)


def _majority(obj: np.ndarray, lab: np.ndarray, n_obj: int, k: int) -> Consensus:
    counts = np.bincount(obj * k + lab, minlength=n_obj * k).reshape(n_obj, k)
    n = counts.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / n[:, None]
    winner = np.where(n > 0, counts.argmax(1), -1)
    conf = np.where(n > 1, np.round(counts.max(1, initial=0) / np.maximum(n, 1), 2), 0.0)
    return Consensus(winner, conf, shares, n)


def _dawid_skene(obj, wrk, lab, n_obj, n_wrk, k, *, batches=None, max_epochs=20, stop="published",
                 smoothing=1.0, ceiling=CONFIDENCE_CEILING, tol=None) -> Consensus:
    if k < 2:
        raise JobError("Dawid-Skene needs at least 2 classes.")
    if stop not in ("published", "converged"):
        raise JobError(f"stop={stop!r}; use 'published' or 'converged'.")
    if tol is None:
        tol = _MIN_RELATIVE_DIFF if stop == "published" else _CONVERGED_TOL
    obj_batch = np.zeros(n_obj, np.int64) if batches is None else pd.factorize(np.asarray(batches))[0]
    n_batch = int(obj_batch.max()) + 1 if n_obj else 0
    # Each worker gets a separate confusion matrix in each batch: a fresh EM per batch.
    group_key, g = np.unique(obj_batch[obj] * n_wrk + wrk, return_inverse=True)
    group_batch = group_key // max(n_wrk, 1)
    n_group = len(group_key)
    idx = g * k + lab
    n_per_batch_group = np.bincount(group_batch, minlength=n_batch)
    # Sums over answers are segment sums (np.add.reduceat) over answers sorted by object (E-step)
    # and by (group, answered class) (M-step): one pass for all classes instead of one a class.
    by_obj = np.argsort(obj, kind="stable")
    obj_cells, obj_starts = _segments(obj[by_obj])
    by_cell = np.argsort(idx, kind="stable")
    count_cells, count_starts = _segments(idx[by_cell])
    obj_by_cell = obj[by_cell]
    idx_by_obj = idx[by_obj]

    p = np.full((n_obj, k), 1.0 / k)
    crowd_acc = np.full(n_batch, _PRIOR_ACCURACY)
    conf_mtrx = _accuracy_matrices(np.full(n_group, _PRIOR_ACCURACY), k)
    final_p = p.copy()
    final_c = conf_mtrx.copy()
    epochs = np.zeros(n_batch, np.int64)
    active = np.ones(n_batch, bool)
    prev_ll = None
    for epoch in range(max_epochs):
        # E-step: prior = the batch's mean class distribution, times each answer's likelihood.
        prior = np.stack([np.bincount(obj_batch, p[:, c], minlength=n_batch) for c in range(k)], 1)
        prior /= prior.sum(1, keepdims=True)
        with np.errstate(divide="ignore"):
            log_prior = np.log(prior)
            log_c = np.log(conf_mtrx).transpose(0, 2, 1).reshape(n_group * k, k)   # (group, answered) x true
        logq = log_prior[obj_batch]
        logq[obj_cells] += np.add.reduceat(log_c[idx_by_obj], obj_starts, axis=0)
        top = logq.max(1, keepdims=True)
        top[~np.isfinite(top)] = 0.0
        q = np.exp(logq - top)
        total = q.sum(1, keepdims=True)
        with np.errstate(divide="ignore"):
            ll_obj = (top + np.log(total))[:, 0]
        p_new = np.divide(q, total, out=np.full_like(q, 1.0 / k), where=total > 0)
        # M-step: soft counts, smoothed toward the worker's own and the crowd's accuracy.
        counts = np.zeros((n_group * k, k))                # (group, answered) x true
        counts[count_cells] = np.add.reduceat(p_new[obj_by_cell], count_starts, axis=0)
        counts = counts.reshape(n_group, k, k).transpose(0, 2, 1)   # (group, true, answered)
        n_ans = counts.sum((1, 2))
        acc = np.trace(counts, axis1=1, axis2=2) / n_ans
        counts += smoothing * (_accuracy_matrices(acc, k) * n_ans[:, None, None]
                               + _accuracy_matrices(crowd_acc[group_batch], k) * (n_ans / 2)[:, None, None])
        rows = counts.sum(2, keepdims=True)
        new_c = np.divide(counts, rows, out=counts.copy(), where=rows > 0)

        ll = np.bincount(obj_batch, np.where(np.isfinite(ll_obj), ll_obj, 0.0), minlength=n_batch)
        stopping = np.zeros(n_batch, bool)
        if prev_ll is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = (ll - prev_ll) / prev_ll
            test = rel < tol if stop == "published" else np.abs(rel) < tol
            stopping = active & (prev_ll != 0) & test
        epochs[active] = epoch + 1
        live = active[obj_batch]
        final_p[live] = p_new[live]
        final_c[active[group_batch]] = new_c[active[group_batch]]
        active &= ~stopping
        if not active.any():
            break
        crowd_acc = np.bincount(group_batch, acc, minlength=n_batch) / np.maximum(n_per_batch_group, 1)
        p, conf_mtrx, prev_ll = p_new, new_c, ll

    n = np.bincount(obj, minlength=n_obj)
    labels = np.where(n > 0, final_p.argmax(1), -1)
    conf = np.round(final_p.max(1), 2)
    if ceiling is not None:
        conf = np.minimum(conf, ceiling)
    conf = np.where(n > 1, conf, 0.0)
    single = n == 1
    if single.any():   # one worker: Ground Truth writes that worker's answer with confidence 0
        first = np.full(n_obj, -1)
        first[obj[::-1]] = lab[::-1]
        labels = np.where(single, first, labels)
    # Worker confusion over the whole run: soft counts summed across batches.
    worker_counts = np.zeros((n_wrk, k, k))
    np.add.at(worker_counts, group_key % max(n_wrk, 1), final_c * np.bincount(g, minlength=n_group)[:, None, None])
    rows = worker_counts.sum(2, keepdims=True)
    worker_conf = np.divide(worker_counts, rows, out=np.zeros_like(worker_counts), where=rows > 0)
    return Consensus(labels, conf, final_p, n, epochs, worker_conf)


def _segments(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys of a sorted array and where each one's run starts."""
    if not len(sorted_keys):
        return sorted_keys, np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    return sorted_keys[starts], starts


def _accuracy_matrices(acc: np.ndarray, k: int) -> np.ndarray:
    """Confusion matrices with ``acc`` on the diagonal and the rest spread evenly."""
    acc = np.asarray(acc, float)
    out = np.repeat(((1 - acc) / (k - 1))[:, None, None], k, 1).repeat(k, 2)
    out[:, np.arange(k), np.arange(k)] = acc[:, None]
    return out


# ---------------------------------------------------------------------------- internals: the table

def _clean(answers: pd.DataFrame, cats, *, multi_label: bool, check_answers: bool):
    frame = answers.reset_index(drop=True).copy()
    frame["object_id"] = frame["object_id"].astype(str).to_numpy(dtype=object)
    frame["answer"] = frame["answer"].to_numpy(dtype=object)
    workers = frame["worker_id"].astype(object)
    empty = workers.isna().to_numpy() | (workers.astype(str).str.strip() == "").to_numpy()
    bad = empty.copy()
    if check_answers:
        answer = frame["answer"].to_numpy()
        if multi_label:
            ok = np.fromiter((_names(a) is not None and set(_names(a)) <= set(cats) for a in answer), bool, len(answer))
        else:
            ok = pd.Series(answer, dtype=object).isin(cats).to_numpy()
        bad |= ~ok
    where = frame["file"].astype(str).to_numpy() if "file" in frame else None
    problems = []
    for i in np.nonzero(bad)[0]:     # only the bad rows get a (slow, friendly) message
        place = where[i] if where is not None else f"answers row {i}"
        obj, worker, answer = frame["object_id"][i], frame["worker_id"][i], frame["answer"][i]
        if empty[i]:
            problems.append(f"{place}: object {obj}: a worker id is empty; give the answer its worker's id or remove it.")
            continue
        names = _names(answer)
        if names is None:
            problems.append(f"{place}: object {obj}, worker {worker}: no label or labels in the answer; "
                            "only classification answers can be consolidated this way (pass a Lambda handler as method).")
        elif not multi_label and len(names) != 1 or not multi_label and not isinstance(answer, str):
            problems.append(f"{place}: object {obj}, worker {worker}: {len(names)} labels in a single-label job; "
                            "pass multi_label=True.")
        else:
            unknown = [n for n in names if n not in cats]
            problems.append(f"{place}: object {obj}, worker {worker}: answer {unknown[0]!r} is not one of the "
                            f"categories {list(cats)!r}; add it to the categories or fix the answer.")
    frame = frame[~bad]
    if "submission_time" in frame and frame["submission_time"].notna().any():
        # A worker who answered an object twice (a retried task) counts once: the later answer.
        times = pd.to_datetime(frame["submission_time"], utc=True, format="ISO8601", errors="coerce")
        frame = frame.iloc[np.argsort(times.to_numpy(), kind="stable")]
    frame = frame.drop_duplicates(["object_id", "worker_id"], keep="last")
    order = _natural_order(frame["object_id"].unique())
    frame = frame.assign(_o=pd.Categorical(frame["object_id"], categories=order, ordered=True))
    return frame.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True), problems


def _natural_order(ids) -> list[str]:
    ids = np.asarray(ids, dtype=object)
    digits = pd.Series(ids, dtype=object).str.isdigit().to_numpy(dtype=bool)
    if digits.all():
        return ids[np.argsort(ids.astype(np.int64), kind="stable")].tolist()
    return sorted(ids.tolist(), key=_natural)


def _natural(object_id: str):
    """Ground Truth's ids are line numbers: "2" sorts before "10"."""
    return (0, int(object_id), "") if object_id.isdigit() else (1, 0, object_id)


def _names(answer) -> tuple[str, ...] | None:
    if isinstance(answer, str):
        return (answer,)
    if isinstance(answer, (list, tuple, np.ndarray)) and all(isinstance(a, str) for a in answer):
        return tuple(answer)
    return None


def _resolve_batches(frame: pd.DataFrame, batches, window) -> pd.Series:
    ids = pd.Index(frame["object_id"].unique(), name="object_id")
    if isinstance(batches, str):
        if batches == "none":
            return pd.Series(0, index=ids)
        if batches != "auto":
            raise JobError(f"batches={batches!r}; use 'auto', 'none' or a Series object_id -> batch.")
        if "batch" in frame and frame["batch"].notna().any():
            given = frame.dropna(subset=["batch"]).groupby("object_id")["batch"].first()
            out = given.reindex(ids).astype(object)
            rest = out.isna()
            if rest.any():   # objects no request file named: batch them by time among themselves
                guessed = infer_batches(frame[frame["object_id"].isin(out.index[rest])], window=window)
                out[rest] = ["inferred-" + str(b) for b in guessed.reindex(out.index[rest])]
            return out
        return infer_batches(frame, window=window).reindex(ids)
    mapping = pd.Series(batches) if isinstance(batches, Mapping) else batches
    mapping.index = mapping.index.astype(str)
    out = mapping.reindex(ids)
    if out.isna().any():
        missing = list(out.index[out.isna()][:3])
        raise JobError(f"batches has no batch for objects {missing}; give every object a batch.")
    return out


def _codes(frame: pd.DataFrame, cats: Sequence[str]):
    obj, objects = pd.factorize(frame["object_id"], sort=False)
    wrk, workers = pd.factorize(frame["worker_id"].astype(str), sort=False)
    return obj.astype(np.int64), wrk.astype(np.int64), list(objects), list(workers)


def _consolidate_builtin(frame, cats, method, batch_of, *, multi_label, em, attribute, job_name, task_type, date):
    obj, wrk, objects, workers = _codes(frame, cats)
    n_obj, n_wrk, k = len(objects), len(workers), len(cats)
    index = {c: i for i, c in enumerate(cats)}
    batch_codes = pd.factorize(batch_of.reindex(objects).astype(str))[0]
    if not multi_label:
        lab = pd.Categorical(frame["answer"].to_numpy(), categories=cats).codes.astype(np.int64)
        result = (_majority(obj, lab, n_obj, k) if method == "majority" else
                  _dawid_skene(obj, wrk, lab, n_obj, n_wrk, k, batches=batch_codes, **em))
        kind = task_type or tasks.IMAGE_CLASSIFICATION
        labels = [cats[i] for i in result.labels]
        made: dict[tuple[int, float], dict] = {}   # at most classes x 101 distinct pairs
        meta_key = attribute + tasks.METADATA_SUFFIX
        pairs = []
        for i, c in zip(result.labels.tolist(), result.confidence.tolist()):
            template = made.get((i, c))
            if template is None:
                template = made[(i, c)] = tasks.classification_label(
                    attribute, cats, cats[i], job_name=job_name, confidence=c, creation_date=date, task_type=kind)
            pairs.append({attribute: template[attribute], meta_key: dict(template[meta_key])})
        return pd.DataFrame({"object_id": objects, "label": labels, "confidence": result.confidence,
                             "n_workers": result.n_workers, "batch": batch_of.reindex(objects).to_numpy(),
                             "pair": pairs})

    # Multi-label: one binary (absent/present) problem per class, all solved in one vectorised EM.
    chosen = np.zeros((len(frame), k), bool)
    for row, answer in enumerate(frame["answer"]):
        for name in _names(answer):
            chosen[row, index[name]] = True
    n_ans = len(frame)
    cls = np.repeat(np.arange(k), n_ans)
    b_obj = cls * n_obj + np.tile(obj, k)
    b_lab = chosen.T.reshape(-1).astype(np.int64)
    if method == "majority":
        res = _majority(b_obj, b_lab, n_obj * k, 2)
        present_p = res.posteriors[:, 1].reshape(k, n_obj).T
        keep = present_p > 0.5
        conf = np.where(res.n_workers > 1, np.round(present_p.T.reshape(-1), 2), 0.0).reshape(k, n_obj).T
    else:
        n_batch = int(batch_codes.max()) + 1 if n_obj else 1
        class_batches = np.repeat(np.arange(k), n_obj) * n_batch + np.tile(batch_codes, k)
        res = _dawid_skene(b_obj, np.tile(wrk, k), b_lab, n_obj * k, n_wrk, 2, batches=class_batches, **em)
        present_p = res.posteriors[:, 1].reshape(k, n_obj).T
        conf = np.minimum(np.round(present_p, 2), CONFIDENCE_CEILING)
        keep = np.zeros((n_obj, k), bool)
        rows, classes = np.nonzero(chosen)
        keep[obj[rows], classes] = True   # Ground Truth lists every label chosen by at least one worker
    n_workers = np.bincount(obj, minlength=n_obj)
    conf = np.where(n_workers[:, None] > 1, conf, 0.0)
    first_seen = np.full((n_obj, k), n_ans)
    rows, classes = np.nonzero(chosen)
    np.minimum.at(first_seen, (obj[rows], classes), rows)
    kind = task_type or tasks.IMAGE_CLASSIFICATION_MULTILABEL
    labels, confs, pairs, lows = [], [], [], []
    for i in range(n_obj):
        picked = sorted(np.nonzero(keep[i])[0], key=lambda c: (-conf[i, c], first_seen[i, c], c))
        names = [cats[c] for c in picked]
        cmap = {cats[c]: float(conf[i, c]) for c in picked}
        labels.append(names)
        confs.append(cmap)
        lows.append(min(cmap.values()) if cmap else 0.0)
        pairs.append(tasks.multilabel_label(attribute, cats, names, job_name=job_name, confidences=cmap,
                                            creation_date=date, task_type=kind))
    return pd.DataFrame({"object_id": objects, "label": labels, "confidence": lows, "confidences": confs,
                         "n_workers": n_workers, "batch": batch_of.reindex(objects).to_numpy(), "pair": pairs})


def _consolidate_with_lambda(frame, handler, batch_of, *, attribute, job_name, categories, data_objects, date):
    out = []
    with tempfile.TemporaryDirectory(prefix="gtwidgets-consolidation-") as tmp:
        job_dir = storage.join(tmp, job_name)
        batch_col = frame["object_id"].map(batch_of)
        for n, (batch, group) in enumerate(frame.groupby(batch_col, sort=False)):
            payload = lambdas.consolidation_payload(group, data_objects)
            uri = output_layout.consolidation_request_uri(job_dir, name=f"batch-{n:06d}")
            storage.write_bytes(uri, orjson.dumps(payload))
            event = lambdas.consolidation_event(
                job_name=job_name, label_attribute=attribute, payload_uri=uri,
                label_categories=categories, max_workers=int(group.groupby("object_id")["worker_id"].size().max()))
            parsed = lambdas.parse_consolidation_response(lambdas.call_lambda(handler, event), attribute)
            n_workers = group.groupby("object_id")["worker_id"].size()
            for object_id, content in parsed.items():
                meta_key = attribute + tasks.METADATA_SUFFIX
                meta = content.get(meta_key)
                pair = dict(content)
                if meta is None:
                    pair[meta_key] = tasks.custom_metadata(job_name, creation_date=date)
                label, confidence = _label_from_content(content[attribute], meta)
                out.append({"object_id": object_id, "label": label, "confidence": confidence,
                            "n_workers": int(n_workers.get(object_id, 0)), "batch": batch, "pair": pair})
    columns = ["object_id", "label", "confidence", "n_workers", "batch", "pair"]
    result = pd.DataFrame(out, columns=columns)
    order = _natural_order(result["object_id"].to_numpy(dtype=object))
    return result.set_index("object_id").loc[order].reset_index()


def _label_from_content(value, meta):
    """Class name(s) and confidence when the content is a built-in label pair; else the raw value."""
    if isinstance(meta, Mapping):
        if "class-name" in meta:
            return meta["class-name"], meta.get("confidence", np.nan)
        if isinstance(meta.get("class-map"), Mapping) and isinstance(value, list):
            names = [meta["class-map"].get(str(i), i) for i in value]
            cm = meta.get("confidence-map") or {}
            confs = [cm[str(i)] for i in value if str(i) in cm]
            return names, (min(confs) if confs else np.nan)
    return value, np.nan
