"""What one card shows: a data object turned into small display bytes or text.

The kernel reads the data (it has the credentials), shrinks images to the size
they are shown at and hands the widget a :class:`Card`: JSON-able ``meta`` plus raw
``data`` bytes, sent as a binary buffer rather than base64. Core module: no widget
imports, so it can be used (and tested) without a browser.
"""
from __future__ import annotations

import io
import logging
import posixpath
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Iterator, Protocol

from PIL import Image, UnidentifiedImageError

from . import storage
from .errors import GtError, NotFoundError, StorageError
from .image_geometry import ImageSize, displayed_size

__all__ = ["Card", "ImageDataError", "thumbnail", "sized_thumbnail", "card", "image_card", "text_card", "error_card",
           "base_meta", "file_name",
           "DEFAULT_SIZE", "MAX_TEXT_CHARS", "MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS", "DECODE_BUDGET_BYTES"]

DEFAULT_SIZE = (768, 576)
MAX_TEXT_CHARS = 20_000  # Ground Truth's limit for one attribute; longer text is cut, not refused
# Limits on what a manifest may make the kernel read and decode; assign to change them.
MAX_IMAGE_BYTES = 100 * 2**20  # per image file; Ground Truth's own limit is 40 MB
MAX_IMAGE_PIXELS = 120_000_000  # decoded at once (JPEGs decode scaled down); Ground Truth allows 100 MP
# Decoded pixels in memory at once, over all threads: cards are made 4 at a time, and four
# 100-megapixel images decoded together took 2.9 GB. One image bigger than this decodes alone.
DECODE_BUDGET_BYTES = 256 * 2**20

# EXIF orientations that swap width and height (transpose, rotate 90/270, transverse).
_SWAPS_AXES = {5, 6, 7, 8}
_EXIF_ORIENTATION = 0x0112

_log = logging.getLogger(__name__)


class ImageDataError(GtError, ValueError):
    """Bytes that are not an image Pillow can decode."""


class _Job(Protocol):
    def source(self, object_id: str) -> tuple[str, str]: ...
    def answer(self, object_id: str) -> list[str] | None: ...
    def existing_label(self, object_id: str) -> list[str] | None: ...


@dataclass(frozen=True)
class Card:
    """One card: ``meta`` goes as the JSON of a message, ``data`` as its binary buffer;
    ``original``: an image's full size as displayed, read with it (not sent: a tool's meta uses it)."""

    meta: dict
    data: bytes = field(default=b"", repr=False)
    original: ImageSize | None = None

    @property
    def kind(self) -> str:
        return self.meta["kind"]


def thumbnail(data: bytes | IO[bytes], *, max_size: tuple[int, int] = DEFAULT_SIZE,
              quality: int = 85) -> tuple[bytes, str, tuple[int, int]]:
    """Shrink an encoded image to fit ``max_size``: ``(bytes, mime, (width, height))``; see
    :func:`sized_thumbnail`, which also gives the original size."""
    return sized_thumbnail(data, max_size=max_size, quality=quality)[:3]


