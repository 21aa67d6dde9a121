"""The traffic-sign sample: ten European (Vienna convention) signs photographed in varied scenes.

Each image shows one sign on a pole in a street or country scene, with the variation a real
collection has: scale, position, small rotations and perspective, blur, lighting and colour
casts, sensor noise and partial occlusion by leaves or a post.
"""
from __future__ import annotations

import functools
import math
import os

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from ._common import (build, check_seed, encode_jpeg, font, gradient, item_rng, jitter_color,
                      numbered, resolve_dest)

__all__ = ["TRAFFIC_SIGN_CATEGORIES", "make_traffic_signs", "draw_traffic_sign", "draw_sign"]

TRAFFIC_SIGN_CATEGORIES: list[str] = [
    "Stop", "Yield", "Speed Limit 30", "Speed Limit 50", "Speed Limit 80", "No Entry",
    "Pedestrian Crossing", "Roundabout", "Priority Road", "No Parking",
]
_SIZE = (224, 224)
_SS = 2         # backgrounds are drawn at twice the size, then shrunk
_SIGN = 480     # signs are drawn on a canvas this wide, then shrunk into the scene

_RED, _BLUE, _WHITE, _BLACK, _YELLOW = (200, 20, 32), (0, 82, 160), (250, 250, 250), (20, 20, 20), (250, 196, 0)


def make_traffic_signs(dest: str | os.PathLike | None = None, *, per_class: int = 10, seed: int = 0,
                       progress: bool = True, write_manifest: bool = True) -> pd.DataFrame:
    """Write ``per_class`` images of every TRAFFIC_SIGN_CATEGORIES sign under ``dest``; return the input manifest.

    Images are 224x224 JPEG (quality 90) named ``001.jpg``, ``002.jpg``, ... in manifest order;
    the classes are shuffled (by the seed), so names give no hint of the answer. The same
    seed gives the same bytes.

    ``dest`` is a local folder or ``s3://bucket/prefix``; ``None`` makes a new temporary folder
    (its path is in ``frame.attrs["dest"]``). With ``write_manifest`` the input manifest is also
    written as ``dataset.manifest`` (``{"source-ref": ...}`` lines) and the answer key as
    ``labels.csv``. The returned frame has ``source-ref`` and ``true-class``; ``true-class`` is the
    hidden answer key for notebooks and tests, not a Ground Truth key.
    """
    seed = check_seed(seed)
    if per_class < 1:
        raise ValueError(f"per_class={per_class!r}: ask for at least one image a class.")
    dest = resolve_dest(dest, "traffic-signs")
    classes = [c for c in TRAFFIC_SIGN_CATEGORIES for _ in range(per_class)]
    order = np.random.default_rng([seed, 2, 0xC1A55]).permutation(len(classes))
    classes = [classes[k] for k in order]

    def item(i: int, uri):
        name = numbered(len(classes), i, ".jpg")
        image, box = _draw(classes[i], item_rng(seed, "traffic-signs", i), _SIZE)
        row = {"source-ref": uri(name), "true-class": classes[i], "true-boxes": [{"label": classes[i], **box}]}
        return [(name, encode_jpeg(image, quality=90), "image/jpeg")], row

    return build(dest, len(classes), item, key="source-ref", desc="traffic signs", progress=progress,
                 write_manifest=write_manifest, answers=("true-class", "true-boxes"))


def draw_traffic_sign(category: str, rng: np.random.Generator,
                      size: tuple[int, int] = _SIZE) -> Image.Image:
    """A photo-like scene with one ``category`` sign in it, RGB."""
    return _draw(category, rng, size)[0]


