"""The dataset index: one common format for every training dataset, built from its raw annotations.

The index of a dataset is four files, compact and fast to load for millions of boxes:
  <name>.json          categories, videos and tracks [video, track name, category]
  <name>.images.txt    image paths relative to the dataset root, one per line
  <name>.frames.npy    one row per object-frame (FRAME_DTYPE), sorted by track then frame; opens with
                       np.load(mmap_mode='r'), no pickle. Absent frames (visible 0) have image -1 and a
                       NaN box.
  <name>.polygons.npy  mask polygons (datasets with masks): float32 (x, y) pixel vertices; a row's are
                       polygons[start:end] with [start, end) its `polygon` column, parts split by a NaN row.
plus <name>.skipped.tsv, every item left out with its reason. Boxes are [x, y, w, h], 0-based,
continuous pixels, clipped to the image (a clip is counted). Nothing is dropped without being counted.
"""
from __future__ import annotations

import io
import json
import math
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from pipeline.common.errors import UserError
from pipeline.common.files import escapes_root, write_atomic
from pipeline.config.schema import DatasetSpec
from pipeline.data.sources import Annotation, Skip, adapters

FRAME_DTYPE = np.dtype([("track", "<i4"), ("frame", "<i4"), ("image", "<i4"), ("box", "<f4", (4,)),
                        ("visible", "u1"), ("image_size", "<u2", (2,)), ("polygon", "<i8", (2,))])
# Reasons every statistics file reports, zero or not; adapters may add their own (e.g. iscrowd).
SKIP_REASONS = ("annotation_unparsable", "path_escapes_root", "image_missing", "image_unreadable",
                "box_nonpositive", "box_outside_image", "duplicate")


@dataclass
class DatasetIndex:
    """A loaded index: `frames` (FRAME_DTYPE rows) and its string tables."""
    name: str
    categories: list[str]
    videos: list[str]
    tracks: list[list]      # [video index, track name, category index]
    images: list[str]
    frames: np.ndarray
    polygons: np.ndarray

    def __post_init__(self):
        # Rows are sorted by track: the rows of track t are frames[start[t]:start[t + 1]].
        counts = np.bincount(self.frames["track"], minlength=len(self.tracks))
        self.track_start = np.concatenate([[0], np.cumsum(counts)])

    def track_frames(self, track: int) -> np.ndarray:
        return self.frames[self.track_start[track]:self.track_start[track + 1]]

    def mask_polygons(self, row: np.void) -> list[np.ndarray]:
        """The mask polygons of a frame row, each a (k, 2) array of pixel vertices; [] without a mask."""
        points = np.asarray(self.polygons[row["polygon"][0]:row["polygon"][1]])
        ends = np.flatnonzero(np.isnan(points[:, 0]))  # every part ends with a NaN row
        return [points[start:end] for start, end in zip(np.r_[0, ends[:-1] + 1], ends)]


def load(directory: str | Path, name: str) -> DatasetIndex:
    directory = Path(directory)
    try:
        meta = json.loads((directory / f"{name}.json").read_text())
        images = (directory / f"{name}.images.txt").read_text().split("\n")[:-1]
        frames = np.load(directory / f"{name}.frames.npy", mmap_mode="r", allow_pickle=False)
        polygons = np.load(directory / f"{name}.polygons.npy", mmap_mode="r", allow_pickle=False)
    except FileNotFoundError as err:
        raise UserError(f"{err.filename}: no such file (run: python -m pipeline.index --dataset {name})") from None
    return DatasetIndex(name, meta["categories"], meta["videos"], meta["tracks"], images, frames, polygons)


class _Images:
    """Checks each image once: inside the root, present, and a readable image header (its size)."""

    def __init__(self, root: Path):
        self.root = root
        self.cache: dict[str, tuple | Skip] = {}

    def check(self, relpath: str) -> tuple[int, int] | Skip:
        if relpath not in self.cache:
            self.cache[relpath] = self._check(relpath)
        return self.cache[relpath]

    def _check(self, relpath: str):
        if "\n" in relpath:  # the image list is one path per line
            return Skip("annotation_unparsable", repr(relpath), "image path with a line break")
        if escapes_root(relpath):
            return Skip("path_escapes_root", relpath)
        path = self.root / os.path.normpath(relpath)
        try:
            with Image.open(path) as img:  # reads the header only
                size = img.size
        except FileNotFoundError:
            return Skip("image_missing", str(path))
        except (OSError, Image.DecompressionBombError) as err:
            return Skip("image_unreadable", str(path), str(err))
        if max(size) > np.iinfo(FRAME_DTYPE["image_size"].base).max:
            return Skip("image_unreadable", str(path), f"{size[0]}x{size[1]} exceeds the index's image size range")
        return size


def _validate(ann: Annotation, size: tuple[int, int]) -> tuple | Skip:
    """The annotation's box in pixels, clipped to the image, and whether it was clipped; or a Skip."""
    width, height = size
    x, y, w, h = ann.box
    if ann.normalized:
        x, y, w, h = x * width, y * height, w * width, h * height
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        return Skip("box_nonpositive", ann.image, f"box {ann.box}")
    x0, y0, x1, y1 = max(x, 0.0), max(y, 0.0), min(x + w, width), min(y + h, height)
    if x1 <= x0 or y1 <= y0:
        return Skip("box_outside_image", ann.image, f"box {ann.box} in a {width}x{height} image")
    # Fractions times the image size are not exact: only a clip of more than 1e-3 px counts as one.
    was_clipped = max(x0 - x, y0 - y, x + w - x1, y + h - y1) > 1e-3
    return (x0, y0, x1 - x0, y1 - y0), was_clipped


