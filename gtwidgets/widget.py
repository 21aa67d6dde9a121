"""The in-cell labeling widget: an anywidget view over a :class:`~gtwidgets.job.LabelingJob`.

The job is the truth; this view keeps only what the browser needs to draw (small
synced traits) and answers the browser's requests for cards with custom messages
that carry image bytes as binary buffers. The browser asks for a window of cards
around the one shown, so a job over a million rows never ships its frame.
"""
from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import anywidget
import traitlets as t

from . import cards, panel_cards, protocol
from .modes import LabelMode, Mode
from .tool_cards import BUFFERS, add_superpixels, place_buffers

__all__ = ["LabelingWidget", "default_shortcuts", "render_instructions"]

_STATIC = Path(__file__).parent / "static"
# What the browser may ask for by name, loaded on first use: plotly.js, and the tools of task types
# answered with something other than category buttons (gtwidgets.tool_cards).
_ASSETS = {"plotly": "plotly.js", "boxes": "tools/boxes.js", "masks": "tools/masks.js",
           "maskview": "tools/mask-view.js"}
_WITH_BUFFERS = frozenset({"batch", "submit"})  # requests that may carry binary parts (a mask's PNG)
_RESERVED_KEYS = set("jkszum?")  # navigation and commands (m: the widget swallows it anyway)
_EXTRA_KEYS = [k for k in "qwertyiopadfghlxcvbn" if k not in _RESERVED_KEYS]
# Cards kept decoded ahead of the one shown. The browser asks for more in chunks of half this,
# so at machine speed (bench/label_latency.py) 16 keep the next card ready where 5 and 10 ran
# dry. About 2 MB of browser memory a card.
DEFAULT_PREFETCH = 16
_REFRESH_DELAY = 0.15  # seconds: progress/sync updates from the uploader thread are batched
_log = logging.getLogger(__name__)


