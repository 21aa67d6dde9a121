"""Offline, deterministic sample data for notebooks, demos and tests.

Three datasets, each drawn with Pillow (nothing is downloaded) and written to a local folder
or an ``s3://`` prefix: the same seed always gives the same bytes.

- ``make_fashion``: 20 product shots in 4 classes, shaped like the Ground Truth course's.
- ``make_traffic_signs``: 10 European road signs in varied street scenes, and where each sign is
  (``true-boxes``).
- ``make_fashion_masks``: the fashion images with their true segmentation masks.
- ``make_welding``: weld images with sensor CSVs, a mixed-source custom job.

Each returns the input manifest as a DataFrame with a hidden ``true-class`` answer column.
"""
from __future__ import annotations

from .fashion import FASHION_CATEGORIES, draw_fashion_item, make_fashion
from .fashion_masks import fashion_mask, make_fashion_masks, noisy_masks
from .traffic_signs import TRAFFIC_SIGN_CATEGORIES, draw_sign, draw_traffic_sign, make_traffic_signs
from .welding import CSV_HEADER, WELDING_CATEGORIES, draw_weld, make_welding, weld_signals

__all__ = [
    "make_fashion", "make_fashion_masks", "make_traffic_signs", "make_welding",
    "FASHION_CATEGORIES", "TRAFFIC_SIGN_CATEGORIES", "WELDING_CATEGORIES", "CSV_HEADER",
    "draw_fashion_item", "draw_traffic_sign", "draw_sign", "draw_weld", "weld_signals",
    "fashion_mask", "noisy_masks",
]
