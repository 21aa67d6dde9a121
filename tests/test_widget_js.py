"""The front end in bare headless Chromium (no Jupyter): the bundle, a fake anywidget model
and a fake kernel that answers card requests at once. Fast tier: most UI logic lives here."""
from __future__ import annotations

import base64
import io
import os

import pytest
from PIL import Image

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"),
                                reason="needs /usr/bin/chromium (apt-get install chromium)")

from bundle_page import CHROMIUM, CHROMIUM_ARGS, FAKE_MODEL, axe_violations, open_harness, sent

# The fake model is the anywidget API the widget uses; the fake kernel answers like widget.py.
HARNESS = """<!doctype html><html><head><link rel="stylesheet" href="/widget.css"></head><body>
<div id="host"></div>
<script type="module">
import widget from "/widget.js";
""" + FAKE_MODEL + """const bytes = cfg.images.map((b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
function kernel(msg) {
  if (msg.type !== "cards") return;
  for (const pos of msg.positions) {
    const c = cfg.cards[pos];
    reply({ type: "card", pos, ...c }, c.kind === "image" ? [new DataView(bytes[c.image].buffer)] : []);
  }
}
Object.assign(window, { model, reply, kernel, bytes,
  live: new Set(), documentKeys: [] });
const create = URL.createObjectURL, revoke = URL.revokeObjectURL;
URL.createObjectURL = (b) => { const u = create(b); window.live.add(u); return u; };
URL.revokeObjectURL = (u) => { window.live.delete(u); revoke(u); };
document.addEventListener("keydown", (e) => window.documentKeys.push(e.key));
window.cleanup = widget.render({ model, el: document.getElementById("host") });
window.ready = true;
</script></body></html>"""

CATEGORIES = ["cat", "dog", "bird", "other"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def _jpeg(color) -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "JPEG")
    return base64.b64encode(out.getvalue()).decode()


def _cards(n: int) -> list[dict]:
    return [{"kind": "image", "id": f"id{i}", "name": f"img{i}.jpg", "source": f"s3://b/img{i}.jpg",
             "mime": "image/jpeg", "width": 64, "height": 48, "image": i % 3, "label": None, "answer": None}
            for i in range(n)]


@pytest.fixture
def widget(page):
    """Open the harness with a job of `cards`; returns a function that does it (and focuses the root)."""
    def open_widget(cards=None, *, auto_reply=True, focus=True, below=0, **state):
        cards = cards if cards is not None else _cards(20)
        cfg = {
            "autoReply": auto_reply,
            "images": [_jpeg(c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]] + ["bm90IGFuIGltYWdl"],
            "cards": cards,
            "state": {"title": "pets", "categories": CATEGORIES, "shortcuts": ["1", "2", "3", "4"],
                      "multi_label": False, "instructions_html": "<p>Pick the <strong>animal</strong>.</p>",
                      "full_instructions_html": "<h1>Rules</h1><p>Look closely.</p>",
                      "total": len(cards), "position": 0, "prefetch": 5,
                      "progress": {"labeled": 0, "skipped": 0, "total": len(cards), "per_class": {},
                                   "per_minute": 0, "eta_seconds": None, "done": False},
                      "sync_status": {"state": "saved", "pending": 0, "message": ""}, **state},
        }
        # below: pixels of page above the widget (it starts out of view when that is more than a window)
        harness = HARNESS.replace('<div id="host">', f'<div style="height:{below}px"></div><div id="host">', 1)
        return open_harness(page, harness, cfg, focus=focus)
    return open_widget


def shown(page) -> str:
    return page.locator(".gtw-root").get_attribute("data-shown")


def test_number_keys_submit_and_show_the_next_card_at_once(widget):
    page = widget()
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    page.wait_for_function("window.live.size >= 6")  # the cards ahead have arrived
    page.keyboard.press("2")
    assert shown(page) == "id1"  # no wait: the next card was decoded before the key press
    page.keyboard.press("4")
    submits = sent(page, "submit")
    assert [(m["id"], m["answer"]) for m in submits] == [("id0", "dog"), ("id1", "other")]
    assert all(m["spent"] >= 0 for m in submits)
    assert page.evaluate("window.positions.at(-1)") == 2
    assert page.locator(".gtw-pos").inner_text() == "3 / 20"