class LabelingWidget(anywidget.AnyWidget):
    """Label a job's items one card at a time, keyboard first.

    ``mode`` decides what the widget is for (:class:`~gtwidgets.modes.LabelMode` by default;
    :func:`~gtwidgets.review.ReviewWidget` gives it a ``ReviewMode``). ``prefetch`` is how many
    cards ahead the browser keeps decoded (the next card then shows at once); ``image_size`` the
    largest size images are sent at.
    """

    _esm = _STATIC / "widget.js"
    _css = _STATIC / "widget.css"

    mode = t.Unicode("label").tag(sync=True)  # which of the browser's modes draws this widget
    mode_options = t.Dict().tag(sync=True)  # what that mode needs besides the traits below
    title = t.Unicode("").tag(sync=True)
    categories = t.List(t.Unicode()).tag(sync=True)
    shortcuts = t.List(t.Unicode()).tag(sync=True)
    multi_label = t.Bool(False).tag(sync=True)
    instructions_html = t.Unicode("").tag(sync=True)
    full_instructions_html = t.Unicode("").tag(sync=True)
    total = t.Int(0).tag(sync=True)
    # The card shown: the browser reports it with each batch and reads it when a view opens. It is
    # synced back with the progress updates, not per key, so a key press costs one message back.
    position = t.Int(0).tag(sync=True)
    prefetch = t.Int(DEFAULT_PREFETCH).tag(sync=True)
    progress = t.Dict().tag(sync=True)
    sync_status = t.Dict().tag(sync=True)
    # The first view focuses itself when it is in view (the cell was just run, so the keys the
    # instructions ask for must not go to the next cell); it then sets this False, so a reload or
    # a second view of the same widget leaves the focus where it is.
    autofocus = t.Bool(True).tag(sync=True)

    def __init__(self, job, *, mode: Mode | None = None, prefetch: int = DEFAULT_PREFETCH,
                 image_size: tuple[int, int] = cards.DEFAULT_SIZE, shortcuts: Sequence[str] | None = None,
                 workers: int = 4):
        self.job = job
        self.strategy: Mode = mode if mode is not None else LabelMode()
        self.strategy.open(job)  # a mode may refuse the job: before any thread or comm exists
        self.image_size = tuple(image_size)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gtwidgets-cards")
        self._refresh_lock = threading.Lock()
        self._refresh_timer: threading.Timer | None = None
        self._series_cache = panel_cards.LockedSeriesCache()
        self._shown_position: int | None = None
        categories = list(job.categories)
        super().__init__(
            mode=self.strategy.name,
            mode_options=self.strategy.options(),
            title=self.strategy.title(),
            categories=categories,
            shortcuts=list(shortcuts) if shortcuts is not None else default_shortcuts(len(categories)),
            multi_label=bool(job.multi_label),
            instructions_html=render_instructions(getattr(job, "instructions", "") or ""),
            full_instructions_html=render_instructions(getattr(job, "full_instructions", "") or ""),
            total=len(self.strategy.queue),
            position=self.strategy.start_position(),
            prefetch=prefetch,
            progress=self.strategy.progress(),
            sync_status=dict(job.sync_status()),
        )
        self.on_msg(lambda _widget, content, buffers: self.handle(content, buffers))
        job.on_change(self._refresh_soon)

    @property
    def queue(self) -> list[str]:
        """The object ids this widget shows, in order."""
        return list(self.strategy.queue)

    # ------------------------------------------------------------------ the protocol's entry

    def handle(self, message: protocol.Request, buffers: Sequence[bytes] | None = None) -> None:
        """Act on one message from the browser (:mod:`gtwidgets.protocol`), as the comm delivers it.

        Replies go out with :meth:`send`, some of them later from the card threads; a request
        that fails is answered with an ``error`` message, shown in the widget. Messages of an
        unknown type are ignored (a newer front end may send them).
        """
        kind = message.get("type") if isinstance(message, dict) else None
        handler = getattr(self, f"_on_{kind}", None) if kind in protocol.REQUESTS else None
        if handler is None:
            return
        try:
            if kind in _WITH_BUFFERS:
                handler(message, list(buffers or ()))
            else:
                handler(message)
        except Exception as e:  # shown in the widget; a raise here would only reach the kernel log
            _log.exception("gtwidgets widget: %s failed", kind)
            self.send({"type": "error", "message": f"{type(e).__name__}: {e}", "request": kind})

    def _on_batch(self, msg: protocol.Batch, buffers: list) -> None:
        """What the browser did in one frame, in order: one request a key press, not three.
        The batch's buffers are its requests' (a request names its own by index)."""
        for inner in msg.get("messages", ()):
            if isinstance(inner, dict) and inner.get("type") != "batch":
                self.handle(inner, buffers)
        if isinstance(msg.get("position"), int) and 0 <= msg["position"] <= self.total:
            self._shown_position = msg["position"]
            self._refresh_soon()

    def _on_cards(self, msg: protocol.CardsRequest) -> None:
        queue = self.strategy.queue
        for pos in msg.get("positions", ()):
            if isinstance(pos, int) and 0 <= pos < len(queue):
                self._pool.submit(self._send_card, pos, queue[pos])

    def _send_card(self, pos: int, object_id: str) -> None:
        original = None  # the image's full size, read with its bytes: a tool's meta needs it
        if panel_cards.wants_panels(self.job, object_id):  # pre-labeled taskInput: image, series, text, facts
            meta, buffers = panel_cards.panel_card(self.job, object_id, image_size=self.image_size,
                                                   cache=self._series_cache)
        else:
            try:
                c = cards.card(self.job, object_id, max_size=self.image_size)
            except Exception as e:
                c = cards.error_card(self.job, object_id, name=str(object_id), message=f"{type(e).__name__}: {e}")
            meta, buffers = c.meta, [c.data] if c.data else []
            if c.original is not None:
                original = {"width": c.original.width, "height": c.original.height, "depth": c.original.depth}
        extra = dict(self.strategy.card_meta(str(object_id), image_size=original))
        if meta.get("kind") == "image" and buffers:
            add_superpixels(extra, buffers[0])  # smart fill of a mask card: from the image it shows
        tool_buffers = extra.pop(BUFFERS, None)
        if tool_buffers:  # a mask tool's or view's PNGs, after the card's own
            place_buffers(extra["tool_meta"], len(buffers))
            buffers = [*buffers, *tool_buffers]
        self.send({"type": "card", "pos": pos, **meta, **extra}, buffers or None)

    def _on_series_range(self, msg: protocol.SeriesRangeRequest) -> None:
        """A zoom on a sensor plot: the visible range at full detail, off the message thread."""
        self._pool.submit(self._send_series_range, msg)

    def _send_series_range(self, msg: protocol.SeriesRangeRequest) -> None:
        try:
            meta, buffers = panel_cards.range_reply(self.job, msg, cache=self._series_cache)
        except Exception as e:
            self.send({"type": "error", "message": f"zoom failed: {type(e).__name__}: {e}", "request": "series_range"})
            return
        self.send(meta, buffers or None)

    def _on_asset(self, msg: protocol.AssetRequest) -> None:
        """plotly.js for the first plot in the page, or a tool (boxes, masks) for the first card that
        needs it: not in the widget's bundle, which image and text classification jobs load without."""
        name = msg.get("name")
        if name not in _ASSETS:
            self.send({"type": "asset", "name": name, "error": f"no asset named {name!r}"})
            return
        self.send({"type": "asset", "name": name}, [(_STATIC / _ASSETS[name]).read_bytes()])

    def _on_submit(self, msg: protocol.SubmitRequest, buffers: list) -> None:
        answer = msg.get("answer")
        index = msg.get("answer_buffer")
        if index is not None:  # a mask tool's PNG: the answer is the bytes, or the answer's "mask"
            if not isinstance(index, int) or not 0 <= index < len(buffers):
                raise ValueError(f"submit names buffer {index!r}, but the batch has {len(buffers)}")
            png = bytes(buffers[index])
            answer = {**answer, "mask": png} if isinstance(answer, dict) else png
        if self.multi_label and isinstance(answer, str):
            answer = [answer]
        self.strategy.submit(str(msg["id"]), answer, spent=_seconds(msg.get("spent")))
        self._refresh_soon()

    def _on_skip(self, msg: protocol.SkipRequest) -> None:
        self.strategy.skip(str(msg["id"]))
        self._refresh_soon()

    def _on_undo(self, msg: protocol.UndoRequest) -> None:
        self.send(self.strategy.undo(near=self.position))
        self._refresh_soon()

    def _on_withdraw(self, msg: protocol.WithdrawRequest) -> None:
        self.strategy.withdraw(str(msg["id"]))
        self._refresh_soon()

    def _on_next_unlabeled(self, msg: protocol.NextUnlabeledRequest) -> None:
        """The next object without an answer: after ``after``, or from ``from`` on (that one included).

        None when there is none (the browser shows the end panel); ``seq`` goes back so the
        browser acts on its latest request only.
        """
        first = msg.get("from")
        pos = self.strategy.next_unlabeled(after=msg.get("after"), first=None if first is None else str(first),
                                           near=self.position)
        object_id = None if pos is None else self.strategy.queue[pos]
        if len(self.strategy.queue) != self.total:  # automated labeling sent more: the view knows before it goes
            self.total = len(self.strategy.queue)
        self.send({"type": "goto", "pos": pos, "id": object_id, "seq": msg.get("seq")})

    # ------------------------------------------------------------------ job -> traits

    def _refresh_soon(self) -> None:
        """Called from any thread; many changes in a burst become one update.

        Key presses are batched too: the job's progress() and sync_status() grow with the
        number of answers, and at several keys a second an update per key costs more than it shows.
        """
        with self._refresh_lock:
            if self._refresh_timer is not None:
                return
            self._refresh_timer = threading.Timer(_REFRESH_DELAY, self._refresh)
            self._refresh_timer.daemon = True
            self._refresh_timer.start()

    def _refresh(self) -> None:
        with self._refresh_lock:
            if self._refresh_timer is not None:
                self._refresh_timer.cancel()
                self._refresh_timer = None
        progress, status, shown = self.strategy.progress(), dict(self.job.sync_status()), self._shown_position
        with self.hold_sync():
            if len(self.strategy.queue) != self.total:  # automated labeling sent people more objects
                self.total = len(self.strategy.queue)
            if shown is not None and shown != self.position:
                self.position = shown
            if progress != self.progress:
                self.progress = progress
            if status != self.sync_status:
                self.sync_status = status

    def close(self) -> None:
        with self._refresh_lock:
            if self._refresh_timer is not None:
                self._refresh_timer.cancel()
                self._refresh_timer = None
        self._pool.shutdown(wait=False, cancel_futures=True)
        super().close()


