"""DAVIS video object segmentation (Perazzi et al. 2016; Pont-Tuset et al. 2017): region similarity J,
contour accuracy F, their mean, recall and decay, and J&F, with the conventions of the official
davis2017-evaluation code as ../shared/reference/metrics/README.md states them
(tests/pipeline/benchmarks/test_davis_metrics.py reproduces its golden values)."""
from __future__ import annotations

import warnings

import numpy as np

DAVIS_BOUND_TH = 0.008  # DAVIS 2016 section 3.1: the boundary tolerance, a fraction of the image diagonal
DAVIS_DECAY_CONVENTIONS = ("official", "exact")  # pipeline/config/schema.py DAVIS_DECAY_RULES names them too
DAVIS_KEYS = ("j_mean", "j_recall", "j_decay", "f_mean", "f_recall", "f_decay")


def jaccard(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None) -> np.ndarray:
    """Region similarity J per frame of (..., H, W) masks: |G and P| / |G or P| over the pixels that are not
    void; 1 where the union is empty (both masks empty)."""
    gt, pred = np.asarray(gt, bool), np.asarray(pred, bool)
    keep = ~np.asarray(void, bool) if void is not None else np.ones(gt.shape, bool)
    inter = np.sum(gt & pred & keep, axis=(-2, -1))
    union = np.sum((gt | pred) & keep, axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union == 0, 1.0, inter / np.maximum(union, 1))


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """The 1-px boundary of a mask as the official code draws it: a pixel that differs from its right, lower
    or lower-right neighbour (0 outside the image), in the last row its right one only, in the last column
    its lower one only; never the bottom-right pixel. The image border itself is no boundary."""
    seg = np.asarray(mask, bool)
    right, below, diagonal = np.zeros_like(seg), np.zeros_like(seg), np.zeros_like(seg)
    right[:, :-1], below[:-1, :], diagonal[:-1, :-1] = seg[:, 1:], seg[1:, :], seg[1:, 1:]
    boundary = (seg ^ right) | (seg ^ below) | (seg ^ diagonal)
    boundary[-1, :] = seg[-1, :] ^ right[-1, :]
    boundary[:, -1] = seg[:, -1] ^ below[:, -1]
    boundary[-1, -1] = False
    return boundary


def bound_pix(height: int, width: int, bound_th: float = DAVIS_BOUND_TH) -> int:
    """The F tolerance in pixels: bound_th of the diagonal, rounded up; a bound_th >= 1 is pixels already."""
    return int(bound_th if bound_th >= 1 else np.ceil(bound_th * np.hypot(height, width)))


def _disk(radius: int) -> np.ndarray:
    """The offsets with dx^2 + dy^2 <= radius^2, as a (2r+1) square uint8 kernel (skimage's disk)."""
    offsets = np.arange(-radius, radius + 1)
    return (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius ** 2).astype(np.uint8)


def f_boundary(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None,
               bound_th: float = DAVIS_BOUND_TH) -> float:
    """Contour accuracy F of one frame (DAVIS 2016 section 3.1): the F-measure of boundary precision and
    recall, a boundary pixel matching when the other boundary lies within bound_pix of it."""
    import cv2

    gt, pred = np.asarray(gt, bool), np.asarray(pred, bool)
    if void is not None:
        gt, pred = gt & ~np.asarray(void, bool), pred & ~np.asarray(void, bool)
    kernel = _disk(bound_pix(*gt.shape, bound_th))
    gt_boundary, pred_boundary = boundary_map(gt), boundary_map(pred)
    n_gt, n_pred = int(gt_boundary.sum()), int(pred_boundary.sum())
    if n_gt == 0 or n_pred == 0:  # one boundary missing: P, R = (1, 0), (0, 1), or (1, 1) for neither
        precision, recall = float(n_pred == 0), float(n_gt == 0)
    else:
        precision = np.sum(pred_boundary & cv2.dilate(gt_boundary.astype(np.uint8), kernel).astype(bool)) / n_pred
        recall = np.sum(gt_boundary & cv2.dilate(pred_boundary.astype(np.uint8), kernel).astype(bool)) / n_gt
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))