def test_answers_go_out_by_themselves_a_burst_shares_one_request_and_leaving_sends_the_rest(widget):
    page = widget()
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    page.wait_for_function("window.live.size >= 6")
    before = page.evaluate("window.positions.length")
    keys = """(keys) => { const root = document.querySelector('.gtw-root');
      for (const key of keys) root.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
      return window.sent.filter((m) => m.type === 'submit').length; }"""
    assert page.evaluate(keys, ["1", "2", "3"]) == 0  # sent after the paint, never in the key press
    page.wait_for_function("window.sent.filter((m) => m.type === 'submit').length === 3")  # by itself
    assert page.evaluate("window.positions.length") == before + 1 and page.evaluate("window.positions.at(-1)") == 3
    # Right after a batch the next answer waits for the next one; leaving the page sends it at once.
    assert page.evaluate(keys, ["4"]) == 3
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    assert [m["answer"] for m in page.evaluate("window.sent") if m["type"] == "submit"] == ["cat", "dog", "bird", "other"]


def test_keys_never_reach_jupyterlab_and_esc_leaves(widget):
    page = widget()
    for key in ["m", "a", "b", "x", "d", "1", "Enter", "ArrowRight"]:
        page.keyboard.press(key)
    assert page.evaluate("window.documentKeys") == []
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.classList.contains('gtw-root')") is False
    assert page.evaluate("window.documentKeys") == ["Escape"]
    root = page.locator(".gtw-root")
    assert root.get_attribute("tabindex") == "0" and root.get_attribute("data-lm-suppress-shortcuts") == "true"


def test_navigation_skip_undo_and_next_unlabeled(widget):
    page = widget()
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    for key, expected in [("j", "id1"), ("ArrowRight", "id2"), ("k", "id1"), ("ArrowLeft", "id0"),
                          ("s", "id1"), ("1", "id2"), ("z", "id1"), ("Backspace", "id0")]:
        page.keyboard.press(key)
        page.wait_for_function(f"document.querySelector('.gtw-root').dataset.shown === '{expected}'")
    assert [m["id"] for m in sent(page, "skip")] == ["id0"]
    assert [m["id"] for m in sent(page, "submit")] == ["id1"]
    assert len(sent(page, "undo")) == 2
    page.keyboard.press("u")
    assert sent(page, "next_unlabeled") == [{"type": "next_unlabeled", "from": "id0", "seq": 1}]
    page.evaluate("reply({type: 'goto', pos: 7, id: 'id7', seq: 1})")
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id7'")


def test_undo_after_a_reload_follows_the_kernel(widget):
    page = widget(position=5)  # a fresh view: no local history, the kernel knows what to undo
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id5'")
    page.keyboard.press("z")
    page.evaluate("reply({type: 'undone', id: 'id2', pos: 2, answer: null})")
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id2'")


def test_mouse_works_too(widget):
    page = widget()
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    page.locator(".gtw-cat", has_text="bird").click()
    page.locator(".gtw-skip").click()
    page.locator(".gtw-prev").click()
    assert [m["answer"] for m in sent(page, "submit")] == ["bird"]
    assert shown(page) == "id1"
    page.keyboard.press("1")  # focus went back to the widget after the clicks
    assert sent(page, "submit")[-1]["answer"] == "cat"


def test_multi_label_picks_then_enter_submits(widget):
    page = widget(multi_label=True)
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    page.keyboard.press("Enter")
    assert sent(page, "submit") == [] and "at least one" in page.locator(".gtw-error").inner_text()
    for key in ["3", "1", "2", "2"]:
        page.keyboard.press(key)
    assert page.locator(".gtw-cat.gtw-chosen").count() == 2
    page.keyboard.press("Enter")
    assert sent(page, "submit")[0]["answer"] == ["cat", "bird"]  # category order, toggles honoured
    assert shown(page) == "id1" and page.locator(".gtw-cat.gtw-chosen").count() == 0


