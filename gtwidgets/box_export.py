"""Box labels to and from COCO and YOLO, the two formats detection training reads.

Written with the standard library: both formats are a few lines of JSON or text, and the
libraries that convert them (supervision, pylabel, globox) would each pull in more than this
package itself does for no gain in fidelity. Coordinates stay original-image pixels as
displayed (EXIF applied, see :mod:`gtwidgets.image_geometry`), as Ground Truth writes them.

- COCO: ``category_id = class_id + 1`` (COCO's ids start at 1; reading subtracts 1, or 0 when
  a file uses id 0); ``file_name`` is the ``source-ref`` with ``image_root`` taken off.
- YOLO: one ``<stem>.txt`` per image, ``class cx cy w h`` as fractions of the image size, and
  ``classes.txt`` with one category name per class id. Reading back needs each image's size
  and source (``images``), which YOLO files do not hold.
"""
from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Mapping, Sequence

import pandas as pd

from . import tasks
from .errors import ManifestError
from .manifests import frame_from_objects, objects

__all__ = ["to_coco", "from_coco", "write_yolo", "read_yolo"]


def to_coco(df: pd.DataFrame, attribute: str, *, categories: Sequence[str] | None = None,
            image_root: str = "") -> dict:
    """A COCO detection dict (``images``, ``annotations``, ``categories``) from a box output manifest.

    ``categories``: the job's labels in order (default: the names in the lines' class-maps, at
    their class ids). Confidences go to each annotation's ``score``.
    """
    lines = objects(df)
    cats = _categories(lines, attribute, categories)
    images, annotations = [], []
    for n, line in enumerate(lines):
        label, meta = _pair(line, attribute, n)
        size = label["image_size"][0] if isinstance(label["image_size"], list) else label["image_size"]
        source = str(line.get("source-ref", ""))
        if image_root and source.startswith(image_root):
            source = source[len(image_root):].lstrip("/")
        images.append({"id": n + 1, "file_name": source, "width": size["width"], "height": size["height"]})
        confidences = [o.get("confidence", 0) for o in meta.get("objects") or []]
        for j, a in enumerate(label.get("annotations") or []):
            box = [a["left"], a["top"], a["width"], a["height"]]
            ann = {"id": len(annotations) + 1, "image_id": n + 1, "category_id": int(a["class_id"]) + 1,
                   "bbox": box, "area": box[2] * box[3], "iscrowd": 0}
            if j < len(confidences):
                ann["score"] = confidences[j]
            annotations.append(ann)
    return {"images": images, "annotations": annotations,
            "categories": [{"id": i + 1, "name": name} for i, name in enumerate(cats) if name is not None]}


def from_coco(coco: Mapping | str | os.PathLike, attribute: str, *, job_name: str | None = None,
              image_root: str = "", creation_date: str | None = None, human_annotated: bool = True) -> pd.DataFrame:
    """A Ground Truth box manifest frame from a COCO detection dict or file (one line per image,
    in the file's image order); ``score`` becomes the box's confidence (0 without one)."""
    if not isinstance(coco, Mapping):
        coco = json.loads(Path(coco).read_text(encoding="utf-8"))
    tasks.check_attribute_name(attribute)
    ids = [int(c["id"]) for c in coco.get("categories", [])]
    offset = 1 if ids and min(ids) >= 1 else 0
    names = {int(c["id"]) - offset: str(c["name"]) for c in coco.get("categories", [])}
    by_image: dict[int, list] = {}
    for a in coco.get("annotations", []):
        by_image.setdefault(int(a["image_id"]), []).append(a)
    date = creation_date or tasks.format_creation_date()
    lines = []
    for image in coco.get("images", []):
        anns = by_image.get(int(image["id"]), [])
        boxes = [(int(a["category_id"]) - offset, *a["bbox"]) for a in anns]
        source = str(image["file_name"])
        if image_root:
            source = image_root.rstrip("/") + "/" + source
        for cid, *_ in boxes:
            if cid not in names:
                raise ManifestError(f"COCO annotation of image {image['id']} has category_id {cid + offset}, "
                                    "which is not in categories; add it.")
        lines.append({"source-ref": source,
                      **_label_pair(attribute, job_name or attribute, (image["width"], image["height"]), boxes,
                                    [a.get("score", 0) for a in anns], names, date, human_annotated)})
    return frame_from_objects(lines)


