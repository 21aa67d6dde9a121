"""The welding sample: a mixed-source (image + sensor CSV) job, laid out like the AWS blog post
"Labeling mixed-source, industrial datasets with Amazon SageMaker Ground Truth".

Layout under ``dest``::

    dataset.manifest            {"source": "<dest>/dataset/dataset-1.json"} per line
    dataset/dataset-1.json      {"sensor_data": {"s3Path": ".../sensor_data/weld-1.csv"},
                                 "image": {"s3Path": ".../images/weld-1.png"}}
    sensor_data/weld-1.csv      timestamp_ms,current,electrode_position,voltage at 1 kHz
    images/weld-1.png           640x360 top view of the seam
    labels.csv                  source,true-class (the answer key)

Local folders put plain paths in the ``s3Path`` fields. Each class leaves its own mark on the
signals (current in A, voltage in V, electrode position in mm along the seam):

- Good Weld: steady current (~150 A) and voltage (~24 V), steady travel (~6 mm/s).
- Burn Through: a current spike (+110-160 A, the largest current of any class) with a
  voltage drop (-7-10 V, the lowest voltage) at the same moment; a hole in the bead there.
- Contamination: short arc interruptions (current dips, voltage jumps) and the noisiest
  current from sample to sample; soot and spatter on the plate.
- Lack of Fusion: low heat input, the lowest current (~100 A); a narrow bead beside an open joint.
- Lack of Shielding Gas: the highest voltage (~29 V), oscillating; a porous, blackened bead.
- High Travel Speed: the electrode moves ~3x faster (~18 mm/s), so the shortest recording;
  a thin bead with pointed ripples and undercut edges.
"""
from __future__ import annotations

import io
import os

import numpy as np
import orjson
import pandas as pd
from PIL import Image, ImageDraw, ImageFilter

from ._common import build, check_seed, encode_png, item_rng, resolve_dest

__all__ = ["WELDING_CATEGORIES", "make_welding", "weld_signals", "draw_weld", "CSV_HEADER"]

WELDING_CATEGORIES: list[str] = [
    "Good Weld", "Burn Through", "Contamination", "Lack of Fusion", "Lack of Shielding Gas",
    "High Travel Speed", "Not sure",
]
CSV_HEADER = "timestamp_ms,current,electrode_position,voltage"
_CLASSES = WELDING_CATEGORIES[:-1]  # "Not sure" is a labeler's answer, never a true class
_SIZE = (640, 360)


def make_welding(dest: str | os.PathLike | None = None, *, n: int = 5, seed: int = 0,
                 progress: bool = True, write_manifest: bool = True) -> pd.DataFrame:
    """Write ``n`` welds (image, sensor CSV, dataset JSON each) under ``dest``; return the input manifest.

    The classes take turns in WELDING_CATEGORIES order (Good Weld, Burn Through, Contamination,
    Lack of Fusion, Lack of Shielding Gas, High Travel Speed, then round again; "Not sure" is a
    labeler's answer, never a true class): the default 5 leave out High Travel Speed, ``n=6``
    shows every class once. The same seed gives the same bytes.

    ``dest`` is a local folder or ``s3://bucket/prefix``; ``None`` makes a new temporary folder
    (its path is in ``frame.attrs["dest"]``). With ``write_manifest`` the manifest is also written
    as ``dataset.manifest`` and the answer key as ``labels.csv``. The returned frame has ``source``
    (the dataset JSON's path) and ``true-class``; ``true-class`` is the hidden answer key for
    notebooks and tests, not a Ground Truth key.
    """
    seed = check_seed(seed)
    if n < 1:
        raise ValueError(f"n={n!r}: ask for at least one weld.")
    dest = resolve_dest(dest, "welding")

    def item(i: int, uri):
        category = _CLASSES[i % len(_CLASSES)]
        rng = item_rng(seed, "welding", i)
        signals = weld_signals(category, rng)
        image = draw_weld(category, rng, events=signals.attrs["events"])
        csv, png, record = f"sensor_data/weld-{i + 1}.csv", f"images/weld-{i + 1}.png", f"dataset/dataset-{i + 1}.json"
        dataset = {"sensor_data": {"s3Path": uri(csv)}, "image": {"s3Path": uri(png)}}
        files = [(csv, _csv_bytes(signals), "text/csv"), (png, encode_png(image), "image/png"),
                 (record, orjson.dumps(dataset), "application/json")]
        return files, {"source": uri(record), "true-class": category}

    return build(dest, n, item, key="source", desc="welding", progress=progress, write_manifest=write_manifest)


