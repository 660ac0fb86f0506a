"""What every protocol shares: the protocol contract, reading frames, and box result files.

Boxes in files follow the benchmark's ground truth (1-based but for TrackingNet: a sequence's file_offset);
the first frame is the ground truth itself, as the official toolkits force it.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import cv2
import numpy as np

from pipeline.benchmarks.datasets import BenchmarkError, Sequence, from_file_boxes, read_rows, to_file_box
from pipeline.common.files import write_atomic
from pipeline.config.schema import EvaluateParams, ScoreParams


class Protocol(ABC):
    """One evaluation protocol: how a tracker runs over a sequence, the result files it leaves (in the layout
    the official toolkits read), how they are scored, the main table's columns and the plot."""
    name: str
    columns: tuple[tuple[str, str], ...]   # (metric key, table header) of the main table

    @abstractmethod
    def track(self, make_tracker, sequence: Sequence, folder: Path, options: EvaluateParams) -> np.ndarray:
        """Run a fresh tracker (make_tracker()) over the sequence, write its result files into `folder`, and
        return the seconds of every tracked frame."""

    @abstractmethod
    def result_file(self, folder: Path, name: str) -> Path:
        """The result file of sequence `name` (the first repetition's, for VOT)."""

    @abstractmethod
    def score(self, sequences: list[Sequence], folder: Path, params: ScoreParams, eao_interval: str) -> dict:
        """{"overall": {...}, "per_sequence": {...}, "curves": {...}} of one tracker's result folder."""

    @abstractmethod
    def plot(self, result: dict, title: str, path: Path) -> None:
        """The protocol's plot of `result`, as PNG."""


def read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise BenchmarkError(f"{path}: missing or not an image")
    return image


def check_ground_truth(sequences: list[Sequence]) -> None:
    hidden = [s.name for s in sequences if not s.has_ground_truth]
    if hidden:
        raise BenchmarkError(f"{len(hidden)} sequences ({', '.join(hidden[:3])}) give only their first box (a test "
                             "split): pack the results for the evaluation server with python -m pipeline.submit")


def region_line(record: list, offset: float) -> str:
    """One line of a result file: a VOT code (0, 1, 2), a box or a polygon, in the file's coordinates."""
    if len(record) == 1:
        return str(int(record[0]))
    values = to_file_box(record, offset) if len(record) == 4 else [v + offset for v in record]
    return ",".join(f"{v:.4f}" for v in values)


def write_boxes(path: Path, boxes: np.ndarray, offset: float) -> None:
    write_atomic(path, "".join(region_line(list(b), offset) + "\n" for b in boxes).encode())


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


def plain(values):
    """numpy scalars as Python floats, for JSON."""
    if isinstance(values, dict):
        return {k: plain(v) for k, v in values.items()}
    return float(values) if isinstance(values, (np.floating, float, int, np.integer)) else values


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    return plt
