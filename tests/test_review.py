"""Review mode: the kernel side driven with the browser's messages, and the view in bare Chromium."""
from __future__ import annotations

import io

import orjson
import pandas as pd
import pytest
from PIL import Image

from gtwidgets import storage
from gtwidgets.errors import JobError
from gtwidgets.job import LabelingJob
from gtwidgets.review import ReviewMode, ReviewWidget, review_queue
from gtwidgets.widget import LabelingWidget
from protocol_check import protocol_problems  # tests/ is on sys.path
from test_widget import wait_for_traits

CATS = ["cat", "dog", "bird"]
# object 0: unanimous; 1: 2-1; 2: 2-1; 3: all different (lowest confidence, first in review)
VOTES = {"ann": ["cat", "dog", "bird", "cat"], "bob": ["cat", "dog", "cat", "dog"],
         "cyd": ["cat", "cat", "bird", "bird"]}


def _jpeg(color) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), color).save(out, "JPEG")
    return out.getvalue()


def _job(tmp_path, worker, **kw):
    paths = []
    for i in range(4):
        p = tmp_path / "images" / f"img{i}.jpg"
        if not p.exists():
            p.parent.mkdir(exist_ok=True)
            p.write_bytes(_jpeg((60 * i, 20, 20)))
        paths.append(str(p))
    return LabelingJob("pets", input=pd.DataFrame({"source-ref": paths}), categories=CATS,
                       output=tmp_path / "out", worker_id=worker, workers_per_object=3,
                       journal_dir=tmp_path / "journal" / worker, manifest_interval=0, **kw)


@pytest.fixture
def reviewed(tmp_path):
    """Three workers answered (VOTES); yields the reviewer's job."""
    for worker, answers in VOTES.items():
        j = _job(tmp_path, worker)
        for i, a in enumerate(answers):
            j.submit(i, a)
        assert j.flush(30)
        j.close()
    job = _job(tmp_path, "teacher")
    yield job
    job.close()


class Browser:
    """Records what the widget sends (at the comm boundary) and feeds it the browser's messages."""

    def __init__(self, widget, monkeypatch):
        self.widget, self.messages, self.undeclared = widget, [], []
        monkeypatch.setattr(LabelingWidget, "send", lambda _w, content, buffers=None: self._record(content, buffers))

    def _record(self, content, buffers=None):
        self.messages.append((content, list(buffers or [])))
        self.undeclared += protocol_problems(content)  # replies gtwidgets/protocol.py does not declare

    def ask(self, content: dict, replies: int = 0) -> list:
        start = len(self.messages)
        self.widget.handle(content)
        self.widget._pool.shutdown(wait=True)  # card replies come from the pool: let them finish
        assert not self.undeclared
        return self.messages[start:start + replies] if replies else self.messages[start:]


def test_the_queue_is_the_disagreements_lowest_confidence_first(reviewed):
    queue = review_queue(reviewed)
    assert queue[0] == "3" and sorted(queue) == ["1", "2", "3"]  # 0 was unanimous
    w = ReviewWidget(reviewed, reviewer="teacher")
    assert (w.mode, w.total, w.position, w.mode_options["reviewer"], w.title) == ("review", 3, 0, "teacher", "Review: pets")
    assert w.queue == queue
    assert w.progress["total"] == 3 and w.progress["labeled"] == 0 and not w.progress["done"]
    w.close()