def davis_statistics(values, decay: str = "official") -> tuple[float, float, float]:
    """(mean, recall, decay) of one object's per-frame J or F (DAVIS 2016 section 3.2): the mean; the share of
    frames above 0.5; the mean of the first of four temporal bins minus that of the last. The bins are cut
    at round(linspace(1, N, 5)) - 1, end-inclusive (neighbours share a frame). "official" casts those
    indices to uint8 as the official code does, which wraps above 256 frames (decay NaN there); "exact"
    does not."""
    if decay not in DAVIS_DECAY_CONVENTIONS:
        raise ValueError(f"unknown decay convention {decay!r} ({', '.join(DAVIS_DECAY_CONVENTIONS)})")
    values = np.asarray(values, float)
    ids = np.round(np.linspace(1, len(values), 5) + 1e-10).astype(int) - 1
    if decay == "official":
        ids = ids.astype(np.uint8)
    bins = [values[ids[i]:ids[i + 1] + 1] for i in range(4)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an empty bin (the uint8 wrap) has no mean
        return float(np.nanmean(values)), float(np.mean(values > 0.5)), \
            float(np.nanmean(bins[0]) - np.nanmean(bins[3]))


def davis_per_frame(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None,
                    bound_th: float = DAVIS_BOUND_TH) -> tuple[np.ndarray, np.ndarray]:
    """J and F of every frame of one object's (T, H, W) masks."""
    voids = [None] * len(gt) if void is None else void
    return jaccard(gt, pred, void), np.array([f_boundary(g, p, v, bound_th) for g, p, v in zip(gt, pred, voids)])


def object_masks(labels: np.ndarray, n_objects: int) -> np.ndarray:
    """(K, T, H, W) bool masks of objects 1 .. K from (T, H, W) label images (an absent object: empty)."""
    return np.asarray(labels)[None] == np.arange(1, n_objects + 1)[:, None, None, None]


def davis_semi_supervised(gt_labels: np.ndarray, pred_labels: np.ndarray, bound_th: float = DAVIS_BOUND_TH,
                          decay: str = "official") -> list[dict]:
    """The semi-supervised task (DAVIS 2017): per object of the first ground-truth frame, J and F over the
    frames between the first and the last (both excluded, as the official evaluation does), void pixels
    (label 255) counted as background, and their statistics. Label images are (T, H, W) integers."""
    gt_labels, pred_labels = np.asarray(gt_labels), np.asarray(pred_labels)
    if gt_labels.shape != pred_labels.shape:
        raise ValueError(f"prediction {pred_labels.shape} and ground truth {gt_labels.shape} differ in size")
    n_objects = int(gt_labels[0][gt_labels[0] != 255].max(initial=0))
    if pred_labels[1:-1].max(initial=0) > n_objects:
        raise ValueError(f"the prediction has object {int(pred_labels[1:-1].max())}, the ground truth "
                         f"{n_objects} objects")
    gt, pred = object_masks(gt_labels[1:-1], n_objects), object_masks(pred_labels[1:-1], n_objects)
    return [_object_scores(*davis_per_frame(g, p, None, bound_th), decay) for g, p in zip(gt, pred)]


def davis_unsupervised(gt_labels: np.ndarray, proposals: np.ndarray, bound_th: float = DAVIS_BOUND_TH,
                       decay: str = "official") -> list[dict]:
    """The unsupervised task (DAVIS 2017): proposals (P, T, H, W) matched one to one to the ground-truth
    objects by the Hungarian method on their mean (J + F) / 2 over all frames, void pixels excluded; the
    matched pairs in proposal order, as the official evaluation returns them."""
    from scipy.optimize import linear_sum_assignment

    gt_labels = np.asarray(gt_labels)
    void = gt_labels == 255
    gt = object_masks(np.where(void, 0, gt_labels), int(gt_labels[0][~void[0]].max(initial=0)))
    proposals = np.asarray(proposals, bool)
    if len(proposals) < len(gt):  # missing proposals are empty masks
        proposals = np.concatenate([proposals, np.zeros((len(gt) - len(proposals), *gt.shape[1:]), bool)])
    scores = [[davis_per_frame(g, p, void, bound_th) for g in gt] for p in proposals]
    quality = np.array([[(j.mean() + f.mean()) / 2 for j, f in row] for row in scores])
    rows, cols = linear_sum_assignment(-quality)
    return [_object_scores(*scores[r][c], decay) for r, c in zip(rows, cols)]


def _object_scores(j: np.ndarray, f: np.ndarray, decay: str) -> dict:
    stats = (*davis_statistics(j, decay), *davis_statistics(f, decay))
    return {**dict(zip(DAVIS_KEYS, stats)), "j_per_frame": j, "f_per_frame": f}


def davis_overall(per_object: list[dict]) -> dict:
    """The benchmark table: each statistic averaged over all objects of all sequences (not per sequence
    first), and J&F = (J mean + F mean) / 2."""
    overall = {k: float(np.mean([o[k] for o in per_object])) for k in DAVIS_KEYS}
    return {"jf_mean": (overall["j_mean"] + overall["f_mean"]) / 2, **overall}
