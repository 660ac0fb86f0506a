"""Training targets, computed per sample with numpy (in the data loader, as part of the sample stream).

Score-map cell p of an S-cell map is centred on search-image coordinate search_size / 2 + stride (p - (S - 1) / 2)
(models/backbones.py). Boxes are [x, y, w, h] in search-crop pixels.
"""
from __future__ import annotations

import numpy as np


def cell_centres(score_size: int, stride: int, search_size: int) -> np.ndarray:
    """Search-image coordinate of the centre of each score-map row (or column)."""
    return search_size / 2 + stride * (np.arange(score_size) - (score_size - 1) / 2)


class SiamFCLabels:
    """SiamFC's labels (Bertinetto et al. 2016, eq. 6): +1 where k ||u - c|| <= R, -1 elsewhere, with u a cell
    and c the target centre in the score map, k the stride; R = 16 px in section 4.1. A negative pair is -1
    everywhere."""

    def __init__(self, score_size: int, stride: int, search_size: int, radius: float):
        self.centres = cell_centres(score_size, stride, search_size)
        self.radius = radius

    def __call__(self, box_xywh, negative: bool = False, rng=None) -> dict:
        x, y, w, h = box_xywh
        if negative:
            label = np.full((len(self.centres),) * 2, -1.0)
        else:
            distance = np.hypot(self.centres[None, :] - (x + w / 2), self.centres[:, None] - (y + h / 2))
            label = np.where(distance <= self.radius, 1.0, -1.0)
        return {"label": label[None].astype(np.float32)}


def anchor_boxes(score_size: int, stride: int, search_size: int, ratios, scales,
                 integer: bool = False) -> np.ndarray:
    """Anchors (4, k, S, S) as (cx, cy, w, h), k = len(ratios) * len(scales): side stride * scale at ratio 1,
    the same area at ratio h / w = r (SiamRPN, Li et al. 2018, section 4.1: ratios 0.33, 0.5, 1, 2, 3, scale 8).
    `integer`: the released SiamRPN, DaSiamRPN and pysot truncate the sides in stride units before scaling
    (w = int(sqrt(stride^2 / r)) * scale, h = int(w' r) * scale: 104 x 32 rather than 110.9 x 36.6 at r = 0.33)."""
    shapes = []
    for ratio in ratios:
        for scale in scales:
            if integer:
                cells = int(np.sqrt(stride ** 2 / ratio))
                shapes.append((cells * scale, int(cells * ratio) * scale))
                continue
            w = np.sqrt((stride * scale) ** 2 / ratio)
            shapes.append((w, w * ratio))
    centres = cell_centres(score_size, stride, search_size)
    k, s = len(shapes), score_size
    anchors = np.empty((4, k, s, s))
    anchors[0], anchors[1] = centres[None, None, :], centres[None, :, None]
    anchors[2] = np.array([w for w, _ in shapes])[:, None, None]
    anchors[3] = np.array([h for _, h in shapes])[:, None, None]
    return anchors


def iou_with_box(anchors_cxcywh: np.ndarray, box_xywh) -> np.ndarray:
    """IoU of every anchor (4, ...) with one box."""
    cx, cy, w, h = anchors_cxcywh
    x, y, bw, bh = box_xywh
    iw = np.clip(np.minimum(cx + w / 2, x + bw) - np.maximum(cx - w / 2, x), 0, None)
    ih = np.clip(np.minimum(cy + h / 2, y + bh) - np.maximum(cy - h / 2, y), 0, None)
    inter = iw * ih
    return inter / (w * h + bw * bh - inter)


def encode(anchors_cxcywh: np.ndarray, box_xywh) -> np.ndarray:
    """Regression targets (dx, dy, log dw, log dh) of a box against every anchor (SiamRPN section 3.3)."""
    cx, cy, w, h = anchors_cxcywh
    x, y, bw, bh = box_xywh
    return np.stack([(x + bw / 2 - cx) / w, (y + bh / 2 - cy) / h, np.log(bw / w), np.log(bh / h)])


class AnchorTargets:
    """SiamRPN's anchor labels (section 3.4, after Faster R-CNN): IoU > pos_iou positive, < neg_iou negative, at
    most `positives` positives among `samples` sampled anchors, the rest ignored (-1). On a negative pair only
    anchors within `centre_cells` of the centre are sampled, as negatives (DaSiamRPN's negative pairs: a
    distractor placed where the target would be must score low)."""

    def __init__(self, score_size: int, stride: int, search_size: int, ratios, scales, pos_iou: float,
                 neg_iou: float, positives: int, samples: int, centre_cells: int, integer_anchors: bool = False):
        self.anchors = anchor_boxes(score_size, stride, search_size, ratios, scales, integer_anchors)
        self.pos_iou, self.neg_iou = pos_iou, neg_iou
        self.positives, self.samples, self.centre_cells = positives, samples, centre_cells

    def __call__(self, box_xywh, negative: bool, rng: np.random.Generator) -> dict:
        shape = self.anchors.shape[1:]
        cls = np.full(shape, -1, np.int64)
        loc_weight = np.zeros(shape, np.float32)
        if negative:
            k, s, _ = shape
            near = np.abs(np.arange(s) - (s - 1) / 2) <= self.centre_cells
            candidates = np.flatnonzero(np.broadcast_to(near[None, :, None] & near[None, None, :], shape))
            cls.flat[rng.choice(candidates, min(len(candidates), self.samples - self.positives), replace=False)] = 0
            return {"cls": cls, "loc": np.zeros((4, *shape), np.float32), "loc_weight": loc_weight}
        iou = iou_with_box(self.anchors, box_xywh)
        pos, neg = np.flatnonzero(iou > self.pos_iou), np.flatnonzero(iou < self.neg_iou)
        pos = rng.choice(pos, min(len(pos), self.positives), replace=False)
        neg = rng.choice(neg, min(len(neg), self.samples - len(pos)), replace=False)
        cls.flat[neg], cls.flat[pos] = 0, 1
        loc_weight.flat[pos] = 1 / max(1, len(pos))
        return {"cls": cls, "loc": encode(self.anchors, box_xywh).astype(np.float32), "loc_weight": loc_weight}
