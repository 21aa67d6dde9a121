"""Review of a segmentation job's disagreements: what the card shows and what Enter decides.

A card carries, as layers the browser's mask viewer (``js/src/tools/mask-view.js``) draws over
the image one at a time, the consolidated mask, each worker's mask (in that worker's colour in
the table beside it, with its mean IoU against the consolidated one) and where the workers disagree (the pixels not every worker gave the same
class). Masks cannot be drawn over each other the way boxes can, so the reviewer steps through
them (``m``); Enter makes the mask shown the decision: the consolidated one, or one worker's. The
browser answers with which one (``{"pick": "consolidated"}`` or ``{"pick": "worker", "worker":
...}``), never with pixels; :func:`picked_mask` turns that into the mask the job adjudicates.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from . import masks
from .errors import JobError
from .tool_cards import BUFFERS, mask_legend

__all__ = ["mask_review_meta", "picked_mask", "DISAGREEMENT_COLOR"]

DISAGREEMENT_COLOR = "#ff00ff"  # not in Ground Truth's palette: never read as a class


def mask_review_meta(task: Any, review: dict, values: Mapping, colors: Mapping[str, str],
                     consolidated_color: str) -> dict:
    """The card's tool (the viewer, read only), its layers' PNGs under ``"buffers"``, and
    ``review.value``: what Enter accepts when the consolidated mask is shown.

    ``values``: ``{"workers": {worker: MaskValue}, "consolidated": MaskFile | None}``;
    ``colors``: worker -> their colour."""
    workers, consolidated = values["workers"], values["consolidated"]
    background = task.color_map["0"]["hex-color"]
    layers, pngs = [], []

    def add(name: str, png: bytes, *, color: str | None = None, pick: dict | None = None,
            classes: list[str] | None = None) -> None:
        layer = {"name": name, "buffer": len(pngs), "background": background}
        if color:
            layer["color"] = color
        if pick is not None:
            layer["pick"] = pick
            layer["classes"] = classes or []
        layers.append(layer)
        pngs.append(png)

    voted = consolidated.make() if consolidated is not None else None  # not kept: cards come and go
    if voted is not None:
        add("consolidated", masks.encode_mask(voted, task.color_map), color=consolidated_color,
            pick={"pick": "consolidated"}, classes=list(review.get("consolidated") or ()))
        review["value"] = {"pick": "consolidated"}
    for worker, value in workers.items():
        add(worker, task.png_of(value), color=colors[worker], pick={"pick": "worker", "worker": worker},
            classes=task.classes_of(value))
    disputed = _disputed([v.labels for v in workers.values()])
    if disputed is not None:
        marks = {"0": {"class-name": masks.BACKGROUND, "hex-color": background},
                 "1": {"class-name": "disagreement", "hex-color": DISAGREEMENT_COLOR}}
        add("disagreement", masks.encode_mask(disputed, marks), color=DISAGREEMENT_COLOR)
    review["answers"] = [{**a, "color": colors[a["worker"]], **_iou(workers.get(a["worker"]), voted)}
                         for a in review["answers"]]
    shape = next(iter(workers.values())).labels.shape
    tool_meta = {"read_only": True, "layers": layers, "legend": mask_legend(task.color_map),
                 "image_size": {"width": int(shape[1]), "height": int(shape[0])}}
    return {"tool": task.tool, "tool_meta": tool_meta, BUFFERS: pngs}


def picked_mask(values: Mapping, answer: Mapping) -> np.ndarray:
    """The mask a reviewer's pick names: the consolidated one or a worker's; JobError otherwise."""
    pick = answer.get("pick")
    if pick == "consolidated" and values.get("consolidated") is not None:
        return values["consolidated"].make()
    if pick == "worker" and answer.get("worker") in values["workers"]:
        return values["workers"][answer["worker"]].labels
    raise JobError(f"the decision {dict(answer)!r} names no mask of this item; pick 'consolidated' or one "
                   f"of the workers {sorted(values['workers'])}.")


def _iou(value: Any, voted: np.ndarray | None) -> dict:
    """``{"iou": ...}``: a worker's mask against the consolidated one, mean IoU over the classes
    either has, background left out (nothing when there is no consolidated mask)."""
    if value is None or voted is None or value.labels.shape != voted.shape:
        return {}
    return {"iou": round(masks.mean_iou(value.labels, voted), 4)}


def _disputed(labels: list[np.ndarray]) -> np.ndarray | None:
    """1 where the workers' masks differ, else 0 (None for a single mask or different sizes)."""
    if len(labels) < 2 or any(m.shape != labels[0].shape for m in labels):
        return None
    out = np.zeros(labels[0].shape, np.uint8)
    for m in labels[1:]:
        out |= m != labels[0]
    return out
