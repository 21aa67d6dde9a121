"""The widget's kernel side, driven with the messages the browser sends (no browser here)."""
from __future__ import annotations

import io
import json
import threading

import pandas as pd
import pytest
from PIL import Image

from gtwidgets import storage
from gtwidgets.job import LabelingJob
from gtwidgets.widget import LabelingWidget, default_shortcuts, render_instructions

CATEGORIES = ["cat", "dog", "bird", "other"]


class Browser:
    """Stands in for the front end: records what the widget sends, waits for replies."""

    def __init__(self, widget: LabelingWidget):
        self.widget = widget
        self.messages: list[tuple[dict, list]] = []
        self._cond = threading.Condition()
        widget.send = self._record  # the comm has no kernel here; catch what it would carry

    def _record(self, content, buffers=None):
        with self._cond:
            self.messages.append((content, list(buffers or [])))
            self._cond.notify_all()

    def ask(self, content: dict, replies: int = 0) -> list[tuple[dict, list]]:
        start = len(self.messages)
        self.widget._on_message(self.widget, content, [])
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.messages) >= start + replies, timeout=30)
            return self.messages[start:]


def _wait_until(widget: LabelingWidget, traits: list[str], ok) -> None:
    """Progress and position go to the browser batched (a key press does not wait for them)."""
    seen = threading.Event()

    def check(_change=None):
        if ok():
            seen.set()
    widget.observe(check, traits)
    check()
    assert seen.wait(30), {k: getattr(widget, k) for k in traits}
    widget.unobserve(check, traits)


def wait_for_traits(widget: LabelingWidget, **expected) -> None:
    """Wait until these traits hold these values."""
    _wait_until(widget, list(expected), lambda: all(getattr(widget, k) == v for k, v in expected.items()))


def wait_for_progress(widget: LabelingWidget, **expected) -> dict:
    """Wait for these values in the progress trait."""
    _wait_until(widget, ["progress"], lambda: all(widget.progress.get(k) == v for k, v in expected.items()))
    return widget.progress


