"""Curation internals: whole videos planned into shards, and one shard written from its videos' images.

A task writes one shard, reading its images by path (no image bytes pass through Ray's object store), as
shard-NNNNN.lmdb.partial, renamed when complete; its record (fingerprint, sha256, counts, skips) goes back
to the driver. The bytes depend only on the index and the crop settings, not on the backend or workers.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.geometry import EXEMPLAR_SIZE, box_in_crop, crop, polygon_mask, search_region
from pipeline.common.files import file_sha256
from pipeline.data import index as dataset_index
from pipeline.data.codecs import CODECS, SkipImage
from pipeline.data.shards import ShardWriter, frame_key, shard_name, track_key

SKIP_REASONS = ("image_missing", "image_unreadable", "image_changed", "box_nonpositive", "box_outside_image")
# Octave bins of the context region side s_z in image pixels, for the crop size distribution.
SIDE_EDGES = [0, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, float("inf")]


class ShardFailed(Exception):
    """A shard could not be written; the message names it."""


@dataclass(frozen=True)
class ShardPlan:
    shard: int
    first_video: int
    video_tracks: list[int]   # the first track of each video, then the end track
    visible: int              # object-frames with a box, the work of this shard


def plan_shards(index: dataset_index.DatasetIndex, shard_frames: int) -> list[ShardPlan]:
    """Consecutive whole videos per shard, closing a shard once it holds `shard_frames` object-frames."""
    track_video = np.array([t[0] for t in index.tracks], np.int64)
    video_first_track = np.searchsorted(track_video, np.arange(len(index.videos) + 1)).tolist()
    visible = np.concatenate([[0], np.cumsum(index.frames["visible"], dtype=np.int64)])
    video_frames = np.diff(index.track_start[video_first_track])
    plans, first, count = [], 0, 0
    for video, n in enumerate(video_frames):
        count += int(n)
        if count >= shard_frames or video == len(index.videos) - 1:
            rows = index.track_start[[video_first_track[first], video_first_track[video + 1]]]
            plans.append(ShardPlan(len(plans), first, video_first_track[first:video + 2],
                                   int(visible[rows[1]] - visible[rows[0]])))
            first, count = video + 1, 0
    return plans


def _box_problem(box: np.ndarray, width: int, height: int) -> tuple[str, str] | None:
    x, y, w, h = (float(v) for v in box)
    if not (np.isfinite(box).all() and w > 0 and h > 0):
        return "box_nonpositive", f"box {[x, y, w, h]}"
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        return "box_outside_image", f"box {[x, y, w, h]} in a {width}x{height} image"
    return None


def _read_image(path: Path, codec, size: tuple[int, int]) -> np.ndarray:
    """The decoded image, or SkipImage when it is missing, unreadable or not the size the index says."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SkipImage("image_missing") from None
    except OSError as err:
        raise SkipImage("image_unreadable", str(err)) from None
    image = codec.decode(data)
    width, height = size
    if image.shape[:2] != (height, width):
        raise SkipImage("image_changed", f"{image.shape[1]}x{image.shape[0]}, indexed as {width}x{height}")
    return image


def _meta_bytes(meta: dict) -> bytes:
    return json.dumps(meta, separators=(",", ":")).encode()


def _object_items(job: dict, index, codec, image, image_id: int, row, out: dict) -> list[tuple[bytes, bytes]]:
    """The crop, mask and meta items of one visible object-frame of a decoded image."""
    height, width = image.shape[:2]
    track, frame, box = int(row["track"]), int(row["frame"]), row["box"].astype(np.float64)
    size = job["search_size"]
    (cx, cy), side = search_region(box, size)
    crop_box = box_in_crop(box, (cx, cy), side, size)
    exemplar_side = side * EXEMPLAR_SIZE / size
    out["side_histogram"][int(np.searchsorted(SIDE_EDGES, exemplar_side, side="right")) - 1] += 1
    out["padded"] += bool(min(cx, cy) < side / 2 or cx + side / 2 > width or cy + side / 2 > height)
    polygons = index.mask_polygons(row) if row["polygon"][1] > row["polygon"][0] else []
    meta = {"visible": True, "box": [round(v, 3) for v in crop_box],
            "image_box": [round(float(v), 3) for v in box],
            "image_size": [width, height], "image": index.images[image_id], "frame": frame,
            "video": index.videos[index.tracks[track][0]],
            "category": index.categories[index.tracks[track][2]], "mask": bool(polygons)}
    items = [(frame_key(track, frame, "jpg"), codec.encode(crop(image, (cx, cy), side, size), job["jpeg_quality"]))]
    if polygons:
        out["masks"] += 1
        png = cv2.imencode(".png", polygon_mask(polygons, (cx, cy), side, size))[1].tobytes()
        items.append((frame_key(track, frame, "mask"), png))
    items.append((frame_key(track, frame, "meta"), _meta_bytes(meta)))
    return items


