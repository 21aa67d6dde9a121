"""Plumbing shared by the sample datasets: where files go, byte-stable encoding, progress.

Every dataset draws each item from its own random generator, seeded by
``(seed, dataset, index)``, so an item's bytes depend only on those three numbers.
"""
from __future__ import annotations

import io
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from .. import storage

_DATASET_IDS = {"fashion": 1, "traffic-signs": 2, "welding": 3}
_S3_THREADS = 8

MANIFEST_NAME = "dataset.manifest"
LABELS_NAME = "labels.csv"


def item_rng(seed: int, dataset: str, index: int) -> np.random.Generator:
    """The generator for one item: independent of the others, stable across runs and platforms."""
    return np.random.default_rng([seed, _DATASET_IDS[dataset], index])


def check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r}: give a whole number >= 0 (the same seed gives the same bytes).")
    return int(seed)


def resolve_dest(dest: str | os.PathLike | None, dataset: str) -> str:
    """``None`` -> a new temporary folder; a local folder -> its absolute path; S3 stays as given."""
    if dest is None:
        return tempfile.mkdtemp(prefix=f"gtwidgets-{dataset}-")
    if storage.is_s3(dest):
        storage.split_s3(str(dest))  # raises a readable error for "s3://" without a bucket
        return str(dest).rstrip("/")
    return str(Path(dest).expanduser().resolve())


# ---------------------------------------------------------------------------- encoding

def encode_jpeg(image: Image.Image, *, quality: int = 90) -> bytes:
    """Baseline JPEG without EXIF or timestamps, so the same pixels give the same bytes."""
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=quality, optimize=False, progressive=False,
                              subsampling=0 if quality >= 90 else 2)
    return buf.getvalue()


def encode_png(image: Image.Image) -> bytes:
    """PNG without time or text chunks (Pillow adds none unless asked)."""
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=1)  # noisy photos barely shrink at higher levels
    return buf.getvalue()


def font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled font: the same glyphs on every machine, unlike system fonts."""
    return ImageFont.load_default(size=size)


def supersampled(size: tuple[int, int], factor: int, mode: str = "RGBA",
                 color: tuple[int, ...] | int = (0, 0, 0, 0)) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """A canvas ``factor`` times larger, to be shrunk with LANCZOS: anti-aliased shapes for free."""
    img = Image.new(mode, (size[0] * factor, size[1] * factor), color)
    return img, ImageDraw.Draw(img)


def gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    """A vertical colour gradient, RGB."""
    w, h = size
    t = np.linspace(0.0, 1.0, h)[:, None, None]
    column = (1 - t) * np.array(top, float) + t * np.array(bottom, float)
    return Image.fromarray(column.round().astype(np.uint8), "RGB").resize((w, h), Image.NEAREST)


def jitter_color(rng: np.random.Generator, rgb: tuple[int, int, int], amount: int = 18) -> tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in rgb)


def contact_sheet(images: list[Image.Image], *, columns: int, thumb: int | tuple[int, int] = 96,
                  labels: list[str] | None = None) -> Image.Image:
    """A grid of thumbnails (with optional captions) for the README previews."""
    tw, th = (thumb, thumb) if isinstance(thumb, int) else thumb
    caption = 14 if labels else 0
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (columns * (tw + 4) + 4, rows * (th + caption + 4) + 4), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    small = font(10)
    for i, im in enumerate(images):
        x = 4 + (i % columns) * (tw + 4)
        y = 4 + (i // columns) * (th + caption + 4)
        t = im.convert("RGB").copy()
        t.thumbnail((tw, th), Image.LANCZOS)
        sheet.paste(t, (x + (tw - t.width) // 2, y + (th - t.height) // 2))
        if labels:
            draw.text((x + tw // 2, y + th + 1), labels[i], fill=(40, 40, 40), font=small, anchor="ma")
    return sheet


# ---------------------------------------------------------------------------- writing

Uri = Callable[[str], str]
Item = tuple[list[tuple[str, bytes, str]], dict[str, str]]


def build(dest: str, count: int, make_item: Callable[[int, Uri], Item], *, key: str, desc: str,
          progress: bool, write_manifest: bool, answers: tuple[str, ...] = ("true-class",)) -> pd.DataFrame:
    """Make and write ``count`` items in a small thread pool; return the input manifest frame.

    ``make_item(i, uri)`` returns the item's files as ``(relative path, bytes, content type)``
    and its manifest row (``key`` and the ``answers`` columns, by default ``true-class``);
    ``uri(relative path)`` names a file
    under ``dest``. Pillow and numpy release the GIL, so drawing overlaps writing and uploads.
    With ``write_manifest`` the rows also go to ``dataset.manifest`` (without ``true-class``)
    and ``labels.csv`` (the answer key; lists and dicts as JSON).
    """
    def uri(relpath: str) -> str:
        return storage.join(dest, *relpath.split("/"))

    bar = _progress_bar(count, desc) if progress else None
    lock = threading.Lock()

    def job(i: int) -> dict[str, str]:
        files, row = make_item(i, uri)
        for relpath, data, content_type in files:
            storage.write_bytes(uri(relpath), data, content_type=content_type)
        if bar is not None:
            with lock:
                bar.update(1)
        return row

    workers = _S3_THREADS if storage.is_s3(dest) else min(4, os.cpu_count() or 1)
    pool = ThreadPoolExecutor(workers, thread_name_prefix="gtwidgets-datasets")
    try:
        rows = list(pool.map(job, range(count)))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()

    frame = pd.DataFrame(rows, columns=[key, *answers])
    frame.attrs["dest"] = dest
    if write_manifest:
        manifest = b"".join(orjson.dumps({key: r[key]}) + b"\n" for r in rows)
        storage.write_bytes(uri(MANIFEST_NAME), manifest, content_type="application/x-ndjson")
        as_text = frame.map(lambda v: orjson.dumps(v).decode() if isinstance(v, (list, dict)) else v)
        storage.write_bytes(uri(LABELS_NAME), as_text.to_csv(index=False, lineterminator="\n").encode(),
                            content_type="text/csv")
        frame.attrs["manifest"] = uri(MANIFEST_NAME)
        frame.attrs["labels"] = uri(LABELS_NAME)
    return frame


def _progress_bar(total: int, desc: str):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _TextProgress(total, desc)
    return tqdm(total=total, desc=desc, unit="item")


class _TextProgress:
    """A one-line counter on stderr, for when tqdm is not installed."""

    def __init__(self, total: int, desc: str):
        self.total, self.desc, self.n = total, desc, 0
        self._step = max(1, total // 20)
        self._show()

    def update(self, k: int = 1) -> None:
        self.n += k
        if self.n % self._step == 0 or self.n >= self.total:
            self._show()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()

    def _show(self) -> None:
        sys.stderr.write(f"\r{self.desc}: {self.n}/{self.total}")
        sys.stderr.flush()


def numbered(count: int, index: int, suffix: str) -> str:
    """``001.jpg`` style names, at least three digits, wider when ``count`` needs it."""
    return f"{index + 1:0{max(3, len(str(count)))}d}{suffix}"


