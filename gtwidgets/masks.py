"""Semantic-segmentation masks as Ground Truth stores them, and as numpy arrays.

Ground Truth writes one colour PNG per image (``<attr>`` is its URI) and, in ``<attr>-metadata``,
an ``internal-color-map``: class index (a string) -> ``class-name``, ``hex-color``, ``confidence``,
with ``"0"`` the ``BACKGROUND`` in white. Here a mask is a ``uint8`` array of those class indices,
at the original image's resolution::

    frame = read_manifest("output.manifest")
    masks = read_masks(frame, "pets-ref")      # one array per line (None where unlabeled)

Palette and index order, from the evidence we have (the real PCB job in the shared fixtures, the
3D point-cloud example and the ``crowd-semantic-segmentation`` examples of the developer guide):
colours are d3's ``category10`` taken in the order the job lists its labels, and indices number
the class names sorted (``"1"`` is the first name in code-point order). See :func:`color_map`.
"""
from __future__ import annotations

import io
import os
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from PIL import Image

__all__ = [
    "BACKGROUND", "BACKGROUND_COLOR", "CATEGORY10", "palette", "color_map", "class_indices",
    "encode_mask", "decode_mask", "read_mask", "read_masks", "mean_iou",
]

BACKGROUND = "BACKGROUND"
BACKGROUND_COLOR = "#ffffff"
# d3.schemeCategory10, the colours of Ground Truth's segmentation tool.
CATEGORY10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
              "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
# Past ten labels Ground Truth's choice is unknown; these keep every class's colour distinct
# (d3's category20 light tones, then further hues), which the PNG needs to be read back.
_MORE = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
         "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")
MAX_CLASSES = 255  # index 0 is the background; labels are uint8


def palette(n: int) -> list[str]:
    """The first ``n`` label colours, in the order a job lists its labels."""
    if n > MAX_CLASSES:
        raise ValueError(f"a mask holds at most {MAX_CLASSES} classes besides the background; got {n}.")
    colors = list(CATEGORY10 + _MORE)
    k = 0
    while len(colors) < n:  # (g, b) differ for every k < 400: distinct, and never white
        c = f"#{20 + k * 53 % 200:02x}{40 + k // 200 * 90:02x}{20 + k % 200:02x}"
        if c not in colors:
            colors.append(c)
        k += 1
    return colors[:n]


def class_indices(categories: Sequence[str]) -> dict[str, int]:
    """Category -> class index of the mask: 1, 2, ... in sorted name order (0 is the background)."""
    return {name: i + 1 for i, name in enumerate(sorted(categories))}


def color_map(categories: Sequence[str], *, colors: Mapping[str, str] | None = None,
              confidence: float | int = 0) -> dict[str, dict]:
    """The ``internal-color-map`` of a job listing ``categories`` in this order.

    ``colors`` (category -> ``#rrggbb``) overrides the palette, e.g. to keep a prior job's colours
    in an adjustment job. ``confidence`` is the image's, repeated for every class as Ground Truth does.
    """
    listed = dict(zip(categories, palette(len(categories))))
    if colors:
        listed.update({k: v.lower() for k, v in colors.items() if k in listed})
    out = {"0": {"class-name": BACKGROUND, "hex-color": BACKGROUND_COLOR, "confidence": confidence}}
    for name, index in class_indices(categories).items():
        out[str(index)] = {"class-name": name, "hex-color": listed[name], "confidence": confidence}
    return out


def encode_mask(labels: np.ndarray, internal_color_map: Mapping[str, Mapping]) -> bytes:
    """An RGB PNG of ``labels`` (class indices) in the colour map's colours, as Ground Truth writes."""
    labels = _check_labels(labels)
    lut = np.zeros((256, 3), np.uint8)
    lut[:] = _rgb(BACKGROUND_COLOR)
    for key, entry in internal_color_map.items():
        lut[int(key)] = _rgb(entry["hex-color"])
    unknown = np.setdiff1d(np.flatnonzero(np.bincount(labels.ravel(), minlength=256)),
                           [int(k) for k in internal_color_map])
    if unknown.size:
        raise ValueError(f"mask has class indices {unknown.tolist()} that the colour map lacks.")
    buf = io.BytesIO()
    Image.fromarray(lut[labels], "RGB").save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def decode_mask(png: bytes | Image.Image, internal_color_map: Mapping[str, Mapping]) -> np.ndarray:
    """The class-index array of a colour mask PNG.

    Transparent pixels are background (the worker tool's canvas); a colour that is not in the map
    (anti-aliased edges, a resized file) takes the nearest map colour.
    """
    image = png if isinstance(png, Image.Image) else Image.open(io.BytesIO(png))
    keys = sorted(internal_color_map, key=int)
    colors = np.array([_packed(internal_color_map[k]["hex-color"]) for k in keys], np.uint32)
    indices = np.array([int(k) for k in keys], np.uint8)
    if image.mode == "P":  # a palette PNG (the widget's answers): one lookup a palette entry
        return _palette_lut(image, colors, indices)[np.asarray(image)]
    rgba = np.asarray(image.convert("RGBA"))
    packed = (rgba[..., 0].astype(np.uint32) << 16) | (rgba[..., 1].astype(np.uint32) << 8) | rgba[..., 2]
    out = np.zeros(packed.shape, np.uint8)
    found = np.zeros(packed.shape, bool)
    for color, index in zip(colors, indices):
        hit = packed == color
        out[hit] = index
        found |= hit
    transparent = rgba[..., 3] == 0
    out[transparent] = 0
    rest = ~(found | transparent)
    if rest.any():
        odd, inverse = np.unique(packed[rest], return_inverse=True)
        out[rest] = _nearest(odd, colors, indices)[inverse.ravel()]
    return out


