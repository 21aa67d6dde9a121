"""The classification and custom task types on the seam (gtwidgets/tasktypes)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from gtwidgets import tasks
from gtwidgets.errors import JobError
from gtwidgets.tasktypes import TaskConfig, WorkerAnswer, task_type_for

CATS = ("cat", "dog", "bird")


def classifier(name="image-classification", multi_label=False, **options):
    return task_type_for(name, TaskConfig("pets", "pets", CATS, multi_label, options=options))


def test_single_label_answers_are_checked_and_round_trip_through_answer_content():
    t = classifier()
    assert (t.gt_type, t.element) == (tasks.IMAGE_CLASSIFICATION, "crowd-image-classifier")
    value = t.check_answer("dog")
    assert value == ("dog",) and t.display(value) == ["dog"] and t.table_value(value) == "dog"
    assert t.to_content(value) == {"crowd-image-classifier": {"label": "dog"}}
    assert t.from_content(t.to_content(value)) == value
    assert t.from_json(t.to_json(value)) == value
    with pytest.raises(JobError, match="single-label"):
        t.check_answer(["dog", "cat"])
    with pytest.raises(JobError, match="not a category"):
        t.check_answer("fish")


def test_an_answer_content_that_does_not_fit_says_why():
    t = classifier()
    with pytest.raises(ValueError, match="'fish', which is not one of the categories"):
        t.from_content({"crowd-image-classifier": {"label": "fish"}})
    with pytest.raises(ValueError, match="expects one label"):
        t.from_content({"crowd-image-classifier-multi-select": {"labels": ["cat"]}})


def test_text_multi_label_uses_ground_truths_names():
    t = classifier("text-classification", multi_label=True)
    assert (t.gt_type, t.element) == (tasks.TEXT_CLASSIFICATION_MULTILABEL, "crowd-classifier-multi-select")
    value = t.check_answer(["bird", "cat", "bird"])
    assert value == ("bird", "cat") and t.table_value(value) == ("bird", "cat")
    assert t.classes_of(value) == ["bird", "cat"]
    assert classifier("text-classification-multilabel").multi_label


def test_label_pairs_one_worker_and_a_decision():
    t = classifier(multi_label=True)
    one = t.label_pair(("dog", "cat"), creation_date="2024-01-01T00:00:00.000000")
    assert one["pets"] == [1, 0] and one["pets-metadata"]["confidence-map"] == {"1": 0, "0": 0}
    decided = t.label_pair(("dog",), creation_date="2024-01-01T00:00:00.000000", confidence=1)
    assert decided["pets-metadata"]["confidence-map"] == {"1": 1}


def test_existing_label_is_read_back_from_an_input_line():
    t = classifier()
    line = {"source-ref": "s3://b/1.jpg", "pets": 2, "pets-metadata": {"class-name": "bird"}}
    assert t.existing(line) == ("bird",) and t.existing({"source-ref": "x"}) is None


def test_consolidation_by_majority_from_worker_answers():
    t = classifier(consolidation="majority")
    when = datetime(2024, 1, 1, tzinfo=timezone.utc)
    answers = [WorkerAnswer("0", w, (v,), when) for w, v in (("a", "dog"), ("b", "dog"), ("c", "cat"))]
    pairs = t.consolidate(answers, creation_date="2024-01-01T00:00:00.000000")
    assert pairs["0"]["pets-metadata"]["class-name"] == "dog"


def test_custom_task_labels_with_the_lambdas_content():
    t = task_type_for("custom", TaskConfig("pets", "pets", CATS, source_key="source",
                                           options={"consolidation": lambda event: []}))
    assert t.gt_type == tasks.CUSTOM and t.element == "crowd-classifier"
    pair = t.lambda_pair({"anything": 1}, creation_date="2024-01-01T00:00:00.000000")
    assert pair["pets"] == {"anything": 1} and pair["pets-metadata"]["type"] == tasks.CUSTOM


def test_classification_needs_two_categories():
    with pytest.raises(JobError, match="at least 2 categories"):
        task_type_for("image-classification", TaskConfig("pets", "pets", ("cat",)))
