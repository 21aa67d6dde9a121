"""How far workers agree, and with the consolidated labels: kappas, per-worker accuracy, figures.

Cohen's and Fleiss' kappa are the textbook formulas in a few lines of numpy (checked in the
tests against published worked examples) rather than a scikit-learn or statsmodels dependency:
both libraries are large, and the answers table needs reshaping for either anyway.
All functions take the tidy answers table of :mod:`gtwidgets.responses` and, where they compare
with the consensus, the frame :func:`gtwidgets.consolidate.consolidate` returns.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from itertools import combinations
from typing import Sequence

import numpy as np
import pandas as pd

from .errors import JobError

__all__ = ["worker_accuracy", "cohen_kappa", "pairwise_kappa", "fleiss_kappa", "confusion_matrix",
           "confusion_figure", "class_agreement_figure", "disagreements"]


def worker_accuracy(answers: pd.DataFrame, consolidated: pd.DataFrame) -> pd.DataFrame:
    """Per worker: answers given and the share matching the consolidated label, poorest first.

    For multi-label answers the match is the Jaccard overlap of the label sets.
    """
    frame = _joined(answers, consolidated)
    frame["match"] = [_match(a, c) for a, c in zip(frame["answer"], frame["label"])]
    out = frame.groupby("worker_id").agg(n_answers=("match", "size"), accuracy=("match", "mean"))
    return out.sort_values(["accuracy", "n_answers"], ascending=[True, False])


def cohen_kappa(answers: pd.DataFrame, worker_a: str, worker_b: str) -> float:
    """Cohen's kappa of two workers over the objects both answered (single-label answers)."""
    wide = _wide(answers)
    for w in (worker_a, worker_b):
        if w not in wide.columns:
            raise JobError(f"worker {w!r} gave no answers; pick one of {list(wide.columns)[:5]}...")
    both = wide[[worker_a, worker_b]].dropna()
    if both.empty:
        raise JobError(f"workers {worker_a!r} and {worker_b!r} answered no object in common; kappa is undefined.")
    return _cohen(both[worker_a].to_numpy(), both[worker_b].to_numpy())


def pairwise_kappa(answers: pd.DataFrame, *, min_common: int = 1) -> pd.DataFrame:
    """Cohen's kappa for every pair of workers with at least ``min_common`` objects in common."""
    wide = _wide(answers)
    rows = []
    for a, b in combinations(wide.columns, 2):
        both = wide[[a, b]].dropna()
        if len(both) >= min_common:
            rows.append({"worker_a": a, "worker_b": b, "n_common": len(both),
                         "kappa": _cohen(both[a].to_numpy(), both[b].to_numpy())})
    return pd.DataFrame(rows, columns=["worker_a", "worker_b", "n_common", "kappa"])


def fleiss_kappa(answers: pd.DataFrame, categories: Sequence[str] | None = None) -> float:
    """Fleiss' kappa over all objects with at least two answers (single-label answers).

    Objects may have different numbers of answers; each object's agreement is then taken
    over its own raters (the usual generalisation; equal to Fleiss' formula when all are equal).
    """
    counts = _counts(answers, categories)
    n = counts.sum(1)
    counts, n = counts[n >= 2], n[n >= 2]
    if not len(counts):
        raise JobError("Fleiss' kappa needs objects with at least two answers; there are none.")
    p_obj = ((counts * (counts - 1)).sum(1)) / (n * (n - 1))
    p_bar = p_obj.mean()
    p_cls = counts.sum(0) / n.sum()
    p_e = (p_cls ** 2).sum()
    return float("nan") if p_e == 1 else float((p_bar - p_e) / (1 - p_e))


