"""The fashion sample: 20 product shots in 4 balanced classes, shaped like the Ground Truth course's.

The course's photos cannot be shipped, so Pillow draws stand-ins (a handbag, glasses, a pair of
flip-flops, a wristwatch) whose colours, styles, positions and backgrounds vary with the seed.
Anyone with the course package can point a notebook at its real folder instead.
"""
from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFilter

from ._common import (build, check_seed, encode_jpeg, gradient, item_rng, jitter_color, numbered,
                      resolve_dest, supersampled)

__all__ = ["FASHION_CATEGORIES", "make_fashion", "draw_fashion_item", "draw_fashion_scene"]

FASHION_CATEGORIES: list[str] = ["Bag", "Eyewear", "Flipflop", "Watch"]
_PER_CLASS = 5
_SS = 2  # supersampling factor

_BACKGROUNDS = [
    ((250, 250, 250), (226, 226, 226)), ((245, 236, 222), (222, 206, 184)),
    ((232, 238, 246), (200, 212, 228)), ((247, 230, 232), (228, 204, 208)),
    ((232, 244, 232), (204, 224, 206)), ((238, 238, 238), (196, 196, 200)),
]


def make_fashion(dest: str | os.PathLike | None = None, *, seed: int = 0,
                 size: tuple[int, int] = (256, 256), progress: bool = True,
                 write_manifest: bool = True) -> pd.DataFrame:
    """Write 20 fashion images ``001.jpg`` ... ``020.jpg`` under ``dest`` and return the input manifest.

    Order follows the course's output manifest: 001-005 Bag, 006-010 Eyewear, 011-015
    Flipflop, 016-020 Watch. Images are JPEG (quality 90); the same seed gives the same bytes.

    ``dest`` is a local folder or ``s3://bucket/prefix``; ``None`` makes a new temporary folder
    (its path is in ``frame.attrs["dest"]``). With ``write_manifest`` the input manifest is also
    written as ``dataset.manifest`` (``{"source-ref": ...}`` lines) and the answer key as
    ``labels.csv``. The returned frame has ``source-ref`` and ``true-class``; ``true-class`` is the
    hidden answer key for notebooks and tests, not a Ground Truth key.
    """
    seed = check_seed(seed)
    dest = resolve_dest(dest, "fashion")
    classes = [c for c in FASHION_CATEGORIES for _ in range(_PER_CLASS)]

    def item(i: int, uri):
        name = numbered(len(classes), i, ".jpg")
        image = draw_fashion_item(classes[i], item_rng(seed, "fashion", i), size)
        row = {"source-ref": uri(name), "true-class": classes[i]}
        return [(name, encode_jpeg(image, quality=90), "image/jpeg")], row

    return build(dest, len(classes), item, key="source-ref", desc="fashion", progress=progress,
                 write_manifest=write_manifest)


def draw_fashion_item(category: str, rng: np.random.Generator,
                      size: tuple[int, int] = (256, 256)) -> Image.Image:
    """One product shot of ``category`` (one of FASHION_CATEGORIES), RGB."""
    return draw_fashion_scene(category, rng, size)[0]


