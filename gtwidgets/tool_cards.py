"""What a card's browser tool needs from the kernel, beside the image: the task type's card meta.

Classification cards are answered with the category buttons and need nothing here. Every other
tool (``js/src/tools/<tool>.js``: boxes, masks) gets ``tool`` and ``tool_meta``: the task type's
:meth:`~gtwidgets.tasktypes.base.TaskType.card_meta` plus, for an image, its original size as
displayed (``image_geometry.image_size``), since tools answer in original-image pixels while the
card shows a smaller image. ``label`` and ``answer`` become the category names the value uses,
the list every card kind shows under the image.
"""
from __future__ import annotations

from typing import Any, Mapping

from . import cards, storage
from .image_geometry import image_size
from .tasktypes import TaskType

__all__ = ["tool_card_meta", "BUTTON_TOOLS"]

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
    return {"tool": tool, "tool_meta": meta, "label": _names(task, existing), "answer": _names(task, value)}


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