def read_mask(uri: str | os.PathLike, internal_color_map: Mapping[str, Mapping]) -> np.ndarray:
    """:func:`decode_mask` of a local file or ``s3://`` object."""
    from . import storage
    return decode_mask(storage.read_bytes(uri), internal_color_map)


def read_masks(frame: pd.DataFrame, attribute: str) -> pd.Series:
    """One class-index array per row of a manifest frame (None where the row has no mask).

    ``attribute`` is the label attribute (ending in ``-ref``); each row's own colour map is used,
    so frames that mix jobs read correctly. The series keeps the frame's index.
    """
    if attribute not in frame.columns:
        raise KeyError(f"the frame has no {attribute!r} column; mask attributes are {_ref_columns(frame)}.")
    meta_col = attribute + "-metadata"
    flat = meta_col + ".internal-color-map"  # read_manifest flattens <attr>-metadata one level
    if meta_col in frame.columns:
        metas = frame[meta_col]
    elif flat in frame.columns:
        metas = frame[flat].map(lambda cmap: {"internal-color-map": cmap})
    else:
        metas = pd.Series([None] * len(frame), index=frame.index)
    out = []
    for uri, meta in zip(frame[attribute], metas):
        if not isinstance(uri, str) or not uri:
            out.append(None)
            continue
        cmap = meta.get("internal-color-map") if isinstance(meta, Mapping) else None
        if not isinstance(cmap, Mapping):
            raise ValueError(f"{uri}: {meta_col} has no internal-color-map; cannot tell the classes apart.")
        out.append(read_mask(uri, cmap))
    return pd.Series(out, index=frame.index, name=attribute, dtype=object)


def mean_iou(predicted: np.ndarray, truth: np.ndarray, *, classes: Iterable[int] | None = None,
             background: bool = False) -> float:
    """Mean intersection over union across classes (by default those in either mask), without
    the background unless ``background`` (Ground Truth's auto-labeling measure)."""
    if predicted.shape != truth.shape:
        raise ValueError(f"masks differ in size: {predicted.shape} vs {truth.shape}.")
    k = int(max(predicted.max(initial=0), truth.max(initial=0))) + 1
    joint = np.bincount(truth.ravel().astype(np.int64) * k + predicted.ravel(), minlength=k * k).reshape(k, k)
    inter = np.diag(joint).astype(float)
    union = joint.sum(0) + joint.sum(1) - inter
    wanted = list(classes) if classes is not None else np.flatnonzero(joint.sum(0) + joint.sum(1)).tolist()
    wanted = [c for c in wanted if background or c != 0]
    if not wanted:
        return 1.0
    return float(np.mean([inter[c] / union[c] if union[c] else 1.0 for c in wanted]))


# ---------------------------------------------------------------------------- helpers

def _check_labels(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"a mask is a 2-D array of class indices (height, width); got shape {labels.shape}.")
    if labels.dtype != np.uint8:
        if labels.size and (labels.min() < 0 or labels.max() > MAX_CLASSES):
            raise ValueError(f"class indices must be 0..{MAX_CLASSES}.")
        labels = labels.astype(np.uint8)
    return labels


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    if len(h) != 6:
        raise ValueError(f"colour {hex_color!r} is not #rrggbb.")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _nearest(packed: np.ndarray, colors: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The class index of the map colour nearest each packed RGB colour."""
    rgb = np.stack([(packed >> 16) & 255, (packed >> 8) & 255, packed & 255], 1).astype(np.int32)
    ref = np.stack([(colors >> 16) & 255, (colors >> 8) & 255, colors & 255], 1).astype(np.int32)
    return indices[((rgb[:, None, :] - ref[None]) ** 2).sum(2).argmin(1)]


def _palette_lut(image: Image.Image, colors: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Palette index -> class index, by the rules of :func:`decode_mask` (exact colour, else the
    nearest; transparent entries are background)."""
    palette = np.zeros((256, 3), np.uint32)
    entries = np.asarray(image.getpalette("RGB") or [], np.uint32).reshape(-1, 3)[:256]
    palette[: len(entries)] = entries
    lut = _nearest((palette[:, 0] << 16) | (palette[:, 1] << 8) | palette[:, 2], colors, indices)
    transparency = image.info.get("transparency")
    if isinstance(transparency, int):
        lut[transparency] = 0
    elif isinstance(transparency, (bytes, bytearray)):
        alpha = np.frombuffer(bytes(transparency), np.uint8)[:256]
        lut[: len(alpha)][alpha == 0] = 0
    return lut


def _packed(hex_color: str) -> int:
    r, g, b = _rgb(hex_color)
    return (r << 16) | (g << 8) | b


def _ref_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if isinstance(c, str) and c.endswith("-ref") and c != "source-ref"]
