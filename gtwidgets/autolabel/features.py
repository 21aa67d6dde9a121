"""Features for automated labeling that need nothing from the network, cached by source.

- ``image_features``: a descriptor computed here from each image (a fixed bank of random
  filters on grey levels, max-pooled), projected to 128 dimensions.
- ``text_features``: TF-IDF of the texts (scikit-learn).
- ``embedding_features``: any embedding function of your own model (weights you already have),
  called on batches of images or texts, cached the same way.

Features are rows of a matrix in the order of the sources given. ``FeatureCache`` keeps rows
keyed by source in memory and, given a folder (a job's journal folder), on disk, so a second
run or a training round at 10,000 objects never decodes an image twice.
"""
from __future__ import annotations

import functools
import hashlib
import io
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from .. import storage
from ._sklearn import one_blas_thread, require_sklearn

__all__ = ["FeatureCache", "image_features", "image_descriptor", "text_features", "embedding_features",
           "IMAGE_DESCRIPTOR_VERSION"]

IMAGE_DESCRIPTOR_VERSION = "greyconv2"   # change when image_descriptor changes: it names the cache
_SIDE = 112       # images are described at 112x112 grey levels
_PATCH = 7        # 7x7-pixel patches
_FILTERS = 64
_GRID = 4         # responses max-pooled over 4x4, 2x2 and 1x1 cells


class FeatureCache:
    """Feature rows keyed by source: in memory, and in ``folder/<name>.npz`` when a folder is given.

    ``name`` says which extractor made the rows (change it when the extractor changes, or rows
    of two extractors mix). Sources are keyed by the SHA-1 of their text, so long texts and URIs
    make short keys. Thread-safe; the file is replaced atomically on ``save``.
    """

    def __init__(self, name: str, folder: str | os.PathLike | None = None):
        self.name = name
        self.path = Path(folder) / f"{name}.npz" if folder is not None else None
        self._rows: dict[bytes, np.ndarray] = {}
        self._dirty = False
        self._lock = threading.Lock()
        if self.path is not None and self.path.exists():
            self._load()

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, sources: Sequence[str], compute: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """The rows of ``sources``, computing (with ``compute(missing sources)``) only those not cached."""
        keys = [_key(s) for s in sources]
        with self._lock:
            missing = list({k: s for k, s in zip(keys, sources) if k not in self._rows}.items())
        if missing:
            rows = np.asarray(compute([s for _, s in missing]), np.float32)
            if rows.shape[0] != len(missing):
                raise ValueError(f"the feature function returned {rows.shape[0]} rows for {len(missing)} "
                                 "sources; return one row per source, in order.")
            with self._lock:
                for (k, _), row in zip(missing, rows):
                    self._rows[k] = row
                self._dirty = True
            self.save()
        with self._lock:
            return np.stack([self._rows[k] for k in keys]) if keys else np.empty((0, 0), np.float32)

    def save(self) -> None:
        """Write the rows to the folder (nothing without one, or when nothing changed)."""
        if self.path is None:
            return
        with self._lock:
            if not self._dirty:
                return
            # raw digest bytes as uint8 rows: numpy's "S" strings drop trailing NULs (1 key in 256)
            keys = np.frombuffer(b"".join(self._rows), np.uint8).reshape(-1, 20)
            rows = np.stack(list(self._rows.values()))
            self._dirty = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}.npz")
        np.savez(tmp, keys=keys, rows=rows)
        os.replace(tmp, self.path)

    def _load(self) -> None:
        try:
            with np.load(self.path) as data:
                keys, rows = data["keys"], data["rows"]
        except (OSError, ValueError, KeyError):
            return  # a damaged cache is only lost time: the rows are computed again
        self._rows = {k.tobytes() if k.dtype == np.uint8 else bytes(k): r for k, r in zip(keys, rows)}


def image_features(sources: Sequence[str], *, cache: FeatureCache | str | os.PathLike | None = None,
                   dims: int | None = 128, threads: int = 2,
                   read: Callable[[str], bytes] = storage.read_bytes) -> np.ndarray:
    """One row per image (a ``source-ref`` URI, local or ``s3://``): the default auto-labeling features.

    Each image is described by ``image_descriptor`` (computed once per source, cached), then the
    descriptors of all ``sources`` are standardised and projected on their ``dims`` principal
    components (unsupervised: no label is used), which keeps a training round fast. ``dims=None``
    returns the raw descriptors. ``cache`` is a ``FeatureCache`` or a folder to keep one in.
    """
    cache = _as_cache(cache, IMAGE_DESCRIPTOR_VERSION)

    def compute(missing: list[str]) -> np.ndarray:
        def one(source: str) -> np.ndarray:
            return image_descriptor(Image.open(io.BytesIO(read(source))))
        # One BLAS thread per image: the pool already runs ``threads`` images at once, and a
        # multi-threaded product of this size is several times slower on a busy machine.
        with one_blas_thread(), ThreadPoolExecutor(max(1, threads), thread_name_prefix="gtwidgets-features") as pool:
            return np.stack(list(pool.map(one, missing)))

    raw = cache.get(list(sources), compute)
    return raw if dims is None else project(raw, dims)


