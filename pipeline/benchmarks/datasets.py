"""Benchmark loaders: one per layout, each giving Sequences in the project's convention.

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
from pipeline.files import escapes_root

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

# OTB's frame ranges (the toolkit's configSeqs): a ground truth of n rows covers the n images from this one.
OTB_START_FRAMES = {"David": 300, "BlurCar1": 247, "BlurCar3": 3, "BlurCar4": 18}


class BenchmarkError(ValueError):
    """A benchmark file that cannot be read; the message names it and the problem in one line."""


@dataclass
class Sequence:
    """One benchmark sequence. gt: (n, 4) 0-based [x, y, w, h], NaN rows where unknown (test splits give the
    first only); polygons: VOT's (n, 8) 0-based corners, or None; visible: (n,) bool, or None when the
    benchmark does not mark absence; file_offset: what the benchmark's files add to 0-based x and y."""
    name: str
    frames: list[Path]
    gt: np.ndarray
    polygons: np.ndarray | None = None
    visible: np.ndarray | None = None
    file_offset: float = 1.0
    attributes: dict = field(default_factory=dict)

    @property
    def init_box(self) -> np.ndarray:
        return self.gt[0]

    @property
    def has_ground_truth(self) -> bool:
        """False for test splits (GOT-10k test, TrackingNet TEST) that give the first box only."""
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


def from_file_boxes(rows: np.ndarray, offset: float = 1.0) -> np.ndarray:
    """File boxes -> 0-based boxes (x and y minus the file's offset: 1 for the 1-based benchmarks)."""
    boxes = rows.copy()
    boxes[:, :2] -= offset
    return boxes


def to_file_box(box, offset: float = 1.0) -> list[float]:
    """A 0-based box as the [x, y, w, h] a benchmark's files hold (1-based for OTB, GOT-10k, LaSOT, VOT)."""
    x, y, w, h = (float(v) for v in box)
    return [x + offset, y + offset, w, h]


def _images(folder: Path) -> list[Path]:
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


def _frame_number(path: Path) -> int:
    number = _last_number(path.stem)
    if number < 0:
        raise BenchmarkError(f"{path}: no frame number in the name")
    return number


def _check_lengths(name: str, frames: list, gt: np.ndarray, where: Path) -> None:
    if len(frames) != len(gt):
        raise BenchmarkError(f"{where}: {len(gt)} ground-truth rows for {len(frames)} frames of {name}")


def _check_ground_truth(name: str, frames: list, gt: np.ndarray, where: Path) -> None:
    """One box per frame, and a first box that a tracker can start from: every protocol initializes there,
    and a NaN or empty first box would track nothing and still give a score."""
    _check_lengths(name, frames, gt, where)
    if not valid_boxes(gt[:1]).all():
        raise BenchmarkError(f"{where}: the first box of {name} is NaN or has no positive width and height: "
                             "a tracker cannot start from it")


def _names_from(list_file: Path | None, found: list[str]) -> list[str]:
    if list_file is None:
        return found
    wanted = [line.strip() for line in Path(list_file).read_text().splitlines() if line.strip()]
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise BenchmarkError(f"{list_file}: {len(missing)} sequences not in the benchmark root ({', '.join(missing[:3])})")
    return wanted


def load_otb(root: Path, sequence_list: Path | None = None) -> list[Sequence]:
    """OTB2013 / OTB100 and any OTB-style folder: <root>/<Name>/img/*.jpg and groundtruth_rect*.txt. Several
    ground-truth files (Jogging, Skating2) are several targets, named <Name>-<k>; a single one of any
    number (Human4's groundtruth_rect.2.txt) is the sequence itself. The n ground-truth rows cover the n
    images from the sequence's start frame (OTB_START_FRAMES, else its first image): David, BlurCar1/3/4,
    Diving, Football1, Freeman3 and Freeman4 have more images than annotations. Any image numbering
    (Board's %05d) works."""
    sequences = {}
    for folder in sorted(p for p in Path(root).iterdir() if (p / "img").is_dir()):
        gt_files = sorted(folder.glob("groundtruth_rect*.txt"))
        if not gt_files:
            raise BenchmarkError(f"{folder}: no groundtruth_rect*.txt")
        images = _images(folder / "img")
        numbers = [_frame_number(p) for p in images]
        first = OTB_START_FRAMES.get(folder.name, numbers[0])
        if first not in numbers:
            raise BenchmarkError(f"{folder}: no image numbered {first} (its start frame)")
        start = numbers.index(first)
        for gt_file in gt_files:
            gt = from_file_boxes(read_rows(gt_file))
            frames = images[start:start + len(gt)]
            _check_ground_truth(folder.name, frames, gt, gt_file)
            target = re.fullmatch(r"groundtruth_rect\.?(\d*)\.txt", gt_file.name).group(1)
            name = f"{folder.name}-{target}" if len(gt_files) > 1 and target else folder.name
            sequences[name] = Sequence(name, frames, gt)
    if not sequences:
        raise BenchmarkError(f"{root}: no OTB-style sequence folders (<name>/img and groundtruth_rect.txt)")
    return [sequences[n] for n in _names_from(sequence_list, sorted(sequences))]


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


