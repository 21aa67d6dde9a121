"""Contact sheets of the sample datasets for the README: ``python -m gtwidgets.datasets._previews docs/datasets``.

They are drawn from the same functions and seeds as the datasets, so they show what users get.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ._common import contact_sheet, font, item_rng
from .fashion import FASHION_CATEGORIES, draw_fashion_item
from .traffic_signs import TRAFFIC_SIGN_CATEGORIES, draw_traffic_sign
from .welding import _CLASSES as WELD_CLASSES, draw_weld, weld_signals


def write_previews(folder: str | Path) -> list[Path]:
    """Write ``fashion.png``, ``traffic-signs.png`` and ``welding.png`` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fashion = [(c, draw_fashion_item(c, item_rng(0, "fashion", i), (256, 256)))
               for i, c in enumerate(c for c in FASHION_CATEGORIES for _ in range(5))]
    signs = [(c, draw_traffic_sign(c, item_rng(0, "traffic-signs", 100 * k + j)))
             for k in range(3) for j, c in enumerate(TRAFFIC_SIGN_CATEGORIES)]
    welds = []
    for i, c in enumerate(WELD_CLASSES):
        rng = item_rng(0, "welding", i)
        signals = weld_signals(c, rng)
        welds.append((c, _with_chart(draw_weld(c, rng, events=signals.attrs["events"]), signals)))
    out = []
    for name, items, columns, thumb in (("fashion", fashion, 10, 96), ("traffic-signs", signs, 10, 96),
                                        ("welding", welds, 3, (240, 200))):
        # smooth studio backgrounds band without dithering; busy scenes look better without it
        dither = Image.Dither.FLOYDSTEINBERG if name == "fashion" else Image.Dither.NONE
        path = folder / f"{name}.png"
        sheet = contact_sheet([im for _, im in items], columns=columns, thumb=thumb,
                              labels=[c for c, _ in items])
        # 256 colours keep the repository small; octree keeps the rare dark pixels (holes, pores)
        palette = sheet.quantize(256, method=Image.Quantize.FASTOCTREE)
        sheet = sheet.quantize(palette=palette, dither=dither)  # Pillow dithers only to a given palette
        sheet.save(path, optimize=True)
        out.append(path)
    return out


def _with_chart(image: Image.Image, signals) -> Image.Image:
    """The weld photo above a small plot of its current (red) and voltage (blue)."""
    w, chart = image.width, 160
    out = Image.new("RGB", (w, image.height + chart), (255, 255, 255))
    out.paste(image, (0, 0))
    draw = ImageDraw.Draw(out)
    band = (chart - 30) / 2
    for k, (column, colour, lo, hi) in enumerate((("current", (200, 30, 30), 0, 300),
                                                  ("voltage", (30, 60, 200), 10, 40))):
        y = np.clip(signals[column].to_numpy(), lo, hi)
        x = np.linspace(0, w - 1, len(y))
        step = max(1, len(y) // w)
        base = image.height + 26 + band * (k + 1)
        pts = [(float(a), base - (float(b) - lo) / (hi - lo) * band) for a, b in zip(x[::step], y[::step])]
        draw.line(pts, fill=colour, width=2)
    draw.text((6, image.height + 4), "current 0-300 A (red), voltage 10-40 V (blue)", fill=(60, 60, 60), font=font(16))
    return out


if __name__ == "__main__":
    for p in write_previews(sys.argv[1] if len(sys.argv) > 1 else "docs/datasets"):
        print(p, p.stat().st_size)