def weld_signals(category: str, rng: np.random.Generator) -> pd.DataFrame:
    """One weld's sensor recording at 1 kHz, shaped by ``category`` as the module docstring says.

    ``frame.attrs["events"]`` holds where along the seam (0-1) the defect events happen, so
    the image can show them in the same places.
    """
    _check(category)
    fast = category == "High Travel Speed"
    rows = int(rng.integers(2000, 2600) if fast else rng.integers(3000, 5001))
    t = np.arange(rows, dtype=float)
    base_current = {"Lack of Fusion": 100.0, "High Travel Speed": 140.0}.get(category, 150.0)
    base_voltage = {"Lack of Fusion": 21.5, "Lack of Shielding Gas": 29.0}.get(category, 24.0)
    current = base_current + rng.normal(0, 3) + rng.normal(0, 2, rows)
    voltage = base_voltage + rng.normal(0, 0.4) + rng.normal(0, 0.3, rows)
    speed = (18.0 if fast else 6.0) + rng.normal(0, 0.5)  # mm/s
    position = 5.0 + speed * t / 1000 + rng.normal(0, 0.02, rows)

    # Arc start and stop: current builds up and falls off; voltage starts near open circuit.
    ramp = np.clip(t / 60, 0, 1) * np.clip((rows - 1 - t) / 60, 0, 1)
    current *= 0.3 + 0.7 * ramp
    voltage += 8 * np.exp(-t / 25)

    events: list[float] = []
    if category == "Burn Through":
        centre = float(rng.uniform(0.35, 0.7)) * rows
        width = float(rng.uniform(60, 120))
        bump = np.exp(-0.5 * ((t - centre) / width) ** 2)
        current += float(rng.uniform(110, 160)) * bump
        voltage -= float(rng.uniform(7, 10)) * bump
        events.append(centre / rows)
    elif category == "Contamination":
        current += rng.normal(0, 10, rows)
        voltage += rng.normal(0, 1.2, rows)
        for _ in range(int(rng.integers(10, 20))):
            start, length = int(rng.integers(100, rows - 100)), int(rng.integers(5, 20))
            current[start:start + length] -= float(rng.uniform(30, 60))
            voltage[start:start + length] += float(rng.uniform(5, 10))
            events.append(start / rows)
    elif category == "Lack of Shielding Gas":
        voltage += 1.5 * np.sin(2 * np.pi * float(rng.uniform(40, 80)) * t / 1000) + rng.normal(0, 1.0, rows)
        current += rng.normal(0, 4, rows)

    frame = pd.DataFrame({"timestamp_ms": t.astype(np.int64), "current": current.round(2),
                          "electrode_position": position.round(3), "voltage": voltage.round(2)})
    frame.attrs["events"] = sorted(events)
    return frame


