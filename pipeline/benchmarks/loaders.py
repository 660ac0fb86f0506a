"""Benchmark loaders: one per layout, each giving Sequences in the project's convention (datasets.py).
A new layout is one loader here, listed in LOADERS, and its benchmarks' `format` in params.yaml."""
from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from pipeline.benchmarks.datasets import (BenchmarkError, Sequence, check_ground_truth, check_lengths, frame_number,
                                          from_file_boxes, image_files, names_from, polygon_to_box, read_label_image,
                                          read_rows)
from pipeline.common.files import escapes_root
from pipeline.common.labels import mask_box

# OTB's frame ranges (the toolkit's configSeqs): a ground truth of n rows covers the n images from this one.
OTB_START_FRAMES = {"David": 300, "BlurCar1": 247, "BlurCar3": 3, "BlurCar4": 18}


def load_otb(root: Path, sequence_list: Path | None = None) -> list[Sequence]:
    """OTB2013 / OTB100 and any OTB-style folder: <root>/<Name>/img/*.jpg and groundtruth_rect*.txt. Several
    ground-truth files (Jogging, Skating2) are several targets, named <Name>-<k>; a single one of any
    number (Human4's groundtruth_rect.2.txt) is the sequence itself. The n ground-truth rows cover the n
    images from the sequence's start frame (else its first image): David, BlurCar1/3/4,
    Diving, Football1, Freeman3 and Freeman4 have more images than annotations. Any image numbering
    (Board's %05d) works."""
    sequences = {}
    for folder in sorted(p for p in Path(root).iterdir() if (p / "img").is_dir()):
        gt_files = sorted(folder.glob("groundtruth_rect*.txt"))
        if not gt_files:
            raise BenchmarkError(f"{folder}: no groundtruth_rect*.txt")
        images = image_files(folder / "img")
        numbers = [frame_number(p) for p in images]
        first = OTB_START_FRAMES.get(folder.name, numbers[0])
        if first not in numbers:
            raise BenchmarkError(f"{folder}: no image numbered {first} (its start frame)")
        start = numbers.index(first)
        for gt_file in gt_files:
            gt = from_file_boxes(read_rows(gt_file))
            frames = images[start:start + len(gt)]
            check_ground_truth(folder.name, frames, gt, gt_file)
            target = re.fullmatch(r"groundtruth_rect\.?(\d*)\.txt", gt_file.name).group(1)
            name = f"{folder.name}-{target}" if len(gt_files) > 1 and target else folder.name
            sequences[name] = Sequence(name, frames, gt)
    if not sequences:
        raise BenchmarkError(f"{root}: no OTB-style sequence folders (<name>/img and groundtruth_rect.txt)")
    return [sequences[n] for n in names_from(sequence_list, sorted(sequences))]


def load_vot(root: Path, sequence_list: Path | None = None) -> list[Sequence]:
    """VOT2016/2018/2019: <root>/list.txt names the sequences; frames in <seq>/color/ or in <seq>/ itself;
    groundtruth.txt of 4 values (x, y, w, h) or 8 (a polygon), 1-based."""
    root = Path(root)
    list_file = sequence_list or root / "list.txt"
    if not Path(list_file).exists():
        raise BenchmarkError(f"{list_file}: file not found (VOT lists its sequences there)")
    sequences = []
    for name in names_from(list_file, sorted(p.name for p in root.iterdir() if p.is_dir())):
        folder = root / name
        frames = image_files(folder / "color" if (folder / "color").is_dir() else folder)
        rows = read_rows(folder / "groundtruth.txt", (4, 8))
        if rows.shape[1] == 4:
            x, y, w, h = from_file_boxes(rows).T
            polygons = np.stack([x, y, x + w, y, x + w, y + h, x, y + h], 1)
        else:
            polygons = rows - 1
        gt = polygon_to_box(polygons)
        check_ground_truth(name, frames, gt, folder / "groundtruth.txt")
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
    for name in names_from(sequence_list or root / "list.txt", sorted(p.name for p in root.iterdir() if p.is_dir())):
        folder = root / name
        frames = image_files(folder)
        gt = _pad_first_box(from_file_boxes(read_rows(folder / "groundtruth.txt")), len(frames))
        check_ground_truth(name, frames, gt, folder / "groundtruth.txt")
        absence = folder / "absence.label"
        visible = None
        if absence.exists():
            visible = read_rows(absence, (1,))[:, 0] == 0
            check_lengths(name, frames, visible, absence)
        sequences.append(Sequence(name, frames, gt, visible=visible))
    return sequences


