"""Agreement measures, checked against published worked examples."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from gtwidgets import agreement
from gtwidgets.consolidate import consolidate
from gtwidgets.errors import JobError


def pairs_table(counts: dict[tuple[str, str], int]) -> pd.DataFrame:
    rows, n = [], 0
    for (a, b), c in counts.items():
        for _ in range(c):
            rows += [{"object_id": str(n), "worker_id": "A", "answer": a},
                     {"object_id": str(n), "worker_id": "B", "answer": b}]
            n += 1
    return pd.DataFrame(rows)


def test_cohen_kappa_worked_example():
    # Cohen's kappa, Wikipedia's worked example: 50 proposals, 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no.
    answers = pairs_table({("yes", "yes"): 20, ("yes", "no"): 5, ("no", "yes"): 10, ("no", "no"): 15})
    assert agreement.cohen_kappa(answers, "A", "B") == pytest.approx(0.4)
    table = agreement.pairwise_kappa(answers)
    assert table.to_dict("records") == [{"worker_a": "A", "worker_b": "B", "n_common": 50,
                                         "kappa": pytest.approx(0.4)}]
    with pytest.raises(JobError, match="no answers"):
        agreement.cohen_kappa(answers, "A", "Z")


def test_fleiss_kappa_worked_example():
    # Fleiss' kappa, Wikipedia's worked example: 10 subjects, 14 raters, 5 categories -> 0.210.
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    rows = []
    for i, counts in enumerate(table):
        rater = 0
        for cat, c in enumerate(counts):
            for _ in range(c):
                rows.append({"object_id": str(i), "worker_id": f"r{rater}", "answer": f"c{cat + 1}"})
                rater += 1
    answers = pd.DataFrame(rows)
    assert agreement.fleiss_kappa(answers) == pytest.approx(0.20993, abs=1e-5)
    # One lone answer more changes nothing: objects with fewer than two answers are left out.
    more = pd.concat([answers, pd.DataFrame([{"object_id": "99", "worker_id": "r0", "answer": "c1"}])])
    assert agreement.fleiss_kappa(more) == pytest.approx(0.20993, abs=1e-5)


def test_perfect_agreement_and_single_label_only():
    same = pairs_table({("a", "a"): 3, ("b", "b"): 2})
    assert agreement.cohen_kappa(same, "A", "B") == 1.0 and agreement.fleiss_kappa(same) == 1.0
    assert math.isnan(agreement.fleiss_kappa(pairs_table({("a", "a"): 3})))
    multi = same.assign(answer=[("a",)] * len(same))
    with pytest.raises(JobError, match="single-label"):
        agreement.fleiss_kappa(multi)


@pytest.fixture
def votes():
    given = {"0": ["a", "a", "a"], "1": ["a", "a", "b"], "2": ["b", "b", "c"], "3": ["c", "a", "b"]}
    answers = pd.DataFrame([{"object_id": o, "worker_id": f"w{w}", "answer": a}
                            for o, names in given.items() for w, a in enumerate(names)])
    return answers, consolidate(answers, ["a", "b", "c"], method="majority", label_attribute="x")


def test_worker_accuracy_and_disagreements(votes):
    answers, result = votes
    acc = agreement.worker_accuracy(answers, result)
    assert acc.loc["w0", "accuracy"] == 0.75 and acc.loc["w1", "accuracy"] == 1.0 and acc.loc["w2", "accuracy"] == 0.25
    assert acc.index[0] == "w2" and acc["n_answers"].tolist() == [4, 4, 4]
    table = agreement.disagreements(answers, result)
    assert table["object_id"].tolist() == ["3", "1", "2"]
    assert table["answers"][0] == {"w0": "c", "w1": "a", "w2": "b"} and table["n_distinct"][0] == 3


def test_confusion_and_class_agreement_figures(votes):
    answers, result = votes
    counts = agreement.confusion_matrix(answers, result)
    assert counts.loc["a", "a"] == 6 and counts.loc["a", "b"] == 2 and counts.to_numpy().sum() == 12
    fig = agreement.confusion_figure(answers, result)
    assert isinstance(fig, go.Figure)
    assert np.allclose(np.asarray(fig.data[0].z)[0], [6 / 9, 2 / 9, 1 / 9])
    assert list(fig.data[0].x) == ["a", "b", "c"]
    bars = agreement.class_agreement_figure(answers, result)
    assert np.allclose(bars.data[0].y, [6 / 9, 2 / 3, np.nan], equal_nan=True)
    for figure in (fig, bars):  # readable on JupyterLab's dark theme too: no white boxes
        assert figure.layout.template.layout.paper_bgcolor == "rgba(0,0,0,0)"
        assert figure.layout.template.layout.plot_bgcolor == "rgba(0,0,0,0)"
    one = agreement.confusion_matrix(answers, result, worker="w2")
    assert one.to_numpy().sum() == 4


def test_worker_accuracy_for_multi_label():
    answers = pd.DataFrame({"object_id": ["0", "0"], "worker_id": ["a", "b"], "answer": [("x", "y"), ("x",)]})
    result = consolidate(answers, ["x", "y"], method="majority", label_attribute="t")
    acc = agreement.worker_accuracy(answers, result)
    assert acc.loc["a", "accuracy"] == 0.5 and acc.loc["b", "accuracy"] == 1.0
