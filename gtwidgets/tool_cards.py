"""What a card's browser tool needs from the kernel, beside the image: the task type's card meta.

Classification cards are answered with the category buttons and need nothing here. Every other
tool (``js/src/tools/<tool>.js``: boxes, masks) gets ``tool`` and ``tool_meta``: the task type's
:meth:`~gtwidgets.tasktypes.base.TaskType.card_meta` plus, for an image, its original size as
displayed (``image_geometry.image_size``), since tools answer in original-image pixels while the
card shows a smaller image. ``label`` and ``answer`` become the category names the value uses,
the list every card kind shows under the image.

A mask tool's binary parts go under ``"buffers"``, popped by the widget, which sends them after
the card's own buffers and shifts each ``tool_meta.<part>.buffer`` (an index into this list) past
those: the starting mask (this worker's answer, else the line's prior mask), with
``tool_meta.mask.colors``, ``#rrggbb`` -> the job's class value, to read it back in the browser;
and the superpixels of smart fill (:func:`add_superpixels`, from the card's image).
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

from . import cards, storage, superpixels
from .image_geometry import image_size
from .tasktypes import TaskType

__all__ = ["tool_card_meta", "add_superpixels", "BUTTON_TOOLS", "BUFFERS"]

_log = logging.getLogger(__name__)

BUFFERS = "buffers"  # the key of a card meta's binary parts; never sent as JSON

BUTTON_TOOLS = frozenset({"classify"})  # answered with the widget's category buttons


def tool_card_meta(task: TaskType, line: Mapping, value: Any | None, source: tuple[str, str]) -> dict:
    """``{"tool", "tool_meta", "label", "answer"}`` for a card of ``line`` (``{}`` for button tasks).

    ``value``: this worker's answer so far (the task type's value), or None. ``source``: the
    line's ``(source key, value)``; the original size is read for ``source-ref`` images when the
    task type's meta does not carry one already.
    """
    tool = getattr(task, "tool", "classify")
    if tool in BUTTON_TOOLS:
        return {}
    meta = dict(task.card_meta(line, value))
    key, uri = source
    if key == "source-ref" and "image_size" not in meta:
        meta["image_size"] = original_size(uri)
    existing = task.existing(line)
    out = {"tool": tool, "tool_meta": meta, "label": _names(task, existing), "answer": _names(task, value)}
    mask = _start_mask(task, meta, value)
    if mask is not None:
        png, colors = mask
        meta["mask"] = {"colors": colors, "buffer": 0}
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


def _start_mask(task: TaskType, meta: dict, value: Any | None) -> tuple[bytes, dict[str, int]] | None:
    """The PNG a mask tool starts from and its colours -> the job's class values, or None.

    This worker's answer (``png_of``, the job's colours), else the prior named by the meta (its
    file, its own colour map renumbered to the job's classes by name). An unreadable prior file
    leaves the tool empty: the card still shows the image."""
    if getattr(task, "tool", None) != "masks" or meta.get("read_only"):
        return None
    index = getattr(task, "index", None) or {}
    if value is not None:
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


def _names(task: TaskType, value: Any | None) -> list[str] | None:
    """The category names a value uses; None for no value, or one only named by a file (a prior mask)."""
    if value is None:
        return None
    try:
        return list(dict.fromkeys(task.classes_of(value)))
    except (AttributeError, KeyError, TypeError):
        return None
