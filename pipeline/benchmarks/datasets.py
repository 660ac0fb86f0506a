"""Benchmark sequences in the project's convention, the file conventions they are read and written in, and
pysot's dataset JSON (the loaders of each layout: pipeline/benchmarks/loaders.py).

Inside siamflow boxes are 0-based [x, y, w, h]; OTB, VOT, GOT-10k, LaSOT and UAV123 files are 1-based, so
loaders subtract 1 from x and y (and from VOT's polygon corners) and result files add it back (a sequence's
`file_offset`). TrackingNet's files and pysot's dataset JSON files are read and written back as they hold
them (offset 0). Roots and sequence lists come from params.yaml, never from code.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.benchmarks.metrics import valid_boxes
from pipeline.common.files import escapes_root
from pipeline.common.labels import read_labels

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


class BenchmarkError(ValueError):
    """A benchmark file that cannot be read; the message names it and the problem in one line."""


@dataclass
class Sequence:
    """One benchmark sequence. gt: (n, 4) 0-based [x, y, w, h], NaN rows where unknown (test splits give the
    first only); polygons: VOT's (n, 8) 0-based corners, or None; visible: (n,) bool, or None when the
    benchmark does not mark absence; file_offset: what the benchmark's files add to 0-based x and y.
    annotations: a segmentation benchmark's label PNGs, one per frame (the first only in a test split), with
    gt's first box the first frame's objects' bounding box; single_object: every labelled pixel is the one
    object (DAVIS 2016), else each label is an object and 255 is void (DAVIS 2017)."""
    name: str
    frames: list[Path]
    gt: np.ndarray
    polygons: np.ndarray | None = None
    visible: np.ndarray | None = None
    file_offset: float = 1.0
    attributes: dict = field(default_factory=dict)
    annotations: list[Path] | None = None
    single_object: bool = False

    @property
    def init_box(self) -> np.ndarray:
        return self.gt[0]

    @property
    def has_ground_truth(self) -> bool:
        """False for test splits (GOT-10k test, TrackingNet TEST, DAVIS test-dev) that give the first box or
        mask only."""
        if self.annotations is not None:
            return len(self.annotations) == len(self.frames)
        return len(self.gt) < 2 or not np.isnan(self.gt[1:]).all()


def read_rows(path: Path, columns: tuple[int, ...] = (4,)) -> np.ndarray:
    """Numeric rows separated by commas, tabs or spaces ('NaN' allowed); every row must have one of `columns`
    values. A bad line is a BenchmarkError naming the file and the line."""
    rows = []
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise BenchmarkError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise BenchmarkError(f"{path}: not a text file") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            values = [float(v) for v in re.split(r"[,\s]+", line.strip())]
        except ValueError:
            raise BenchmarkError(f"{path}:{number}: not numbers: {line.strip()[:60]!r}") from None
        if len(values) not in columns:
            raise BenchmarkError(f"{path}:{number}: expected {' or '.join(map(str, columns))} values, got {len(values)}")
        rows.append(values)
    if not rows:
        raise BenchmarkError(f"{path}: no rows")
    if len({len(r) for r in rows}) > 1:
        raise BenchmarkError(f"{path}: rows of different lengths")
    return np.array(rows, float)


def read_label_image(path: Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A segmentation mask or result as its (H, W) label ids (pipeline/common/labels.py), of the frames' size
    when `shape` is given."""
    try:
        labels = read_labels(path)
    except ValueError as err:
        raise BenchmarkError(str(err)) from None
    if shape is not None and labels.shape != tuple(shape):
        raise BenchmarkError(f"{path}: a {labels.shape[0]}x{labels.shape[1]} mask for {shape[0]}x{shape[1]} frames")
    return labels


def from_file_boxes(rows: np.ndarray, offset: float = 1.0) -> np.ndarray:
    """File boxes -> 0-based boxes (x and y minus the file's offset: 1 for the 1-based benchmarks)."""
    boxes = rows.copy()
    boxes[:, :2] -= offset
    return boxes


def to_file_box(box, offset: float = 1.0) -> list[float]:
    """A 0-based box as the [x, y, w, h] a benchmark's files hold (1-based for OTB, GOT-10k, LaSOT, VOT)."""
    x, y, w, h = (float(v) for v in box)
    return [x + offset, y + offset, w, h]