def test_cards_carry_every_answer_and_the_consensus(reviewed, monkeypatch):
    w = ReviewWidget(reviewed, reviewer="teacher")
    browser = Browser(w, monkeypatch)
    replies = {m["pos"]: (m, bufs) for m, bufs in browser.ask({"type": "cards", "positions": [0, 1, 2]})}
    consolidated = reviewed.consolidated().set_index("object_id")
    for pos, oid in enumerate(w.queue):
        meta, bufs = replies[pos]
        assert meta["kind"] == "image" and meta["id"] == oid and Image.open(io.BytesIO(bufs[0])).size == (320, 240)
        review = meta["review"]
        assert {a["worker"]: a["answer"] for a in review["answers"]} == {
            w_: [VOTES[w_][int(oid)]] for w_ in VOTES}
        assert review["consolidated"] == [consolidated.at[oid, "label"]]
        assert review["confidence"] == pytest.approx(float(consolidated.at[oid, "confidence"]))
        assert review["n_workers"] == 3 and review["adjudication"] is None and meta["answer"] is None
    assert replies[0][0]["review"]["confidence"] <= replies[2][0]["review"]["confidence"]
    w.close()


def test_a_decision_is_an_adjudication_that_wins_in_the_output(reviewed, monkeypatch):
    w = ReviewWidget(reviewed, reviewer="teacher")
    browser = Browser(w, monkeypatch)
    first, second = w.queue[:2]
    consolidated = dict(zip(reviewed.consolidated()["object_id"], reviewed.consolidated()["label"]))
    overrule = next(c for c in CATS if c != consolidated[first])
    w.handle({"type": "batch", "position": 2, "messages": [
        {"type": "submit", "id": first, "answer": overrule, "spent": 1.0},
        {"type": "submit", "id": second, "answer": consolidated[second], "spent": 0.5}]})
    wait_for_traits(w, position=2)
    table = reviewed.adjudications
    assert table[["object_id", "label", "reviewer"]].values.tolist() == sorted(
        [[first, overrule, "teacher"], [second, consolidated[second], "teacher"]])
    assert reviewed.answer(first) is None  # the reviewer's own labeling answers are untouched
    assert w.strategy.progress()["labeled"] == 2 and w.strategy.progress()["per_class"][overrule] >= 1

    # the view learns the decision, and who made it, when it asks for the card again
    (meta, _), = browser.ask({"type": "cards", "positions": [0]})
    assert meta["answer"] == [overrule] and meta["review"]["adjudication"]["reviewer"] == "teacher"
    assert meta["review"]["consolidated"] == [consolidated[first]]  # the machine's label stays visible

    assert reviewed.flush(30)
    lines = [orjson.loads(x) for x in storage.read_bytes(reviewed.output_manifest_uri).splitlines()]
    assert lines[int(first)]["pets-metadata"]["class-name"] == overrule
    assert lines[int(first)]["pets-metadata"]["confidence"] == 1
    assert lines[0]["pets-metadata"]["class-name"] == "cat"  # not reviewed: consolidated as before


def test_a_withdrawn_decision_leaves_the_output_to_consolidation(reviewed, monkeypatch):
    w = ReviewWidget(reviewed, reviewer="teacher")
    first = w.queue[0]
    consolidated = dict(zip(reviewed.consolidated()["object_id"], reviewed.consolidated()["label"]))
    overrule = next(c for c in CATS if c != consolidated[first])
    w.handle({"type": "submit", "id": first, "answer": overrule})
    assert w.strategy.progress()["labeled"] == 1
    w.handle({"type": "withdraw", "id": first})
    assert reviewed.adjudications.empty and w.strategy.progress()["labeled"] == 0
    assert reviewed.flush(30)
    lines = [orjson.loads(x) for x in storage.read_bytes(reviewed.output_manifest_uri).splitlines()]
    assert lines[int(first)]["pets-metadata"]["class-name"] == consolidated[first]
    w.close()