def _draw(category: str, rng: np.random.Generator, size: tuple[int, int]) -> tuple[Image.Image, dict[str, int]]:
    """The scene and the sign's box in it (left, top, width, height; the pixels its drawn shape covers,
    at least half opaque, clipped to the image). Draws the same pixels as before the box was kept."""
    sign = _clean_sign(category)
    w, h = size
    scene = _scene(size, rng)

    width = int(w * float(rng.uniform(0.36, 0.68)))
    cx = w * float(rng.uniform(0.32, 0.68))
    cy = h * float(rng.uniform(0.32, 0.52))
    pole = max(2, width // 12)
    draw = ImageDraw.Draw(scene)
    draw.rectangle([cx - pole / 2, cy, cx + pole / 2, h], fill=jitter_color(rng, (120, 124, 128), 20))

    sign = _turn(sign.resize((width, width), Image.LANCZOS, reducing_gap=2.0), rng)
    at = (int(cx - sign.width / 2), int(cy - sign.height / 2))
    scene.paste(sign, at, sign)
    box = _box_of(sign, at, size)
    _occlude(scene, (cx, cy, width), rng)

    image = ImageEnhance.Brightness(scene).enhance(float(rng.uniform(0.55, 1.25)))
    image = ImageEnhance.Contrast(image).enhance(float(rng.uniform(0.75, 1.15)))
    cast = 1 + rng.uniform(-0.08, 0.08, 3)
    pixels = np.asarray(image, float) * cast + rng.normal(0, float(rng.uniform(1, 5)), (size[1], size[0], 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8), "RGB")
    blur = float(rng.choice([0, 0, 0.5, 0.9, 1.4]))
    return (image.filter(ImageFilter.GaussianBlur(blur)) if blur else image), box


def _box_of(sign: Image.Image, at: tuple[int, int], size: tuple[int, int]) -> dict[str, int]:
    """Where the pasted sign's (at least half opaque) pixels are in the scene, clipped to it."""
    x0, y0, x1, y1 = sign.getchannel("A").point(lambda a: 255 if a >= 128 else 0).getbbox()
    left, top = max(0, at[0] + x0), max(0, at[1] + y0)
    right, bottom = min(size[0], at[0] + x1), min(size[1], at[1] + y1)
    return {"left": left, "top": top, "width": right - left, "height": bottom - top}


def draw_sign(category: str) -> Image.Image:
    """The clean sign, front on, on a transparent square canvas (RGBA)."""
    return _clean_sign(category).copy()


@functools.cache
def _clean_sign(category: str) -> Image.Image:
    try:
        painter = _PAINTERS[category]
    except KeyError:
        raise ValueError(
            f"{category!r} is not a traffic-sign category; use one of {TRAFFIC_SIGN_CATEGORIES}.") from None
    img = Image.new("RGBA", (_SIGN, _SIGN), (0, 0, 0, 0))
    painter(ImageDraw.Draw(img), _SIGN / 2, _SIGN / 2 - 8)
    return img


# ---------------------------------------------------------------------------- scene

def _scene(size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """A street or country background, out of focus; drawn at twice the size for smooth edges."""
    w, h = size[0] * _SS, size[1] * _SS
    sky = [((90, 150, 220), (190, 220, 245)), ((150, 155, 165), (205, 208, 212)),
           ((80, 90, 150), (240, 170, 120)), ((120, 180, 235), (235, 240, 245))][int(rng.integers(4))]
    horizon = int(h * float(rng.uniform(0.55, 0.72)))
    scene = gradient((w, horizon), jitter_color(rng, sky[0]), jitter_color(rng, sky[1]))
    canvas = Image.new("RGB", (w, h))
    canvas.paste(scene, (0, 0))
    draw = ImageDraw.Draw(canvas)
    urban = bool(rng.integers(2))
    ground = (96, 98, 100) if urban else jitter_color(rng, (86, 130, 60), 20)
    draw.rectangle([0, horizon, w, h], fill=jitter_color(rng, ground, 10))
    if urban:
        x = int(rng.integers(-40, 0))
        while x < w:
            bw, bh = int(rng.integers(60, 150)), int(rng.integers(80, int(horizon * 0.9)))
            walls = [(170, 160, 150), (140, 120, 110), (190, 185, 175), (110, 110, 120)]
            wall = jitter_color(rng, walls[int(rng.integers(4))], 15)
            draw.rectangle([x, horizon - bh, x + bw, horizon], fill=wall)
            glass = tuple(int(c * 0.6) for c in wall)
            for wy in range(horizon - bh + 12, horizon - 20, 28):
                for wx in range(x + 10, x + bw - 16, 24):
                    draw.rectangle([wx, wy, wx + 12, wy + 16], fill=glass)
            x += bw + int(rng.integers(0, 20))
        draw.rectangle([0, horizon + (h - horizon) // 2, w, h], fill=jitter_color(rng, (70, 72, 76), 8))
        for x in range(int(rng.integers(0, 60)), w, 90):
            draw.rectangle([x, h - (h - horizon) // 4 - 3, x + 45, h - (h - horizon) // 4 + 3], fill=(230, 230, 220))
    else:
        for _ in range(int(rng.integers(1, 4))):
            hx, hw = float(rng.uniform(0, w)), float(rng.uniform(150, 400))
            draw.ellipse([hx - hw, horizon - hw * 0.3, hx + hw, horizon + hw * 0.3],
                         fill=jitter_color(rng, (100, 140, 90), 20))
        for _ in range(int(rng.integers(2, 7))):
            tx, ty, r = float(rng.uniform(0, w)), horizon + float(rng.uniform(-10, 10)), float(rng.uniform(20, 55))
            draw.rectangle([tx - r * 0.12, ty - r, tx + r * 0.12, ty + 4], fill=(90, 64, 40))
            draw.ellipse([tx - r, ty - r * 2.6, tx + r, ty - r * 0.6], fill=jitter_color(rng, (50, 100, 45), 20))
        draw.polygon([(w * 0.42, horizon), (w * 0.58, horizon), (w * 0.95, h), (w * 0.05, h)],
                     fill=jitter_color(rng, (90, 90, 94), 8))
    return canvas.resize(size, Image.LANCZOS).filter(ImageFilter.GaussianBlur(float(rng.uniform(0.4, 1.3))))


def _turn(sign: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Turn the sign a little about all three axes: a keystone warp plus a tilt, in one resampling."""
    s = sign.width
    yaw, pitch = float(rng.uniform(-0.22, 0.22)), float(rng.uniform(-0.08, 0.08))
    tilt = math.radians(float(rng.uniform(-7, 7)))
    near_x = abs(yaw) * s / 3   # the far edge moves in and gets shorter
    left, right = max(yaw, 0) * s / 2, max(-yaw, 0) * s / 2
    top, bottom = max(pitch, 0) * s / 2, max(-pitch, 0) * s / 2
    x0, x1 = (near_x, s) if yaw > 0 else (0, s - near_x)
    quad = [(x0 + top, left), (x1 - top, right), (x1 - bottom, s - right), (x0 + bottom, s - left)]
    cos, sin, c = math.cos(tilt), math.sin(tilt), s / 2
    quad = [(c + (x - c) * cos - (y - c) * sin, c + (x - c) * sin + (y - c) * cos) for x, y in quad]
    mx, my = min(x for x, _ in quad), min(y for _, y in quad)
    quad = [(x - mx, y - my) for x, y in quad]
    out = (math.ceil(max(x for x, _ in quad)), math.ceil(max(y for _, y in quad)))
    src = [(0, 0), (s, 0), (s, s), (0, s)]
    return sign.transform(out, Image.PERSPECTIVE, _homography(quad, src), Image.BICUBIC)


def _homography(dst: list[tuple[float, float]], src: list[tuple[float, float]]) -> list[float]:
    """Coefficients that map output points ``dst`` back to input points ``src`` (PIL's convention)."""
    a, b = [], []
    for (x, y), (u, v) in zip(dst, src):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b.extend([u, v])
    return np.linalg.solve(np.array(a, float), np.array(b, float)).tolist()


def _occlude(scene: Image.Image, sign: tuple[float, float, int], rng: np.random.Generator) -> None:
    """Sometimes hide part of the sign behind leaves or a post, as street photos do."""
    kind = float(rng.uniform())
    cx, cy, width = sign
    draw = ImageDraw.Draw(scene)
    if kind < 0.22:  # a leafy branch coming in from one side
        side = 1 if rng.integers(2) else -1
        bx = cx + side * width * float(rng.uniform(0.35, 0.6))
        by = cy + float(rng.uniform(-0.4, 0.4)) * width
        for _ in range(int(rng.integers(8, 16))):
            r = width * float(rng.uniform(0.06, 0.12))
            x = bx + side * float(rng.uniform(-0.05, 0.35)) * width
            y = by + float(rng.uniform(-0.25, 0.25)) * width
            draw.ellipse([x - r, y - r * 0.7, x + r, y + r * 0.7], fill=jitter_color(rng, (45, 95, 40), 25))
    elif kind < 0.32:  # a lamp post in front
        x = cx + float(rng.uniform(-0.45, 0.45)) * width
        half = width * float(rng.uniform(0.05, 0.09))
        draw.rectangle([x - half, 0, x + half, scene.height], fill=jitter_color(rng, (60, 62, 66), 10))


# ---------------------------------------------------------------------------- signs

def _polygon(c: float, r: float, n: int, rotation: float) -> list[tuple[float, float]]:
    return [(c + r * math.cos(rotation + 2 * math.pi * k / n), c + r * math.sin(rotation + 2 * math.pi * k / n))
            for k in range(n)]


def _disc(draw: ImageDraw.ImageDraw, c: float, r: float, fill) -> None:
    draw.ellipse([c - r, c - r, c + r, c + r], fill=fill)


def _stop(draw: ImageDraw.ImageDraw, c: float, r: float) -> None:
    draw.polygon(_polygon(c, r, 8, math.pi / 8), fill=_WHITE)
    draw.polygon(_polygon(c, r * 0.92, 8, math.pi / 8), fill=_RED)
    draw.text((c, c), "STOP", fill=_WHITE, font=font(int(r * 0.56)), anchor="mm",
              stroke_width=int(r * 0.03), stroke_fill=_WHITE)


def _yield(draw: ImageDraw.ImageDraw, c: float, r: float) -> None:
    outer = _polygon(c, r * 1.04, 3, math.pi / 2)
    draw.polygon(outer, fill=_WHITE)
    draw.polygon(_polygon(c, r * 0.98, 3, math.pi / 2), fill=_RED)
    draw.polygon(_polygon(c, r * 0.58, 3, math.pi / 2), fill=_WHITE)


def _speed_limit(value: int):
    def paint(draw: ImageDraw.ImageDraw, c: float, r: float) -> None:
        _disc(draw, c, r, _RED)
        _disc(draw, c, r * 0.8, _WHITE)
        draw.text((c, c + r * 0.02), str(value), fill=_BLACK, font=font(int(r * 0.9)), anchor="mm",
                  stroke_width=int(r * 0.035), stroke_fill=_BLACK)
    return paint


def _no_entry(draw: ImageDraw.ImageDraw, c: float, r: float) -> None:
    _disc(draw, c, r, _WHITE)
    _disc(draw, c, r * 0.96, _RED)
    draw.rectangle([c - r * 0.66, c - r * 0.15, c + r * 0.66, c + r * 0.15], fill=_WHITE)


def _pedestrian_crossing(draw: ImageDraw.ImageDraw, c: float, r: float) -> None:
    draw.rounded_rectangle([c - r, c - r, c + r, c + r], radius=r * 0.12, fill=_WHITE)
    draw.rounded_rectangle([c - r * 0.95, c - r * 0.95, c + r * 0.95, c + r * 0.95], radius=r * 0.1, fill=_BLUE)
    draw.polygon(_polygon(c, r * 0.92, 3, -math.pi / 2), fill=_WHITE)
    ox, oy = c, c + r * 0.1
    for k in range(4):  # zebra stripes under the walker
        x = ox - r * 0.45 + k * r * 0.25
        draw.polygon([(x, oy + r * 0.3), (x + r * 0.14, oy + r * 0.3), (x + r * 0.09, oy + r * 0.42),
                      (x - r * 0.05, oy + r * 0.42)], fill=_BLACK)
    line = int(r * 0.07)
    head = (ox + r * 0.02, oy - r * 0.42)
    draw.ellipse([head[0] - r * 0.08, head[1] - r * 0.08, head[0] + r * 0.08, head[1] + r * 0.08], fill=_BLACK)
    hip = (ox - r * 0.02, oy + r * 0.02)
    neck = (ox + r * 0.0, oy - r * 0.3)
    draw.line([neck, hip], fill=_BLACK, width=int(line * 1.4))
    draw.line([hip, (ox - r * 0.15, oy + r * 0.26)], fill=_BLACK, width=line, joint="curve")
    draw.line([hip, (ox + r * 0.08, oy + r * 0.13), (ox + r * 0.16, oy + r * 0.27)], fill=_BLACK, width=line,
              joint="curve")
    draw.line([(ox - r * 0.14, oy - r * 0.05), (ox, oy - r * 0.24), (ox + r * 0.14, oy - r * 0.08)],
              fill=_BLACK, width=line, joint="curve")


def _roundabout(draw: ImageDraw.ImageDraw, c: float, r: float) -> None:
    _disc(draw, c, r, _WHITE)
    _disc(draw, c, r * 0.95, _BLUE)
    ring, width = r * 0.52, int(r * 0.2)
    for k in range(3):
        start = -90 + k * 120 + 36
        end = start + 72
        draw.arc([c - ring, c - ring, c + ring, c + ring], start, end, fill=_WHITE, width=width)
        a = math.radians(start + 2)  # the head points counterclockwise on screen (decreasing angle)
        tip = math.radians(start - 30)
        base_in, base_out = ring - width * 1.25, ring + width * 0.25
        draw.polygon([(c + base_in * math.cos(a), c + base_in * math.sin(a)),
                      (c + base_out * math.cos(a), c + base_out * math.sin(a)),
                      (c + (ring - width / 2) * math.cos(tip), c + (ring - width / 2) * math.sin(tip))], fill=_WHITE)


def _priority_road(draw: ImageDraw.ImageDraw, c: float, r: float) -> None:
    draw.polygon(_polygon(c, r, 4, 0), fill=(40, 40, 40))
    draw.polygon(_polygon(c, r * 0.96, 4, 0), fill=_WHITE)
    draw.polygon(_polygon(c, r * 0.62, 4, 0), fill=_YELLOW)


def _no_parking(draw: ImageDraw.ImageDraw, c: float, r: float) -> None:
    _disc(draw, c, r, _RED)
    _disc(draw, c, r * 0.8, _BLUE)
    d = r * 0.8 * math.cos(math.pi / 4)
    draw.line([(c - d, c - d), (c + d, c + d)], fill=_RED, width=int(r * 0.17))


_PAINTERS = {
    "Stop": _stop, "Yield": _yield, "Speed Limit 30": _speed_limit(30), "Speed Limit 50": _speed_limit(50),
    "Speed Limit 80": _speed_limit(80), "No Entry": _no_entry, "Pedestrian Crossing": _pedestrian_crossing,
    "Roundabout": _roundabout, "Priority Road": _priority_road, "No Parking": _no_parking,
}
