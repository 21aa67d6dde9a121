"""The widget's wire format, declared once: every message between kernel and browser, both ways.

The browser sends one :class:`Batch` a frame, holding the requests made since the last one
(answers, card requests, a zoom) and the position shown; the kernel answers with the messages
in :data:`REPLIES` and keeps the synced traits current. A request that has a reply names how
the browser matches the two in :data:`PAIRS` (a ``seq`` it counts, or the card's ``pos``).

``js/src/protocol.js`` carries the same types as JSDoc typedefs and the same tables; it is
generated from this module by ``js/gen_protocol.py`` and a test keeps the two equal. Change
the protocol here, then regenerate.

Why not anywidget's ``@command`` / ``invoke`` for the pairs: invoke sends one comm message a
request and runs the Python side synchronously on the kernel's message thread, with one reply
each. Here a key press's requests share one message (each kernel request costs JupyterLab a
busy/idle round of its own), card requests are answered by several ``card`` messages, each as
soon as a thread has made it, and zooms are made off the message thread. Measured with
bench/label_latency.py (200 labels, JupyterLab, this 2-core machine under load): card requests
through ``@command``/``invoke`` (a chunk made in the pool, one reply) gave p50 14-15 ms but p95
359-366 ms and 10.7-11.7 s in all, against 17-19 ms, 122-231 ms and 7.1-11.9 s for the batched
path: whenever the window runs dry the view waits for the whole chunk. So the batched path stays,
and the pairs are declared here instead.
"""
from __future__ import annotations

from typing import Literal, Required, TypedDict, Union

__all__ = [
    "Batch", "CardsRequest", "SubmitRequest", "SkipRequest", "UndoRequest", "WithdrawRequest",
    "NextUnlabeledRequest", "SeriesRangeRequest", "AssetRequest", "Request",
    "Card", "ImageCard", "TextCard", "ErrorCard", "PanelsCard", "ReviewInfo", "WorkerAnswer", "Adjudication",
    "ImagePanel", "SeriesPanel", "TextPanel", "FactsPanel", "ErrorPanel", "SeriesColumn", "Panel",
    "ImageSize", "Box", "ShownBox", "BoxAnswer", "VerificationAnswer", "MaskAnswer", "MaskPick", "MaskCategory",
    "PriorMask", "StartMask", "Superpixels", "MaskLayer", "LegendEntry", "ToolMeta", "MachineLabelInfo", "AutoLabelAccuracy",
    "AutoLabelProgress",
    "SeriesWindow", "Asset", "Undone", "Goto", "ErrorMessage", "Reply",
    "RequestKind", "ReplyKind", "CardKind", "PanelKind",
    "REQUESTS", "REPLIES", "CARDS", "PANELS", "PAIRS",
]

Label = list[str]


class ImageSize(TypedDict, total=False):
    """An image's original size as displayed (EXIF orientation applied)."""
    width: Required[int]
    height: Required[int]
    depth: int


class Box(TypedDict):
    """One box in original-image pixels."""
    label: str
    left: float
    top: float
    width: float
    height: float


class ShownBox(Box, total=False):
    """A box a read-only tool shows: in ``color``, named ``caption`` (review: each worker's boxes)."""
    color: str
    caption: str


class BoxAnswer(TypedDict, total=False):
    """A bounding-box answer (``gtwidgets.tasktypes.boxes``); ``[]`` boxes: no objects."""
    image_size: Required[ImageSize]
    boxes: Required[list[Box]]
    initial_value_modified: bool


class VerificationAnswer(TypedDict, total=False):
    label: Required[str]
    comment: str


class MaskAnswer(TypedDict):
    """A mask tool's answer on a card that started from a mask (pre-labels, a prior label); the
    mask itself is the submit's ``answer_buffer``."""
    initial_value_modified: bool


class MaskPick(TypedDict, total=False):
    """Review of masks: the decision is the mask shown, the consolidated one or ``worker``'s
    (``gtwidgets.review_masks``); the kernel has the pixels."""
    pick: Required[Literal["consolidated", "worker"]]
    worker: str