def sized_thumbnail(data: bytes | IO[bytes], *, max_size: tuple[int, int] = DEFAULT_SIZE,
                    quality: int = 85) -> tuple[bytes, str, tuple[int, int], ImageSize]:
    """Shrink an encoded image (bytes, or a seekable binary file) to fit ``max_size``;
    return ``(bytes, mime, (width, height), original)``, ``original`` the image's full size as
    displayed (what a box tool answers in), read from the same bytes.

    EXIF orientation is applied, so the browser shows what the camera saw. CMYK,
    palette, grayscale and 16-bit images become 8-bit RGB or L (16-bit is stretched to
    its own range, as a viewer would). Images with real transparency are sent as WebP
    to keep their alpha; all else as JPEG. A JPEG that already fits and needs no
    rotation is passed through untouched. Raises ImageDataError for undecodable data and
    for images over :data:`MAX_IMAGE_PIXELS`; decoding waits its turn in :data:`DECODE_BUDGET_BYTES`.
    """
    max_w, max_h = max_size
    stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    try:
        with warnings.catch_warnings():
            # Ground Truth allows 100 megapixels; Pillow warns above 89. The budget keeps it cheap.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # Only real image formats: Pillow's others (IM, for one) read a text file such as
            # /etc/shadow to its end looking for a header. Their 16-byte signatures are checked first.
            im = Image.open(stream, formats=_image_formats())
            stored, stored_mode = im.size, im.mode
            jpeg = im.format in ("JPEG", "MPO")
            # Other formats may keep EXIF after the pixels (PNG does): they say after decoding.
            orientation = im.getexif().get(_EXIF_ORIENTATION, 1) if jpeg else None
            fits = im.width <= max_w and im.height <= max_h
            if im.format == "JPEG" and fits and orientation == 1 and im.mode in ("RGB", "L"):
                stream.seek(0)
                return stream.read(), "image/jpeg", im.size, displayed_size(stored, stored_mode, 1)
            if jpeg:
                # Draft mode lets libjpeg decode at 1/2, 1/4 or 1/8 scale: 2-3x faster, 4-64x smaller.
                box = (max_h, max_w) if orientation in _SWAPS_AXES else (max_w, max_h)
                im.draft("RGB" if im.mode not in ("L", "CMYK") else im.mode, box)
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise ImageDataError(
                    f"{im.width} x {im.height} pixels, over the limit of {MAX_IMAGE_PIXELS / 1e6:g} megapixels "
                    "decoded at once (gtwidgets.cards.MAX_IMAGE_PIXELS)")
            with _decode_budget.hold(_decode_cost(im)):
                im.load()
                if orientation is None:
                    orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
                if im.mode in _CONVERT_BEFORE_SHRINKING:
                    im = _to_display_mode(im)
                # Bilinear: Pillow scales its support with the factor, so it is antialiased like
                # bicubic for downscaling, and about 30% cheaper (cards are made as fast as keys go).
                box = (max_h, max_w) if orientation in _SWAPS_AXES else (max_w, max_h)
                im.thumbnail(box, Image.Resampling.BILINEAR, reducing_gap=2.0)
            if orientation in _TRANSPOSE:
                im = im.transpose(_TRANSPOSE[orientation])
            im = _to_display_mode(im)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as e:
        if isinstance(e, ImageDataError):
            raise
        raise ImageDataError(f"cannot decode the image ({_reason(e)})") from None
    original = displayed_size(stored, stored_mode, orientation)
    out = io.BytesIO()
    if im.mode in ("RGBA", "LA"):
        im.save(out, "WEBP", quality=quality, method=0)
        return out.getvalue(), "image/webp", im.size, original
    im.save(out, "JPEG", quality=quality)
    return out.getvalue(), "image/jpeg", im.size, original


def card(job: _Job, object_id: str, *, max_size: tuple[int, int] = DEFAULT_SIZE) -> Card:
    """The card for one object: an image card, a text card, or an error card; never raises
    for bad data, because a broken item must still be skippable."""
    try:
        key, value = job.source(object_id)
    except Exception as e:  # a bad manifest line is one bad card, not a dead widget
        return error_card(job, object_id, name=str(object_id), message=f"no data source: {e}")
    if key == "source":
        return text_card(job, object_id, value)
    return image_card(job, object_id, value, max_size=max_size)


def image_card(job: _Job, object_id: str, uri: str, *,
               max_size: tuple[int, int] = DEFAULT_SIZE) -> Card:
    """An image card, or an error card saying what is wrong with the file and which limit it hit.

    A manifest's ``source-ref`` may point anywhere: only a regular file (or S3 object) of at
    most :data:`MAX_IMAGE_BYTES` is read, never a FIFO or device.
    """
    name = file_name(uri)
    try:
        source = _open_image(uri)
    except NotFoundError:
        return error_card(job, object_id, name=name, source=uri,
                          message=f"{uri}: image not found; skip it, or fix the manifest's source-ref.")
    except storage.TooLargeError as e:
        return error_card(job, object_id, name=name, source=uri, message=(
            f"{uri}: {e.size / 2**20:.1f} MB, over the limit of {e.limit / 2**20:g} MB for one image file "
            "(gtwidgets.cards.MAX_IMAGE_BYTES); skip it, or shrink the file."))
    except StorageError as e:
        return error_card(job, object_id, name=name, source=uri, message=str(e))
    try:
        with source:
            data, mime, (w, h), original = sized_thumbnail(source, max_size=max_size)
    except ImageDataError as e:
        return error_card(job, object_id, name=name, source=uri,
                          message=f"{uri}: {e}; skip it, or replace the file.")
    meta = base_meta(job, object_id, "image", name, uri)
    meta.update(mime=mime, width=w, height=h, bytes=len(data))
    return Card(meta, data, original)


def text_card(job: _Job, object_id: str, text: str) -> Card:
    text = text if isinstance(text, str) else str(text)
    meta = base_meta(job, object_id, "text", f"item {object_id}", None)
    meta["text"] = text[:MAX_TEXT_CHARS]
    meta["truncated"] = len(text) > MAX_TEXT_CHARS
    return Card(meta)


def error_card(job: _Job, object_id: str, *, name: str, message: str,
               source: str | None = None) -> Card:
    meta = base_meta(job, object_id, "error", name, source)
    meta["error"] = message
    return Card(meta)


# ---------------------------------------------------------------------------- helpers

