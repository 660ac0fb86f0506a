"""Tracking and segmentation metrics: pure numpy functions, checked against ../shared/reference/metrics
(tests/pipeline/benchmarks). One module per kind: boxes.py (one-pass and GOT-10k), vot.py (VOT's supervised
experiment), davis.py (DAVIS J and F); all are re-exported here.

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
  a completed, zero-padded run instead of the unfinished last one);
- DAVIS decay: "official" (the uint8 wrap of the bin indices above 256 frames) or "exact".
"""
from __future__ import annotations

from pipeline.benchmarks.metrics.boxes import (SUCCESS_THRESHOLDS, PRECISION_THRESHOLDS, NORM_PRECISION_THRESHOLDS,
                                               NORM_PRECISION_CONVENTIONS, iou_xywh, valid_boxes, FrameErrors,
                                               frame_errors, success_curve, precision_curve, norm_precision_score,
                                               ope_sequence, ope_overall, got10k_sequence, got10k_overall)
from pipeline.benchmarks.metrics.vot import (EAO_CONVENTIONS, EAO_INTERVALS, VotRun, vot_run, vot_accuracy,
                                             vot_robustness, expected_overlap_curve, eao, eao_interval, polygon_area,
                                             polygon_iou)
from pipeline.benchmarks.metrics.davis import (DAVIS_BOUND_TH, DAVIS_DECAY_CONVENTIONS, DAVIS_KEYS, jaccard,
                                               boundary_map, bound_pix, f_boundary, davis_statistics, davis_per_frame,
                                               object_masks, davis_semi_supervised, davis_unsupervised, davis_overall)

__all__ = [
    "SUCCESS_THRESHOLDS", "PRECISION_THRESHOLDS", "NORM_PRECISION_THRESHOLDS", "NORM_PRECISION_CONVENTIONS",
    "iou_xywh", "valid_boxes", "FrameErrors", "frame_errors", "success_curve", "precision_curve",
    "norm_precision_score", "ope_sequence", "ope_overall", "got10k_sequence", "got10k_overall", "EAO_CONVENTIONS",
    "EAO_INTERVALS", "VotRun", "vot_run", "vot_accuracy", "vot_robustness", "expected_overlap_curve", "eao",
    "eao_interval", "polygon_area", "polygon_iou", "DAVIS_BOUND_TH", "DAVIS_DECAY_CONVENTIONS", "DAVIS_KEYS",
    "jaccard", "boundary_map", "bound_pix", "f_boundary", "davis_statistics", "davis_per_frame", "object_masks",
    "davis_semi_supervised", "davis_unsupervised", "davis_overall"
]