def load_lasot(root: Path, sequence_list: Path | None = None) -> list[Sequence]:
    """LaSOT: <root>/<class>/<class>-<k>/img/%08d.jpg, groundtruth.txt (1-based), full_occlusion.txt and
    out_of_view.txt (a frame is absent when either is 1). The list (testing_set.txt by default, else every
    sequence) selects the protocol's sequences."""
    root = Path(root)
    folders = {p.name: p for p in root.glob("*/*") if (p / "img").is_dir()}
    default_list = root / "testing_set.txt"
    names = names_from(sequence_list or (default_list if default_list.exists() else None), sorted(folders))
    sequences = []
    for name in names:
        folder = folders[name]
        frames = image_files(folder / "img")
        gt = from_file_boxes(read_rows(folder / "groundtruth.txt"))
        absent = np.zeros(len(gt), bool)
        for flag_file in ("full_occlusion.txt", "out_of_view.txt"):
            flags = read_rows(folder / flag_file, (len(gt),))[0]
            absent |= flags == 1
        check_ground_truth(name, frames, gt, folder / "groundtruth.txt")
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
    names = list(config) if sequence_list and sequence_list.suffix == ".m" else names_from(sequence_list, found)
    sequences = []
    for name in names:
        gt = from_file_boxes(read_rows(anno / f"{name}.txt"))
        if name in config:
            folder, first, last = config[name]
            frames = [p for p in image_files(images_root / folder) if first <= frame_number(p) <= last]
        elif (images_root / name).is_dir():
            frames = image_files(images_root / name)
        else:
            raise BenchmarkError(f"{anno / name}.txt: no folder {images_root / name}; a sub-sequence's frame range "
                                 "comes from the UAV123 toolkit's configSeqs.m (set it as the sequence list)")
        check_ground_truth(name, frames, gt, anno / f"{name}.txt")
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
    for name in names_from(sequence_list, sorted(p.stem for p in anno.glob("*.txt"))):
        frames = image_files(root / "frames" / name)
        gt = _pad_first_box(read_rows(anno / f"{name}.txt"), len(frames))
        check_ground_truth(name, frames, gt, anno / f"{name}.txt")
        sequences.append(Sequence(name, frames, gt, file_offset=0.0))
    return sequences




def load_davis(root: Path, sequence_list: Path | None = None, year: str = "2017") -> list[Sequence]:
    """DAVIS 2016 / 2017, semi-supervised: JPEGImages/480p/<seq>/00000.jpg, Annotations/480p/<seq>/00000.png
    (indexed PNGs; val annotates every frame, test-dev the first only) and ImageSets/<year>/val.txt, the
    default list. 2017: each label of the first frame is an object, 255 is void; 2016: every labelled pixel
    is the one object. The first box is the first frame's objects' bounding box (0-based, offset 0)."""
    root = Path(root)
    images_root, masks_root = root / "JPEGImages" / "480p", root / "Annotations" / "480p"
    for folder in (images_root, masks_root):
        if not folder.is_dir():
            raise BenchmarkError(f"{folder}: folder not found (DAVIS keeps its frames and masks there)")
    default = root / "ImageSets" / year / "val.txt"
    list_file = sequence_list or (default if default.exists() else None)
    sequences = []
    for name in names_from(list_file, sorted(p.name for p in images_root.iterdir() if p.is_dir())):
        frames = image_files(images_root / name)
        found = {p.stem: p for p in (masks_root / name).glob("*.png")}
        if frames[0].stem not in found:
            raise BenchmarkError(f"{masks_root / name}: no {frames[0].stem}.png, the first frame's mask")
        missing = [f.stem for f in frames if f.stem not in found]
        if len(found) > 1 and missing:
            raise BenchmarkError(f"{masks_root / name}: no mask for {len(missing)} of {len(frames)} frames "
                                 f"({missing[0]}.png ...)")
        annotations = [found[f.stem] for f in frames] if len(found) > 1 else [found[frames[0].stem]]
        labels = read_label_image(annotations[0])
        objects = (labels > 0) if year == "2016" else (labels > 0) & (labels != 255)
        if not objects.any():
            raise BenchmarkError(f"{annotations[0]}: the first frame's mask holds no object")
        gt = np.full((len(frames), 4), np.nan)
        gt[0] = mask_box(objects)
        sequences.append(Sequence(name, frames, gt, file_offset=0.0, annotations=annotations,
                                  single_object=year == "2016"))
    return sequences


LOADERS = {"otb": load_otb, "vot": load_vot, "got10k": load_got10k, "lasot": load_lasot, "uav123": load_uav123,
           "trackingnet": load_trackingnet, "davis": load_davis,
           "davis2016": functools.partial(load_davis, year="2016")}