def test_hostile_names_are_text_and_run_nothing(widget):
    evil = '<img src=x onerror="window.pwned=1">'
    cards = _cards(3)
    cards[0].update(name=evil + "</script>", label=[evil])
    cards[1] = {"kind": "text", "id": "t1", "name": "</script><script>window.pwned=2</script>",
                "text": evil + "<b>not bold</b>", "label": None, "answer": None}
    page = widget(cards, categories=[evil, "</script><script>window.pwned=3</script>", "b", "c"],
                  shortcuts=["1", "<i>2</i>", "3", "4"], title=evil)
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    assert page.locator(".gtw-cat").first.inner_text().endswith(evil)
    assert page.locator(".gtw-name").inner_text() == evil + "</script>"
    assert evil in page.locator(".gtw-existing").inner_text()
    page.keyboard.press("j")
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 't1'")
    assert page.locator(".gtw-text").inner_text() == evil + "<b>not bold</b>"
    # The only images are the kernel's card images; nothing ran.
    assert page.locator(".gtw-root img:not(.gtw-image), .gtw-root b, .gtw-root script").count() == 0
    assert page.evaluate("window.pwned") is None


def test_bidi_and_control_characters_show_visibly_and_isolated(widget):
    rlo = "\u202e"
    cards = _cards(3)
    cards[0].update(name=f"{rlo}gpj.exe", label=[f"{rlo}evil"], source=f"s3://b/{rlo}gpj.exe")
    cards[1] = {"kind": "text", "id": "t1", "name": "t1", "text": f"say {rlo}olleh\x07 twice",
                "label": None, "answer": None}
    page = widget(cards, categories=[f"{rlo}evil", "dog\u2066", "bird", "other"])
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    name = page.locator(".gtw-cat-name").first
    assert name.inner_text() == "\u27e8U+202E\u27e9evil"  # not "live"
    assert name.evaluate("(e) => getComputedStyle(e).unicodeBidi") == "isolate"
    assert page.locator(".gtw-cat").first.get_attribute("title") == "\u27e8U+202E\u27e9evil (key 1)"
    assert page.locator(".gtw-cat-name").nth(1).inner_text() == "dog\u27e8U+2066\u27e9"
    assert page.locator(".gtw-name").inner_text() == "\u27e8U+202E\u27e9gpj.exe"
    assert page.locator(".gtw-name").get_attribute("title") == "s3://b/\u27e8U+202E\u27e9gpj.exe"
    assert page.locator(".gtw-existing").inner_text() == "existing label: \u27e8U+202E\u27e9evil"
    assert page.locator(".gtw-name").evaluate("(e) => getComputedStyle(e).unicodeBidi") == "isolate"
    page.keyboard.press("j")
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 't1'")
    assert page.locator(".gtw-text").inner_text() == "say \u27e8U+202E\u27e9olleh\u27e8U+0007\u27e9 twice"
    # Nothing in the widget obeys a control: no text node anywhere holds one.
    assert page.evaluate("""() => { const walk = document.createTreeWalker(document.querySelector('.gtw-root'), 4);
      const found = []; while (walk.nextNode()) if (/[\\u202a-\\u202e\\u2066-\\u2069\\x07]/.test(walk.currentNode.data)) found.push(walk.currentNode.data);
      return found; }""") == []


def test_instructions_make_the_browser_fetch_nothing(widget, page):
    from gtwidgets.widget import render_instructions
    from test_widget import REMOTE_INSTRUCTIONS

    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.route("https://tracker.example/**", lambda route: route.abort())  # still a request: it is recorded
    html = render_instructions(REMOTE_INSTRUCTIONS)
    page = widget(instructions_html=html, full_instructions_html=html)
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    page.locator(".gtw-instr-full summary").click()
    page.wait_for_function("""() => [...document.images].every((img) => img.complete)""")
    assert page.locator(".gtw-instructions").get_by_text("Label").count() >= 1
    assert [url for url in requested if "tracker.example" in url] == []
    assert {url.split("/")[2] for url in requested} == {"gtwidgets.test"}