def default_shortcuts(n: int) -> list[str]:
    """Keys for ``n`` categories: 1-9 and 0 first, then letters no command uses; '' when out of keys."""
    keys = list("1234567890") + _EXTRA_KEYS
    return [keys[i] if i < len(keys) else "" for i in range(n)]


def render_instructions(text: str) -> str:
    """Markdown or HTML -> sanitized HTML (nh3), safe to put in the page as markup.

    The browser must fetch nothing the user did not ask for (a remote image would tell its
    host who opened the notebook, and when): no element may load a resource. Markdown images
    become links to them, ``<img>`` tags keep only their alt text, and nh3 already drops
    styles, scripts and other loading elements. Bidi and control characters are shown as
    ``⟨U+202E⟩``, so text cannot display reversed or hidden.
    """
    import mistune
    import nh3

    if not text.strip():
        return ""

    class LinkedImages(mistune.HTMLRenderer):
        def image(self, text: str, url: str, title: str | None = None) -> str:
            return f'<a href="{self.safe_url(url)}">[image: {text or "open"}]</a>'

    html = mistune.create_markdown(escape=False, renderer=LinkedImages(escape=False),
                                   plugins=["strikethrough", "table", "url"])(text)
    html = nh3.clean(html, link_rel="noopener noreferrer nofollow", attribute_filter=_no_fetching)
    return _CONTROLS.sub(lambda m: f"\u27e8U+{ord(m.group()):04X}\u27e9", html)


def _no_fetching(tag: str, attribute: str, value: str) -> str | None:
    return None if attribute in ("src", "srcset") else value


# Shown visibly rather than obeyed: bidi overrides, embeddings, isolates and marks, and C0/C1
# controls (tab, newline and carriage return are layout and stay).
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _seconds(value) -> float | None:
    try:
        return None if value is None else max(0.0, float(value))
    except (TypeError, ValueError):
        return None