def draw_fashion_scene(category: str, rng: np.random.Generator,
                       size: tuple[int, int] = (256, 256)) -> tuple[Image.Image, Image.Image]:
    """:func:`draw_fashion_item` and the item's coverage (mode ``L``, 0-255) at the image's size."""
    try:
        painter = _PAINTERS[category]
    except KeyError:
        raise ValueError(f"{category!r} is not a fashion category; use one of {FASHION_CATEGORIES}.") from None
    w, h = size[0] * _SS, size[1] * _SS
    top, bottom = _BACKGROUNDS[int(rng.integers(len(_BACKGROUNDS)))]
    scene = gradient(size, jitter_color(rng, top, 6), jitter_color(rng, bottom, 6)).convert("RGBA")

    layer, draw = supersampled(size, _SS)
    unit = min(w, h) / 2 * float(rng.uniform(0.66, 0.82))
    cx = w / 2 + float(rng.uniform(-0.07, 0.07)) * w
    cy = h / 2 + float(rng.uniform(-0.06, 0.06)) * h

    def px(x: float, y: float) -> tuple[float, float]:
        return cx + x * unit, cy + y * unit

    painter(draw, px, unit, rng)
    # Shrink first (the anti-aliasing), then rotate and shade at the final size: 9x less work.
    layer = layer.resize(size, Image.LANCZOS)
    layer = layer.rotate(float(rng.uniform(-14, 14)), resample=Image.BICUBIC, center=(cx / _SS, cy / _SS))

    shadow = Image.new("RGBA", size, (40, 40, 50, 0))
    shadow.putalpha(layer.getchannel("A").point(lambda a: a * 0.35).filter(ImageFilter.GaussianBlur(6)))
    scene.alpha_composite(shadow, (5, 5))
    scene.alpha_composite(layer)
    return scene.convert("RGB"), layer.getchannel("A")


# ---------------------------------------------------------------------------- painters

def _shade(rgb: tuple[int, int, int], f: float) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, c * f))) for c in rgb)


def _box(px, x0: float, y0: float, x1: float, y1: float) -> list[float]:
    return [*px(x0, y0), *px(x1, y1)]


