"""Smart fill's superpixels (gtwidgets.superpixels): regions that follow the image's edges, at a
working resolution with the EXIF orientation applied, encoded for the browser and cached per image."""
from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from gtwidgets import superpixels


def _png(rgb: np.ndarray, **save) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "PNG", **save)
    return out.getvalue()


def _quadrants(w: int, h: int) -> np.ndarray:
    """Four flat colours, one a quadrant, plus a little noise."""
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[: h // 2, : w // 2] = (200, 40, 40)
    rgb[: h // 2, w // 2:] = (40, 200, 40)
    rgb[h // 2:, : w // 2] = (40, 40, 200)
    rgb[h // 2:, w // 2:] = (230, 230, 230)
    noise = np.random.default_rng(1).integers(-4, 5, rgb.shape)
    return (rgb + noise).clip(0, 255).astype(np.uint8)


def test_regions_follow_the_edges_and_are_connected():
    labels = superpixels.superpixels(_png(_quadrants(240, 160)))
    assert labels.shape == (160, 240) and labels.dtype == np.uint16
    quadrant = (np.arange(160)[:, None] >= 80) * 2 + (np.arange(240)[None, :] >= 120)
    for region in np.unique(labels):
        assert len(np.unique(quadrant[labels == region])) == 1, f"region {region} crosses a colour edge"
    assert 20 <= labels.max() + 1 <= superpixels.N_SEGMENTS
    from scipy import ndimage
    for region in np.unique(labels)[:40]:
        assert ndimage.label(labels == region)[1] == 1


def test_a_big_image_is_cut_at_the_working_resolution_as_displayed():
    big = np.asarray(Image.fromarray(_quadrants(64, 48)).resize((2000, 1500), Image.NEAREST))
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: displayed 1500 wide, 2000 high
    Image.fromarray(big).save(out, "JPEG", quality=90, exif=exif)
    labels = superpixels.superpixels(out.getvalue())
    assert labels.shape == (512, 384)  # fits WORK_SIZE, the displayed (portrait) shape
    # displayed, the stored top-left quadrant (red) is the top-right one: no region spans it and its left
    top = labels[:240]
    assert not set(np.unique(top[:, :180]).tolist()) & set(np.unique(top[:, 200:]).tolist())


def test_encode_decode_round_trip_and_size_check():
    labels = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    data = superpixels.encode(labels)
    assert np.frombuffer(zlib.decompress(data), "<u2").tolist() == labels.ravel().tolist()
    assert np.array_equal(superpixels.decode(data, 4, 3), labels)
    with pytest.raises(ValueError, match="not 3 x 3"):
        superpixels.decode(data, 3, 3)
    with pytest.raises(ValueError, match="not an image|cannot decode"):
        superpixels.superpixels(b"not an image")


def test_for_card_caches_per_image():
    a, b = _png(_quadrants(80, 60)), _png(_quadrants(60, 80))
    first = superpixels.for_card(a)
    assert (first.width, first.height) == (80, 60)
    assert np.array_equal(superpixels.decode(first.data, 80, 60), superpixels.superpixels(a))
    assert superpixels.for_card(b) is not first
    assert superpixels.for_card(a) is first  # the same image again: the cached result