def test_browser_keeps_only_a_window_of_cards(widget):
    page = widget(_cards(60))
    cdp = page.context.new_cdp_session(page)

    def nodes_after_gc() -> int:
        cdp.send("HeapProfiler.collectGarbage")
        return cdp.send("Memory.getDOMCounters")["nodes"]
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    for i in range(1, 41):
        if i == 10:
            nodes_at_10 = nodes_after_gc()
        page.keyboard.press("1")
        page.wait_for_function(f"document.querySelector('.gtw-root').dataset.shown === 'id{i}'")
    # Dropped cards are garbage: no node per card stays alive (an <img> whose src is
    # removed stays pending and kept ~7 nodes per card alive before this was fixed).
    assert nodes_after_gc() <= nodes_at_10 + 20
    live = page.evaluate("window.live.size")
    assert live <= 3 + 5 + 1, live  # 3 behind, 5 ahead, the one shown
    assert page.evaluate("document.querySelectorAll('img').length") == 1
    requests = sent(page, "cards")
    asked = [p for m in requests for p in m["positions"]]
    assert len(asked) == len(set(asked))  # each card asked for once
    # in chunks: at most 2 short of the window's end (40 + 5), one request per 3 cards or so
    assert 43 <= max(asked) <= 45 and len(requests) <= 1 + 40 // 3, (max(asked), len(requests))


def test_slow_kernel_shows_loading_then_the_card(widget):
    page = widget(auto_reply=False)
    assert page.locator(".gtw-loading").is_visible()
    assert sent(page, "cards")[0]["positions"][:3] == [0, 1, 2]
    page.evaluate("kernel({type: 'cards', positions: [0]})")
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")


def test_broken_and_missing_images_stay_usable(widget):
    cards = _cards(3)
    cards[0]["image"] = 3  # bytes the browser cannot decode
    cards[1] = {"kind": "error", "id": "e1", "name": "gone.jpg", "error": "s3://b/gone.jpg: image not found; skip it",
                "label": None, "answer": None}
    page = widget(cards)
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    assert "cannot decode" in page.locator(".gtw-panel-error").inner_text()
    page.keyboard.press("4")
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'e1'")
    assert "image not found" in page.locator(".gtw-panel-error").inner_text()
    page.keyboard.press("s")
    assert [m["id"] for m in sent(page, "submit")] == ["id0"] and [m["id"] for m in sent(page, "skip")] == ["e1"]


def test_progress_sync_state_instructions_help_and_done(widget):
    page = widget(_cards(2))
    assert page.locator(".gtw-instr-short strong").inner_text() == "animal"
    assert not page.locator(".gtw-instr-full-body").is_visible()
    page.locator(".gtw-instr-full summary").click()
    assert page.locator(".gtw-instr-full-body h1").inner_text() == "Rules"
    page.evaluate("""model.set('sync_status', {state: 'offline', pending: 3, message: 'x'});
        model.set('progress', {labeled: 1, skipped: 0, total: 2, per_class: {cat: 1}, per_minute: 12.5,
                               eta_seconds: 4.8, done: false})""")
    assert page.locator(".gtw-sync").inner_text() == "offline — 3 answers kept locally, will upload when S3 is back"
    assert page.locator(".gtw-progress-text").inner_text() == "1 / 2 labeled · 12.5 per minute · 5 s left"
    assert page.locator(".gtw-bar-fill").evaluate("e => e.style.width") == "50%"
    page.locator(".gtw-root").focus()
    page.keyboard.press("?")
    assert page.locator(".gtw-help").is_visible() and "next unlabeled" in page.locator(".gtw-help").inner_text()
    page.keyboard.press("Escape")
    assert not page.locator(".gtw-help").is_visible()
    page.keyboard.press("1")
    page.keyboard.press("2")
    page.evaluate("""model.set('progress', {labeled: 2, skipped: 0, total: 2, per_class: {cat: 1, dog: 1},
                                            per_minute: 12, eta_seconds: 0, done: true})""")
    assert page.locator(".gtw-done-title").inner_text() == "Done: all 2 items labeled."
    assert page.locator(".gtw-done-table").inner_text().split() == ["cat", "1", "dog", "1"]


def test_cleanup_revokes_every_url(widget):
    page = widget()
    page.wait_for_function("window.live.size >= 5")
    page.evaluate("window.cleanup()")
    assert page.evaluate("window.live.size") == 0


def _goto(page, pos) -> None:
    """The kernel's reply to the latest "next unlabeled" request: card ``pos``, or None (none left)."""
    seq = sent(page, "next_unlabeled")[-1]["seq"]
    page.evaluate("([pos, seq]) => reply({type: 'goto', pos, id: pos === null ? null : 'id' + pos, seq})", [pos, seq])


