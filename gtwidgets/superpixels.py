"""Superpixels for the mask tool's smart fill: an image cut into a few hundred regions of like
colour, so one click paints a whole region.

Computed in the kernel with scikit-image's SLIC (k-means in colour and position: regions of
even size that follow edges, and a predictable count, unlike Felzenszwalb's graph cut, which was
also 2-4x slower here) from the image the card shows, shrunk to a working resolution
(:data:`WORK_SIZE`): about 60-120 ms an image on this project's 2-core machine, whatever the
original's size. A click paints every original pixel whose working pixel is in the region, so
region edges are exact to one working pixel (8 original pixels of a 4000x3000 photo).

The labels travel once per card, as :func:`encode` makes them: zlib (RFC 1950, what the
browser's ``DecompressionStream("deflate")`` reads) over ``uint16`` little-endian labels,
row-major; about 20 KB for a photo. :func:`for_card` keeps the last :data:`CACHE_SIZE` images'
results, keyed by the card image's digest, so a card sent again costs nothing.
"""
from __future__ import annotations

import hashlib
import io
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

__all__ = ["Superpixels", "superpixels", "encode", "decode", "for_card", "WORK_SIZE", "N_SEGMENTS", "CACHE_SIZE"]

WORK_SIZE = (512, 512)  # the image is shrunk to fit this box first
N_SEGMENTS = 600        # SLIC's target count; it returns about 90% of it
COMPACTNESS = 10.0      # scikit-image's default for Lab colour: even sizes, edges still followed
MAX_ITERATIONS = 5      # the k-means moves little after 5 rounds; 10 (the default) took twice as long
CACHE_SIZE = 64


@dataclass(frozen=True)
class Superpixels:
    """A card's superpixels, encoded for the browser (:func:`encode`), ``width`` x ``height``."""

    data: bytes
    width: int
    height: int


def superpixels(image: bytes | Image.Image, *, size: tuple[int, int] = WORK_SIZE,
                n_segments: int = N_SEGMENTS, compactness: float = COMPACTNESS) -> np.ndarray:
    """SLIC labels (``uint16``, 0, 1, ..., each region connected) of an image shrunk to fit
    ``size``, with its EXIF orientation applied (the pixels as shown).

    Raises ValueError for bytes that are not an image."""
    from skimage.segmentation import slic  # scikit-image takes ~1 s to import: only when a mask card needs it

    try:
        im = image if isinstance(image, Image.Image) else Image.open(io.BytesIO(image))
        if im.format == "JPEG":
            im.draft("RGB", size)  # libjpeg decodes at 1/2 to 1/8 scale
        im = ImageOps.exif_transpose(im)
        im = im.convert("RGB")
        im.thumbnail(size, Image.Resampling.BILINEAR)
    except (OSError, SyntaxError, Image.DecompressionBombError) as e:
        raise ValueError(f"cannot decode the image for superpixels ({e})") from None
    labels = slic(np.asarray(im), n_segments=n_segments, compactness=compactness, max_num_iter=MAX_ITERATIONS,
                  start_label=0, enforce_connectivity=True)
    return labels.astype(np.uint16)


def encode(labels: np.ndarray) -> bytes:
    """zlib over the labels as ``uint16`` little-endian, row-major."""
    if labels.ndim != 2 or labels.size == 0 or labels.max(initial=0) > 0xFFFF:
        raise ValueError(f"superpixel labels are a non-empty 2-D array of 0..65535; got shape {labels.shape}.")
    return zlib.compress(np.ascontiguousarray(labels, dtype="<u2").tobytes(), 6)


def decode(data: bytes, width: int, height: int) -> np.ndarray:
    """The labels :func:`encode` wrote, ``height`` x ``width``."""
    raw = zlib.decompress(data)
    if len(raw) != 2 * width * height:
        raise ValueError(f"superpixels of {len(raw)} bytes are not {width} x {height} uint16 labels.")
    return np.frombuffer(raw, "<u2").reshape(height, width)


def for_card(card_image: bytes) -> Superpixels:
    """The encoded superpixels of a card's image, from the cache when it was made before."""
    key = hashlib.blake2b(card_image, digest_size=16).digest()
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    labels = superpixels(card_image)
    out = Superpixels(encode(labels), labels.shape[1], labels.shape[0])
    with _lock:
        _cache[key] = out
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return out


_cache: OrderedDict[bytes, Superpixels] = OrderedDict()
_lock = threading.Lock()