def _open_image(uri: str) -> IO[bytes]:
    """A seekable stream of the image; a local file is decoded from disk as it is read."""
    if storage.is_s3(uri):
        return io.BytesIO(storage.read_bytes(uri, max_bytes=MAX_IMAGE_BYTES))
    return storage.open_read(uri, max_bytes=MAX_IMAGE_BYTES)


class _Budget:
    """A semaphore weighted by bytes: decoders wait until their image fits beside the others'."""

    def __init__(self):
        self._used = 0
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, cost: int) -> Iterator[None]:
        with self._cond:
            cost = min(cost, DECODE_BUDGET_BYTES)  # bigger than the whole budget: decode it alone
            self._cond.wait_for(lambda: self._used == 0 or self._used + cost <= DECODE_BUDGET_BYTES)
            self._used += cost
        try:
            yield
        finally:
            if cost >= _TRIM_AFTER:
                _return_freed_memory()
            with self._cond:
                self._used -= cost
                self._cond.notify_all()


def _return_freed_memory() -> None:
    """Give memory freed by a big decode back to the system at once.

    glibc keeps what a thread frees in that thread's own arena, so four card threads decoding
    one big image after another would each keep an image's worth: the budget would not hold.
    """
    if _malloc_trim is not None:
        _malloc_trim(0)


def _find_malloc_trim():
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to trim
        return None


_malloc_trim = _find_malloc_trim()
_TRIM_AFTER = 32 * 2**20
_decode_budget = _Budget()
# Shrunk after conversion: resizing a palette image would pick pixels rather than average them,
# and 16-bit images are stretched to 8-bit first.
_CONVERT_BEFORE_SHRINKING = {"P", "PA", "1", "I;16", "I;16B", "I;16L", "I;16N", "I", "F"}
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}


# What cards decode: what cameras, scanners and the browser use. Not Pillow's every format.
IMAGE_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "BMP", "TIFF", "WEBP", "PPM", "ICO", "JPEG2000", "AVIF")


def _image_formats() -> list[str]:
    Image.init()
    return [f for f in IMAGE_FORMATS if f in Image.OPEN]


def _decode_cost(im: Image.Image) -> int:
    """Roughly the bytes decoding ``im`` takes at its peak (Pillow keeps RGB as 4 bytes a pixel)."""
    per_pixel = {"1": 2, "L": 1, "P": 5, "PA": 8, "I;16": 12, "I;16B": 12, "I;16L": 12,
                 "I;16N": 12, "I": 14, "F": 14}.get(im.mode, 4)
    return im.width * im.height * per_pixel


def base_meta(job: _Job, object_id: str, kind: str, name: str, source: str | None) -> dict:
    """What every card kind carries (see :mod:`gtwidgets.protocol`): kind, id, name, source, label, answer."""
    return {
        "kind": kind,
        "id": str(object_id),
        "name": name,
        "source": source,
        "label": _safe(job.existing_label, object_id),
        "answer": _safe(job.answer, object_id),
    }


def _safe(getter, object_id: str) -> list[str] | None:
    try:
        value = getter(object_id)
    except Exception:  # the card still shows; the log keeps the traceback of the bug behind it
        _log.warning("card %s: %s failed; shown without it", object_id,
                     getattr(getter, "__name__", "a getter"), exc_info=True)
        return None
    if value is None or not isinstance(value, (str, list, tuple)):  # a tool's value: gtwidgets.tool_cards names it
        return None
    return [str(v) for v in ([value] if isinstance(value, str) else value)]


def file_name(uri: str) -> str:
    """The last part of a path or ``s3://`` URI, shown as a card's name."""
    return posixpath.basename(str(uri).replace("\\", "/").rstrip("/")) or str(uri)


def _to_display_mode(im: Image.Image) -> Image.Image:
    """8-bit RGB/L, or RGBA/LA when the image really is transparent."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _stretch_to_8bit(im)
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode == "PA":
        im = im.convert("RGBA")
    elif im.mode == "1":
        im = im.convert("L")
    elif im.mode not in ("RGB", "L", "RGBA", "LA"):
        im = im.convert("RGB")  # CMYK, YCbCr, LAB, HSV
    if im.mode in ("RGBA", "LA") and im.getchannel("A").getextrema()[0] == 255:
        im = im.convert(im.mode[:-1])  # opaque alpha: JPEG is smaller and faster
    return im


def _stretch_to_8bit(im: Image.Image) -> Image.Image:
    import numpy as np

    a = np.asarray(im, dtype=np.float32)
    lo, hi = float(a.min()), float(a.max())
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    return Image.fromarray(((a - lo) * scale).clip(0, 255).astype(np.uint8), "L")


def _reason(e: BaseException) -> str:
    if isinstance(e, UnidentifiedImageError):
        return "not a known image format"
    if isinstance(e, Image.DecompressionBombError):
        return "too many pixels"
    return str(e).split("\n")[0] or type(e).__name__