def test_the_last_skipped_card_answered_leads_to_the_done_screen(widget):
    page = widget(_cards(5))
    page.wait_for_function("window.live.size >= 5")
    for key in ["1", "1", "s", "2", "3"]:  # card 2 skipped
        page.keyboard.press(key)
    page.evaluate("""model.set('progress', {labeled: 4, skipped: 1, total: 5, per_class: {}, per_minute: 0,
                                            eta_seconds: 0, done: false})""")  # what the kernel says by then
    assert page.locator(".gtw-done").is_visible() and "1 item not labeled" in page.locator(".gtw-done-title").inner_text()
    assert page.locator(".gtw-cat.gtw-chosen").count() == 0  # the last answer is not left highlighted
    page.keyboard.press("u")
    assert sent(page, "next_unlabeled")[-1]["from"] is None  # from the end panel: the whole queue
    _goto(page, 2)
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id2'")
    page.keyboard.press("4")
    # Cards 3 and 4 are answered: not shown again; the kernel is asked where to go, after card 2.
    assert shown(page) == "id2"
    ask = sent(page, "next_unlabeled")[-1]
    assert ask["after"] == "id2" and sent(page, "submit")[-1] == {**sent(page, "submit")[-1], "id": "id2", "answer": "other"}
    order = [m["type"] for m in page.evaluate("window.sent") if m["type"] in ("submit", "next_unlabeled")]
    assert order[-2:] == ["submit", "next_unlabeled"]  # the kernel counts the answer before it looks
    _goto(page, None)
    page.wait_for_function("!document.querySelector('.gtw-done').hidden")
    page.evaluate("""model.set('progress', {labeled: 5, skipped: 0, total: 5, per_class: {}, per_minute: 0,
                                            eta_seconds: 0, done: true})""")
    assert page.locator(".gtw-done-title").inner_text() == "Done: all 5 items labeled."
    assert page.locator(".gtw-cat.gtw-chosen").count() == 0
    page.keyboard.press("u")  # nothing left: the done screen again, no error
    _goto(page, None)
    assert page.locator(".gtw-done").is_visible() and not page.locator(".gtw-error").is_visible()


def test_answering_after_going_back_returns_to_the_first_card_without_an_answer(widget):
    page = widget()
    page.wait_for_function("window.live.size >= 6")
    for key in ["1", "1", "1", "k", "k"]:  # answered 0-2, back on 1
        page.keyboard.press(key)
    assert shown(page) == "id1"
    page.keyboard.press("2")  # changes card 1; card 2 is answered, 3 is next
    assert shown(page) == "id3" and sent(page, "next_unlabeled") == []


def test_u_on_a_card_without_an_answer_keeps_it(widget):
    page = widget()
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    page.keyboard.press("u")
    assert sent(page, "next_unlabeled")[-1]["from"] == "id0"
    _goto(page, 0)
    page.wait_for_function("document.querySelector('.gtw-live').dataset.said.startsWith('This item is not labeled')")
    assert shown(page) == "id0"
    # A late reply to an older request does not move a view that moved since.
    page.keyboard.press("u")
    seq = sent(page, "next_unlabeled")[-1]["seq"]
    page.keyboard.press("j")
    page.evaluate("(seq) => reply({type: 'goto', pos: 9, id: 'id9', seq})", seq)
    page.wait_for_timeout(50)  # the reply is delivered on the next task; nothing may move then
    assert shown(page) == "id1"


def test_help_lists_only_the_keys_this_job_has(widget):
    page = widget()
    page.keyboard.press("?")
    keys = page.locator(".gtw-help-key").all_inner_texts()
    assert keys[0] == "1 … 4" and "Enter" not in keys and "Delete" not in keys
    assert page.locator(".gtw-help-btn").get_attribute("aria-expanded") == "true"
    page = widget(multi_label=True, categories=[f"c{i}" for i in range(12)],
                  shortcuts=list("1234567890") + ["q", "w"])
    page.keyboard.press("?")
    keys = page.locator(".gtw-help-key").all_inner_texts()
    assert keys[:2] == ["1 … 9, 0, q, w", "Enter"]


