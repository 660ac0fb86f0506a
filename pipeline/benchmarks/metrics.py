"""Tracking metrics: pure numpy functions, checked against ../shared/reference/metrics (tests/pipeline/benchmarks).

Boxes are [x, y, w, h] rows; 0- or 1-based alike, since only differences and sizes enter. Where the official
toolkits and the popular Python ones disagree, the official convention is the default and the others are
named options:

- invalid ground truth (a zero-size or NaN row): the OTB rule (official OTB toolkit, and pysot): the frame
  fails every success threshold and passes every precision threshold, and stays in the denominator;
- absent frames (LaSOT's full_occlusion | out_of_view, `visible=False`): they stay in the denominator and fail
  every threshold (official LaSOT toolkit, pysot, pytracking);
- normalized precision: "lasot" (official LaSOT: the curve at 0.20), "got10k" (the mean of the 51-point
  curve), "trackingnet" (the trapezoid area under the curve over [0, 0.5], divided by 0.5);
- EAO: "official" (VOT 2016-2019 toolkit) or "pysot" (a failure exactly `skip` frames before the end ends
  a completed, zero-padded run instead of the unfinished last one).
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np

SUCCESS_THRESHOLDS = np.linspace(0, 1, 21)         # OTB (Wu et al. 2013): IoU 0, 0.05, ..., 1
PRECISION_THRESHOLDS = np.arange(51, dtype=float)  # centre distance 0 ... 50 px; the score is at 20 px
NORM_PRECISION_THRESHOLDS = np.arange(51) / 100    # LaSOT (Fan et al. 2019, section 4.1): 0 ... 0.5
NORM_PRECISION_CONVENTIONS = ("lasot", "got10k", "trackingnet")
EAO_CONVENTIONS = ("official", "pysot")
# The sequence-length interval of the EAO average, per VOT challenge (from each year's toolkit).
EAO_INTERVALS = {"VOT2016": (108, 371), "VOT2017": (100, 356), "VOT2018": (100, 356), "VOT2019": (46, 291)}


def iou_xywh(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Continuous IoU (no +1 pixel) of each row of two (n, 4) arrays of [x, y, w, h], in [0, 1]."""
    pred, gt = np.asarray(pred, float), np.asarray(gt, float)
    iw = np.minimum(pred[:, 0] + pred[:, 2], gt[:, 0] + gt[:, 2]) - np.maximum(pred[:, 0], gt[:, 0])
    ih = np.minimum(pred[:, 1] + pred[:, 3], gt[:, 1] + gt[:, 3]) - np.maximum(pred[:, 1], gt[:, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = pred[:, 2] * pred[:, 3] + gt[:, 2] * gt[:, 3] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(np.nan_to_num(inter / union), 0, 1)


def valid_boxes(boxes: np.ndarray) -> np.ndarray:
    """Rows with a finite, positive width and height."""
    boxes = np.asarray(boxes, float)
    return np.isfinite(boxes).all(1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)


def _centres(boxes: np.ndarray) -> np.ndarray:
    return boxes[:, :2] + boxes[:, 2:] / 2


@dataclass(frozen=True)
class FrameErrors:
    """Per-frame IoU, centre distance (px) and centre distance normalized by the ground-truth size, with the
    conventions applied: -1 for invalid ground truth (fails success, passes precision), and for absent frames
    IoU -1 and distances inf (fail everything)."""
    iou: np.ndarray
    distance: np.ndarray
    norm_distance: np.ndarray


def frame_errors(pred_xywh: np.ndarray, gt_xywh: np.ndarray, visible: np.ndarray | None = None,
                 invalid_gt: str = "otb") -> FrameErrors:
    """invalid_gt "otb" applies the OTB rule; "as_is" scores such rows like any box, as got10k's toolkit does
    (a zero-size box is then missed by the IoU and by the normalized distance)."""
    pred, gt = np.asarray(pred_xywh, float), np.asarray(gt_xywh, float)
    if pred.shape != gt.shape or pred.ndim != 2 or pred.shape[1] != 4:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} must both be (n, 4)")
    if invalid_gt not in ("otb", "as_is"):
        raise ValueError(f"unknown invalid_gt convention {invalid_gt!r} (otb, as_is)")
    valid = valid_boxes(gt) if invalid_gt == "otb" else np.ones(len(gt), bool)
    iou, distance, norm = np.full(len(gt), -1.0), np.full(len(gt), -1.0), np.full(len(gt), -1.0)
    iou[valid] = iou_xywh(pred[valid], gt[valid])
    offset = _centres(pred[valid]) - _centres(gt[valid])
    distance[valid] = np.hypot(*offset.T)
    with np.errstate(divide="ignore", invalid="ignore"):
        norm[valid] = np.nan_to_num(np.hypot(*(offset / gt[valid, 2:]).T), nan=np.inf)
    if visible is not None:
        absent = ~np.asarray(visible, bool)
        iou[absent], distance[absent], norm[absent] = -1.0, np.inf, np.inf
    # A prediction that is NaN (a tracker that lost itself) fails every threshold, never passes one.
    lost = ~np.isfinite(pred).all(1) & valid
    iou[lost], distance[lost], norm[lost] = -1.0, np.inf, np.inf
    return FrameErrors(iou, distance, norm)


def success_curve(iou: np.ndarray) -> np.ndarray:
    """Fraction of frames with IoU strictly greater than each of SUCCESS_THRESHOLDS."""
    return (np.asarray(iou)[None, :] > SUCCESS_THRESHOLDS[:, None]).mean(1)


def precision_curve(distance: np.ndarray, thresholds: np.ndarray = PRECISION_THRESHOLDS) -> np.ndarray:
    """Fraction of frames whose centre distance is at most each threshold."""
    return (np.asarray(distance)[None, :] <= thresholds[:, None]).mean(1)


def norm_precision_score(curve: np.ndarray, convention: str = "lasot") -> float:
    """The normalized-precision score of a curve over NORM_PRECISION_THRESHOLDS (see the module docstring)."""
    if convention == "lasot":
        return float(curve[20])
    if convention == "got10k":
        return float(np.mean(curve))
    if convention == "trackingnet":
        t = NORM_PRECISION_THRESHOLDS
        return float(np.sum((curve[1:] + curve[:-1]) / 2 * np.diff(t)) / t[-1])
    raise ValueError(f"unknown normalized precision convention {convention!r} ({', '.join(NORM_PRECISION_CONVENTIONS)})")


def ope_sequence(pred_xywh, gt_xywh, visible=None, norm_convention: str = "lasot", invalid_gt: str = "otb") -> dict:
    """One-pass evaluation of one sequence: the curves and success_auc, precision_20, norm_precision_20."""
    errors = frame_errors(pred_xywh, gt_xywh, visible, invalid_gt)
    success = success_curve(errors.iou)
    precision = precision_curve(errors.distance)
    norm = precision_curve(errors.norm_distance, NORM_PRECISION_THRESHOLDS)
    return {"success_auc": float(success.mean()), "precision_20": float(precision[20]),
            "norm_precision_20": norm_precision_score(norm, norm_convention),
            "success_curve": success, "precision_curve": precision, "norm_precision_curve": norm}


def ope_overall(per_sequence: dict[str, dict]) -> dict:
    """The benchmark score: the mean over sequences of each per-sequence score and curve (OTB, pysot)."""
    keys = ("success_auc", "precision_20", "norm_precision_20", "success_curve", "precision_curve",
            "norm_precision_curve")
    return {k: np.mean([s[k] for s in per_sequence.values()], axis=0) for k in keys}


def got10k_sequence(pred_xywh, gt_xywh, visible=None) -> dict:
    """GOT-10k (Huang et al. 2019, section 4.1): average overlap and success rates at 0.5 and 0.75 over the
    frames after the first (the initialization) whose target is visible."""
    iou = iou_xywh(np.asarray(pred_xywh, float)[1:], np.asarray(gt_xywh, float)[1:])
    if visible is not None:
        iou = iou[np.asarray(visible, bool)[1:]]
    return {"ao": float(iou.mean()), "sr50": float((iou > 0.5).mean()), "sr75": float((iou > 0.75).mean()),
            "ious": iou}


def got10k_overall(per_sequence: dict[str, dict]) -> dict:
    """AO and success rates over every evaluated frame of every sequence, as GOT-10k's toolkit pools them."""
    ious = np.concatenate([s["ious"] for s in per_sequence.values()])
    return {"ao": float(ious.mean()), "sr50": float((ious > 0.5).mean()), "sr75": float((ious > 0.75).mean())}


# --- VOT's supervised experiment ------------------------------------------------------------------------

@dataclass(frozen=True)
class VotRun:
    """One run over one sequence, from a VOT result file: per-frame overlap with the ground truth (NaN where
    the frame holds no region), and the 0-based frames marked 1 (initialization) and 2 (failure)."""
    overlaps: np.ndarray
    inits: np.ndarray
    failures: np.ndarray


def vot_run(records: list, overlap_of_region) -> VotRun:
    """A VotRun from result-file records: [1], [2], [0] (skipped) or a region, whose overlap with the ground
    truth of that frame `overlap_of_region(frame, region)` gives."""
    overlaps = np.full(len(records), np.nan)
    inits, failures = [], []
    for frame, record in enumerate(records):
        if len(record) == 1:
            {1: inits, 2: failures}.get(int(record[0]), []).append(frame)
        else:
            overlaps[frame] = overlap_of_region(frame, record)
    return VotRun(overlaps, np.array(inits, int), np.array(failures, int))


def vot_accuracy(runs: dict[str, list[VotRun]], burnin: int = 10, weighting: str = "sequence") -> float:
    """Accuracy: the mean overlap over tracked frames, the `burnin` frames from each (re)initialization
    excluded (VOT, Kristan et al. 2016, section 4.1). weighting "sequence" (official toolkits): the mean over
    repetitions of each sequence's mean, averaged with weights proportional to sequence length; "frame"
    (pysot): the mean over repetitions frame by frame, then over all frames of all sequences."""
    means, lengths, frames = [], [], []
    for repetitions in runs.values():
        overlaps = np.stack([_after_burnin(run, burnin) for run in repetitions])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a sequence without a scored frame has no mean
            means.append(np.nanmean(np.nanmean(overlaps, axis=1)))
            frames.append(np.nanmean(overlaps, axis=0))
        lengths.append(overlaps.shape[1])
    if weighting == "sequence":
        return float(np.average(means, weights=lengths))
    if weighting == "frame":
        return float(np.nanmean(np.concatenate(frames)))
    raise ValueError(f"unknown accuracy weighting {weighting!r} (sequence, frame)")


def _after_burnin(run: VotRun, burnin: int) -> np.ndarray:
    overlaps = run.overlaps.copy()
    for start in run.inits:
        overlaps[start:start + burnin] = np.nan
    return overlaps


def vot_robustness(runs: dict[str, list[VotRun]]) -> dict:
    """Failures of each sequence (mean over repetitions), their total, robustness as the VOT tables and pysot
    report it (100 x failures / frames), and failures per sequence as vot-toolkit averages them (weighted by
    sequence length)."""
    per_sequence = {name: float(np.mean([len(r.failures) for r in reps])) for name, reps in runs.items()}
    lengths = [len(reps[0].overlaps) for reps in runs.values()]
    total = sum(per_sequence.values())
    return {"failures": per_sequence, "failures_total": total, "robustness": 100 * total / sum(lengths),
            "failures_per_sequence": float(np.average(list(per_sequence.values()), weights=lengths))}


def expected_overlap_curve(runs: dict[str, list[VotRun]], skip: int = 5, convention: str = "official") -> np.ndarray:
    """The expected average overlap for each sequence length N_s (VOT, Kristan et al. 2016, section 4.2):
    each run is cut into fragments from one (re)initialization to the next (the restart `skip` frames after a
    failure); a fragment that ends in a failure is zero-padded, the last one is left open (NaN). The value at
    N_s is the weighted mean over fragments reaching N_s of their mean overlap over frames 1 .. N_s (frame 0,
    the initialization, is not counted). Fragments are weighted 1 / repetitions of their sequence."""
    if convention not in EAO_CONVENTIONS:
        raise ValueError(f"unknown EAO convention {convention!r} ({', '.join(EAO_CONVENTIONS)})")
    max_len = max(len(r.overlaps) for reps in runs.values() for r in reps)
    fragments, weights = [], []
    for repetitions in runs.values():
        for run in repetitions:
            length = len(run.overlaps)
            overlaps = np.nan_to_num(run.overlaps, nan=0.0)
            # official: a restart must fall inside the sequence; pysot also keeps one just past the end.
            limit = length + 1 if convention == "pysot" else length
            starts = [0] + [f + skip for f in run.failures if f + skip < limit]
            for i, start in enumerate(starts):
                row, weight = np.full(max_len, np.nan), 1 / len(repetitions)
                if i + 1 < len(starts):  # a failed run: up to and including the next restart, then zeros
                    end = starts[i + 1] + 1
                    row[:] = 0.0
                    piece = overlaps[start:end]
                    # pysot weighs a fragment by its share of frames inside the sequence: < 1 only for the
                    # restart just past the end that the official toolkit does not make.
                    weight *= (min(end, length) - start) / (end - start)
                else:
                    piece = overlaps[start:]
                    if not len(piece):  # pysot's empty last fragment weighs nothing
                        continue
                row[:len(piece)] = piece
                fragments.append(row)
                weights.append(weight)
    fragments, weights = np.array(fragments), np.array(weights)
    curve = np.zeros(max_len)
    curve[0] = 1.0
    sums = np.nancumsum(fragments[:, 1:], axis=1)  # overlap summed over frames 1 .. N_s
    for n in range(1, max_len):
        reach = ~np.isnan(fragments[:, n])
        if reach.any():
            curve[n] = np.sum(sums[reach, n - 1] / n * weights[reach]) / np.sum(weights[reach])
    return curve


def eao(curve: np.ndarray, interval: tuple[int, int]) -> float:
    """The expected average overlap: the mean of the curve over sequence lengths low .. high (1-based, both
    included). Lengths past the longest sequence have no value: the interval must lie inside the curve."""
    low, high = interval
    if not 1 <= low <= high <= len(curve):
        raise ValueError(f"EAO interval {low}-{high} does not fit sequences of at most {len(curve)} frames")
    return float(curve[low - 1:high].mean())


def eao_interval(text: str) -> tuple[int, int]:
    """A VOT year (VOT2016 ... VOT2019) or an explicit 'LOW-HIGH' (for other sequence lengths)."""
    if text in EAO_INTERVALS:
        return EAO_INTERVALS[text]
    match = re.fullmatch(r"(\d+)-(\d+)", text)
    if not match:
        raise ValueError(f"EAO interval must be one of {', '.join(EAO_INTERVALS)} or LOW-HIGH, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))


def _clip(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman: the part of polygon `subject` inside the convex polygon `clip` (both (k, 2))."""
    orientation = np.sign(np.sum(clip[:, 0] * np.roll(clip[:, 1], -1) - np.roll(clip[:, 0], -1) * clip[:, 1]))
    output = subject
    for a, b in zip(clip, np.roll(clip, -1, 0)):
        if not len(output):
            break
        edge = b - a
        side = orientation * (edge[0] * (output[:, 1] - a[1]) - edge[1] * (output[:, 0] - a[0]))
        points = []
        for i in range(len(output)):
            p, q, sp, sq = output[i], output[(i + 1) % len(output)], side[i], side[(i + 1) % len(output)]
            if sp >= 0:
                points.append(p)
            if (sp >= 0) != (sq >= 0):
                points.append(p + (q - p) * sp / (sp - sq))
        output = np.array(points).reshape(-1, 2)
    return output


def polygon_iou(a, b, bounds: tuple[float, float] | None = None) -> float:
    """IoU of two convex polygons given as flat [x1, y1, x2, y2, ...] (a 4-value [x, y, w, h] is taken as a
    rectangle), both first cut to the image rectangle [0, width] x [0, height] when `bounds` is given, as
    VOT's overlap does."""
    polygons = []
    for flat in (a, b):
        flat = np.asarray(flat, float)
        if len(flat) == 4:
            x, y, w, h = flat
            flat = np.array([x, y, x + w, y, x + w, y + h, x, y + h])
        points = flat.reshape(-1, 2)
        if bounds is not None:
            width, height = bounds
            points = _clip(points, np.array([[0, 0], [width, 0], [width, height], [0, height]], float))
        polygons.append(points)
    if min(len(p) for p in polygons) < 3:
        return 0.0
    inter = _clip(*polygons)
    inter_area = polygon_area(inter) if len(inter) >= 3 else 0.0
    union = polygon_area(polygons[0]) + polygon_area(polygons[1]) - inter_area
    return inter_area / union if union > 0 else 0.0


# --- DAVIS video object segmentation (Perazzi et al. 2016; Pont-Tuset et al. 2017) ------------------------
# The conventions of the official davis2017-evaluation code, as ../shared/reference/metrics/README.md states
# them; tests/pipeline/benchmarks/test_davis_metrics.py reproduces its golden values.

DAVIS_BOUND_TH = 0.008  # DAVIS 2016 section 3.1: the boundary tolerance, a fraction of the image diagonal
DAVIS_DECAY_CONVENTIONS = ("official", "exact")
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