def draw_weld(category: str, rng: np.random.Generator, size: tuple[int, int] = _SIZE, *,
              events: list[float] | None = None) -> Image.Image:
    """A top view of two plates joined by a weld bead that shows ``category``'s defect, RGB.

    ``events`` (0-1 along the seam) place burn-through holes and soot where the signals put them.
    """
    _check(category)
    w, h = size
    events = list(events or [])
    seam_y = h / 2 + float(rng.uniform(-0.05, 0.05)) * h
    x0, x1 = w * float(rng.uniform(0.04, 0.1)), w * float(rng.uniform(0.88, 0.94))
    bead = h * float(rng.uniform(0.13, 0.16))
    tint = {"Burn Through": 1.6, "Lack of Shielding Gas": 1.0, "Contamination": 1.1,
            "Lack of Fusion": 0.5, "High Travel Speed": 0.6}.get(category, 0.9)
    sooty = category == "Lack of Shielding Gas"
    pixels = _heat_tint(_plates(size, rng), seam_y, bead * 1.3 * tint, rng, sooty=sooty)

    if category == "Lack of Fusion":
        pixels[int(seam_y) - 1:int(seam_y) + 2] *= 0.25     # the joint left open
        pixels[int(seam_y) + 2:int(seam_y) + 3] *= 1.25
        side = 1 if rng.integers(2) else -1
        _bead(pixels, rng, x0, x1, seam_y + side * bead * 0.5, bead * 0.6, spacing=8, point=0.6,
              metal=(178, 178, 180), wobble=0.03)
    elif category == "High Travel Speed":
        for dy in (-1, 1):                                  # undercut grooves beside the bead
            y = int(seam_y + dy * bead * 0.36)
            pixels[y - 1:y + 2, int(x0):int(x1)] *= 0.45
        _bead(pixels, rng, x0, x1, seam_y, bead * 0.55, spacing=14, point=2.5, metal=(190, 186, 180),
              wobble=0.12, vee=True)
    else:
        metal = {"Contamination": (135, 120, 100),
                 "Lack of Shielding Gas": (105, 104, 106)}.get(category, (195, 192, 188))
        _bead(pixels, rng, x0, x1, seam_y, bead, spacing=7, point=0.8, metal=metal,
              wobble=0.18 if sooty else 0.04)

    if category == "Contamination":
        soot = Image.new("L", size, 0)
        sd = ImageDraw.Draw(soot)
        for e in events[:10]:
            cx = x0 + e * (x1 - x0)
            r = bead * float(rng.uniform(0.5, 1.1))
            cy = seam_y + float(rng.uniform(-0.8, 0.8)) * bead
            sd.ellipse([cx - r, cy - r * 0.6, cx + r, cy + r * 0.6], fill=int(rng.integers(120, 220)))
        dark = np.asarray(soot.filter(ImageFilter.GaussianBlur(bead * 0.35)), float)[..., None] / 255
        pixels = pixels * (1 - 0.85 * dark) + np.array([40, 32, 25]) * 0.85 * dark
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)

    if category == "Burn Through":
        for e in events or [float(rng.uniform(0.35, 0.7))]:
            cx = x0 + e * (x1 - x0)
            r = bead * float(rng.uniform(0.28, 0.4))
            draw.ellipse([cx - r * 1.8, seam_y - r * 1.3, cx + r * 1.8, seam_y + r * 1.3], fill=(72, 50, 62))
            draw.ellipse([cx - r * 1.45, seam_y - r * 1.0, cx + r * 1.45, seam_y + r * 1.0], fill=(150, 90, 60))
            draw.ellipse([cx - r * 1.2, seam_y - r * 0.8, cx + r * 1.2, seam_y + r * 0.8], fill=(8, 6, 6))
    elif category == "Contamination":
        for _ in range(int(rng.integers(40, 80))):           # spatter balls
            sx = float(rng.uniform(x0, x1))
            sy = seam_y + float(rng.normal(0, bead * 1.3))
            r = float(rng.uniform(1.2, 3.5))
            draw.ellipse([sx - r, sy - r, sx + r, sy + r], fill=(80, 76, 70))
            draw.point((sx - r * 0.3, sy - r * 0.3), fill=(220, 215, 205))
    elif sooty:
        for _ in range(int(rng.integers(35, 60))):           # porosity
            px = float(rng.uniform(x0, x1))
            py = seam_y + float(rng.uniform(-0.32, 0.32)) * bead
            r = float(rng.uniform(1.5, 4.0))
            draw.ellipse([px - r - 1, py - r - 1, px + r + 1, py + r + 1], fill=(150, 150, 152))
            draw.ellipse([px - r, py - r, px + r, py + r], fill=(12, 12, 12))
    return image.filter(ImageFilter.GaussianBlur(0.6))


# ---------------------------------------------------------------------------- drawing

def _check(category: str) -> None:
    if category not in _CLASSES:
        raise ValueError(f"{category!r} is not a weld class; use one of {_CLASSES}.")


def _smooth_noise(rng: np.random.Generator, n: int, knots: int) -> np.ndarray:
    """Random values that change slowly along ``n`` samples (about ``knots`` bumps)."""
    return np.interp(np.linspace(0, knots, n), np.arange(knots + 1), rng.normal(0, 1, knots + 1))


