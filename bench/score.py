"""Scoring speed: one-pass metrics of many sequences, vectorized (pipeline.benchmarks.metrics) against a
frame-by-frame Python loop computing the same success and precision curves.

    python bench/score.py [--sequences 100] [--frames 1000]

Prints the time of each and their ratio, measured in the same run, and checks that both agree.
"""
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline.benchmarks import metrics  # noqa: E402

import common  # noqa: E402


def loop_scores(pred, gt):
    """The frame-by-frame version: success AUC and precision at 20 px."""
    success, precision = np.zeros(21), 0
    for (px, py, pw, ph), (gx, gy, gw, gh) in zip(pred, gt):
        iw = max(0.0, min(px + pw, gx + gw) - max(px, gx))
        ih = max(0.0, min(py + ph, gy + gh) - max(py, gy))
        iou = iw * ih / (pw * ph + gw * gh - iw * ih)
        for i in range(21):
            success[i] += iou > i / 20
        precision += np.hypot(px + pw / 2 - gx - gw / 2, py + ph / 2 - gy - gh / 2) <= 20
    return success.mean() / len(gt), precision / len(gt)


def main():
    parser = common.parser(__doc__)
    parser.add_argument("--sequences", type=int, default=100)
    parser.add_argument("--frames", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    data = {}
    for s in range(args.sequences):
        gt = np.column_stack([rng.uniform(0, 500, (args.frames, 2)), rng.uniform(20, 100, (args.frames, 2))])
        data[f"seq{s}"] = (gt + rng.normal(0, 8, gt.shape) * [1, 1, 0.3, 0.3], gt)
    start = time.perf_counter()
    per_sequence = {name: metrics.ope_sequence(pred, gt) for name, (pred, gt) in data.items()}
    overall = metrics.ope_overall(per_sequence)
    vectorized = time.perf_counter() - start
    start = time.perf_counter()
    looped = [loop_scores(pred, gt) for pred, gt in data.values()]
    loop = time.perf_counter() - start
    assert np.isclose(np.mean([a for a, _ in looped]), overall["success_auc"])
    assert np.isclose(np.mean([p for _, p in looped]), overall["precision_20"])
    common.report(args, f"scoring: {args.sequences} sequences x {args.frames} frames, success and precision curves",
                  [("vectorized (pipeline.benchmarks.metrics)", vectorized, "s"), ("frame-by-frame loop", loop, "s")],
                  [("frame loop time / vectorized time", loop / vectorized)])

if __name__ == "__main__":
    main()