def load_vot(root: Path, sequence_list: Path | None = None) -> list[Sequence]:
    """VOT2016/2018/2019: <root>/list.txt names the sequences; frames in <seq>/color/ or in <seq>/ itself;
    groundtruth.txt of 4 values (x, y, w, h) or 8 (a polygon), 1-based."""
    root = Path(root)
    list_file = sequence_list or root / "list.txt"
    if not Path(list_file).exists():
        raise BenchmarkError(f"{list_file}: file not found (VOT lists its sequences there)")
    sequences = []
    for name in _names_from(list_file, sorted(p.name for p in root.iterdir() if p.is_dir())):
        folder = root / name
        frames = _images(folder / "color" if (folder / "color").is_dir() else folder)
        rows = read_rows(folder / "groundtruth.txt", (4, 8))
        if rows.shape[1] == 4:
            x, y, w, h = from_file_boxes(rows).T
            polygons = np.stack([x, y, x + w, y, x + w, y + h, x, y + h], 1)
        else:
            polygons = rows - 1
        gt = polygon_to_box(polygons)
        _check_ground_truth(name, frames, gt, folder / "groundtruth.txt")
        sequences.append(Sequence(name, frames, gt, polygons=polygons))
    return sequences


def _pad_first_box(gt: np.ndarray, frames: int) -> np.ndarray:
    """A test split's single first box, padded with NaN rows to the sequence's length."""
    if len(gt) == 1 and frames > 1:
        return np.vstack([gt, np.full((frames - 1, 4), np.nan)])
    return gt


def load_got10k(root: Path, sequence_list: Path | None = None) -> list[Sequence]:
    """GOT-10k: <root>/list.txt, <seq>/%08d.jpg and groundtruth.txt (1-based; the test split's holds only
    the first row), absence.label where present."""
    root = Path(root)
    sequences = []
    for name in _names_from(sequence_list or root / "list.txt", sorted(p.name for p in root.iterdir() if p.is_dir())):
        folder = root / name
        frames = _images(folder)
        gt = _pad_first_box(from_file_boxes(read_rows(folder / "groundtruth.txt")), len(frames))
        _check_ground_truth(name, frames, gt, folder / "groundtruth.txt")
        absence = folder / "absence.label"
        visible = None
        if absence.exists():
            visible = read_rows(absence, (1,))[:, 0] == 0
            _check_lengths(name, frames, visible, absence)
        sequences.append(Sequence(name, frames, gt, visible=visible))
    return sequences


def load_lasot(root: Path, sequence_list: Path | None = None) -> list[Sequence]:
    """LaSOT: <root>/<class>/<class>-<k>/img/%08d.jpg, groundtruth.txt (1-based), full_occlusion.txt and
    out_of_view.txt (a frame is absent when either is 1). The list (testing_set.txt by default, else every
    sequence) selects the protocol's sequences."""
    root = Path(root)
    folders = {p.name: p for p in root.glob("*/*") if (p / "img").is_dir()}
    default_list = root / "testing_set.txt"
    names = _names_from(sequence_list or (default_list if default_list.exists() else None), sorted(folders))
    sequences = []
    for name in names:
        folder = folders[name]
        frames = _images(folder / "img")
        gt = from_file_boxes(read_rows(folder / "groundtruth.txt"))
        absent = np.zeros(len(gt), bool)
        for flag_file in ("full_occlusion.txt", "out_of_view.txt"):
            flags = read_rows(folder / flag_file, (len(gt),))[0]
            absent |= flags == 1
        _check_ground_truth(name, frames, gt, folder / "groundtruth.txt")
        sequences.append(Sequence(name, frames, gt, visible=~absent))
    return sequences