def _plates(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Brushed steel as float RGB: streaks along the seam, from noise stretched sideways."""
    w, h = size
    grey = float(rng.uniform(140, 170))
    streaks = rng.normal(0, 7, (h, max(1, w // 24))).astype(np.float32)
    streaks = np.asarray(Image.fromarray(streaks, "F").resize((w, h), Image.BILINEAR))
    light = np.linspace(-12, 12, w)[None, :] * float(rng.choice([-1, 1]))
    value = grey + streaks + light + rng.normal(0, 2.5, (h, w))
    return np.stack([value * 0.98, value, value * 1.03], axis=-1)


def _heat_tint(pixels: np.ndarray, seam_y: float, reach: float, rng: np.random.Generator,
               *, sooty: bool) -> np.ndarray:
    """Temper colours beside the bead: straw, then brown and blue, fading into bare steel."""
    h, w = pixels.shape[:2]
    d = np.abs(np.arange(h, dtype=float) - seam_y) / reach
    colours = [(0.0, (120, 90, 70)), (0.6, (175, 125, 75)), (1.0, (205, 175, 115)), (1.5, (115, 115, 165))]
    if sooty:
        colours = [(0.0, (38, 36, 34)), (0.9, (68, 64, 60)), (1.5, (110, 105, 100))]
    tint = np.stack([np.interp(d, [p for p, _ in colours], [col[c] for _, col in colours]) for c in range(3)], -1)
    reach_x = 1 + 0.2 * _smooth_noise(rng, w, 8)           # uneven along the seam
    alpha = np.clip(1.9 - d[:, None] / reach_x[None, :], 0, 1) ** 1.5 * 0.75
    return pixels * (1 - alpha[..., None]) + tint[:, None, :] * alpha[..., None]


def _bead(pixels: np.ndarray, rng: np.random.Generator, x0: float, x1: float, y: float,
          width: float, *, spacing: float, point: float, metal: tuple[int, int, int], wobble: float,
          vee: bool = False) -> None:
    """Shade a weld bead into ``pixels``: a dome with ripples where each pool solidified.

    Ripples trail behind the centre line (travel is left to right); ``point`` bends them more,
    ``vee`` makes them chevrons (fast travel); ``wobble`` varies the bead's width and line.
    """
    h, w = pixels.shape[:2]
    xs = np.arange(int(x0), min(w, int(x1)))
    half = width / 2 * (1 + wobble * _smooth_noise(rng, len(xs), 30))
    centre = y + width * 0.06 * _smooth_noise(rng, len(xs), 6)
    top, bottom = max(0, int(y - width)), min(h, int(y + width) + 1)
    rows = np.arange(top, bottom, dtype=float)[:, None]
    u = (rows - centre[None, :]) / half[None, :]
    inside = np.clip((1 - np.abs(u)) * half[None, :] / 1.5, 0, 1)  # soft edge: 1.5 px
    dome = np.sqrt(np.clip(1 - u ** 2, 0, 1))
    lag = (1 - np.abs(u)) if vee else (1 - u ** 2)
    phase = (xs[None, :] - x0 + point * spacing * lag) / spacing
    phase += 0.15 * _smooth_noise(rng, len(xs), 40)[None, :]
    ripple = phase - np.floor(phase)
    height = dome * (1 + 0.22 * ripple)
    slope_x = np.gradient(height, axis=1)
    slope_y = np.gradient(height, axis=0)
    shade = 0.62 + 0.38 * dome - 3.0 * slope_x - 1.2 * slope_y + 0.25 * np.clip(dome - 0.75, 0, 1)
    colour = np.array(metal, float)[None, None, :] * shade[..., None]
    region = pixels[top:bottom, xs[0]:xs[-1] + 1]
    region[:] = region * (1 - inside[..., None]) + colour * inside[..., None]
    # the crater where the arc stopped
    end = xs[-1]
    r = width * 0.42
    yy, xx = np.ogrid[top:bottom, max(0, int(end - r)):min(w, int(end + r * 1.6))]
    dist = np.sqrt(((xx - end - r * 0.3) / (r * 1.2)) ** 2 + ((yy - y) / r) ** 2)
    crater = np.clip((1 - dist) * r / 1.5, 0, 1)[..., None]
    cone = (0.5 + 0.5 * np.clip(dist, 0, 1))[..., None] * np.array(metal, float)
    sub = pixels[top:bottom, max(0, int(end - r)):min(w, int(end + r * 1.6))]
    sub[:] = sub * (1 - crater) + cone * crater


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    np.savetxt(buf, frame.to_numpy(float), fmt=["%d", "%.2f", "%.3f", "%.2f"], delimiter=",",
               header=CSV_HEADER, comments="")
    return buf.getvalue().encode()