def confusion_matrix(answers: pd.DataFrame, consolidated: pd.DataFrame, *,
                     categories: Sequence[str] | None = None, worker: str | None = None,
                     normalize: bool = False) -> pd.DataFrame:
    """Answers counted by consolidated label (rows) and answered label (columns)."""
    frame = _joined(answers, consolidated)
    _single(frame)
    if worker is not None:
        frame = frame[frame["worker_id"] == worker]
    cats = list(categories or consolidated.attrs.get("categories") or sorted(set(frame["answer"]) | set(frame["label"])))
    table = pd.crosstab(pd.Categorical(frame["label"], cats), pd.Categorical(frame["answer"], cats),
                        dropna=False).reindex(index=cats, columns=cats, fill_value=0)
    table.index.name, table.columns.name = "consolidated", "answered"
    if normalize:
        table = table.div(table.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    return table


def confusion_figure(answers: pd.DataFrame, consolidated: pd.DataFrame, *,
                     categories: Sequence[str] | None = None, worker: str | None = None,
                     normalize: bool = True):
    """A plotly heatmap of :func:`confusion_matrix` (row shares when ``normalize``)."""
    import plotly.graph_objects as go

    from .plots import SEQUENTIAL, THEME

    table = confusion_matrix(answers, consolidated, categories=categories, worker=worker, normalize=normalize)
    text = table.map(lambda v: f"{v:.2f}" if normalize else f"{int(v)}").to_numpy()
    fig = go.Figure(go.Heatmap(z=table.to_numpy(), x=list(table.columns), y=list(table.index),
                               text=text, texttemplate="%{text}", colorscale=SEQUENTIAL,
                               zmin=0, zmax=1 if normalize else None))
    who = f" of worker {worker}" if worker else ""
    fig.update_layout(title=f"Answers{who} by consolidated label", xaxis_title="answered",
                      yaxis_title="consolidated", yaxis_autorange="reversed", template=THEME)
    return fig


def class_agreement_figure(answers: pd.DataFrame, consolidated: pd.DataFrame, *,
                           categories: Sequence[str] | None = None):
    """A plotly bar chart: per consolidated class, the share of answers that agree with it."""
    import plotly.graph_objects as go

    from .plots import THEME

    table = confusion_matrix(answers, consolidated, categories=categories)
    totals = table.sum(axis=1)
    share = pd.Series(np.diag(table.to_numpy()), index=table.index) / totals.replace(0, np.nan)
    fig = go.Figure(go.Bar(x=list(share.index), y=share.to_numpy(), text=[f"n={int(t)}" for t in totals],
                           textposition="outside"))
    fig.update_layout(title="Agreement with the consolidated label, per class", xaxis_title="class",
                      yaxis_title="share of answers agreeing", yaxis_range=[0, 1.05],
                      template=THEME)
    return fig


def disagreements(answers: pd.DataFrame, consolidated: pd.DataFrame) -> pd.DataFrame:
    """Objects whose workers did not all answer the same, lowest confidence first.

    Columns: ``object_id``, ``label``, ``confidence``, ``n_workers``, ``n_distinct`` and
    ``answers`` (``{worker_id: answer}``).
    """
    frame = answers.assign(object_id=answers["object_id"].astype(str))
    key = frame["answer"].map(_key)
    distinct = key.groupby(frame["object_id"]).nunique().rename("n_distinct")
    given = pd.Series(_answers_by_object(frame), name="answers", dtype=object)
    out = consolidated[["object_id", "label", "confidence", "n_workers"]].astype({"object_id": str})
    out = out.join(distinct, on="object_id").join(given, on="object_id")
    out = out[out["n_distinct"] > 1]
    return out.sort_values(["confidence", "n_distinct"], ascending=[True, False], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------- helpers

def _answers_by_object(frame: pd.DataFrame) -> dict[str, dict]:
    ids = frame["object_id"].to_numpy(dtype=object)
    workers = frame["worker_id"].to_numpy(dtype=object)
    given = frame["answer"].to_numpy(dtype=object)
    out: dict[str, dict] = {}
    for oid, w, a in zip(ids, workers, given):
        out.setdefault(oid, {})[w] = a
    return out


def _cohen(a: np.ndarray, b: np.ndarray) -> float:
    cats = sorted(set(a) | set(b))
    ia = np.searchsorted(cats, a)
    ib = np.searchsorted(cats, b)
    k = len(cats)
    table = np.bincount(ia * k + ib, minlength=k * k).reshape(k, k) / len(a)
    p_o = np.trace(table)
    p_e = table.sum(1) @ table.sum(0)
    if p_e == 1:
        return 1.0 if p_o == 1 else float("nan")
    return float((p_o - p_e) / (1 - p_e))


def _wide(answers: pd.DataFrame) -> pd.DataFrame:
    _single(answers)
    frame = answers.assign(object_id=answers["object_id"].astype(str))
    return frame.drop_duplicates(["object_id", "worker_id"], keep="last").pivot(
        index="object_id", columns="worker_id", values="answer")


def _counts(answers: pd.DataFrame, categories: Sequence[str] | None) -> np.ndarray:
    _single(answers)
    frame = answers.assign(object_id=answers["object_id"].astype(str))
    cats = list(categories) if categories is not None else sorted(set(frame["answer"]))
    table = pd.crosstab(frame["object_id"], pd.Categorical(frame["answer"], cats), dropna=False)
    return table.reindex(columns=cats, fill_value=0).to_numpy(float)


def _joined(answers: pd.DataFrame, consolidated: pd.DataFrame) -> pd.DataFrame:
    frame = answers.assign(object_id=answers["object_id"].astype(str))
    labels = consolidated.assign(object_id=consolidated["object_id"].astype(str)).set_index("object_id")["label"]
    return frame.join(labels, on="object_id").dropna(subset=["label"])


def _single(frame: pd.DataFrame) -> None:
    if frame["answer"].map(lambda a: not isinstance(a, str)).any():
        raise JobError("this measure needs single-label answers (one class name each); "
                       "for multi-label answers use worker_accuracy or disagreements.")


def _key(answer):
    if isinstance(answer, Mapping):  # a tool's value (boxes): equal when every field is
        return json.dumps(answer, sort_keys=True, default=str)
    labels = getattr(answer, "labels", None)
    if isinstance(labels, np.ndarray):  # a mask: equal when every pixel is
        return (labels.shape, hashlib.sha1(np.ascontiguousarray(labels)).hexdigest())
    return answer if isinstance(answer, str) else tuple(sorted(answer))


def _match(answer, label) -> float:
    if isinstance(answer, str) and isinstance(label, str):
        return float(answer == label)
    a, b = {answer} if isinstance(answer, str) else set(answer), {label} if isinstance(label, str) else set(label)
    return 1.0 if not a and not b else len(a & b) / len(a | b)
