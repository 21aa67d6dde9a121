"""What one card shows: a data object turned into small display bytes or text.

The kernel reads the data (it has the credentials), shrinks images to the size
they are shown at and hands the widget a :class:`Card`: JSON-able ``meta`` plus raw
``data`` bytes, sent as a binary buffer rather than base64. Core module: no widget
imports, so it can be used (and tested) without a browser.
"""
from __future__ import annotations

import io
import posixpath
import warnings
from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from . import storage
from .errors import GtError, NotFoundError, StorageError

__all__ = ["Card", "ImageDataError", "thumbnail", "card", "image_card", "text_card", "error_card",
           "DEFAULT_SIZE", "MAX_TEXT_CHARS"]

DEFAULT_SIZE = (768, 576)
MAX_TEXT_CHARS = 20_000  # Ground Truth's limit for one attribute; longer text is cut, not refused

# EXIF orientations that swap width and height (transpose, rotate 90/270, transverse).
_SWAPS_AXES = {5, 6, 7, 8}
_EXIF_ORIENTATION = 0x0112


class ImageDataError(GtError, ValueError):
    """Bytes that are not an image Pillow can decode."""


class _Job(Protocol):
    def source(self, object_id: str) -> tuple[str, str]: ...
    def answer(self, object_id: str) -> list[str] | None: ...
    def existing_label(self, object_id: str) -> list[str] | None: ...


@dataclass(frozen=True)
class Card:
    """One card: ``meta`` goes as the JSON of a message, ``data`` as its binary buffer."""

    meta: dict
    data: bytes = field(default=b"", repr=False)

    @property
    def kind(self) -> str:
        return self.meta["kind"]


def thumbnail(data: bytes, *, max_size: tuple[int, int] = DEFAULT_SIZE,
              quality: int = 85) -> tuple[bytes, str, tuple[int, int]]:
    """Shrink an encoded image to fit ``max_size``; return ``(bytes, mime, (width, height))``.

    EXIF orientation is applied, so the browser shows what the camera saw. CMYK,
    palette, grayscale and 16-bit images become 8-bit RGB or L (16-bit is stretched to
    its own range, as a viewer would). Images with real transparency are sent as WebP
    to keep their alpha; all else as JPEG. A JPEG that already fits and needs no
    rotation is passed through untouched. Raises ImageDataError for undecodable data.
    """
    max_w, max_h = max_size
    try:
        with warnings.catch_warnings():
            # Ground Truth allows 100 megapixels; Pillow warns above 89. Draft mode keeps it cheap.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
            fits = im.width <= max_w and im.height <= max_h
            if im.format == "JPEG" and fits and orientation == 1 and im.mode in ("RGB", "L"):
                return data, "image/jpeg", im.size
            if im.format == "JPEG":
                # Draft mode lets libjpeg decode at 1/2, 1/4 or 1/8 scale: 2-3x faster.
                want = (max_h, max_w) if orientation in _SWAPS_AXES else (max_w, max_h)
                im.draft("RGB" if im.mode not in ("L", "CMYK") else im.mode, want)
            im.load()
            im = ImageOps.exif_transpose(im)
            im = _to_display_mode(im)
            # Bilinear: Pillow scales its support with the factor, so it is antialiased like
            # bicubic for downscaling, and about 30% cheaper (cards are made as fast as keys go).
            im.thumbnail((max_w, max_h), Image.Resampling.BILINEAR, reducing_gap=2.0)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as e:
        raise ImageDataError(f"cannot decode the image ({_reason(e)})") from None
    out = io.BytesIO()
    if im.mode in ("RGBA", "LA"):
        im.save(out, "WEBP", quality=quality, method=0)
        return out.getvalue(), "image/webp", im.size
    im.save(out, "JPEG", quality=quality)
    return out.getvalue(), "image/jpeg", im.size


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
    name = _file_name(uri)
    try:
        raw = storage.read_bytes(uri)
    except NotFoundError:
        return error_card(job, object_id, name=name, source=uri,
                          message=f"{uri}: image not found; skip it, or fix the manifest's source-ref.")
    except StorageError as e:
        return error_card(job, object_id, name=name, source=uri, message=str(e))
    try:
        data, mime, (w, h) = thumbnail(raw, max_size=max_size)
    except ImageDataError as e:
        return error_card(job, object_id, name=name, source=uri,
                          message=f"{uri}: {e}; skip it, or replace the file.")
    meta = _base_meta(job, object_id, "image", name, uri)
    meta.update(mime=mime, width=w, height=h, bytes=len(data))
    return Card(meta, data)


def text_card(job: _Job, object_id: str, text: str) -> Card:
    text = text if isinstance(text, str) else str(text)
    meta = _base_meta(job, object_id, "text", f"item {object_id}", None)
    meta["text"] = text[:MAX_TEXT_CHARS]
    meta["truncated"] = len(text) > MAX_TEXT_CHARS
    return Card(meta)


def error_card(job: _Job, object_id: str, *, name: str, message: str,
               source: str | None = None) -> Card:
    meta = _base_meta(job, object_id, "error", name, source)
    meta["error"] = message
    return Card(meta)


# ---------------------------------------------------------------------------- helpers

def _base_meta(job: _Job, object_id: str, kind: str, name: str, source: str | None) -> dict:
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
    except Exception:
        return None
    if value is None:
        return None
    return [str(v) for v in ([value] if isinstance(value, str) else value)]


def _file_name(uri: str) -> str:
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
