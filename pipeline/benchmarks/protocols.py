"""Evaluation protocols and their result files, in the layouts pysot's and got10k's toolkits read:

- one-pass (OTB, UAV123, LaSOT): <results>/<seq>.txt, one "x,y,w,h" line per frame;
- VOT's supervised experiment: <results>/baseline/<seq>/<seq>_001.txt ... with "1" (initialization), "2"
  (failure), "0" (skipped) or a region per frame;
- GOT-10k: <results>/<seq>/<seq>_001.txt and <seq>_time.txt (seconds per frame).

Boxes in files follow the benchmark's ground truth (1-based but for TrackingNet: a sequence's file_offset);
the first frame is the ground truth itself, as the official toolkits force it. Test splits without ground
truth (GOT-10k test, TrackingNet TEST) are packed for their evaluation servers by `submission`.
"""
from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np

from pipeline.benchmarks.datasets import BenchmarkError, Sequence, from_file_boxes, read_rows, to_file_box
from pipeline.benchmarks.metrics import polygon_iou
from pipeline.files import write_atomic

PROTOCOLS = ("ope", "vot", "got10k")


def read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise BenchmarkError(f"{path}: missing or not an image")
    return image


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


def run_vot(make_tracker, sequence: Sequence, skip: int = 5, repetitions: int = 15) -> tuple[list[list], np.ndarray]:
    """VOT's supervised experiment (Kristan et al. 2016, section 4.1): a failure (zero overlap with the
    ground-truth polygon inside the image) is recorded as 2, the next skip - 1 frames as 0, and the tracker
    is re-initialized `skip` frames after it. Repeated up to `repetitions` times, stopping after 3 identical
    runs (a deterministic tracker). Returns the runs (records per frame) and the seconds per tracked frame."""
    images = [read_image(p) for p in sequence.frames]
    bounds = images[0].shape[1::-1]
    runs, times = [], []
    for _ in range(repetitions):
        tracker, records, frame = make_tracker(), [], 0
        while frame < len(images):
            tracker.init(images[frame], sequence.gt[frame])
            records.append([1])
            frame += 1
            while frame < len(images):
                start = time.perf_counter()
                prediction = tracker.update(images[frame])
                times.append(time.perf_counter() - start)
                region = prediction.polygon.ravel() if prediction.polygon is not None else prediction.box
                if polygon_iou(region, sequence.polygons[frame], bounds) > 0:
                    records.append([float(v) for v in region])
                    frame += 1
                    continue
                failure = frame
                records.append([2])
                records.extend([[0]] * min(skip - 1, len(images) - failure - 1))
                frame = failure + skip
                break
        runs.append(records)
        if len(runs) >= 3 and runs[-1] == runs[-2] == runs[-3]:
            break
    return runs, np.array(times)


def _region_line(record: list, offset: float) -> str:
    if len(record) == 1:
        return str(int(record[0]))
    values = to_file_box(record, offset) if len(record) == 4 else [v + offset for v in record]
    return ",".join(f"{v:.4f}" for v in values)


def _write_boxes(path: Path, boxes: np.ndarray, offset: float) -> None:
    write_atomic(path, "".join(_region_line(list(b), offset) + "\n" for b in boxes).encode())


def write_ope(folder: Path, sequence: Sequence, boxes: np.ndarray) -> None:
    _write_boxes(folder / f"{sequence.name}.txt", boxes, sequence.file_offset)


def write_vot(folder: Path, sequence: Sequence, runs: list[list]) -> None:
    for i, records in enumerate(runs, start=1):
        path = folder / "baseline" / sequence.name / f"{sequence.name}_{i:03d}.txt"
        write_atomic(path, "".join(_region_line(r, sequence.file_offset) + "\n" for r in records).encode())


def write_got10k(folder: Path, sequence: Sequence, boxes: np.ndarray, times: np.ndarray) -> None:
    _write_boxes(folder / sequence.name / f"{sequence.name}_001.txt", boxes, sequence.file_offset)
    write_atomic(folder / sequence.name / f"{sequence.name}_time.txt", "".join(f"{t:.6f}\n" for t in times).encode())


def result_file(folder: Path, protocol: str, name: str) -> Path:
    return {"ope": folder / f"{name}.txt", "got10k": folder / name / f"{name}_001.txt",
            "vot": folder / "baseline" / name / f"{name}_001.txt"}[protocol]


def read_boxes(path: Path, frames: int, offset: float = 1.0) -> np.ndarray:
    """A one-pass result file as 0-based boxes (the file's x and y minus offset); its length must match the
    ground truth's."""
    if not path.exists():
        raise BenchmarkError(f"{path}: result file missing")
    boxes = from_file_boxes(read_rows(path), offset)
    if np.isnan(boxes).any():
        row = int(np.argwhere(np.isnan(boxes))[0, 0]) + 1
        raise BenchmarkError(f"{path}:{row}: NaN in a result box")
    if len(boxes) != frames:
        raise BenchmarkError(f"{path}: {len(boxes)} boxes for {frames} ground-truth frames")
    return boxes


def read_vot(folder: Path, name: str, frames: int, offset: float = 1.0) -> list[list]:
    """Every repetition <name>_NNN.txt of a VOT sequence: records with regions 0-based (the file's
    coordinates minus offset)."""
    shift = offset
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
            if len(values) == 1 and values[0] in (0, 1, 2):
                records.append(values)
            elif len(values) == 4:
                records.append([values[0] - shift, values[1] - shift, values[2], values[3]])
            elif len(values) >= 6 and len(values) % 2 == 0:
                records.append([v - shift for v in values])
            else:
                raise BenchmarkError(f"{path}:{number}: expected 0, 1, 2, a box or a polygon: {line[:60]!r}")
        if len(records) != frames:
            raise BenchmarkError(f"{path}: {len(records)} lines for {frames} ground-truth frames")
        runs.append(records)
    return runs


def submission(folder: Path, sequences: list[Sequence], protocol: str) -> bytes:
    """The zip an evaluation server takes, from the result files of every sequence (each checked against
    its frame count): GOT-10k's <seq>/<seq>_001.txt and <seq>_time.txt, or TrackingNet's <seq>.txt."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for s in sequences:
            path = result_file(folder, protocol, s.name)
            read_boxes(path, len(s.frames), s.file_offset)
            files = [path] + ([path.with_name(f"{s.name}_time.txt")] if protocol == "got10k" else [])
            for file in files:
                if not file.exists():
                    raise BenchmarkError(f"{file}: result file missing")
                # fixed timestamps: the same results give the same zip
                info = zipfile.ZipInfo(file.relative_to(folder).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                archive.writestr(info, file.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