def build(name: str, spec: DatasetSpec):
    """Read a dataset with its adapter and validate it: (tables, image paths, frame rows, mask polygons,
    stats, skips)."""
    root = Path(spec.root)
    if not root.is_dir():
        raise UserError(f"{root}: dataset root of {name!r} does not exist (datasets.{name}.root in params)")
    read = adapters().get(spec.format)
    if read is None:
        raise UserError(f"datasets.{name}.format: unknown format {spec.format!r} "
                        f"(known: {', '.join(sorted(adapters()))})")
    kept, skipped, clipped = _collect(read(root, spec.split), _Images(root), name)
    if not kept:  # an empty index would only fail later, in curate or train, far from the cause
        raise UserError(_nothing_kept(root, name, spec, skipped))
    meta, image_paths, frames, vertices = _tables(kept)
    meta = {"dataset": name, "format": spec.format, "split": spec.split, **meta}
    reasons = {r: 0 for r in SKIP_REASONS}
    for s in skipped:
        reasons[s.reason] = reasons.get(s.reason, 0) + 1
    visible = int(frames["visible"].sum())
    stats = {"dataset": name, "videos": len(meta["videos"]), "tracks": len(meta["tracks"]),
             "object_frames": len(frames), "visible": visible, "absent": len(frames) - visible,
             "images": len(image_paths), "categories": len(meta["categories"]), "clipped": clipped,
             "skipped": reasons}
    return meta, image_paths, frames, vertices, stats, skipped


def _collect(items, images: _Images, name: str) -> tuple[dict, list[Skip], int]:
    """(kept, skipped, clipped): the usable object-frames by (video, track, frame) as (image, box, visible,
    size, category, polygons), every item left out, and how many boxes were clipped to their image."""
    skipped: list[Skip] = []
    kept: dict[tuple, tuple] = {}
    clipped = 0
    for item in tqdm(items, desc=f"index {name}", unit="box", mininterval=1):
        if isinstance(item, Skip):
            skipped.append(item)
            continue
        key = (item.video, item.track, item.frame)
        if key in kept:
            skipped.append(Skip("duplicate", item.image, f"video {item.video} track {item.track} frame {item.frame}"))
            continue
        if item.box is None:  # absent: no image to check (often none exists), the track records the gap
            kept[key] = (None, (math.nan,) * 4, 0, (0, 0), item.category, ())
            continue
        size = images.check(item.image)
        checked = size if isinstance(size, Skip) else _validate(item, size)
        if isinstance(checked, Skip):
            skipped.append(checked)
            continue
        box, was_clipped = checked
        clipped += was_clipped
        kept[key] = (item.image, box, 1, size, item.category, item.polygons)
    return kept, skipped, clipped


def _tables(kept: dict) -> tuple[dict, list[str], np.ndarray, np.ndarray]:
    """The index tables of the kept object-frames. Sorted tables make the index a function of the
    annotations alone, whatever order the files came in."""
    categories = sorted({v[4] for v in kept.values()})
    videos = sorted({k[0] for k in kept})
    track_keys = sorted({k[:2] for k in kept})
    image_paths = sorted({v[0] for v in kept.values() if v[0] is not None})
    video_id = {v: i for i, v in enumerate(videos)}
    track_id = {t: i for i, t in enumerate(track_keys)}
    image_id = {p: i for i, p in enumerate(image_paths)} | {None: -1}
    category_id = {c: i for i, c in enumerate(categories)}
    tracks = [[video_id[v], t, None] for v, t in track_keys]
    frames = np.zeros(len(kept), FRAME_DTYPE)
    vertices: list[list[float]] = []
    for row, key in enumerate(sorted(kept, key=lambda k: (track_id[k[:2]], k[2]))):
        image, box, visible, size, category, polygons = kept[key]
        start = len(vertices)
        for part in polygons:
            vertices += [*zip(part[0::2], part[1::2]), (math.nan, math.nan)]
        frames[row] = (track_id[key[:2]], key[2], image_id[image], box, visible, size, (start, len(vertices)))
        tracks[track_id[key[:2]]][2] = category_id[category]
    meta = {"categories": categories, "videos": videos, "tracks": tracks}
    return meta, image_paths, frames, np.array(vertices, np.float32).reshape(-1, 2)


def _nothing_kept(root: Path, name: str, spec: DatasetSpec, skipped: list[Skip]) -> str:
    """The one line that refuses a dataset without a single usable object-frame."""
    if not skipped:
        return f"{root}: no annotations in dataset {name!r} ({spec.format}, split {spec.split!r})"
    counts = ", ".join(f"{reason} {n}" for reason, n in Counter(s.reason for s in skipped).items())
    first = skipped[0]
    return (f"{root}: nothing usable in dataset {name!r}, all {len(skipped)} items skipped ({counts}); "
            f"first: {first.path}: {first.reason} {first.detail}").rstrip()


def write(out: Path, name: str, meta: dict, images: list[str], frames: np.ndarray, polygons: np.ndarray,
          skipped: list[Skip]) -> Path:
    """The index files of `name` in `out`, each written atomically; returns the skipped-items listing."""
    for suffix, array in (("frames.npy", frames), ("polygons.npy", polygons)):
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        write_atomic(out / f"{name}.{suffix}", buffer.getvalue())
    write_atomic(out / f"{name}.json", json.dumps(meta, separators=(",", ":")).encode())
    write_atomic(out / f"{name}.images.txt", "".join(f"{p}\n" for p in images).encode())
    listing = "reason\tpath\tdetail\n" + "".join(f"{s.reason}\t{s.path}\t{s.detail}\n" for s in skipped)
    write_atomic(out / f"{name}.skipped.tsv", listing.encode())
    return out / f"{name}.skipped.tsv"