def test_next_undecided_skip_and_undo_stay_in_the_review(reviewed, monkeypatch):
    w = ReviewWidget(reviewed, reviewer="teacher")
    browser = Browser(w, monkeypatch)
    q = w.queue
    w.handle({"type": "submit", "id": q[1], "answer": "cat"})
    w.handle({"type": "skip", "id": q[0]})
    assert w.strategy.progress()["skipped"] == 1
    goto = browser.ask({"type": "next_unlabeled", "after": q[0], "seq": 7})
    assert goto == [({"type": "goto", "pos": 2, "id": q[2], "seq": 7}, [])]
    goto = browser.ask({"type": "next_unlabeled", "from": q[1]})  # q[1] is decided: from it on, q[2]
    assert goto[0][0]["pos"] == 2
    goto = browser.ask({"type": "next_unlabeled", "from": q[0]})  # q[0] skipped, not decided: itself
    assert goto[0][0]["pos"] == 0
    undone = browser.ask({"type": "undo"})
    assert undone[0][0]["pos"] is None and reviewed.adjudications["object_id"].tolist() == [q[1]]
    w.close()
    # a new review starts at the first undecided object and keeps earlier decisions
    again = ReviewWidget(reviewed, reviewer="teacher")
    assert again.position == 0 and again.strategy.progress()["labeled"] == 1
    again.close()


def test_no_disagreements_means_an_empty_review(tmp_path):
    for worker in ("ann", "bob", "cyd"):
        j = _job(tmp_path, worker)
        for i in range(4):
            j.submit(i, "dog")
        assert j.flush(30)
        j.close()
    job = _job(tmp_path, "teacher")
    w = ReviewWidget(job)
    assert (w.total, w.position, w.mode_options["reviewer"]) == (0, 0, "teacher")
    assert w.progress["done"] and w.progress["total"] == 0
    with pytest.raises(JobError, match="reviewer is empty"):
        ReviewWidget(job, reviewer="  ")
    w.close()
    job.close()


def test_unknown_ids_and_categories_are_refused_in_the_widget(reviewed, monkeypatch):
    w = ReviewWidget(reviewed, reviewer="teacher")
    browser = Browser(w, monkeypatch)
    (err, _), = browser.ask({"type": "submit", "id": "0", "answer": "cat"})  # 0 is not under review
    assert err["type"] == "error" and "not under review" in err["message"]
    w2 = ReviewWidget(reviewed, reviewer="teacher")
    browser = Browser(w2, monkeypatch)
    (err, _), = browser.ask({"type": "submit", "id": w2.queue[0], "answer": "horse"})
    assert err["type"] == "error" and "not a category" in err["message"]
    assert reviewed.adjudications.empty
    w2.close()


# ---------------------------------------------------------------------------- the view (bare Chromium)
# The fast tier's harness (fake model and kernel) from test_widget_js, fed review cards.
from test_widget_js import _cards, browser_type_launch_args, sent, shown, widget  # noqa: E402,F401

EVIL = '<img src=x onerror="window.pwned=1">'


def _review_cards(n: int) -> list[dict]:
    cards = _cards(n)
    for i, c in enumerate(cards):
        c["review"] = {"answers": [{"worker": "ann", "answer": ["cat"]}, {"worker": EVIL, "answer": ["dog"]},
                                   {"worker": "cyd", "answer": ["bird" if i % 2 else "dog"]}],
                       "consolidated": ["dog"], "confidence": 0.4 + i / 100, "n_workers": 3, "adjudication": None}
    return cards


@pytest.fixture
def review_page(widget):
    page = widget(_review_cards(6), mode="review", mode_options={"reviewer": "teacher"}, title="Review: pets")
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    return page


def test_view_shows_every_answer_and_the_consensus_as_text(review_page):
    page = review_page
    review = page.locator(".gtw-review")
    assert page.locator(".gtw-root").evaluate("r => r.classList.contains('gtw-review-mode')")
    assert review.locator(".gtw-review-worker").all_inner_texts() == ["ann", EVIL, "cyd"]
    assert review.locator(".gtw-review-answer").all_inner_texts() == ["cat", "dog", "dog"]
    assert review.locator(".gtw-review-agrees .gtw-review-worker").all_inner_texts() == [EVIL, "cyd"]
    assert review.locator(".gtw-review-consolidated").inner_text() == "dog"
    assert "confidence 0.40 · 3 workers" in review.locator(".gtw-review-confidence").inner_text()
    assert page.locator(".gtw-cat.gtw-consolidated-choice .gtw-cat-name").all_inner_texts() == ["dog"]
    assert page.locator(".gtw-root img:not(.gtw-image), [onerror]").count() == 0
    assert page.evaluate("window.pwned") is None
    assert page.locator(".gtw-progress-text").inner_text().startswith("0 / 6 decided")
    assert "accept the consolidated label" in page.locator(".gtw-help").inner_text()


