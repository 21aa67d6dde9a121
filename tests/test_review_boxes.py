"""Review of a bounding-box job, kernel side: the card is the box tool with each worker's boxes for
reference and the consolidated boxes editable; the reviewer's corrected boxes are the decision,
in the output manifest (confidence 1) and in the store, where another kernel reads them."""
from __future__ import annotations

import orjson
import pandas as pd
import pytest
from PIL import Image

from gtwidgets import storage
from gtwidgets.job import LabelingJob
from gtwidgets.review import CONSOLIDATED_COLOR, WORKER_COLORS, ReviewWidget

CATS = ["cat", "dog"]
SIZE = {"width": 640, "height": 480, "depth": 3}


def box(label, left, top=100, width=200, height=100):
    return {"label": label, "left": left, "top": top, "width": width, "height": height}


ANSWERS = {"alice": [[box("cat", 100)], []],                      # object 0: they disagree on the dog
           "bob": [[box("cat", 110), box("dog", 400, 300, 100)], []]}


def _job(tmp_path, worker):
    paths = []
    for i in range(2):
        p = tmp_path / f"img{i}.png"
        if not p.exists():
            Image.new("RGB", (640, 480), "white").save(p)
        paths.append(str(p))
    return LabelingJob("boxrev", input=pd.DataFrame({"source-ref": paths}), categories=CATS,
                       output=str(tmp_path / "out"), worker_id=worker, workers_per_object=2, task="bounding-box",
                       journal_dir=tmp_path / "journal" / worker, manifest_interval=0)


@pytest.fixture
def reviewer(tmp_path):
    for worker, answers in ANSWERS.items():
        j = _job(tmp_path, worker)
        for i, boxes in enumerate(answers):
            j.submit(i, {"image_size": SIZE, "boxes": boxes})
        assert j.flush(30)
        j.close()
    job = _job(tmp_path, "teacher")
    yield job
    job.close()


def _card(widget, pos=0) -> dict:
    sent = []
    widget.send = lambda msg, buffers=None: sent.append(msg)
    widget._send_card(pos, widget.queue[pos])
    return sent[0]


def test_the_card_starts_from_the_consolidated_boxes_with_each_worker_s_for_reference(reviewer):
    w = ReviewWidget(reviewer, reviewer="teacher")
    assert w.queue == ["0"]
    card = _card(w)
    meta = card["tool_meta"]
    assert card["tool"] == "boxes" and "read_only" not in meta   # editable
    assert meta["boxes"] == [box("cat", 105), box("dog", 400, 300, 100)] == card["review"]["value"]["boxes"]
    assert meta["color"] == CONSOLIDATED_COLOR and meta["image_size"] == SIZE
    assert meta["reference"] == [
        {**box("cat", 100), "color": WORKER_COLORS[0], "caption": "alice: cat"},
        {**box("cat", 110), "color": WORKER_COLORS[1], "caption": "bob: cat"},
        {**box("dog", 400, 300, 100), "color": WORKER_COLORS[1], "caption": "bob: dog"}]
    w.close()


def test_the_reviewer_s_corrected_boxes_are_the_decision_everywhere(reviewer, tmp_path):
    w = ReviewWidget(reviewer, reviewer="teacher")
    corrected = [box("cat", 102, 98, 205, 104), box("cat", 20, 20, 50, 50)]  # the dog was a cat, not there
    w.handle({"type": "batch", "messages": [{"type": "submit", "id": "0", "spent": 3.0,
                                             "answer": {"image_size": SIZE, "boxes": corrected}}]})
    assert w.strategy.progress()["labeled"] == 1
    card = _card(w)  # shown again: it starts from the decision, which it names
    assert card["tool_meta"]["boxes"] == corrected and card["answer"] == ["cat"]
    assert card["review"]["adjudication"]["reviewer"] == "teacher"
    assert reviewer.flush(30)
    line = orjson.loads(storage.read_bytes(reviewer.output_manifest_uri).splitlines()[0])
    assert line["boxrev"]["annotations"] == [
        {"class_id": 0, "top": 98, "left": 102, "height": 104, "width": 205},
        {"class_id": 0, "top": 20, "left": 20, "height": 50, "width": 50}]
    assert line["boxrev-metadata"]["objects"] == [{"confidence": 1}, {"confidence": 1}]
    w.close()

    # Another kernel over the same output (a worker's) reads the decision file and writes it too.
    other = _job(tmp_path, "alice")
    other.refresh()
    decided = other.adjudications
    assert list(decided["object_id"]) == ["0"] and decided.at[0, "label"]["boxes"] == corrected
    assert other.flush(30)
    line = orjson.loads(storage.read_bytes(other.output_manifest_uri).splitlines()[0])
    assert [a["left"] for a in line["boxrev"]["annotations"]] == [102, 20]
    other.close()