def image_files(folder: Path) -> list[Path]:
    """A folder's images in frame order: by the last number in the name (TrackingNet's 0.jpg ... 10.jpg are
    not zero-padded), then by name."""
    if not folder.is_dir():
        raise BenchmarkError(f"{folder}: folder not found")
    images = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        raise BenchmarkError(f"{folder}: no images")
    return sorted(images, key=lambda p: (_last_number(p.stem), p.name))


def _last_number(text: str) -> int:
    """The last run of digits in `text`, or -1 where there is none."""
    digits = re.findall(r"\d+", text)
    return int(digits[-1]) if digits else -1


def frame_number(path: Path) -> int:
    number = _last_number(path.stem)
    if number < 0:
        raise BenchmarkError(f"{path}: no frame number in the name")
    return number


def check_lengths(name: str, frames: list, gt: np.ndarray, where: Path) -> None:
    if len(frames) != len(gt):
        raise BenchmarkError(f"{where}: {len(gt)} ground-truth rows for {len(frames)} frames of {name}")


def check_ground_truth(name: str, frames: list, gt: np.ndarray, where: Path) -> None:
    """One box per frame, and a first box that a tracker can start from: every protocol initializes there,
    and a NaN or empty first box would track nothing and still give a score."""
    check_lengths(name, frames, gt, where)
    if not valid_boxes(gt[:1]).all():
        raise BenchmarkError(f"{where}: the first box of {name} is NaN or has no positive width and height: "
                             "a tracker cannot start from it")


def names_from(list_file: Path | None, found: list[str]) -> list[str]:
    if list_file is None:
        return found
    wanted = [line.strip() for line in Path(list_file).read_text().splitlines() if line.strip()]
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise BenchmarkError(f"{list_file}: {len(missing)} sequences not in the benchmark root ({', '.join(missing[:3])})")
    return wanted


def polygon_to_box(polygons: np.ndarray) -> np.ndarray:
    """Axis-aligned boxes of the same centre as VOT's polygons and of their area, with the bounding
    rectangle's aspect ratio (the initialization SiamRPN and SiamMask report for VOT)."""
    xs, ys = polygons[:, 0::2], polygons[:, 1::2]
    x0, x1, y0, y1 = xs.min(1), xs.max(1), ys.min(1), ys.max(1)
    area = 0.5 * np.abs(np.sum(xs * np.roll(ys, -1, 1) - np.roll(xs, -1, 1) * ys, axis=1))
    scale = np.sqrt(area / np.maximum((x1 - x0) * (y1 - y0), 1e-12))
    w, h = (x1 - x0) * scale, (y1 - y0) * scale
    cx, cy = xs.mean(1), ys.mean(1)
    return np.stack([cx - w / 2, cy - h / 2, w, h], 1)


def load_dataset_json(path: Path, root: Path | None = None) -> list[Sequence]:
    """A pysot-style dataset file: {video: {img_names, gt_rect, init_rect, ...}}. Boxes are kept as the file
    holds them (pysot's OTB files keep OTB's 1-based values), as pysot's result files do too: scores depend
    only on differences. `root` (default: the file's folder) resolves img_names; the images need not exist
    to score results."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise BenchmarkError(f"{path}: file not found") from None
    except json.JSONDecodeError as err:
        raise BenchmarkError(f"{path}: not JSON ({err.msg}, line {err.lineno})") from None
    root = Path(root) if root else path.parent
    sequences = []
    for name, video in data.items():
        try:
            rects, names = video["gt_rect"], [str(f) for f in video["img_names"]]
        except (KeyError, TypeError):
            raise BenchmarkError(f"{path}: video {name!r} lacks img_names or gt_rect") from None
        # The video name becomes a result file's path and img_names the frames' (VOT scoring opens the first).
        outside = [f for f in (name, *names) if escapes_root(f)]
        if outside:
            raise BenchmarkError(f"{path}: video {name!r}: {outside[0]!r} leads outside {root}")
        frames = [root / f for f in names]
        if rects and len(rects[0]) == 8:  # VOT in pysot's files: polygons
            polygons = np.array(rects, float)
            gt = polygon_to_box(polygons)
            check_ground_truth(name, frames, gt, path)
            sequences.append(Sequence(name, frames, gt, polygons=polygons, file_offset=0.0))
            continue
        gt = np.array([r if len(r) == 4 else [np.nan] * 4 for r in rects], float)
        check_ground_truth(name, frames, gt, path)
        sequences.append(Sequence(name, frames, gt, file_offset=0.0))
    return sequences
