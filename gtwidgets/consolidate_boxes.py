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
_CHUNK_CELLS = 1_000_000   # IoU cells (images x boxes^2) computed at once: tens of MB of float64


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
    # Boxes sorted by image, then worker, then input order: the order ties are decided in.
    order = np.lexsort((np.arange(len(img)), wrk, img))
    s_img, s_wrk, s_cls, s_xyxy = img[order], wrk[order], cls[order], xyxy[order]
    a, b, v = _candidate_pairs(s_img, s_wrk, s_cls, s_xyxy, iou_threshold)
    found = _cluster(s_img, s_wrk, a, b, v, need)
    return _from_clusters([(order[m], order[s], r) for m, s, r in found], img, wrk, cls, xyxy, n_workers, weights)


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


def _candidate_pairs(img, wrk, cls, xyxy, thr):
    """Every ordered pair of boxes (positions ``a``, ``b``) of one image and class, of different
    workers, with IoU >= ``thr``. IoU is computed densely per (image, class) group, in chunks of
    groups of similar size, so that one crowded image does not pad all the others."""
    group_key = img * (int(cls.max()) - int(cls.min()) + 1) + (cls - cls.min())
    by_group = np.argsort(group_key, kind="stable")
    key = group_key[by_group]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    counts = np.diff(np.r_[starts, len(key)])
    group_of = np.empty(len(img), np.int64)
    group_of[by_group] = np.repeat(np.arange(len(starts)), counts)
    slot = np.empty(len(img), np.int64)
    slot[by_group] = np.arange(len(img)) - np.repeat(starts, counts)
    by_count = np.argsort(counts, kind="stable")
    out_a, out_b, out_v = [], [], []
    lo = 0
    while lo < len(by_count):
        size = int(counts[by_count[lo]])
        hi = lo + 1
        while hi < len(by_count) and (hi - lo + 1) * int(counts[by_count[hi]]) ** 2 <= _CHUNK_CELLS:
            hi += 1
        chunk = by_count[lo:hi]
        size = int(counts[chunk].max())
        local = np.full(len(starts), -1)
        local[chunk] = np.arange(len(chunk))
        sel = np.flatnonzero(local[group_of] >= 0)
        row, col = local[group_of[sel]], slot[sel]
        box = np.full((len(chunk), size, 4), np.nan)
        box[row, col] = xyxy[sel]
        where = np.full((len(chunk), size), -1)
        where[row, col] = sel
        lt = np.maximum(box[:, :, None, :2], box[:, None, :, :2])
        rb = np.minimum(box[:, :, None, 2:], box[:, None, :, 2:])
        inter = np.prod(np.clip(rb - lt, 0, None), axis=3)
        area = np.prod(box[:, :, 2:] - box[:, :, :2], axis=2)
        with np.errstate(invalid="ignore"):
            m = inter / (area[:, :, None] + area[:, None, :] - inter)
            r, i, j = np.nonzero(m >= thr)
        pa, pb = where[r, i], where[r, j]
        keep = wrk[pa] != wrk[pb]
        out_a.append(pa[keep])
        out_b.append(pb[keep])
        out_v.append(m[r[keep], i[keep], j[keep]])
        lo = hi
    return np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_v)


def _cluster(img, wrk, a, b, v, need):
    """Greedy clusters, a round at a time for all images: each image's best-supported live box
    seeds a cluster, each other worker's live box of highest IoU with it joins.
    Returns ``(member positions, seed positions, round)`` per round."""
    n = len(img)
    # Per (box, other worker), the best partner first: IoU descending, then position.
    o = np.lexsort((b, -v, wrk[b], a))
    a, b, v = a[o], b[o], v[o]
    starts = np.flatnonzero(np.r_[True, img[1:] != img[:-1]])
    image_of = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
    need_of = need[img[starts]]
    scale = float(len(np.unique(wrk))) + 1    # keeps summed IoU below one support step
    alive = np.ones(n, bool)
    found = []
    rnd = 0
    while alive.any():
        live = alive[a] & alive[b]
        a, b, v = a[live], b[live], v[live]
        first = np.flatnonzero(np.r_[True, (a[1:] != a[:-1]) | (wrk[b[1:]] != wrk[b[:-1]])]) if len(a) else a
        support = 1 + np.bincount(a[first], minlength=n)
        score = np.where(alive, support + np.bincount(a[first], v[first], minlength=n) / scale, -1.0)
        top = np.maximum.reduceat(score, starts)
        candidates = np.flatnonzero(alive & (score == top[image_of]))
        images, pick = np.unique(image_of[candidates], return_index=True)
        seeds = candidates[pick]
        go = support[seeds] >= need_of[images]
        # An image whose best seed lacks support is finished: its other boxes are dropped.
        alive[np.isin(image_of, images[~go])] = False
        seeds = seeds[go]
        if not len(seeds):
            break
        is_seed = np.zeros(n, bool)
        is_seed[seeds] = True
        joined = first[is_seed[a[first]]]
        members, seed_of = np.r_[seeds, b[joined]], np.r_[seeds, a[joined]]
        alive[members] = False
        found.append((members, seed_of, np.full(len(members), rnd)))
        rnd += 1
    return found


def _from_clusters(found, img, wrk, cls, xyxy, n_workers, weights) -> BoxConsensus:
    """Boxes, confidences and support from ``(member box, seed box, round)`` triples."""
    if weights not in ("learned", "equal"):
        raise ValueError(f"weights={weights!r}; use 'learned' or 'equal'.")
    if not found or not sum(len(f[0]) for f in found):
        return _empty()
    member, seed, rnd = (np.concatenate(x) for x in zip(*found))
    # Clusters in image order, then in the order they formed (best supported first).
    seeds = np.flatnonzero(np.bincount(seed, minlength=len(img)))
    first_round = np.zeros(len(img), np.int64)
    first_round[seed] = rnd
    seeds = seeds[np.lexsort((seeds, first_round[seeds], img[seeds]))]
    key = np.c_[img[seeds], first_round[seeds], seeds]
    cluster_of_seed = np.empty(len(img), np.int64)
    cluster_of_seed[seeds] = np.arange(len(seeds))
    cluster = cluster_of_seed[seed]
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