def _curate_video(job: dict, index, codec, rows: np.ndarray, out: dict) -> list[tuple[bytes, bytes]]:
    """The shard items of one video's rows, decoding each image once; counts go into `out`."""
    items, curated = [], {}
    visible = rows[rows["visible"] == 1]
    visible = visible[np.argsort(visible["image"], kind="stable")]
    image_starts = np.flatnonzero(np.diff(visible["image"])) + 1
    for group in np.split(visible, image_starts) if len(visible) else []:
        image_id = int(group[0]["image"])
        path = Path(job["root"]) / index.images[image_id]
        width, height = (int(v) for v in group[0]["image_size"])
        try:
            image = _read_image(path, codec, (width, height))
        except SkipImage as skip:
            out["skipped"] += [[skip.reason, str(path), skip.detail]] * len(group)
            continue
        for row in group:
            problem = _box_problem(row["box"].astype(np.float64), width, height)
            if problem:
                out["skipped"].append([problem[0], str(path), problem[1]])
                continue
            items += _object_items(job, index, codec, image, image_id, row, out)
            curated.setdefault(int(row["track"]), []).append(int(row["frame"]))
    for row in rows[rows["visible"] == 0]:  # absent: no crop, but the track keeps a record of the gap
        track = int(row["track"])
        meta = {"visible": False, "frame": int(row["frame"]), "video": index.videos[index.tracks[track][0]],
                "category": index.categories[index.tracks[track][2]]}
        items.append((frame_key(track, int(row["frame"]), "meta"), _meta_bytes(meta)))
    for track in np.unique(rows["track"]):
        frames = sorted(curated.get(int(track), []))
        items.append((track_key(int(track)), json.dumps(frames).encode()))
        out["track_crops"][str(int(track))] = len(frames)
    out["crops"] += sum(len(f) for f in curated.values())
    return sorted(items)


def _new_record(job: dict, file: str) -> dict:
    return {"shard": job["shard"], "file": file, "fingerprint": job["fingerprint"],
            "videos": [job["first_video"], job["first_video"] + len(job["video_tracks"]) - 1],
            "tracks": [job["video_tracks"][0], job["video_tracks"][-1]],
            "crops": 0, "masks": 0, "padded": 0, "side_histogram": [0] * (len(SIDE_EDGES) - 1), "track_crops": {},
            "skipped": []}


def curate_shard(job: dict, progress=lambda n: None) -> dict:
    """Write one shard (runs in a Ray task or in-process) and return its record."""
    out = Path(job["out"])
    final = out / shard_name(job["shard"])
    partial = final.with_name(final.name + ".partial")
    partial.unlink(missing_ok=True)
    index = dataset_index.load(job["index_dir"], job["dataset"])
    codec = CODECS[job["image_backend"]]
    record = _new_record(job, final.name)
    writer = None
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # one shard per CPU: OpenCV's own threads would only contend with the other shards
    try:
        writer = ShardWriter(partial)
        bounds = job["video_tracks"]  # the first track of each of the shard's videos, then the end track
        for first, end in zip(bounds[:-1], bounds[1:]):
            rows = index.frames[index.track_start[first]:index.track_start[end]]
            writer.write(_curate_video(job, index, codec, rows, record))
            progress(int(rows["visible"].sum()))
        writer.close()
        writer = None
        os.replace(partial, final)
    except Exception as err:
        if writer is not None:
            writer.env.close()
        partial.unlink(missing_ok=True)
        free = shutil.disk_usage(out).free / 2 ** 20  # LMDB says EIO when the disk is full: this tells them apart
        raise ShardFailed(f"{final}: {type(err).__name__}: {err} ({free:.1f} MiB free on its file system)") from err
    finally:
        cv2.setNumThreads(threads)
    record["sha256"], record["bytes"] = file_sha256(final), final.stat().st_size
    return record