def read_uav_config(path: Path) -> dict[str, tuple[str, int, int]]:
    """The UAV123 toolkit's configSeqs.m (or a transcription of it): name -> (image folder, first frame,
    last frame) from its `'name','bird1_1','path','.../bird1/','startFrame',1,'endFrame',85` entries."""
    entry = re.compile(r"'name'\s*,\s*'([^']+)'\s*,\s*'path'\s*,\s*'([^']*)'\s*,\s*"
                       r"'startFrame'\s*,\s*(\d+)\s*,\s*'endFrame'\s*,\s*(\d+)")
    try:
        found = entry.findall(Path(path).read_text(errors="replace"))
    except FileNotFoundError:
        raise BenchmarkError(f"{path}: file not found") from None
    if not found:
        raise BenchmarkError(f"{path}: no 'name', 'path', 'startFrame', 'endFrame' entries (the UAV123 toolkit's "
                             "configSeqs.m)")
    config = {name: (re.split(r"[/\\]", folder.rstrip("/\\"))[-1], int(first), int(last))
              for name, folder, first, last in found}
    for name, (folder, _, _) in config.items():
        if escapes_root(name) or escapes_root(folder):  # they become paths under the benchmark root
            raise BenchmarkError(f"{path}: sequence {name!r} (folder {folder!r}) leads outside the benchmark root")
    return config


def load_uav123(root: Path, sequence_list: Path | None = None) -> list[Sequence]:
    """UAV123 (and UAV20L): <root>/anno/UAV123/<name>.txt (1-based, NaN rows where the target is out of
    view) and images <root>/data_seq/UAV123/<folder>/%06d.jpg. Sub-sequences (bird1_1, bird1_2, ...) share
    one folder over frame ranges that only the toolkit's configSeqs.m holds: name it as the sequence list
    (or put it at <root>/configSeqs.m); without it, a sequence uses all images of its own folder."""
    root = Path(root)
    anno, images_root = root / "anno" / "UAV123", root / "data_seq" / "UAV123"
    if not anno.is_dir():
        raise BenchmarkError(f"{anno}: folder not found (UAV123 keeps its ground truth there)")
    config_file = sequence_list if sequence_list and sequence_list.suffix == ".m" else root / "configSeqs.m"
    config = read_uav_config(config_file) if config_file.exists() else {}
    found = sorted(p.stem for p in anno.glob("*.txt"))
    names = list(config) if sequence_list and sequence_list.suffix == ".m" else _names_from(sequence_list, found)
    sequences = []
    for name in names:
        gt = from_file_boxes(read_rows(anno / f"{name}.txt"))
        if name in config:
            folder, first, last = config[name]
            frames = [p for p in _images(images_root / folder) if first <= _frame_number(p) <= last]
        elif (images_root / name).is_dir():
            frames = _images(images_root / name)
        else:
            raise BenchmarkError(f"{anno / name}.txt: no folder {images_root / name}; a sub-sequence's frame range "
                                 "comes from the UAV123 toolkit's configSeqs.m (set it as the sequence list)")
        _check_ground_truth(name, frames, gt, anno / f"{name}.txt")
        sequences.append(Sequence(name, frames, gt))
    return sequences


def load_trackingnet(root: Path, sequence_list: Path | None = None) -> list[Sequence]:
    """TrackingNet, one split folder (TEST, or TRAIN_0 ... TRAIN_11): frames/<seq>/0.jpg, 1.jpg, ... and
    anno/<seq>.txt (TEST holds the first box only). Boxes are read and written back as the files hold them;
    TEST is scored by the evaluation server, from the zip that `python -m pipeline.submit` packs."""
    root = Path(root)
    anno = root / "anno"
    if not anno.is_dir():
        raise BenchmarkError(f"{anno}: folder not found (TrackingNet keeps its boxes there)")
    sequences = []
    for name in _names_from(sequence_list, sorted(p.stem for p in anno.glob("*.txt"))):
        frames = _images(root / "frames" / name)
        gt = _pad_first_box(read_rows(anno / f"{name}.txt"), len(frames))
        _check_ground_truth(name, frames, gt, anno / f"{name}.txt")
        sequences.append(Sequence(name, frames, gt, file_offset=0.0))
    return sequences


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
            _check_ground_truth(name, frames, gt, path)
            sequences.append(Sequence(name, frames, gt, polygons=polygons, file_offset=0.0))
            continue
        gt = np.array([r if len(r) == 4 else [np.nan] * 4 for r in rects], float)
        _check_ground_truth(name, frames, gt, path)
        sequences.append(Sequence(name, frames, gt, file_offset=0.0))
    return sequences


LOADERS = {"otb": load_otb, "vot": load_vot, "got10k": load_got10k, "lasot": load_lasot, "uav123": load_uav123,
           "trackingnet": load_trackingnet}