# one category, a multi-label job's categories, or a tool's answer
Answer = Union[str, list[str], BoxAnswer, VerificationAnswer, MaskAnswer, MaskPick]


# ---------------------------------------------------------------------------- browser -> kernel

class CardsRequest(TypedDict):
    """Make the cards at these queue positions; each comes back as its own ``card`` message."""
    type: Literal["cards"]
    positions: list[int]


class _Submit(TypedDict):
    type: Literal["submit"]
    id: str
    answer: Answer | None
    spent: float | None


class SubmitRequest(_Submit, total=False):
    """An answer (labeling) or a decision (review) for object ``id``; ``spent``: seconds on the card.

    ``answer_buffer``: the answer is binary, the batch's buffer at this index (a mask tool's PNG in
    the job's colours); ``answer`` is then None, or a :class:`MaskAnswer` the PNG belongs to."""
    answer_buffer: int


class SkipRequest(TypedDict):
    type: Literal["skip"]
    id: str


class UndoRequest(TypedDict):
    """Take back the last answer or skip; the kernel says which with ``undone``."""
    type: Literal["undo"]


class WithdrawRequest(TypedDict):
    """Review: take back the decision on ``id`` (the consolidated label stands again)."""
    type: Literal["withdraw"]
    id: str


# "from" is a Python keyword, so this one is spelled in TypedDict's functional form.
NextUnlabeledRequest = TypedDict("NextUnlabeledRequest", {
    "type": Required[Literal["next_unlabeled"]], "after": "str | None", "from": "str | None", "seq": int}, total=False)
NextUnlabeledRequest.__doc__ = ("Where the next card without an answer is: after ``after``, or from ``from`` on "
                                "(that one too); ``seq`` comes back with the reply.")


class SeriesRangeRequest(TypedDict):
    """A zoom on a sensor plot: panel ``panel`` of card ``id`` between ``start`` and ``end``."""
    type: Literal["series_range"]
    id: str
    pos: int
    panel: int
    start: float | None
    end: float | None
    seq: int


class AssetRequest(TypedDict):
    """A script the bundle does not carry (plotly.js), by name."""
    type: Literal["asset"]
    name: str


class Batch(TypedDict):
    """What the view did in one frame, in order, and the position it shows."""
    type: Literal["batch"]
    position: int
    messages: list[Request]


Request = Union[CardsRequest, SubmitRequest, SkipRequest, UndoRequest, WithdrawRequest, NextUnlabeledRequest,
                SeriesRangeRequest, AssetRequest, Batch]


# ---------------------------------------------------------------------------- cards (kernel -> browser)

class Adjudication(TypedDict):
    reviewer: str
    time: str


class _WorkerAnswer(TypedDict):
    worker: str
    answer: Label


class WorkerAnswer(_WorkerAnswer, total=False):
    """One worker's answer as category names; ``color``: their boxes' or mask's colour on the card;
    ``iou``: their mask's mean IoU with the consolidated one (background left out)."""
    color: str
    iou: float


class _Review(TypedDict):
    answers: list[WorkerAnswer]
    consolidated: Label
    confidence: float | None
    n_workers: int
    adjudication: Adjudication | None


class ReviewInfo(_Review, total=False):
    """What a reviewer weighs on a card (review mode only). ``value``: a tool's consolidated answer
    (boxes; masks: the pick of the consolidated mask), what Enter accepts as the decision;
    ``consolidated`` is then its category names."""
    value: BoxAnswer | MaskPick


class _CardBase(TypedDict):
    type: Literal["card"]
    pos: int
    id: str
    name: str
    source: str | None
    label: Label | None  # the manifest's existing label
    answer: Label | None  # this worker's answer (review: the decision)


class _Reviewed(TypedDict, total=False):
    review: ReviewInfo  # review mode adds it to every card kind


class MaskCategory(TypedDict):
    name: str
    color: str
    value: int


class PriorMask(TypedDict):
    uri: str
    color_map: dict