def test_tab_and_enter_on_a_category_button_choose_it(widget):
    page = widget()
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    page.keyboard.press("Enter")  # Enter on the widget itself: nothing in a single-label job
    page.keyboard.press("Tab")
    focused = lambda: page.evaluate("document.activeElement.className")  # noqa: E731
    while "gtw-cat" not in focused():
        page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # the second category: dog
    page.keyboard.press("Enter")
    assert [m["answer"] for m in sent(page, "submit")] == ["dog"]
    assert shown(page) == "id1" and "gtw-cat" in focused()  # Tab users keep their place
    page.keyboard.press(" ")
    assert [m["answer"] for m in sent(page, "submit")] == ["dog", "dog"]
    assert set(page.evaluate("window.documentKeys")) == {"Tab"}  # Tab moves focus as anywhere; no other key leaks


def test_screen_readers_hear_the_answer_the_save_state_and_the_end(widget):
    page = widget(_cards(2))
    root = page.locator(".gtw-root")
    assert root.get_attribute("aria-label") == "Labeling: pets"
    assert "Tab" in root.get_attribute("aria-description")
    live = page.locator(".gtw-live")
    assert live.get_attribute("role") == "status" and live.get_attribute("aria-live") == "polite"
    page.wait_for_function("window.live.size >= 2")
    page.keyboard.press("2")
    page.wait_for_function("document.querySelector('.gtw-live').textContent === 'dog: answered. Item 2 of 2.'")
    page.evaluate("model.set('sync_status', {state: 'offline', pending: 1, message: ''})")
    page.wait_for_function("document.querySelector('.gtw-live').textContent.startsWith('offline')")
    page.evaluate("""model.set('progress', {labeled: 2, skipped: 0, total: 2, per_class: {}, per_minute: 0,
                                            eta_seconds: 0, done: true})""")
    page.wait_for_function("document.querySelector('.gtw-live').textContent === 'Done: all 2 items labeled.'")


def test_no_accessibility_violations(widget):
    page = widget(multi_label=True)
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    page.keyboard.press("1")
    page.keyboard.press("?")
    assert axe_violations(page) == []


def test_a_restarted_kernel_is_said_and_takes_no_answers(widget):
    page = widget()
    page.wait_for_function("window.live.size >= 6")
    page.keyboard.press("1")
    before = len(sent(page, "submit"))
    page.evaluate("window.trigger('comm_live_update')")  # what the widget manager does on a restart
    note = page.locator(".gtw-gone-note")
    assert note.is_visible() and "run this cell again" in note.inner_text()
    for key in ["2", "s", "j", "u"]:
        page.keyboard.press(key)
    page.locator(".gtw-cat", has_text="bird").click()
    assert shown(page) == "id1" and page.locator(".gtw-pos").inner_text() == "2 / 20"
    assert len(sent(page, "submit")) == before and sent(page, "skip") == []
    assert page.evaluate("window.documentKeys") == []


def test_a_new_widget_focuses_itself_once_when_in_view(widget):
    page = widget(focus=False, autofocus=True)
    page.wait_for_function("document.activeElement.classList.contains('gtw-root')")
    assert page.evaluate("window.saves.at(-1).autofocus") is False  # the next view leaves focus alone
    page.keyboard.press("1")
    assert [m["answer"] for m in sent(page, "submit")] == ["cat"]


def test_a_widget_out_of_view_or_seen_before_does_not_take_the_focus(widget):
    page = widget(focus=False, autofocus=True, below=3000)
    page.wait_for_function("window.saves.length > 0")
    assert page.evaluate("window.saves.at(-1).autofocus") is False
    assert page.evaluate("document.activeElement === document.body")
    page = widget(focus=False, autofocus=False)
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    assert page.evaluate("document.activeElement === document.body") and page.evaluate("window.saves") == []


def test_answered_cards_still_on_their_way_are_passed_over_when_they_arrive(widget):
    cards = _cards(5)
    for c in cards[1:3]:
        c["answer"] = ["dog"]  # answered before (another session): the kernel's cards say so
    page = widget(cards, auto_reply=False)
    page.evaluate("kernel({type: 'cards', positions: [0]})")
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id0'")
    page.keyboard.press("k")  # not an answer: nothing to pass over
    page.keyboard.press("1")  # card 1 is not here yet: loading, then passed over, as card 2
    assert page.locator(".gtw-loading").is_visible()
    page.evaluate("kernel({type: 'cards', positions: [1, 2, 3, 4]})")
    page.wait_for_function("document.querySelector('.gtw-root').dataset.shown === 'id3'")
