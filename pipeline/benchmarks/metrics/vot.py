"""VOT's supervised experiment (Kristan et al. 2016): accuracy, robustness, the expected average overlap, and
the polygon overlap of its regions."""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np

EAO_CONVENTIONS = ("official", "pysot")
# The sequence-length interval of the EAO average, per VOT challenge (from each year's toolkit).
EAO_INTERVALS = {"VOT2016": (108, 371), "VOT2017": (100, 356), "VOT2018": (100, 356), "VOT2019": (46, 291)}


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