class StartMask(TypedDict):
    """The mask a mask tool starts from (this worker's answer, else the prior): the card message's
    buffer at ``buffer``, a colour PNG read back with ``colors`` (``#rrggbb`` -> class value; any
    other colour, and transparent pixels, are background)."""
    buffer: int
    colors: dict[str, int]


class Superpixels(TypedDict):
    """Smart fill's regions of the card's image (``gtwidgets.superpixels``): the card message's
    buffer at ``buffer``, zlib (RFC 1950) over ``uint16`` little-endian region labels, row-major,
    ``width`` x ``height`` (a working resolution: the tool maps original pixels onto it by scale)."""
    buffer: int
    width: int
    height: int


class _MaskLayer(TypedDict):
    name: str
    buffer: int


class MaskLayer(_MaskLayer, total=False):
    """A mask shown read only over the card's image (verification: the prior mask; review: the
    consolidated one, each worker's, where they disagree): the card message's buffer at
    ``buffer``, a colour PNG whose ``background`` colour is not drawn; ``color``: its swatch
    (review: the worker's colour); ``pick``: the decision Enter makes while it is shown (review),
    with its ``classes``."""
    background: str
    color: str
    pick: MaskPick
    classes: list[str]


class LegendEntry(TypedDict):
    """A class of the masks a read-only mask card shows, and its colour in them."""
    name: str
    color: str


class ToolMeta(TypedDict, total=False):
    """What a card's tool needs (the task type's ``card_meta``; ``gtwidgets.tool_cards``).
    ``problem``: why a read-only mask card shows no mask (none on the line, an unreadable file)."""
    categories: list[str] | list[MaskCategory]
    boxes: list[ShownBox]
    image_size: ImageSize | None
    read_only: bool
    answer: VerificationAnswer
    prior: PriorMask
    mask: StartMask
    reference: list[ShownBox]  # drawn under the boxes being edited, never edited (review: each worker's)
    color: str  # one colour for the boxes being edited, not their class's (review: the decision to be)
    # present when the tool starts from a value not this worker's (pre-labels, a prior label): the
    # answer then says whether it was changed (true already when an earlier answer changed it)
    initial_value_modified: bool
    superpixels: Superpixels
    layers: list[MaskLayer]
    legend: list[LegendEntry]
    problem: str


class MachineLabelInfo(TypedDict):
    """Automated labeling labeled this object: the model's class and confidence, the round, and
    whether a person was asked to check it (an audit)."""
    label: str
    confidence: float
    round: int
    audit: bool


class _Machined(TypedDict, total=False):
    machine: MachineLabelInfo  # a job with auto_label=: the model's label of this object


class AutoLabelAccuracy(TypedDict):
    """What held-out human labels measured of the newest labeling round: ``correct`` of ``support``
    right, ``low``-``high`` its 95% interval, out of ``validation`` held out."""
    round: int
    accuracy: float
    low: float
    high: float
    support: int
    correct: int
    validation: int
    target: float


class AutoLabelProgress(TypedDict):
    """``progress["auto_label"]`` (a synced trait, not a message) of a job with ``auto_label=``."""
    human: int
    machine: int
    total: int
    rounds: int
    training: bool
    stop: str | None
    accuracy: AutoLabelAccuracy | None
    error: str | None
    audited: int
    agreed: int
    audit_pending: int


class _Tooled(TypedDict, total=False):
    tool: str  # js/src/tools/<tool>.js draws the card's answer instead of the category buttons
    tool_meta: ToolMeta


class ImageCard(_CardBase, _Reviewed, _Tooled, _Machined):
    """One image; its bytes are the message's only buffer."""
    kind: Literal["image"]
    mime: str
    width: int
    height: int
    bytes: int


class TextCard(_CardBase, _Reviewed, _Tooled, _Machined):
    kind: Literal["text"]
    text: str
    truncated: bool


class ErrorCard(_CardBase, _Reviewed, _Tooled, _Machined):
    """An object that cannot be shown: still a card, so it can be skipped or labeled."""
    kind: Literal["error"]
    error: str


class ImagePanel(TypedDict):
    kind: Literal["image"]
    title: str
    mime: str
    width: int
    height: int
    buffers: list[int]  # indexes into the message's buffers