def _bag(draw: ImageDraw.ImageDraw, px, unit: float, rng: np.random.Generator) -> None:
    colour = jitter_color(rng, [(120, 72, 40), (30, 30, 34), (196, 150, 100), (160, 30, 40),
                                (30, 44, 90), (200, 120, 150)][int(rng.integers(6))])
    style = int(rng.integers(3))  # 0 handbag, 1 tote, 2 shoulder bag
    dark, light = _shade(colour, 0.7), _shade(colour, 1.25)
    line = max(2, int(unit * 0.07))
    if style == 2:
        draw.arc(_box(px, -0.62, -1.05, 0.62, 0.45), 180, 360, fill=dark, width=max(2, int(unit * 0.04)))
    elif style == 1:
        for dx in (-0.25, 0.25):
            draw.arc(_box(px, dx - 0.2, -0.72, dx + 0.2, 0.05), 180, 360, fill=dark, width=line)
    else:
        draw.arc(_box(px, -0.34, -0.8, 0.34, 0.1), 180, 360, fill=dark, width=int(line * 1.4))
    top, bottom = -0.3, 0.62
    half_top, half_bottom = (0.56, 0.66) if style != 1 else (0.62, 0.55)
    body = [px(-half_top, top), px(half_top, top), px(half_bottom, bottom), px(-half_bottom, bottom)]
    draw.polygon(body, fill=colour)
    r = unit * 0.1
    for x, y in (body[2], body[3]):
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    draw.rectangle([body[3][0], body[3][1] - r, body[2][0], body[2][1] + r - 1], fill=colour)
    draw.rectangle([body[3][0] + r, body[3][1], body[2][0] - r, body[2][1] + r], fill=colour)
    draw.line([px(-half_top + 0.06, top + 0.05), px(-half_bottom + 0.06, bottom)], fill=light,
              width=max(2, int(unit * 0.05)))
    if style != 1:  # flap with a clasp
        flap = [px(-half_top, top), px(half_top, top), px(half_top + 0.02, 0.12), px(0, 0.26),
                px(-half_top - 0.02, 0.12)]
        draw.polygon(flap, fill=dark)
        for a, b in zip(flap[2:], flap[3:]):
            draw.line([a, b], fill=_shade(colour, 0.5), width=max(1, int(unit * 0.015)))
        gold = jitter_color(rng, (214, 176, 80), 10)
        draw.rounded_rectangle(_box(px, -0.09, 0.18, 0.09, 0.34), radius=unit * 0.03, fill=gold,
                               outline=_shade(gold, 0.7), width=max(1, int(unit * 0.015)))
    else:  # tote: a top hem and a pocket
        draw.line([px(-half_top, top + 0.08), px(half_top, top + 0.08)], fill=dark, width=line // 2)
        draw.rectangle(_box(px, -0.3, 0.05, 0.3, 0.4), outline=dark, width=max(2, line // 3))


def _eyewear(draw: ImageDraw.ImageDraw, px, unit: float, rng: np.random.Generator) -> None:
    frame = jitter_color(rng, [(20, 20, 22), (120, 70, 30), (170, 140, 60), (40, 40, 120),
                               (150, 20, 40), (200, 200, 205)][int(rng.integers(6))], 10)
    sunglasses = bool(rng.integers(2))
    lens = (jitter_color(rng, (35, 40, 55), 15) + (235,)) if sunglasses else (200, 225, 240, 90)
    shape = int(rng.integers(3))  # round, rectangular, aviator
    width = max(3, int(unit * float(rng.uniform(0.05, 0.09))))
    for side in (-1, 1):
        x = side * 0.46
        if shape == 0:
            box = _box(px, x - 0.33, -0.3, x + 0.33, 0.3)
            draw.ellipse(box, fill=lens, outline=frame, width=width)
        elif shape == 1:
            box = _box(px, x - 0.38, -0.24, x + 0.38, 0.24)
            draw.rounded_rectangle(box, radius=unit * 0.1, fill=lens, outline=frame, width=width)
        else:
            box = _box(px, x - 0.38, -0.26, x + 0.38, 0.36)
            draw.chord(_box(px, x - 0.38, -0.5, x + 0.38, 0.36), 0, 180, fill=lens)
            draw.rectangle(_box(px, x - 0.38, -0.26, x + 0.38, -0.07), fill=lens)
            draw.arc(_box(px, x - 0.38, -0.5, x + 0.38, 0.36), 0, 180, fill=frame, width=width)
            draw.line([px(x - 0.38, -0.26), px(x + 0.38, -0.26)], fill=frame, width=width)
            draw.line([px(x - 0.38, -0.26), px(x - 0.38, -0.07)], fill=frame, width=width)
            draw.line([px(x + 0.38, -0.26), px(x + 0.38, -0.07)], fill=frame, width=width)
        glint = [px(x - 0.2 * side - 0.08, -0.12), px(x - 0.2 * side + 0.02, -0.2)]
        draw.line(glint, fill=(255, 255, 255, 170 if sunglasses else 120), width=max(2, int(unit * 0.04)))
        outer = side * (0.46 + (0.33 if shape == 0 else 0.38))
        draw.line([px(outer, -0.14), px(side * 1.0, -0.2), px(side * 1.04, -0.1)], fill=frame,
                  width=width, joint="curve")
    draw.arc(_box(px, -0.16, -0.18, 0.16, 0.14), 200, 340, fill=frame, width=width)


def _flipflop(draw: ImageDraw.ImageDraw, px, unit: float, rng: np.random.Generator) -> None:
    sole = jitter_color(rng, [(40, 110, 200), (240, 90, 140), (250, 200, 40), (60, 170, 90),
                              (30, 30, 30), (240, 120, 40)][int(rng.integers(6))])
    strap = jitter_color(rng, [(250, 250, 250), (20, 20, 20), (200, 40, 40), (40, 60, 160),
                               (250, 210, 60)][int(rng.integers(5))])
    spread = float(rng.uniform(0.34, 0.42))
    for side in (-1, 1):
        tilt = side * float(rng.uniform(4, 10))
        cx = side * spread

        def p(x: float, y: float, cx=cx, tilt=tilt, side=side) -> tuple[float, float]:
            x = x * -side  # mirror: big toe on the inside
            a = math.radians(tilt)
            return px(cx + x * math.cos(a) - y * math.sin(a), x * math.sin(a) + y * math.cos(a))

        def outline(k: float) -> list[tuple[float, float]]:
            pts = []
            for t in np.linspace(0, 2 * math.pi, 64, endpoint=False):
                y = -math.cos(t) * 0.92
                # wide at the toes, narrow at the waist, round at the heel; big toe side fuller
                w = 0.25 + 0.06 * math.cos(t) - 0.05 * math.cos(2 * t) ** 2
                x = math.sin(t) * w * (1.08 if math.sin(t) > 0 and y < 0 else 1.0)
                pts.append(p(x * k, y * k))
            return pts

        draw.polygon(outline(1.0), fill=_shade(sole, 0.75))
        draw.polygon(outline(0.9), fill=sole)
        post = p(0.05, -0.52)
        for end in (p(-0.23, 0.02), p(0.25, -0.02)):
            draw.line([post, end], fill=strap, width=max(3, int(unit * 0.075)), joint="curve")
        r = unit * 0.05
        draw.ellipse([post[0] - r, post[1] - r, post[0] + r, post[1] + r], fill=_shade(strap, 0.8))


def _watch(draw: ImageDraw.ImageDraw, px, unit: float, rng: np.random.Generator) -> None:
    strap = jitter_color(rng, [(90, 55, 30), (20, 20, 20), (150, 100, 60), (40, 60, 110),
                               (175, 175, 180)][int(rng.integers(5))])
    case = jitter_color(rng, [(190, 190, 196), (212, 175, 90), (50, 50, 55), (200, 160, 150)][int(rng.integers(4))], 8)
    face = [(250, 250, 245), (20, 24, 30), (30, 50, 110), (236, 226, 200)][int(rng.integers(4))]
    ink = (20, 20, 20) if sum(face) > 400 else (240, 240, 240)
    draw.rounded_rectangle(_box(px, -0.25, -1.05, 0.25, 1.05), radius=unit * 0.08, fill=strap)
    for y in (0.62, 0.74, 0.86):
        draw.ellipse(_box(px, -0.035, y - 0.035, 0.035, y + 0.035), fill=_shade(strap, 0.5))
    draw.line([px(-0.2, -1.0), px(-0.2, -0.5)], fill=_shade(strap, 1.3), width=max(1, int(unit * 0.012)))
    draw.line([px(0.2, -1.0), px(0.2, -0.5)], fill=_shade(strap, 1.3), width=max(1, int(unit * 0.012)))
    draw.rectangle(_box(px, 0.48, -0.07, 0.6, 0.07), fill=_shade(case, 0.85))
    draw.ellipse(_box(px, -0.52, -0.52, 0.52, 0.52), fill=_shade(case, 0.8))
    draw.ellipse(_box(px, -0.49, -0.49, 0.49, 0.49), fill=case)
    draw.ellipse(_box(px, -0.41, -0.41, 0.41, 0.41), fill=face)
    for k in range(12):
        a = k * math.pi / 6
        r0 = 0.3 if k % 3 == 0 else 0.34
        draw.line([px(r0 * math.sin(a), -r0 * math.cos(a)), px(0.38 * math.sin(a), -0.38 * math.cos(a))],
                  fill=ink, width=max(2, int(unit * (0.035 if k % 3 == 0 else 0.018))))
    hour, minute = float(rng.uniform(0, 12)), float(rng.uniform(0, 60))
    for angle, length, wid in ((hour / 12, 0.2, 0.045), (minute / 60, 0.31, 0.03)):
        a = angle * 2 * math.pi
        draw.line([px(0, 0), px(length * math.sin(a), -length * math.cos(a))], fill=ink,
                  width=max(2, int(unit * wid)))
    a = float(rng.uniform(0, 2 * math.pi))
    draw.line([px(-0.08 * math.sin(a), 0.08 * math.cos(a)), px(0.35 * math.sin(a), -0.35 * math.cos(a))],
              fill=(210, 30, 30), width=max(1, int(unit * 0.012)))
    draw.ellipse(_box(px, -0.035, -0.035, 0.035, 0.035), fill=(210, 30, 30))


_PAINTERS = {"Bag": _bag, "Eyewear": _eyewear, "Flipflop": _flipflop, "Watch": _watch}