def write_yolo(df: pd.DataFrame, attribute: str, folder: str | os.PathLike, *,
               categories: Sequence[str] | None = None, digits: int = 6) -> list[Path]:
    """YOLO label files (``<image stem>.txt``) and ``classes.txt`` in ``folder``; returns the paths.

    Two images with one file stem (``a/x.jpg``, ``b/x.jpg``) would overwrite each other: that raises.
    """
    lines = objects(df)
    cats = _categories(lines, attribute, categories)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    seen: dict[str, str] = {}
    written = []
    for n, line in enumerate(lines):
        label, _ = _pair(line, attribute, n)
        size = label["image_size"][0] if isinstance(label["image_size"], list) else label["image_size"]
        source = str(line.get("source-ref", ""))
        stem = PurePosixPath(source).stem
        if stem in seen:
            raise ManifestError(f"line {n + 1}: {source} and {seen[stem]} would both write {stem}.txt; "
                                "give the images distinct file names.")
        seen[stem] = source
        w, h = size["width"], size["height"]
        rows = [f"{int(a['class_id'])} {(a['left'] + a['width'] / 2) / w:.{digits}f} "
                f"{(a['top'] + a['height'] / 2) / h:.{digits}f} {a['width'] / w:.{digits}f} {a['height'] / h:.{digits}f}"
                for a in label.get("annotations") or []]
        path = out / f"{stem}.txt"
        path.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
        written.append(path)
    classes = out / "classes.txt"
    classes.write_text("".join(f"{name if name is not None else ''}\n" for name in cats), encoding="utf-8")
    return written + [classes]


def read_yolo(folder: str | os.PathLike, attribute: str, images: pd.DataFrame, *, job_name: str | None = None,
              creation_date: str | None = None, human_annotated: bool = True) -> pd.DataFrame:
    """A box manifest frame from YOLO label files in ``folder`` (with its ``classes.txt``).

    ``images`` has one row per image: ``source-ref``, ``width`` and ``height`` (displayed pixels);
    its label file is ``<stem of source-ref>.txt``, and an image without one has no objects.
    """
    folder = Path(folder)
    tasks.check_attribute_name(attribute)
    names = {i: n for i, n in enumerate((folder / "classes.txt").read_text(encoding="utf-8").splitlines()) if n}
    date = creation_date or tasks.format_creation_date()
    lines = []
    for source, w, h in zip(images["source-ref"], images["width"], images["height"]):
        path = folder / f"{PurePosixPath(str(source)).stem}.txt"
        boxes = []
        if path.exists():
            for k, row in enumerate(path.read_text(encoding="utf-8").splitlines()):
                if not row.strip():
                    continue
                try:
                    cid, cx, cy, bw, bh = row.split()[:5]
                    cid, cx, cy, bw, bh = int(cid), float(cx), float(cy), float(bw), float(bh)
                except ValueError:
                    raise ManifestError(f"{path}:{k + 1}: expected 'class cx cy w h', got {row!r}.") from None
                if cid not in names:
                    raise ManifestError(f"{path}:{k + 1}: class {cid} has no name in classes.txt; add it.")
                boxes.append((cid, (cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h))
        lines.append({"source-ref": str(source),
                      **_label_pair(attribute, job_name or attribute, (int(w), int(h)), boxes, [0] * len(boxes),
                                    names, date, human_annotated)})
    return frame_from_objects(lines)


# ---------------------------------------------------------------------------- helpers

def _pair(line: Mapping, attribute: str, n: int) -> tuple[Mapping, Mapping]:
    label = line.get(attribute)
    if not isinstance(label, Mapping) or "image_size" not in label:
        raise ManifestError(f"line {n + 1} has no object-detection label {attribute!r}; "
                            "pick the box attribute (gtwidgets.manifests.label_attributes lists them).")
    meta = line.get(attribute + tasks.METADATA_SUFFIX)
    return label, meta if isinstance(meta, Mapping) else {}


def _categories(lines: list[dict], attribute: str, categories: Sequence[str] | None) -> list[str | None]:
    """Names by class id: the given list, else every line's class-map (gaps stay None)."""
    if categories is not None:
        return list(categories)
    found: dict[int, str] = {}
    for line in lines:
        meta = line.get(attribute + tasks.METADATA_SUFFIX)
        cmap = meta.get("class-map") if isinstance(meta, Mapping) else None
        for k, v in (cmap or {}).items():
            found.setdefault(int(k), str(v))
    return [found.get(i) for i in range(max(found) + 1)] if found else []


def _label_pair(attribute, job_name, size, boxes, confidences, names, date, human_annotated) -> dict:
    class_map: dict[str, str] = {}
    annotations = []
    for cid, left, top, width, height in boxes:
        class_map.setdefault(str(cid), names[cid])
        annotations.append({"class_id": cid, "top": _tidy(top), "left": _tidy(left),
                            "height": _tidy(height), "width": _tidy(width)})
    return {attribute: {"image_size": [{"width": int(size[0]), "height": int(size[1]), "depth": 3}],
                        "annotations": annotations},
            attribute + tasks.METADATA_SUFFIX: {
                "objects": [{"confidence": tasks.round_confidence(c)} for c in confidences],
                "class-map": class_map, "type": tasks.OBJECT_DETECTION,
                "human-annotated": "yes" if human_annotated else "no", "creation-date": date,
                "job-name": tasks.job_name_value(job_name)}}


def _tidy(x) -> float | int:
    x = float(x)
    return int(x) if x.is_integer() else x