def image_descriptor(image: Image.Image) -> np.ndarray:
    """A fixed-length description of one image, from a fixed bank of random filters (no training, no download).

    The image is shrunk to 112x112 grey levels and cut into every 7x7 patch; each patch is
    contrast-normalised and matched against 64 random zero-mean filters (seeded, the same on
    every machine); the positive and the negative responses are max-pooled over a 4x4, 2x2 and
    1x1 grid. Max-pooling makes it care what shapes are present more than exactly where; 112
    pixels keep small detail (the digits of a speed limit, text on a sign) that 48 lost. On the
    traffic-sign sample, colour (random colour filters, or CIELAB statistics added to these) and
    scikit-image's HOG with or without pooling were each less accurate, so neither is here.
    """
    if image.format == "JPEG":
        image.draft("L", (_SIDE * 2, _SIDE * 2))  # decode at reduced size: several times faster
    grey = np.asarray(image.convert("L").resize((_SIDE, _SIDE), Image.BILINEAR), np.float32) / 255
    side = _SIDE - _PATCH + 1
    patches = sliding_window_view(grey, (_PATCH, _PATCH)).reshape(side * side, -1)
    # The filters sum to zero, so the patch mean drops out of the product; divide by the patch
    # deviation, from running sums (cheaper than over the patch matrix).
    mean, square = _box_mean(grey), _box_mean(grey * grey)
    deviation = np.sqrt(np.maximum(square - mean * mean, 0)).reshape(-1, 1)
    response = ((patches @ _filters()) / (deviation + 0.05)).reshape(side, side, _FILTERS)
    cell = side // _GRID
    cells = response[:cell * _GRID, :cell * _GRID].reshape(_GRID, cell, _GRID, cell, _FILTERS)
    high, low = cells.max((1, 3)), -cells.min((1, 3))
    pooled, grid = [], _GRID
    while True:
        pooled += [high.clip(0).ravel(), low.clip(0).ravel()]
        if grid == 1:
            break
        grid //= 2
        high = high.reshape(grid, 2, grid, 2, _FILTERS).max((1, 3))
        low = low.reshape(grid, 2, grid, 2, _FILTERS).max((1, 3))
    return np.concatenate(pooled).astype(np.float32)


def text_features(texts: Sequence[str], *, max_features: int = 50_000, ngram_range: tuple[int, int] = (1, 2)):
    """TF-IDF rows (a scipy sparse matrix) of the texts of a text-classification job.

    Fitted on all the job's texts (no labels are used), words and word pairs, sublinear term
    frequency: the usual strong baseline for a linear classifier.
    """
    require_sklearn()
    from sklearn.feature_extraction.text import TfidfVectorizer
    vectorizer = TfidfVectorizer(max_features=max_features, ngram_range=ngram_range, sublinear_tf=True,
                                 min_df=1, dtype=np.float32)
    return vectorizer.fit_transform(list(texts))


def embedding_features(sources: Sequence[str], embed: Callable[[list], np.ndarray], *, name: str,
                       cache: FeatureCache | str | os.PathLike | None = None, batch_size: int = 64,
                       images: bool = True, read: Callable[[str], bytes] = storage.read_bytes) -> np.ndarray:
    """Rows from your own model: ``embed(batch)`` returns one vector per item of the batch.

    With ``images=True`` the batch holds ``PIL.Image`` objects read from the ``source-ref`` URIs;
    otherwise it holds the sources themselves (texts). ``name`` names the model in the cache
    (e.g. ``"resnet18-imagenet"``), so rows of two models never mix.

        feats = embedding_features(frame["source-ref"], lambda ims: net(preprocess(ims)), name="mynet",
                                   cache=job_folder)
    """
    cache = _as_cache(cache, name)

    def compute(missing: list[str]) -> np.ndarray:
        out = []
        for start in range(0, len(missing), batch_size):
            chunk = missing[start:start + batch_size]
            batch = [Image.open(io.BytesIO(read(s))).convert("RGB") for s in chunk] if images else chunk
            out.append(np.asarray(embed(batch), np.float32).reshape(len(chunk), -1))
        return np.concatenate(out)

    return cache.get(list(sources), compute)


def project(raw: np.ndarray, dims: int, *, seed: int = 0) -> np.ndarray:
    """Standardise the columns and keep the first ``dims`` principal components (float32)."""
    raw = np.asarray(raw, np.float32)
    if raw.shape[0] == 0 or dims >= min(raw.shape):
        return raw
    require_sklearn()
    from sklearn.decomposition import PCA
    centred = (raw - raw.mean(0)) / (raw.std(0) + 1e-6)
    return PCA(dims, svd_solver="randomized", random_state=seed).fit_transform(centred).astype(np.float32)


# ---------------------------------------------------------------------------- helpers

def _as_cache(cache: FeatureCache | str | os.PathLike | None, name: str) -> FeatureCache:
    return cache if isinstance(cache, FeatureCache) else FeatureCache(name, cache)


def _box_mean(values: np.ndarray) -> np.ndarray:
    """The mean of every _PATCH x _PATCH window (valid positions only), from an integral image."""
    total = np.pad(values.astype(np.float64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    p = _PATCH
    sums = total[p:, p:] - total[:-p, p:] - total[p:, :-p] + total[:-p, :-p]
    return (sums / (p * p)).astype(np.float32)


def _key(source: str) -> bytes:
    return hashlib.sha1(str(source).encode("utf-8")).digest()


@functools.cache
def _filters() -> np.ndarray:
    bank = np.random.default_rng(20240515).standard_normal((_PATCH * _PATCH, _FILTERS)).astype(np.float32)
    bank -= bank.mean(0)
    return bank / np.linalg.norm(bank, axis=0)
