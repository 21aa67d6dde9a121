"""Original-image pixels of an EXIF-rotated JPEG: what the browser shows, mapped to the stored grid."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from gtwidgets.cards import thumbnail
from gtwidgets.image_geometry import card_scale, displayed_to_stored, image_size, stored_to_displayed

STORED = (60, 40)
MARK = (5, 8, 12, 6)   # left, top, width, height of a white block on the stored grid


def rotated_jpeg(orientation: int) -> bytes:
    im = Image.new("L", STORED, 0)
    l, t, w, h = MARK
    im.paste(255, (l, t, l + w, t + h))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    im.save(out, "JPEG", quality=100, exif=exif)
    return out.getvalue()


def white_box(im: Image.Image) -> list[int]:
    ys, xs = np.nonzero(np.asarray(im.convert("L")) > 127)
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_box_on_the_displayed_image_maps_to_the_stored_grid_and_back(orientation):
    data = rotated_jpeg(orientation)
    displayed = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    size = image_size(data)
    assert (size.width, size.height) == displayed.size and size.orientation == orientation
    shown = white_box(displayed)                       # where a worker draws the box
    assert displayed_to_stored([shown], orientation, displayed.size).tolist() == [list(MARK)]
    assert stored_to_displayed([MARK], orientation, STORED).tolist() == [shown]


def test_the_card_shows_the_displayed_image_scaled_so_card_boxes_scale_to_original_pixels():
    data = rotated_jpeg(6)   # stored 60 x 40, displayed 40 x 60
    card, _, card_size = thumbnail(data, max_size=(20, 30))
    assert card_size == (20, 30)
    sx, sy = card_scale(card_size, (image_size(data).width, image_size(data).height))
    on_card = white_box(Image.open(io.BytesIO(card)))
    shown = white_box(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    # A box drawn on the card, scaled, lands on the displayed box (to a card pixel's precision).
    assert np.allclose([on_card[0] * sx, on_card[1] * sy], shown[:2], atol=2 * sx)
