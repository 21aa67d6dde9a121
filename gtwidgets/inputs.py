"""Input manifests from a folder or S3 prefix of images, like the console's "complete data setup".

The console lists the objects under a prefix, optionally samples them, and writes
``dataset-<YYYYMMDDTHHMMSS>.manifest`` with one compact ``{"source-ref": ...}`` line each.
"""
from __future__ import annotations

import os
import random
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from . import storage
from .errors import ConflictError, ManifestError

__all__ = ["manifest_from_prefix", "DEFAULT_EXTENSIONS"]

DEFAULT_EXTENSIONS = (".jpg", ".jpeg", ".png")


def manifest_from_prefix(prefix: str | os.PathLike, *, extensions: tuple[str, ...] | list[str] = DEFAULT_EXTENSIONS,
                         sample: int | float | None = None, seed: int | None = None,
                         dest: str | os.PathLike | None = None, write: bool = True,
                         now: datetime | None = None) -> pd.DataFrame:
    """An input manifest frame of the images under ``prefix`` (every level below it), in key order.

    ``sample``: an int keeps that many images, a float in (0, 1] that fraction (at least one),
    drawn with ``random.Random(seed)`` and kept in key order. With ``write=True`` the manifest is
    written to ``dest`` (a folder or S3 prefix; default ``prefix``) as
    ``dataset-<YYYYMMDDTHHMMSS>.manifest`` (UTC, like the console), never over an existing file;
    its location is in ``df.attrs["gtwidgets"]["source"]``.
    """
    from .manifests import frame_from_objects, write_manifest

    exts = tuple(e if e.startswith(".") else "." + e for e in extensions)
    if not exts:
        raise ManifestError("extensions is empty; pass the file endings to list, e.g. ('.jpg', '.png').")
    root = str(prefix) if storage.is_s3(prefix) else str(Path(prefix).resolve())
    files = storage.list_files(root, suffixes=exts)
    if not files:
        raise ManifestError(f"{prefix}: no files ending in {', '.join(exts)} here; "
                            "check the prefix (S3 keys are case-sensitive) or pass extensions=(...).")
    files = _sample(files, sample, seed)
    frame = frame_from_objects([{"source-ref": f} for f in files])
    if write:
        stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S")
        target = storage.join(str(dest) if dest is not None else root, f"dataset-{stamp}.manifest")
        try:
            write_manifest(frame, target, if_none_match=True)
        except ConflictError:
            raise ConflictError(f"{target}: already exists; wait a second and build again, or pass dest=.") from None
        frame.attrs["gtwidgets"] = {"source": target}
    return frame


def _sample(files: list[str], sample: int | float | None, seed: int | None) -> list[str]:
    if sample is None:
        return files
    if isinstance(sample, bool) or not isinstance(sample, (int, float)):
        raise ManifestError(f"sample={sample!r}: pass a count (int) or a fraction (float in (0, 1]).")
    if isinstance(sample, float):
        if not 0 < sample <= 1:
            raise ManifestError(f"sample={sample}: a fraction must be in (0, 1]; pass an int for a count.")
        count = max(1, round(len(files) * sample))
    else:
        if sample < 1:
            raise ManifestError(f"sample={sample}: a count must be at least 1.")
        count = min(sample, len(files))
    chosen = set(random.Random(seed).sample(range(len(files)), count))
    return [f for i, f in enumerate(files) if i in chosen]

