"""The protocol declared once (gtwidgets/protocol.py): the JS typedefs are generated from it, the
view sends and handles only what it declares, and the kernel answers every request it declares."""
from __future__ import annotations

import importlib.util
import re
import threading
from pathlib import Path

import pytest

from gtwidgets import protocol
from gtwidgets.widget import LabelingWidget
from protocol_check import check_request, protocol_problems  # tests/ is on sys.path
from test_widget import image_job  # noqa: F401  (a fixture)
from test_widget_js import browser_type_launch_args, widget  # noqa: F401  (fixtures)
from bundle_page import sent

ROOT = Path(__file__).resolve().parents[1]
needs_chromium = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(),
                                    reason="needs /usr/bin/chromium (apt-get install chromium)")
JS = ROOT / "js" / "src"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_protocol", ROOT / "js" / "gen_protocol.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _js_sources() -> dict[Path, str]:
    return {p: p.read_text() for p in JS.rglob("*.js") if p.name != "protocol.js"}


def test_the_js_typedefs_are_generated_from_the_python_module():
    assert (JS / "protocol.js").read_text() == _generator().generate(), \
        "js/src/protocol.js is out of date: run `python js/gen_protocol.py`, then rebuild the bundle"


def test_every_request_the_view_sends_is_declared_and_every_declared_one_is_sent():
    sending = re.compile(r'(?:_later|request|send)\(\{\s*type:\s*"(\w+)"')  # every way the view sends
    sends = {kind for text in _js_sources().values() for kind in sending.findall(text)}
    assert sends == set(protocol.REQUESTS)


def test_every_reply_the_kernel_sends_is_declared_and_every_declared_one_is_sent():
    sources = [ROOT / "gtwidgets" / name for name in ("widget.py", "modes.py", "review.py", "panel_cards.py")]
    text = "\n".join(p.read_text() for p in sources)
    sends = set(re.findall(r'\{"type": "(\w+)"', text)) | set(re.findall(r'\btype="(\w+)"', text))
    assert sends == set(protocol.REPLIES)


def test_the_kernel_answers_every_declared_request_and_ignores_others(image_job):
    w = LabelingWidget(image_job)
    out: list[dict] = []
    lock = threading.Condition()

    def record(content, buffers=None):
        with lock:
            out.append(content)
            lock.notify_all()
    w.send = record
    first = image_job.queue[0]
    examples = {  # request -> the reply kinds it gets here (an image job has no sensor plot to zoom)
        "cards": ["card"], "submit": [], "skip": [], "undo": ["undone"], "withdraw": [],
        "next_unlabeled": ["goto"], "series_range": ["error"], "asset": ["asset"], "batch": ["goto"],
    }
    messages = {
        "cards": {"type": "cards", "positions": [0]},
        "submit": {"type": "submit", "id": first, "answer": "cat", "spent": 1.5},
        "skip": {"type": "skip", "id": image_job.queue[1]},
        "undo": {"type": "undo"},
        "withdraw": {"type": "withdraw", "id": first},
        "next_unlabeled": {"type": "next_unlabeled", "after": None, "seq": 1},
        "series_range": {"type": "series_range", "id": first, "pos": 0, "panel": 0, "start": 0, "end": 1, "seq": 1},
        "asset": {"type": "asset", "name": "plotly"},
        "batch": {"type": "batch", "position": 0, "messages": [{"type": "next_unlabeled", "from": first, "seq": 2}]},
    }
    assert set(examples) == set(messages) == set(protocol.REQUESTS)
    for kind, message in messages.items():
        check_request(message)
        with lock:
            start = len(out)
        w.handle(message)
        with lock:
            assert lock.wait_for(lambda: len(out) >= start + len(examples[kind]), timeout=30)
            replies = out[start:]
        assert [r["type"] for r in replies] == examples[kind], (kind, replies)
        assert all(not protocol_problems(r) for r in replies), [protocol_problems(r) for r in replies]
    with lock:
        start = len(out)
    w.handle({"type": "no_such_request"})
    w.handle(["not", "a", "message"])
    assert out[start:] == []
    w.close()


@needs_chromium
def test_the_bundle_speaks_the_declared_protocol(widget):
    page = widget()
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    spoken = page.evaluate("import('/widget.js').then((m) => JSON.parse(JSON.stringify(m.protocol)))")
    # the bundle was built from the current protocol.js ...
    assert spoken["declared"] == {"REQUESTS": list(protocol.REQUESTS), "REPLIES": list(protocol.REPLIES),
                                  "CARD_KINDS": list(protocol.CARDS), "PANEL_KINDS": list(protocol.PANELS)}
    # ... handles every reply and card kind, and no other
    assert set(spoken["replies"]) == set(protocol.REPLIES)
    assert set(spoken["cards"]) == set(protocol.CARDS)
    panel_kinds = set(re.findall(r'case "(\w+)":', (JS / "panels" / "panel-card.js").read_text()))
    assert panel_kinds == set(protocol.PANELS)


@needs_chromium
def test_what_the_view_sends_matches_its_declaration(widget):
    page = widget(multi_label=False)
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    page.wait_for_function("window.live.size >= 6")
    for key in ["2", "s", "z", "ArrowRight", "u"]:
        page.keyboard.press(key)
    kinds = set()
    sent(page, "submit")  # sends what still waits for its batch
    for message in page.evaluate("window.sent"):
        check_request(message)
        kinds.add(message["type"])
    assert {"cards", "submit", "skip", "undo", "next_unlabeled"} <= kinds