def test_keys_decide_enter_accepts_and_z_goes_back(review_page):
    page = review_page
    page.keyboard.press("1")  # overrule: cat
    assert shown(page) == "id1"
    page.keyboard.press("Enter")  # accept the consolidated label
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id2'")
    assert [(m["id"], m["answer"]) for m in sent(page, "submit")] == [("id0", "cat"), ("id1", "dog")]
    page.keyboard.press("z")
    assert shown(page) == "id1"
    assert page.locator(".gtw-answer").inner_text() == "decision: dog (by teacher)"
    assert sent(page, "undo") == []  # a decision is changed, not withdrawn
    page.keyboard.press("3")  # change it
    assert [(m["id"], m["answer"]) for m in sent(page, "submit")][-1] == ("id1", "bird")


def test_delete_withdraws_the_decision_on_this_card(review_page):
    page = review_page
    page.keyboard.press("1")  # decide id0: cat
    assert shown(page) == "id1"
    page.keyboard.press("Delete")  # nothing decided here yet
    assert "no decision here to withdraw" in page.locator(".gtw-error").inner_text()
    page.keyboard.press("k")
    assert shown(page) == "id0" and page.locator(".gtw-answer").inner_text() == "decision: cat (by teacher)"
    page.keyboard.press("Delete")
    assert page.locator(".gtw-answer").inner_text() == ""
    assert [m["id"] for m in sent(page, "withdraw")] == ["id0"]
    assert "withdraw this item's decision" in page.locator(".gtw-help").inner_text()


def test_end_of_review_says_what_is_left(widget):
    page = widget([], mode="review", reviewer="teacher")
    page.wait_for_selector(".gtw-done-title")
    assert page.locator(".gtw-done-title").inner_text().startswith("Nothing to review")


def test_a_box_verification_review_draws_the_boxes_under_review(tmp_path):
    paths = []
    for i in range(2):
        p = tmp_path / f"img{i}.jpg"
        p.write_bytes(_jpeg((10, 10, 10)))
        paths.append(str(p))
    frame = pd.DataFrame({"source-ref": paths})
    frame["cars"] = [{"image_size": [{"width": 320, "height": 240, "depth": 3}],
                      "annotations": [{"class_id": 0, "left": 10, "top": 20, "width": 30, "height": 40}]}] * 2
    frame["cars-metadata"] = [{"class-map": {"0": "Car"}, "type": "groundtruth/object-detection"}] * 2

    def job(worker):
        return LabelingJob("verify-cars", input=frame, categories=["good", "bad"], output=tmp_path / "out",
                           worker_id=worker, workers_per_object=2, task="bounding-box-verification",
                           options={"prior_attribute": "cars"}, journal_dir=tmp_path / "journal" / worker)
    for worker, rating in (("ann", "good"), ("bob", "bad")):
        j = job(worker)
        j.submit(0, rating)
        j.submit(1, "good")
        assert j.flush(30)
        j.close()
    lead = job("teacher")
    mode = ReviewMode(reviewer="teacher")
    mode.open(lead)
    meta = mode.card_meta("0")
    assert meta["review"]["consolidated"] in (["good"], ["bad"])   # the rating's name, not its index
    assert meta["tool"] == "boxes" and meta["tool_meta"]["read_only"]
    assert meta["tool_meta"]["boxes"] == [{"label": "Car", "left": 10, "top": 20, "width": 30, "height": 40}]
    lead.close()
