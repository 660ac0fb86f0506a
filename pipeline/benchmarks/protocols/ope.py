"""One-pass evaluation (OTB, UAV123, LaSOT; Wu et al. 2013): one run from the first frame's ground truth,
<results>/<seq>.txt with one "x,y,w,h" line per frame; success (AUC) and precision at 20 px. Frame 1 is scored
as score.first_frame says: "official" as its ground truth, whatever the file holds (the OTB and LaSOT toolkits,
and got10k's OTB experiment, force it), "as_written" as the file's box (pysot's evaluators; pysot's own runs
write it half a pixel off). VOT's protocol has no such rule."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pipeline.benchmarks import metrics as M
from pipeline.benchmarks.datasets import Sequence
from pipeline.benchmarks.protocols.base import (Protocol, check_ground_truth, plain, pyplot, read_boxes, read_image,
                                                write_boxes)
from pipeline.common.files import write_figure
from pipeline.config.schema import FIRST_FRAME_RULES, EvaluateParams, ScoreParams

CURVES = ("success_curve", "precision_curve", "norm_precision_curve")


def run_ope(tracker, sequence: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """One pass from the first frame's ground truth: (boxes (n, 4), seconds per frame (n,))."""
    boxes, times = [sequence.init_box], []
    start = time.perf_counter()
    tracker.init(read_image(sequence.frames[0]), sequence.init_box)
    times.append(time.perf_counter() - start)
    for path in sequence.frames[1:]:
        image = read_image(path)
        start = time.perf_counter()
        boxes.append(tracker.update(image).box)
        times.append(time.perf_counter() - start)
    return np.array(boxes, float), np.array(times)


def scored_boxes(boxes: np.ndarray, sequence: Sequence, first_frame: str) -> np.ndarray:
    """The boxes of a result file as they are scored: with "official", frame 1's ground truth in place of the
    file's first box; with "as_written", the file's boxes unchanged."""
    if first_frame not in FIRST_FRAME_RULES:
        raise ValueError(f"unknown first_frame rule {first_frame!r} ({', '.join(FIRST_FRAME_RULES)})")
    if first_frame == "as_written" or not len(boxes):
        return boxes
    return np.concatenate([sequence.gt[:1], boxes[1:]])


class OnePass(Protocol):
    name = "ope"
    columns = (("success_auc", "AUC"), ("precision_20", "P@20"))

    def track(self, make_tracker, sequence: Sequence, folder: Path, options: EvaluateParams) -> np.ndarray:
        boxes, times = run_ope(make_tracker(), sequence)
        self.write(folder, sequence, boxes, times)
        return times

    def write(self, folder: Path, sequence: Sequence, boxes: np.ndarray, times: np.ndarray) -> None:
        write_boxes(self.result_file(folder, sequence.name), boxes, sequence.file_offset)

    def result_file(self, folder: Path, name: str) -> Path:
        return folder / f"{name}.txt"

    def sequence_scores(self, boxes: np.ndarray, sequence: Sequence, params: ScoreParams) -> dict:
        boxes = scored_boxes(boxes, sequence, params.first_frame)
        return M.ope_sequence(boxes, sequence.gt, sequence.visible, params.norm_precision, params.invalid_gt)

    def overall(self, per_sequence: dict) -> dict:
        return M.ope_overall(per_sequence)

    def score(self, sequences: list[Sequence], folder: Path, params: ScoreParams, eao_interval: str = "") -> dict:
        check_ground_truth(sequences)
        per_sequence = {}
        for s in sequences:
            boxes = read_boxes(self.result_file(folder, s.name), len(s.gt), s.file_offset)
            per_sequence[s.name] = self.sequence_scores(boxes, s, params)
        overall = self.overall(per_sequence)
        curves = {k: overall.pop(k).tolist() for k in CURVES}
        return {"overall": plain(overall), "curves": curves,
                "per_sequence": {n: plain({k: v for k, v in s.items() if k not in CURVES and k != "ious"})
                                 for n, s in per_sequence.items()}}

    def plot(self, result: dict, title: str, path: Path) -> None:
        """Success and precision plots, as PNG."""
        plt = pyplot()
        curves = result["curves"]
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        left.plot(M.SUCCESS_THRESHOLDS, curves["success_curve"])
        left.set(xlabel="overlap threshold", ylabel="success rate", xlim=(0, 1), ylim=(0, 1),
                 title=f"{title}: success, AUC {result['overall']['success_auc']:.3f}")
        right.plot(M.PRECISION_THRESHOLDS, curves["precision_curve"])
        right.set(xlabel="location error threshold (px)", ylabel="precision", xlim=(0, 50), ylim=(0, 1),
                  title=f"precision at 20 px {result['overall']['precision_20']:.3f}")
        fig.tight_layout()
        write_figure(fig, path)
        plt.close(fig)
