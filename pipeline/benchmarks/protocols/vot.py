"""VOT's supervised experiment (Kristan et al. 2016, section 4.1): <results>/baseline/<seq>/<seq>_001.txt ...
with "1" (initialization), "2" (failure), "0" (skipped) or a region per frame; accuracy, robustness, EAO."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.benchmarks import metrics as M
from pipeline.benchmarks.datasets import BenchmarkError, Sequence
from pipeline.benchmarks.protocols.base import Protocol, check_ground_truth, plain, pyplot, read_image, region_line
from pipeline.common.errors import UserError
from pipeline.common.files import write_atomic, write_figure
from pipeline.config.schema import EvaluateParams, ScoreParams


def _one_run(tracker, images: list, sequence: Sequence, skip: int, times: list) -> list[list]:
    """The records of one run: re-initialized `skip` frames after each failure."""
    bounds = images[0].shape[1::-1]
    records, frame = [], 0
    while frame < len(images):
        tracker.init(images[frame], sequence.gt[frame])
        records.append([1])
        frame += 1
        while frame < len(images):
            start = time.perf_counter()
            prediction = tracker.update(images[frame])
            times.append(time.perf_counter() - start)
            region = prediction.polygon.ravel() if prediction.polygon is not None else prediction.box
            if M.polygon_iou(region, sequence.polygons[frame], bounds) > 0:  # a failure: no overlap in the image
                records.append([float(v) for v in region])
                frame += 1
                continue
            failure = frame
            records.append([2])
            records.extend([[0]] * min(skip - 1, len(images) - failure - 1))
            frame = failure + skip
            break
    return records


def run_vot(make_tracker, sequence: Sequence, skip: int = 5, repetitions: int = 15) -> tuple[list[list], np.ndarray]:
    """A failure is recorded as 2, the next skip - 1 frames as 0, and the tracker is re-initialized `skip`
    frames after it. Repeated up to `repetitions` times, stopping after 3 identical runs (a deterministic
    tracker). Returns the runs (records per frame) and the seconds per tracked frame."""
    images = [read_image(p) for p in sequence.frames]
    runs, times = [], []
    for _ in range(repetitions):
        runs.append(_one_run(make_tracker(), images, sequence, skip, times))
        if len(runs) >= 3 and runs[-1] == runs[-2] == runs[-3]:
            break
    return runs, np.array(times)


def write_vot(folder: Path, sequence: Sequence, runs: list[list]) -> None:
    for i, records in enumerate(runs, start=1):
        path = folder / "baseline" / sequence.name / f"{sequence.name}_{i:03d}.txt"
        write_atomic(path, "".join(region_line(r, sequence.file_offset) + "\n" for r in records).encode())


def _parse_record(values: list[float], shift: float, path: Path, number: int, line: str) -> list[float]:
    if len(values) == 1 and values[0] in (0, 1, 2):
        return values
    if len(values) == 4:
        return [values[0] - shift, values[1] - shift, values[2], values[3]]
    if len(values) >= 6 and len(values) % 2 == 0:
        return [v - shift for v in values]
    raise BenchmarkError(f"{path}:{number}: expected 0, 1, 2, a box or a polygon: {line[:60]!r}")


def read_vot(folder: Path, name: str, frames: int, offset: float = 1.0) -> list[list]:
    """Every repetition <name>_NNN.txt of a VOT sequence: records with regions 0-based (the file's
    coordinates minus offset)."""
    paths = sorted((folder / "baseline" / name).glob(f"{name}_[0-9][0-9][0-9].txt"))
    if not paths:
        raise BenchmarkError(f"{folder / 'baseline' / name}: no result files {name}_001.txt ...")
    runs = []
    for path in paths:
        records = []
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            try:
                values = [float(v) for v in line.replace("\t", ",").split(",")]
            except ValueError:
                raise BenchmarkError(f"{path}:{number}: not numbers: {line[:60]!r}") from None
            records.append(_parse_record(values, offset, path, number, line))
        if len(records) != frames:
            raise BenchmarkError(f"{path}: {len(records)} lines for {frames} ground-truth frames")
        runs.append(records)
    return runs


class VotSupervised(Protocol):
    name = "vot"
    columns = (("eao", "EAO"), ("accuracy", "A"), ("robustness", "R"))

    def track(self, make_tracker, sequence: Sequence, folder: Path, options: EvaluateParams) -> np.ndarray:
        runs, times = run_vot(make_tracker, sequence, options.vot_skip, options.vot_repetitions)
        write_vot(folder, sequence, runs)
        return times

    def result_file(self, folder: Path, name: str) -> Path:
        return folder / "baseline" / name / f"{name}_001.txt"

    def score(self, sequences: list[Sequence], folder: Path, params: ScoreParams, eao_interval: str = "") -> dict:
        check_ground_truth(sequences)
        try:
            interval = M.eao_interval(eao_interval)
        except ValueError as err:
            raise UserError(str(err)) from None
        runs = {}
        for s in sequences:
            # VOT cuts regions to the image; without the images (a dataset JSON) nothing is cut.
            bounds = Image.open(s.frames[0]).size if s.frames[0].exists() else None
            records = read_vot(folder, s.name, len(s.gt), s.file_offset)
            runs[s.name] = [M.vot_run(r, lambda f, region, s=s: M.polygon_iou(region, s.polygons[f], bounds))
                            for r in records]
        robustness = M.vot_robustness(runs)
        curve = M.expected_overlap_curve(runs, convention=params.eao)
        try:
            eao = M.eao(curve, interval)
        except ValueError as err:
            raise UserError(f"{folder}: {err}") from None
        overall = {"accuracy": M.vot_accuracy(runs, params.vot_burnin), "robustness": robustness["robustness"],
                   "failures": robustness["failures_total"], "eao": eao}
        per_sequence = {n: {"accuracy": M.vot_accuracy({n: r}, params.vot_burnin),
                            "failures": robustness["failures"][n]} for n, r in runs.items()}
        return {"overall": plain(overall), "curves": {"expected_overlap": curve.tolist()},
                "per_sequence": plain(per_sequence), "eao_interval": list(interval)}

    def plot(self, result: dict, title: str, path: Path) -> None:
        """The expected-overlap curve with its interval, as PNG."""
        plt = pyplot()
        curve = result["curves"]["expected_overlap"]
        fig, ax = plt.subplots(figsize=(5, 4))
        low, high = result["eao_interval"]
        ax.plot(np.arange(1, len(curve) + 1), curve)
        ax.axvspan(low, high, alpha=0.15)
        ax.set(xlabel="sequence length", ylabel="expected overlap", ylim=(0, 1),
               title=f"{title}: EAO {result['overall']['eao']:.3f}")
        fig.tight_layout()
        write_figure(fig, path)
        plt.close(fig)