def _jpeg(color, size=(1024, 768)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def image_job(tmp_path):
    paths = []
    for i in range(6):
        p = tmp_path / "images" / f"img{i}.jpg"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(_jpeg((40 * i, 0, 0)))
        paths.append(str(p))
    paths.append(str(tmp_path / "images" / "missing.jpg"))
    job = LabelingJob("pets", input=pd.DataFrame({"source-ref": paths}), categories=CATEGORIES,
                      output=tmp_path / "out", journal_dir=tmp_path / "journal",
                      instructions="Pick the **animal**.", full_instructions="# Rules\n\nLook closely.")
    yield job
    job.close()


def test_traits_describe_the_job_not_its_data(image_job):
    w = LabelingWidget(image_job, prefetch=3)
    assert w.categories == CATEGORIES
    assert w.shortcuts == ["1", "2", "3", "4"]
    assert (w.total, w.position, w.prefetch, w.multi_label) == (7, 0, 3, False)
    assert "<strong>animal</strong>" in w.instructions_html
    assert "<h1>Rules</h1>" in w.full_instructions_html
    assert w.progress["total"] == 7 and w.sync_status["state"] in ("saved", "uploading")
    state = {k: v for k, v in w.get_state().items() if k not in ("_esm", "_css")}  # the bundle is code
    assert "images" not in json.dumps(state, default=str)  # no source URIs in synced state


def test_cards_come_one_message_each_with_binary_jpeg(image_job):
    w = LabelingWidget(image_job, image_size=(256, 256))
    replies = Browser(w).ask({"type": "cards", "positions": [0, 1, 6, 99, -1]}, replies=3)
    by_pos = {m["pos"]: (m, bufs) for m, bufs in replies}
    assert sorted(by_pos) == [0, 1, 6]  # out-of-range positions are ignored
    meta, bufs = by_pos[1]
    assert (meta["kind"], meta["id"], meta["name"], meta["mime"]) == ("image", "1", "img1.jpg", "image/jpeg")
    assert Image.open(io.BytesIO(bufs[0])).size == (256, 192) == (meta["width"], meta["height"])
    missing, bufs = by_pos[6]
    assert missing["kind"] == "error" and "not found" in missing["error"] and bufs == []


def test_submit_skip_undo_drive_the_job_and_progress(image_job):
    w = LabelingWidget(image_job)
    browser = Browser(w)
    browser.ask({"type": "submit", "id": "0", "answer": "dog", "spent": 1.5})
    browser.ask({"type": "skip", "id": "1"})
    browser.ask({"type": "submit", "id": "2", "answer": "cat", "spent": 0.4})
    assert image_job.answer("0") == ["dog"] and image_job.answer("2") == ["cat"]
    assert wait_for_progress(w, labeled=2)["per_class"]["dog"] == 1

    (undone, _), = browser.ask({"type": "undo"}, replies=1)
    assert undone == {"type": "undone", "id": "2", "pos": 2, "answer": None}
    assert image_job.answer("2") is None
    wait_for_progress(w, labeled=1)

    (goto, _), = browser.ask({"type": "next_unlabeled", "after": "0", "seq": 4}, replies=1)
    assert (goto["type"], goto["pos"], goto["id"], goto["seq"]) == ("goto", 1, "1", 4)
    # u from a card with no answer stays there: "from" counts the card itself
    (goto, _), = browser.ask({"type": "next_unlabeled", "from": "1", "seq": 5}, replies=1)
    assert (goto["pos"], goto["seq"]) == (1, 5)
    (goto, _), = browser.ask({"type": "next_unlabeled", "from": "0"}, replies=1)
    assert goto["pos"] == 1  # card 0 is answered: the next one without an answer


def test_a_batch_is_handled_in_order_and_reports_the_position(image_job):
    """The browser sends what happened in one frame as one batch (one kernel request a key)."""
    w = LabelingWidget(image_job)
    replies = Browser(w).ask({"type": "batch", "position": 1, "messages": [
        {"type": "submit", "id": "0", "answer": "dog"}, {"type": "undo"},
        {"type": "submit", "id": "0", "answer": "cat"}, {"type": "cards", "positions": [2]}]}, replies=2)
    assert image_job.answer("0") == ["cat"]
    wait_for_traits(w, position=1)  # sent back with the next progress update, not per key
    assert sorted(m["type"] for m, _ in replies) == ["card", "undone"]


def test_a_bad_answer_comes_back_as_a_message_not_a_dead_widget(image_job):
    browser = Browser(LabelingWidget(image_job))
    (err, _), = browser.ask({"type": "submit", "id": "0", "answer": "horse"}, replies=1)
    assert err["type"] == "error" and "horse" in err["message"]
    assert browser.ask({"type": "no-such-request"}) == []


def test_a_new_view_over_the_same_job_starts_where_labeling_stopped(image_job):
    first = Browser(LabelingWidget(image_job))
    for oid in ("0", "1"):
        first.ask({"type": "submit", "id": oid, "answer": "bird"})
    second = LabelingWidget(image_job)
    assert second.position == 2 and second.progress["labeled"] == 2
    (card, _), = Browser(second).ask({"type": "cards", "positions": [1]}, replies=1)
    assert card["answer"] == ["bird"]


def test_multi_label_answers_and_the_uploader_thread_update_progress(tmp_path):
    job = LabelingJob("texts", input=pd.DataFrame({"source": ["a <b>bold</b> claim", "second"]}),
                      categories=CATEGORIES, multi_label=True, output=tmp_path / "out",
                      journal_dir=tmp_path / "journal")
    try:
        w = LabelingWidget(job)
        browser = Browser(w)
        (card, bufs), = browser.ask({"type": "cards", "positions": [0]}, replies=1)
        assert card["kind"] == "text" and card["text"] == "a <b>bold</b> claim" and bufs == []
        browser.ask({"type": "submit", "id": "0", "answer": ["dog", "cat"]})
        assert job.answer("0") == ["dog", "cat"]
        # A change made outside the widget (here: this thread) reaches the traits too.
        job.submit("1", ["bird"])
        wait_for_progress(w, labeled=2, done=True)
    finally:
        job.close()


def test_cards_from_s3(s3, tmp_path):
    uris = [storage.join(s3, "img", f"{i}.jpg") for i in range(2)]
    for uri in uris:
        storage.write_bytes(uri, _jpeg((0, 200, 0)))
    job = LabelingJob("s3pets", input=pd.DataFrame({"source-ref": uris}), categories=CATEGORIES,
                      output=storage.join(s3, "out"), journal_dir=tmp_path / "journal")
    try:
        replies = Browser(LabelingWidget(job)).ask({"type": "cards", "positions": [0, 1]}, replies=2)
        assert sorted(m["name"] for m, _ in replies) == ["0.jpg", "1.jpg"]
        assert all(len(b[0]) == m["bytes"] > 0 for m, b in replies)
    finally:
        job.close()


def test_synced_state_does_not_grow_with_the_job(tmp_path):
    """The browser gets a window of cards on request, never the frame."""
    sizes = []
    for n in (10, 100_000):
        job = LabelingJob(f"big{n}", input=pd.DataFrame({"source-ref": [f"s3://b/{i}.jpg" for i in range(n)]}),
                          categories=CATEGORIES, output=tmp_path / "out", journal_dir=tmp_path / "journal")
        try:
            w = LabelingWidget(job)
            state = {k: v for k, v in w.get_state().items() if not k.startswith("_")}
            sizes.append(len(json.dumps(state, default=str)))
            assert w.total == n
        finally:
            job.close()
    assert sizes[1] - sizes[0] < 100, sizes  # only the digits of the counts differ


def test_default_shortcuts_are_unique_and_avoid_command_keys():
    keys = default_shortcuts(40)
    assigned = [k for k in keys if k]
    assert keys[:10] == list("1234567890")
    assert len(assigned) == len(set(assigned)) and not set(assigned) & set("jkszum?")
    assert keys[-1] == ""  # out of keys: mouse only


def test_instructions_are_sanitized_markup():
    html = render_instructions('Hi <img src=x onerror="alert(1)"> <script>alert(2)</script>'
                               '[x](javascript:alert(3)) **ok**')
    assert "<strong>ok</strong>" in html and "<img" in html
    assert "onerror" not in html and "<script" not in html and "javascript:" not in html


# Every way instructions could make the browser load something from elsewhere.
REMOTE_INSTRUCTIONS = """# Rules
![a tracking pixel](https://tracker.example/pixel.png "seen")

<img src="https://tracker.example/raw.png" srcset="https://tracker.example/raw2.png 2x" alt="raw image">
<picture><source srcset="https://tracker.example/source.webp"><img src="https://tracker.example/p.png"></picture>
<video src="https://tracker.example/v.mp4" poster="https://tracker.example/poster.png"></video>
<audio src="https://tracker.example/a.mp3"></audio>
<iframe src="https://tracker.example/frame"></iframe>
<link rel="stylesheet" href="https://tracker.example/s.css"><style>p { background: url(https://tracker.example/css.png) }</style>
<p style="background-image: url('https://tracker.example/inline.png')">Label <b>cats</b>.</p>
<table background="https://tracker.example/bg.png"><tr><td>x</td></tr></table>

See [the guide](https://docs.example/guide).
"""


def test_instructions_load_nothing_from_elsewhere():
    html = render_instructions(REMOTE_INSTRUCTIONS)
    assert "tracker.example" not in html.replace('href="https://tracker.example/pixel.png"', "")
    assert '<a href="https://tracker.example/pixel.png" rel="noopener noreferrer nofollow">[image: a tracking pixel]</a>' in html
    assert '<img alt="raw image">' in html  # the alt text is kept, the source dropped
    assert '<a href="https://docs.example/guide" rel="noopener noreferrer nofollow">the guide</a>' in html
    assert "<b>cats</b>" in html


def test_instructions_show_bidi_and_control_characters_visibly():
    html = render_instructions("Pick \u202eevil\u202c, not\u2066 this\u2069\x07.\n\nTab\there")
    assert "Pick \u27e8U+202E\u27e9evil\u27e8U+202C\u27e9, not\u27e8U+2066\u27e9 this\u27e8U+2069\u27e9\u27e8U+0007\u27e9." in html
    assert "Tab\there" in html
