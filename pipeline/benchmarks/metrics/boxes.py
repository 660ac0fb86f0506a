"""Box metrics: IoU, the one-pass success and precision curves (OTB, LaSOT, UAV123; Wu et al. 2013) and
GOT-10k's average overlap and success rates. The conventions: pipeline/benchmarks/metrics/__init__.py."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SUCCESS_THRESHOLDS = np.linspace(0, 1, 21)         # OTB (Wu et al. 2013): IoU 0, 0.05, ..., 1
PRECISION_THRESHOLDS = np.arange(51, dtype=float)  # centre distance 0 ... 50 px; the score is at 20 px
NORM_PRECISION_THRESHOLDS = np.arange(51) / 100    # LaSOT (Fan et al. 2019, section 4.1): 0 ... 0.5
NORM_PRECISION_CONVENTIONS = ("lasot", "got10k", "trackingnet")


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
