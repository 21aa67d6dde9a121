"""Consolidation of bounding boxes: several workers' boxes -> one set of boxes per image.

Ground Truth "matches boxes across workers by IoU and averages matched boxes; one confidence
per resulting box" and documents neither the threshold nor the confidence. The rule here:

- **Matching** is per image and per class, at IoU >= 0.5 (``iou_threshold``), between boxes of
  different workers (a worker's own boxes never merge). Clusters form greedily, best supported
  first: the box that most other workers have a match for (ties: the highest summed IoU of those
  matches) seeds a cluster, and each other worker joins it with their unclustered box of highest
  IoU with the seed. Repeat until no box is left. Greedy seeding gives Hungarian matching's
  result whenever distinct objects of one class overlap by less than the threshold (the usual
  case) and, unlike one assignment problem per image, runs for all images at once in numpy.
- **Keeping**: a cluster stands when at least half the workers who answered the image drew it
  (``min_support``; 3 of 5, 2 of 3, 1 of 2). Boxes fewer workers saw are false boxes; objects
  more than half missed are dropped. A worker who answered "no objects" counts as a worker.
- **The box** is the mean of the cluster's boxes (coordinates as floats, as Ground Truth writes
  averaged boxes).
- **Confidence** = support fraction x mean IoU of the cluster's boxes with the consolidated box,
  rounded to 2 decimals: 1 only when every worker drew the same box; it falls when workers miss
  the object (existence) or disagree on its extent (localisation). One worker: 0, as Ground Truth.

Pure numpy; ``consolidate_boxes_naive`` is the same rule one image at a time in plain Python,
the reference the tests compare against and ``bench/consolidate_boxes.py`` times.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BoxConsensus", "consolidate_boxes", "consolidate_boxes_naive", "iou", "detection_scores",
           "IOU_THRESHOLD", "MIN_SUPPORT"]

IOU_THRESHOLD = 0.5
MIN_SUPPORT = 0.5
_CHUNK_CELLS = 2_000_000   # IoU cells (images x (workers x boxes)^2) held at once: ~8 MB of float32


@dataclass
class BoxConsensus:
    """Consolidated boxes, one row each, grouped by image in increasing image order."""

    image: np.ndarray        # (m,) image index
    class_id: np.ndarray     # (m,)
    boxes: np.ndarray        # (m, 4) left, top, width, height (float)
    confidence: np.ndarray   # (m,) rounded to 2 decimals; 0 where one worker answered
    support: np.ndarray      # (m,) workers whose box is in the cluster


def consolidate_boxes(image, worker, class_id, boxes, n_workers, *, iou_threshold: float = IOU_THRESHOLD,
                      min_support: float = MIN_SUPPORT, weights: str = "learned") -> BoxConsensus:
    """Consolidate every image's boxes at once.

    ``image``, ``worker``, ``class_id``: one integer per box; ``boxes``: (n, 4) left, top,
    width, height in pixels; ``n_workers``: per image index, how many workers answered it,
    including those who drew nothing. ``weights="learned"`` averages each cluster weighting
    every worker by how closely their boxes agree with the clusters across all images (worker
    ids must then be the same person on every image); ``"equal"`` is the plain mean.
    """
    img, wrk, cls, xyxy, n_workers = _inputs(image, worker, class_id, boxes, n_workers)
    need = _needed(n_workers, min_support)
    if len(img) == 0:
        return _empty()
    # Slot every box as (image, worker slot w, box slot k): padded arrays per chunk of images.
    order = np.lexsort((np.arange(len(img)), wrk, img))
    s_img, s_wrk = img[order], wrk[order]
    pair_start = np.r_[True, (s_img[1:] != s_img[:-1]) | (s_wrk[1:] != s_wrk[:-1])]
    pair_id = np.cumsum(pair_start) - 1
    k_slot = np.arange(len(order)) - np.flatnonzero(pair_start)[pair_id]
    img_start = np.r_[True, s_img[1:] != s_img[:-1]]
    img_id = np.cumsum(img_start) - 1
    w_slot = pair_id - pair_id[np.flatnonzero(img_start)][img_id]
    images = s_img[img_start]
    n_img = len(images)
    w_max = np.zeros(n_img, np.int64)
    np.maximum.at(w_max, img_id, w_slot + 1)
    k_max = np.zeros(n_img, np.int64)
    np.maximum.at(k_max, img_id, k_slot + 1)
    # Chunks of images of similar shape, so that one crowded image does not pad all the others.
    by_shape = np.lexsort((k_max, w_max))
    clusters = []
    start = 0
    while start < n_img:
        w, k = int(w_max[by_shape[start]]), int(k_max[by_shape[start]])
        stop = start + 1
        while stop < n_img:
            w2, k2 = max(w, int(w_max[by_shape[stop]])), max(k, int(k_max[by_shape[stop]]))
            if (stop - start + 1) * (w2 * k2) ** 2 > _CHUNK_CELLS:
                break
            w, k, stop = w2, k2, stop + 1
        chunk = by_shape[start:stop]
        local = np.full(n_img, -1)
        local[chunk] = np.arange(len(chunk))
        sel = local[img_id] >= 0
        clusters += _cluster_chunk(local[img_id[sel]], w_slot[sel], k_slot[sel], cls[order[sel]],
                                   xyxy[order[sel]], order[sel], len(chunk), w, k, need[images[chunk]],
                                   iou_threshold)
        start = stop
    return _from_clusters(clusters, img, wrk, cls, xyxy, n_workers, weights)


def consolidate_boxes_naive(image, worker, class_id, boxes, n_workers, *, iou_threshold: float = IOU_THRESHOLD,
                            min_support: float = MIN_SUPPORT, weights: str = "learned") -> BoxConsensus:
    """The same rule as :func:`consolidate_boxes`, clustering one image and one seed at a time in
    plain Python (the averaging step is shared)."""
    img, wrk, cls, xyxy, n_workers = _inputs(image, worker, class_id, boxes, n_workers)
    need = _needed(n_workers, min_support)
    found = []
    for i in sorted(set(img.tolist())):
        workers = sorted({int(wrk[j]) for j in range(len(img)) if img[j] == i})
        # Slot order of the vectorised version: by worker, then input order.
        idx = sorted((j for j in range(len(img)) if img[j] == i), key=lambda j: (workers.index(wrk[j]), j))
        alive = set(idx)

        def best_of(seed, w):
            best, best_j = 0.0, None
            for j in idx:
                if j in alive and wrk[j] == w != wrk[seed] and cls[j] == cls[seed]:
                    v = _iou_one(xyxy[seed], xyxy[j])
                    if v >= iou_threshold and v > best:
                        best, best_j = v, j
            return best, best_j

        rnd = 0
        while alive:
            top = None
            for j in idx:
                if j in alive:
                    matches = [best_of(j, w)[0] for w in workers]
                    support = 1 + sum(v > 0 for v in matches)
                    score = support + sum(matches) / (len(workers) + 1)
                    if top is None or score > top[0]:
                        top = (score, j, support)
            _, seed, support = top
            if support < need[i]:
                break
            members = [seed] + [j for w in workers if (j := best_of(seed, w)[1]) is not None]
            alive -= set(members)
            found.append((np.array(members), np.full(len(members), seed), np.full(len(members), rnd)))
            rnd += 1
    return _from_clusters(found, img, wrk, cls, xyxy, n_workers, weights)


def iou(a, b) -> np.ndarray:
    """IoU of every box in ``a`` with every box in ``b`` (left, top, width, height): (len(a), len(b))."""
    return _iou_xyxy(_xyxy(np.asarray(a, np.float64).reshape(-1, 4)),
                     _xyxy(np.asarray(b, np.float64).reshape(-1, 4)))


def detection_scores(pred_image, pred_class, pred_boxes, true_image, true_class, true_boxes, *,
                     iou_threshold: float = IOU_THRESHOLD) -> dict[str, float]:
    """Precision, recall and F1 at ``iou_threshold``, and the mean IoU of matched pairs.

    Matching is greedy by IoU within image and class (as COCO's evaluation does); each box matches
    at most once. For comparing a consolidation (or a worker) with known boxes.
    """
    pi, pc, pb = np.asarray(pred_image), np.asarray(pred_class), np.asarray(pred_boxes, np.float64).reshape(-1, 4)
    ti, tc, tb = np.asarray(true_image), np.asarray(true_class), np.asarray(true_boxes, np.float64).reshape(-1, 4)
    matched, ious = 0, []
    p_order, t_order = np.argsort(pi, kind="stable"), np.argsort(ti, kind="stable")
    p_edges = np.searchsorted(pi[p_order], np.union1d(pi, ti))
    t_edges = np.searchsorted(ti[t_order], np.union1d(pi, ti))
    p_ends = np.r_[p_edges[1:], len(pi)]
    t_ends = np.r_[t_edges[1:], len(ti)]
    for ps, pe, ts, te in zip(p_edges, p_ends, t_edges, t_ends):
        p, t = p_order[ps:pe], t_order[ts:te]
        if len(p) == 0 or len(t) == 0:
            continue
        m = iou(pb[p], tb[t]) * (pc[p][:, None] == tc[t][None, :])
        m[m < iou_threshold] = 0
        while m.size and m.max() > 0:
            r, c = np.unravel_index(np.argmax(m), m.shape)
            ious.append(m[r, c])
            matched += 1
            m[r, :] = 0
            m[:, c] = 0
    precision = matched / len(pb) if len(pb) else 1.0
    recall = matched / len(tb) if len(tb) else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "mean_iou": float(np.mean(ious)) if ious else 0.0, "matched": matched}


# ---------------------------------------------------------------------------- internals

def _inputs(image, worker, class_id, boxes, n_workers):
    img = np.asarray(image, np.int64).ravel()
    wrk = np.asarray(worker, np.int64).ravel()
    cls = np.asarray(class_id, np.int64).ravel()
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not (len(img) == len(wrk) == len(cls) == len(b)):
        raise ValueError(f"image, worker, class_id and boxes differ in length "
                         f"({len(img)}, {len(wrk)}, {len(cls)}, {len(b)}); give one of each per box.")
    if not np.isfinite(b).all() or (b[:, 2:] <= 0).any():
        raise ValueError("every box needs finite coordinates and a positive width and height.")
    n_workers = np.asarray(n_workers, np.int64).ravel()
    if len(img) and img.max() >= len(n_workers):
        raise ValueError(f"n_workers has {len(n_workers)} images, but a box is on image {img.max()}.")
    return img, wrk, cls, _xyxy(b), n_workers


def _needed(n_workers: np.ndarray, min_support: float) -> np.ndarray:
    # "At least half": 3 of 5, 2 of 3 or 4, 1 of 1 or 2 (a small epsilon against 0.5 * 6 = 3.0000001).
    return np.maximum(1, np.ceil(n_workers * min_support - 1e-9)).astype(np.int64)


def _xyxy(b: np.ndarray) -> np.ndarray:
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)


def _iou_xyxy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def _iou_one(a, b) -> float:
    return float(_iou_xyxy(np.asarray(a, np.float64)[None], np.asarray(b, np.float64)[None])[0, 0])


def _cluster_chunk(ci, cw, ck, cls, xyxy, index, n, w, k, need, thr):
    """Clusters of one chunk of ``n`` images padded to ``w`` workers x ``k`` boxes each:
    (box index, round, seed box index) for every box that joins a kept cluster."""
    s = w * k
    slot = cw * k + ck
    box = np.zeros((n, s, 4), np.float32)
    box[ci, slot] = xyxy
    klass = np.full((n, s), -1, np.int64)
    klass[ci, slot] = cls
    alive = np.zeros((n, s), bool)
    alive[ci, slot] = True
    where = np.full((n, s), -1, np.int64)
    where[ci, slot] = index
    owner = np.repeat(np.arange(w), k)
    # IoU of every slot with every slot of the same image; 0 unless the two can match.
    lt = np.maximum(box[:, :, None, :2], box[:, None, :, :2])
    rb = np.minimum(box[:, :, None, 2:], box[:, None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=3)
    del lt, rb
    area = np.prod(box[:, :, 2:] - box[:, :, :2], axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = inter / (area[:, :, None] + area[:, None, :] - inter)
    can = (alive[:, :, None] & alive[:, None, :] & (klass[:, :, None] == klass[:, None, :])
           & (owner[:, None] != owner[None, :])[None])
    m = np.where(can & (m >= thr), m, np.float32(0)).reshape(n, s, w, k)
    del inter, can

    out = []
    rows = np.arange(n)
    rnd = 0
    while len(rows):
        sub = m[rows]
        sub *= alive[rows].reshape(len(rows), 1, w, k)
        best = sub.max(3)                                     # (r, s, w): best IoU with each worker
        support = 1 + np.count_nonzero(best, axis=2)
        score = np.where(alive[rows], support + best.sum(2, dtype=np.float64) / (w + 1), -1.0)
        seed = score.argmax(1)
        r = np.arange(len(rows))
        go = alive[rows].any(1) & (support[r, seed] >= need[rows])
        rows, seed, r = rows[go], seed[go], r[go]
        if not len(rows):
            break
        pick = sub[r, seed].argmax(2)                         # (r, w): each worker's box for the seed
        rr, ww = np.nonzero(best[r, seed] > 0)
        member_rows = np.r_[rows, rows[rr]]
        member_slots = np.r_[seed, ww * k + pick[rr, ww]]
        alive[member_rows, member_slots] = False
        seeds = where[rows, seed]
        out.append((where[member_rows, member_slots], np.r_[seeds, seeds[rr]],
                    np.full(len(member_rows), rnd)))
        rnd += 1
    return out


def _from_clusters(found, img, wrk, cls, xyxy, n_workers, weights) -> BoxConsensus:
    """Boxes, confidences and support from ``(member box, seed box, round)`` triples."""
    if weights not in ("learned", "equal"):
        raise ValueError(f"weights={weights!r}; use 'learned' or 'equal'.")
    if not found or not sum(len(f[0]) for f in found):
        return _empty()
    member, seed, rnd = (np.concatenate(x) for x in zip(*found))
    # Clusters in image order, then in the order they formed (best supported first).
    key = np.unique(np.c_[img[seed], rnd, seed], axis=0)
    by_seed = np.argsort(key[:, 2])
    cluster = by_seed[np.searchsorted(key[:, 2], seed, sorter=by_seed)]
    n_c = len(key)
    support = np.bincount(cluster, minlength=n_c)
    mean = _weighted_mean(cluster, xyxy[member], np.ones(len(member)), n_c)
    if weights == "learned":
        mean = _weighted_mean(cluster, xyxy[member], _worker_weights(cluster, member, wrk, xyxy, mean, support), n_c)
    ious = _pair_iou(mean[cluster], xyxy[member])
    mean_iou = np.bincount(cluster, ious, minlength=n_c) / support
    n_img_workers = n_workers[key[:, 0]]
    conf = np.where(n_img_workers > 1, support / np.maximum(n_img_workers, 1) * mean_iou, 0.0)
    return _result(key[:, 0], cls[key[:, 2]], mean, conf, support)


def _weighted_mean(cluster, xyxy, weight, n_c):
    total = np.bincount(cluster, weight, minlength=n_c)
    return np.stack([np.bincount(cluster, weight * xyxy[:, j], minlength=n_c) for j in range(4)], 1) / total[:, None]


_PRIOR_BOXES = 5.0   # a worker's error estimate starts as the crowd's, worth this many boxes


def _worker_weights(cluster, member, wrk, xyxy, mean, support):
    """Per member box: 1 / its worker's mean squared error (relative to box size), estimated from
    clusters of 2 or more boxes and shrunk toward the crowd's error."""
    scale = np.tile(np.maximum(mean[:, 2:] - mean[:, :2], 1e-9), 2)   # width, height, width, height
    rel = (xyxy[member] - mean[cluster]) / scale[cluster]
    n = support[cluster]
    shared = n > 1
    # The residual from a mean that includes the box itself is short by a factor (n - 1) / n.
    sq = np.where(shared, (rel ** 2).sum(1) * n / np.maximum(n - 1, 1), 0.0)
    workers, w_of = np.unique(wrk[member], return_inverse=True)
    sse = np.bincount(w_of, sq, minlength=len(workers))
    count = np.bincount(w_of, shared * 4.0, minlength=len(workers))
    crowd = sse.sum() / count.sum() if count.sum() else 1.0
    mse = (sse + _PRIOR_BOXES * 4 * crowd) / (count + _PRIOR_BOXES * 4)
    return 1.0 / np.maximum(mse, 1e-12)[w_of]


def _pair_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of ``a[i]`` with ``b[i]`` (xyxy)."""
    lt = np.maximum(a[:, :2], b[:, :2])
    rb = np.minimum(a[:, 2:], b[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    union = np.prod(a[:, 2:] - a[:, :2], axis=1) + np.prod(b[:, 2:] - b[:, :2], axis=1) - inter
    return inter / union


def _result(img, cls, xyxy, conf, support) -> BoxConsensus:
    ltwh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1) if len(xyxy) else xyxy.reshape(0, 4)
    return BoxConsensus(img, cls, ltwh, np.round(np.asarray(conf, np.float64), 2), support)


def _empty() -> BoxConsensus:
    z = np.zeros(0, np.int64)
    return BoxConsensus(z, z.copy(), np.zeros((0, 4)), np.zeros(0), z.copy())
