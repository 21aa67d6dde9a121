"""What a card's browser tool needs from the kernel, beside the image: the task type's card meta.

Classification cards are answered with the category buttons and need nothing here. Every other
tool (``js/src/tools/<tool>.js``: boxes, masks) gets ``tool`` and ``tool_meta``: the task type's
:meth:`~gtwidgets.tasktypes.base.TaskType.card_meta` plus, for an image, its original size as
displayed (``image_geometry.image_size``), since tools answer in original-image pixels while the
card shows a smaller image. ``label`` and ``answer`` become the category names the value uses,
the list every card kind shows under the image.

A mask tool's starting mask (this worker's answer, else the line's prior mask) is binary: it goes
under ``"buffers"``, with ``tool_meta.mask.colors``, ``#rrggbb`` -> the job's class value, to read
it back in the browser. A read-only mask card (verification) shows the prior mask instead, as a
``tool_meta.layers`` entry over the image (the browser's ``maskview``), with its classes'
colours in ``tool_meta.legend``. Buffer indices count from 0 within ``"buffers"``; the widget,
which pops them and sends them after the card's own, shifts them (:func:`place_buffers`). A
painting mask card also carries smart fill's superpixels, computed from the card's image
(:func:`add_superpixels`), as ``tool_meta.superpixels``.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

from . import cards, masks, storage, superpixels
from .image_geometry import image_size
from .tasktypes import TaskType

__all__ = ["tool_card_meta", "category_names", "original_size", "place_buffers", "add_superpixels", "mask_legend",
           "BUTTON_TOOLS", "BUFFERS"]

_log = logging.getLogger(__name__)

BUFFERS = "buffers"  # the key of a card meta's binary parts; never sent as JSON

BUTTON_TOOLS = frozenset({"classify"})  # answered with the widget's category buttons


def tool_card_meta(task: TaskType, line: Mapping, value: Any | None, source: tuple[str, str], *,
                   start: Any | None = None, size: Mapping | None = None) -> dict:
    """``{"tool", "tool_meta", "label", "answer"}`` for a card of ``line`` (``{}`` for button tasks).

    ``value``: this worker's answer so far (the task type's value), or None. ``start``: the
    object's pre-label (``job.pre_label``), placed on the image here. ``source``: the line's
    ``(source key, value)``; ``size``: the image's original size when the caller has read it
    already (the widget, with the card's bytes); otherwise it is read for ``source-ref`` images
    when the task type's meta does not carry one, or a pre-label needs it.
    """
    tool = getattr(task, "tool", "classify")
    if tool in BUTTON_TOOLS:
        return {}
    key, uri = source
    size = dict(size) if size else None
    if start is not None and value is None:
        if size is None and key == "source-ref":
            size = original_size(uri)
        start = task.start_value(start, size)
    meta = dict(task.card_meta(line, value, start=start))
    if key == "source-ref" and not meta.get("image_size"):
        meta["image_size"] = size or original_size(uri)
    existing = task.existing(line)
    out = {"tool": tool, "tool_meta": meta, "label": category_names(task, existing),
           "answer": category_names(task, value)}
    mask = _start_mask(task, meta, value if value is not None else start)
    if mask is not None:
        png, colors = mask
        meta["mask"] = {"colors": colors, "buffer": 0}
        out[BUFFERS] = [png]
    elif tool == "masks" and meta.get("read_only"):
        png = _prior_layer(task, meta)
        if png is not None:
            out[BUFFERS] = [png]
    return out


def add_superpixels(extra: dict, card_image: bytes) -> None:
    """Smart fill's superpixels for a painting mask tool's card (``extra``, from
    :func:`tool_card_meta`), computed from the image the card shows: ``tool_meta.superpixels``
    (size, buffer) and the bytes in ``extra["buffers"]``. A card whose image cannot be cut
    goes without them; the tool then says smart fill has nothing to fill."""
    meta = extra.get("tool_meta")
    if extra.get("tool") != "masks" or not isinstance(meta, dict) or meta.get("read_only") or not card_image:
        return
    try:
        sp = superpixels.for_card(card_image)
    except Exception:  # a card with a bad image is an error card's to explain
        _log.warning("gtwidgets: no superpixels for a mask card", exc_info=True)
        return
    parts = extra.setdefault(BUFFERS, [])
    meta["superpixels"] = {"width": sp.width, "height": sp.height, "buffer": len(parts)}
    parts.append(sp.data)


def place_buffers(meta: dict, offset: int) -> None:
    """Shift a tool meta's buffer indices by ``offset``: the card's own buffers go first."""
    for part in ("mask", "superpixels"):
        if isinstance(meta.get(part), dict) and "buffer" in meta[part]:
            meta[part]["buffer"] += offset
    for layer in meta.get("layers", ()):
        layer["buffer"] += offset


def mask_legend(color_map: Mapping[str, Mapping]) -> list[dict]:
    """``[{name, color}]`` of a colour map's classes in index order, the background left out."""
    return [{"name": str(e.get("class-name", k)), "color": str(e["hex-color"]).lower()}
            for k, e in sorted(color_map.items(), key=lambda kv: int(kv[0])) if k != "0"]


def _prior_layer(task: TaskType, meta: dict) -> bytes | None:
    """The mask under review as the card's one layer (its file as is, its background shown
    transparent), or a ``problem`` the card says: no mask on this line, or an unreadable file."""
    prior = meta.get("prior")
    attribute = getattr(task, "prior_attribute", None) or "the prior attribute"
    if not prior:
        meta["problem"] = (f"this line has no {attribute} mask (with an internal-color-map) to verify; "
                           "Ground Truth fails such lines: rate it as you see fit, or skip it")
        return None
    try:
        png = storage.read_bytes(prior["uri"], max_bytes=cards.MAX_IMAGE_BYTES)
    except Exception as e:
        meta["problem"] = f"cannot read the mask {prior['uri']} ({type(e).__name__}: {e}); skip this item"
        return None
    background = prior["color_map"].get("0", {}).get("hex-color", masks.BACKGROUND_COLOR)
    meta["layers"] = [{"name": attribute, "buffer": 0, "background": background.lower()}]
    meta["legend"] = mask_legend(prior["color_map"])
    return png


def _start_mask(task: TaskType, meta: dict, value: Any | None) -> tuple[bytes, dict[str, int]] | None:
    """The PNG a mask tool starts from and its colours -> the job's class values, or None.

    This worker's answer or a pre-labelled mask (``png_of``, the job's colours), else the file
    the meta names (a pre-label's or the prior's, its own colour map renumbered to the job's
    classes by name). An unreadable file leaves the tool empty: the card still shows the image."""
    if getattr(task, "tool", None) != "masks" or meta.get("read_only"):
        return None
    index = getattr(task, "index", None) or {}
    if value is not None and not meta.get("prior"):
        return task.png_of(value), {c["color"].lower(): c["value"] for c in meta.get("categories", ())}
    prior = meta.get("prior")
    if not prior:
        return None
    try:
        png = storage.read_bytes(prior["uri"], max_bytes=cards.MAX_IMAGE_BYTES)
    except Exception:
        return None
    colors = {e["hex-color"].lower(): index.get(e.get("class-name"), 0) for e in prior["color_map"].values()}
    return png, colors


def original_size(uri: str) -> dict | None:
    """``{"width", "height", "depth"}`` of the image at ``uri`` as displayed (EXIF applied), or
    None when it cannot be read (the card then says what is wrong with the file)."""
    try:
        if storage.is_s3(uri):  # a streaming body cannot seek: Pillow needs the bytes
            size = image_size(storage.read_bytes(uri, max_bytes=cards.MAX_IMAGE_BYTES))
        else:
            with storage.open_read(uri, max_bytes=cards.MAX_IMAGE_BYTES) as f:
                size = image_size(f)  # reads the header only
    except Exception:  # an unreadable image is the image card's to report
        return None
    return {"width": size.width, "height": size.height, "depth": size.depth}


def category_names(task: TaskType, value: Any | None) -> list[str] | None:
    """The category names a value uses; None for no value, or one only named by a file (a prior mask)."""
    if value is None:
        return None
    try:
        return list(dict.fromkeys(task.classes_of(value)))
    except (AttributeError, KeyError, TypeError):
        return None