class SeriesColumn(TypedDict):
    name: str
    points: int


class _SeriesData(TypedDict):
    """Signals downsampled: buffers hold float64 times and float32 values, a pair a column."""
    kind: Literal["series"]
    title: str
    overlay: bool
    columns: list[SeriesColumn]
    total_points: int
    range: list[float]
    window: list[float | None]
    buffers: list[int]
    panel: int  # the panel's index in its card: zoom requests name it


class SeriesPanel(_SeriesData):
    """A sensor plot's overview, drawn when its card is first shown."""


class TextPanel(TypedDict):
    kind: Literal["text"]
    title: str
    text: str


class FactsPanel(TypedDict):
    kind: Literal["facts"]
    title: str
    items: list[list[str]]


class ErrorPanel(TypedDict):
    kind: Literal["error"]
    title: str
    message: str


Panel = Union[ImagePanel, SeriesPanel, TextPanel, FactsPanel, ErrorPanel]


class PanelsCard(_CardBase, _Reviewed, _Tooled, _Machined):
    """A pre-labeled ``taskInput``: several panels side by side, over every buffer of the message."""
    kind: Literal["panels"]
    panels: list[Panel]
    bytes: int


Card = Union[ImageCard, TextCard, ErrorCard, PanelsCard]


# ---------------------------------------------------------------------------- other replies

class SeriesWindow(_SeriesData):
    """The reply to ``series_range``: the zoomed range of panel ``panel`` of card ``id`` at full detail."""
    type: Literal["series_window"]
    id: str
    pos: int
    seq: int


class Asset(TypedDict, total=False):
    """The reply to ``asset``: the script as the only buffer, or ``error``."""
    type: Literal["asset"]
    name: str
    error: str


class Undone(TypedDict):
    """The reply to ``undo``: the card whose answer was taken back (all None: nothing to undo)."""
    type: Literal["undone"]
    id: str | None
    pos: int | None
    answer: Label | None


class Goto(TypedDict):
    """The reply to ``next_unlabeled``: the next card without an answer (None: there is none)."""
    type: Literal["goto"]
    pos: int | None
    id: str | None
    seq: int | None


class ErrorMessage(TypedDict):
    """A request failed in the kernel; the view shows ``message``."""
    type: Literal["error"]
    message: str
    request: str | None


Reply = Union[Card, SeriesWindow, Asset, Undone, Goto, ErrorMessage]


# ---------------------------------------------------------------------------- the tables

RequestKind = Literal["batch", "cards", "submit", "skip", "undo", "withdraw", "next_unlabeled", "series_range",
                      "asset"]
ReplyKind = Literal["card", "series_window", "asset", "undone", "goto", "error"]
CardKind = Literal["image", "text", "error", "panels"]
PanelKind = Literal["image", "series", "text", "facts", "error"]

REQUESTS: dict[str, type] = {
    "batch": Batch, "cards": CardsRequest, "submit": SubmitRequest, "skip": SkipRequest, "undo": UndoRequest,
    "withdraw": WithdrawRequest, "next_unlabeled": NextUnlabeledRequest, "series_range": SeriesRangeRequest,
    "asset": AssetRequest,
}
REPLIES: dict[str, type] = {
    "card": Card, "series_window": SeriesWindow, "asset": Asset, "undone": Undone, "goto": Goto,  # type: ignore[dict-item]
    "error": ErrorMessage,
}
CARDS: dict[str, type] = {"image": ImageCard, "text": TextCard, "error": ErrorCard, "panels": PanelsCard}
PANELS: dict[str, type] = {"image": ImagePanel, "series": SeriesPanel, "text": TextPanel, "facts": FactsPanel,
                           "error": ErrorPanel}
# request -> (its reply, the field the browser matches them by). Any request may also get "error".
PAIRS: dict[str, tuple[str, str | None]] = {
    "cards": ("card", "pos"),
    "undo": ("undone", None),  # one at a time: the view counts the undos it has shown already
    "next_unlabeled": ("goto", "seq"),
    "series_range": ("series_window", "seq"),
    "asset": ("asset", "name"),
}

