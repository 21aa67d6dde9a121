"""Which pixels a box's coordinates count: EXIF orientation, and the card's scale.

Ground Truth's worker sees the image as a browser shows it, with the EXIF orientation applied
(browsers do so by default, and ``naturalWidth``/``naturalHeight``, which crowd-bounding-box
reports as ``inputImageProperties``, are the oriented size). So a box's ``left, top, width,
height`` in an output manifest, and in gtwidgets' answers, count pixels of the **original image
as displayed**: full resolution, EXIF orientation applied (``PIL.ImageOps.exif_transpose``).
A reader that ignores EXIF (some training pipelines) sees the stored pixel grid instead;
:func:`displayed_to_stored` converts for it. Cards are the displayed image shrunk: multiply
by :func:`card_scale`.
"""
from __future__ import annotations

from typing import IO, NamedTuple

import numpy as np
from PIL import Image

__all__ = ["ImageSize", "image_size", "displayed_size", "displayed_to_stored", "stored_to_displayed", "card_scale",
           "SWAPS_AXES"]

ORIENTATION_TAG = 0x0112
SWAPS_AXES = frozenset({5, 6, 7, 8})   # transpose, rotate 90 CW, transverse, rotate 90 CCW


class ImageSize(NamedTuple):
    """Size of the image as displayed (orientation applied), and the EXIF orientation (1-8)."""

    width: int
    height: int
    depth: int
    orientation: int = 1


def image_size(data: bytes | IO[bytes]) -> ImageSize:
    """The displayed size of an encoded image, from its header (the pixels are not decoded)."""
    import io

    stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    with Image.open(stream) as im:
        return displayed_size(im.size, im.mode, im.getexif().get(ORIENTATION_TAG, 1))


def displayed_size(stored: tuple[int, int], mode: str, orientation) -> ImageSize:
    """The displayed size of an image stored ``stored`` (width, height) in Pillow ``mode`` with
    this EXIF orientation (anything but 1-8 counts as 1): for a caller that has the image open."""
    try:
        orientation = int(orientation or 1)
    except (TypeError, ValueError):
        orientation = 1
    if orientation not in range(1, 9):
        orientation = 1
    w, h = stored
    # Ground Truth writes depth 3 for colour JPEGs; palette images are shown in colour.
    depth = 3 if mode in ("P", "YCbCr", "CMYK", "LAB", "HSV") else Image.getmodebands(mode)
    if orientation in SWAPS_AXES:
        w, h = h, w
    return ImageSize(w, h, depth, orientation)


def stored_to_displayed(boxes, orientation: int, stored_size: tuple[int, int]) -> np.ndarray:
    """Boxes (n x left, top, width, height) on the stored pixel grid -> the same boxes as displayed."""
    return _map(boxes, orientation, stored_size, inverse=False)


def displayed_to_stored(boxes, orientation: int, displayed_size: tuple[int, int]) -> np.ndarray:
    """Boxes as displayed (Ground Truth's coordinates) -> the stored pixel grid, for readers that
    ignore EXIF orientation."""
    return _map(boxes, orientation, displayed_size, inverse=True)


def card_scale(card_size: tuple[int, int], original_size: tuple[int, int]) -> tuple[float, float]:
    """Original pixels per card pixel, along x and y (both displayed, orientation applied)."""
    return original_size[0] / card_size[0], original_size[1] / card_size[1]


# Each orientation as the displayed point of a stored point (x, y) in a stored image of W x H
# (continuous coordinates: edges, not pixel centres). Inverses: 6 and 8 swap, the rest are their own.
_FORWARD = {
    1: lambda x, y, w, h: (x, y),
    2: lambda x, y, w, h: (w - x, y),
    3: lambda x, y, w, h: (w - x, h - y),
    4: lambda x, y, w, h: (x, h - y),
    5: lambda x, y, w, h: (y, x),
    6: lambda x, y, w, h: (h - y, x),
    7: lambda x, y, w, h: (h - y, w - x),
    8: lambda x, y, w, h: (y, w - x),
}
_INVERSE = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}


def _map(boxes, orientation: int, size: tuple[int, int], *, inverse: bool) -> np.ndarray:
    if orientation not in _FORWARD:
        raise ValueError(f"EXIF orientation {orientation!r} is not 1-8.")
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    w, h = size
    if inverse:
        # The stored grid is the displayed one rotated back; its size swaps with the axes.
        orientation = _INVERSE[orientation]
    f = _FORWARD[orientation]
    x1, y1 = f(b[:, 0], b[:, 1], w, h)
    x2, y2 = f(b[:, 0] + b[:, 2], b[:, 1] + b[:, 3], w, h)
    left, top = np.minimum(x1, x2), np.minimum(y1, y2)
    return np.stack([left, top, np.maximum(x1, x2) - left, np.maximum(y1, y2) - top], 1)
